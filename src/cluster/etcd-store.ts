// The metadata store on a real etcd (v3.4+), through its JSON gateway with fetch: every runtime
// can reach it, and there is no gRPC dependency. Keys and values travel base64-encoded and
// 64-bit integers as strings, as the gateway does. Every request has a timeout and a bounded
// answer; an etcd that does not answer is an error the caller retries.
import { z } from 'zod'
import { decodeBase64, encodeBase64 } from '../core/base64.ts'
import { readBounded } from '../core/read-bounded.ts'
import { MAX_RANGE_KEYS, prefixEnd, type Compare, type KeyValue, type MetaStore, type TxnOp, type TxnResult } from './meta-store.ts'

export interface EtcdOptions {
  /** One or more client URLs (http://127.0.0.1:2379); a failed request moves on to the next. */
  endpoints: string[]
  /** Per request. */
  timeoutMs: number
  /** The largest answer read (a range over the cluster's keys). */
  maxResponseBytes: number
}

export const DEFAULT_ETCD_OPTIONS: Omit<EtcdOptions, 'endpoints'> = { timeoutMs: 3000, maxResponseBytes: 64 * 1024 * 1024 }

const int64 = z.union([z.string(), z.number()]).transform((v) => Number(v))
const Header = z.object({ revision: int64 }).passthrough()
const Kv = z
  .object({
    key: z.string(),
    value: z.string().optional(),
    create_revision: int64,
    mod_revision: int64,
    lease: z.union([z.string(), z.number()]).transform(String).optional(),
  })
  .passthrough()

export class EtcdMetaStore implements MetaStore {
  private readonly opts: EtcdOptions
  private next = 0

  constructor(opts: Partial<EtcdOptions> & { endpoints: string[] }) {
    this.opts = { ...DEFAULT_ETCD_OPTIONS, ...opts }
    if (this.opts.endpoints.length === 0) throw new Error('etcd needs at least one endpoint')
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const r = await this.call('/v3/kv/range', { key: enc(key) })
    const kvs = z.object({ kvs: z.array(Kv).optional() }).passthrough().parse(r).kvs ?? []
    return kvs[0] ? toKv(kvs[0]) : undefined
  }

  async range(prefix: string, limit = MAX_RANGE_KEYS): Promise<{ kvs: KeyValue[]; revision: number }> {
    const r = await this.call('/v3/kv/range', { key: enc(prefix), range_end: enc(prefixEnd(prefix)), limit: String(limit + 1) })
    const parsed = z.object({ header: Header, kvs: z.array(Kv).optional() }).passthrough().parse(r)
    const kvs = (parsed.kvs ?? []).map(toKv)
    if (kvs.length > limit) throw new Error(`more than ${limit} keys under ${prefix}`)
    return { kvs, revision: parsed.header.revision }
  }

  async txn(compares: Compare[], ops: TxnOp[]): Promise<TxnResult> {
    const r = await this.call('/v3/kv/txn', {
      compare: compares.map((c) => ({ key: enc(c.key), target: 'MOD', result: 'EQUAL', mod_revision: String(c.modRevision) })),
      success: ops.map((op) => {
        if (op.op === 'put') return { request_put: { key: enc(op.key), value: enc(op.value), ...(op.lease && op.lease !== '0' ? { lease: op.lease } : {}) } }
        if (op.op === 'delete') return { request_delete_range: { key: enc(op.key) } }
        return { request_delete_range: { key: enc(op.prefix), range_end: enc(prefixEnd(op.prefix)) } }
      }),
      failure: [],
    })
    const parsed = z.object({ header: Header, succeeded: z.boolean().optional() }).passthrough().parse(r)
    return { succeeded: parsed.succeeded === true, revision: parsed.header.revision }
  }

  async grantLease(ttlSeconds: number): Promise<string> {
    const r = await this.call('/v3/lease/grant', { TTL: String(ttlSeconds) })
    return z.object({ ID: z.union([z.string(), z.number()]).transform(String) }).passthrough().parse(r).ID
  }

  async keepAlive(lease: string): Promise<number> {
    // The gateway streams keepalive answers; one request gets one JSON line back.
    const r = await this.call('/v3/lease/keepalive', { ID: lease })
    const parsed = z.object({ result: z.object({ TTL: int64.optional() }).passthrough() }).passthrough().parse(r)
    return parsed.result.TTL ?? 0
  }

  async revokeLease(lease: string): Promise<void> {
    try {
      await this.call('/v3/lease/revoke', { ID: lease })
    } catch (err) {
      if (!/lease not found/.test((err as Error).message)) throw err
    }
  }

  private async call(path: string, body: unknown): Promise<unknown> {
    let lastError: unknown
    for (let i = 0; i < this.opts.endpoints.length; i++) {
      const endpoint = this.opts.endpoints[(this.next + i) % this.opts.endpoints.length]!
      try {
        const res = await fetch(`${endpoint}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(this.opts.timeoutMs),
        })
        const text = new TextDecoder().decode(await readBounded(res, this.opts.maxResponseBytes, 'etcd answer', { firstLine: true }))
        const line = text.split('\n').find((l) => l.trim() !== '') ?? '{}'
        const json = JSON.parse(line) as { error?: string; message?: string; result?: unknown }
        const error = json.error ?? (json.result as { error?: { message?: string } } | undefined)?.error?.message
        if (error) throw new EtcdError(String(typeof error === 'string' ? error : JSON.stringify(error)))
        if (!res.ok) throw new EtcdError(`etcd answered ${res.status}`)
        return json
      } catch (err) {
        // An answer from etcd (lease not found, compaction) is final; a network failure is not.
        if (err instanceof EtcdError) throw err
        lastError = err
        this.next = (this.next + i + 1) % this.opts.endpoints.length
      }
    }
    throw new Error(`etcd did not answer ${path}: ${(lastError as Error)?.message ?? lastError}`)
  }
}

export class EtcdError extends Error {}

const enc = (s: string) => encodeBase64(new TextEncoder().encode(s))
function dec(s: string | undefined): string {
  if (!s) return ''
  const bytes = decodeBase64(s)
  if (!bytes) throw new EtcdError('etcd answered a key or value that is not base64')
  return new TextDecoder().decode(bytes)
}

function toKv(kv: z.infer<typeof Kv>): KeyValue {
  return {
    key: dec(kv.key),
    value: dec(kv.value),
    createRevision: kv.create_revision,
    modRevision: kv.mod_revision,
    lease: kv.lease ?? '0',
  }
}

