// An in-memory metadata store with etcd's semantics: a global revision, CAS transactions on
// mod revisions, leases that expire on the store's own monotonic clock and take their keys with
// them. The simulation runs it as the "etcd" node; unit tests use it directly.
import type { Clock } from '../core/clock.ts'
import { EdgelogError } from '../core/errors.ts'
import { MAX_RANGE_KEYS, type Compare, type KeyValue, type MetaStore, type TxnOp, type TxnResult } from './meta-store.ts'

interface Lease {
  id: string
  ttlMs: number
  expiresAt: number
  keys: Set<string>
}

export class MemoryMetaStore implements MetaStore {
  private readonly kvs = new Map<string, KeyValue>()
  private readonly leases = new Map<string, Lease>()
  private rev = 1
  private nextLease = 1

  constructor(private readonly clock: Clock) {}

  get revision(): number {
    this.expire()
    return this.rev
  }

  async get(key: string): Promise<KeyValue | undefined> {
    return this.getSync(key)
  }

  getSync(key: string): KeyValue | undefined {
    this.expire()
    const kv = this.kvs.get(key)
    return kv ? { ...kv } : undefined
  }

  async range(prefix: string, limit = MAX_RANGE_KEYS): Promise<{ kvs: KeyValue[]; revision: number }> {
    return this.rangeSync(prefix, limit)
  }

  rangeSync(prefix: string, limit = MAX_RANGE_KEYS): { kvs: KeyValue[]; revision: number } {
    this.expire()
    const kvs: KeyValue[] = []
    for (const kv of this.kvs.values()) if (kv.key.startsWith(prefix)) kvs.push({ ...kv })
    if (kvs.length > limit) throw new EdgelogError('INTERNAL', `more than ${limit} keys under ${prefix}`)
    kvs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    return { kvs, revision: this.rev }
  }

  async txn(compares: Compare[], ops: TxnOp[]): Promise<TxnResult> {
    return this.txnSync(compares, ops)
  }

  txnSync(compares: Compare[], ops: TxnOp[]): TxnResult {
    this.expire()
    for (const c of compares) {
      if ((this.kvs.get(c.key)?.modRevision ?? 0) !== c.modRevision) return { succeeded: false, revision: this.rev }
    }
    for (const op of ops) {
      // etcd refuses a put with an unknown lease and applies nothing of the transaction.
      if (op.op === 'put' && op.lease && op.lease !== '0' && !this.leases.has(op.lease)) {
        throw new EdgelogError('INTERNAL', `lease ${op.lease} not found`)
      }
    }
    if (ops.length === 0) return { succeeded: true, revision: this.rev }
    const rev = ++this.rev
    for (const op of ops) {
      if (op.op === 'put') {
        const prev = this.kvs.get(op.key)
        if (prev && prev.lease !== '0') this.leases.get(prev.lease)?.keys.delete(op.key)
        const lease = op.lease ?? '0'
        this.kvs.set(op.key, { key: op.key, value: op.value, createRevision: prev?.createRevision ?? rev, modRevision: rev, lease })
        if (lease !== '0') this.leases.get(lease)!.keys.add(op.key)
      } else if (op.op === 'delete') {
        this.deleteKey(op.key)
      } else {
        for (const key of [...this.kvs.keys()]) if (key.startsWith(op.prefix)) this.deleteKey(key)
      }
    }
    return { succeeded: true, revision: rev }
  }

  async grantLease(ttlSeconds: number): Promise<string> {
    this.expire()
    const id = String(this.nextLease++)
    const ttlMs = ttlSeconds * 1000
    this.leases.set(id, { id, ttlMs, expiresAt: this.clock.monotonic() + ttlMs, keys: new Set() })
    return id
  }

  async keepAlive(lease: string): Promise<number> {
    this.expire()
    const l = this.leases.get(lease)
    if (!l) return 0
    l.expiresAt = this.clock.monotonic() + l.ttlMs
    return l.ttlMs / 1000
  }

  async revokeLease(lease: string): Promise<void> {
    this.expire()
    this.dropLease(lease)
  }

  private deleteKey(key: string): void {
    const kv = this.kvs.get(key)
    if (!kv) return
    if (kv.lease !== '0') this.leases.get(kv.lease)?.keys.delete(key)
    this.kvs.delete(key)
  }

  private dropLease(id: string): void {
    const l = this.leases.get(id)
    if (!l) return
    this.leases.delete(id)
    if (l.keys.size === 0) return
    // Like etcd, the keys of one expired lease go in one revision.
    this.rev++
    for (const key of l.keys) this.kvs.delete(key)
  }

  private expire(): void {
    const now = this.clock.monotonic()
    for (const l of [...this.leases.values()]) if (l.expiresAt <= now) this.dropLease(l.id)
  }
}
