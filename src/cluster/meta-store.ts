// The cluster metadata store contract, with etcd's semantics (DESIGN decision 7): one global
// revision, compare-and-swap transactions on a key's mod revision, and leases with a TTL that
// keys can be attached to (a key dies with its lease). Implemented by etcd (./etcd-store.ts,
// through its JSON gateway) and in memory (./memory-store.ts) for tests and the simulation.
import { EdgelogError } from '../core/errors.ts'

export interface KeyValue {
  key: string
  value: string
  /** Revision of the transaction that created the key; 0 for a key that does not exist. */
  createRevision: number
  /** Revision of the last transaction that changed the key. */
  modRevision: number
  /** The lease the key is attached to, '0' for none. */
  lease: string
}

/** The transaction succeeds only if every key's mod revision is as given (0: the key does not exist). */
export interface Compare {
  key: string
  modRevision: number
}

export type TxnOp =
  | { op: 'put'; key: string; value: string; lease?: string }
  | { op: 'delete'; key: string }
  | { op: 'deletePrefix'; prefix: string }

export interface TxnResult {
  succeeded: boolean
  /** The store's revision after the transaction (unchanged when it failed). */
  revision: number
}

export interface MetaStore {
  get(key: string): Promise<KeyValue | undefined>
  /** Every key under the prefix, sorted; refuses more than `limit` keys rather than return a partial view. */
  range(prefix: string, limit?: number): Promise<{ kvs: KeyValue[]; revision: number }>
  /** All compares hold → every op is applied atomically under one new revision; else nothing. */
  txn(compares: Compare[], ops: TxnOp[]): Promise<TxnResult>
  /** A new lease; its keys are deleted when it is not kept alive for ttlSeconds. */
  grantLease(ttlSeconds: number): Promise<string>
  /** Renews the lease: its TTL in seconds, or 0 when it has expired or was revoked. */
  keepAlive(lease: string): Promise<number>
  revokeLease(lease: string): Promise<void>
}

/** Most keys one range returns: the cluster's metadata is small (brokers, topics, partitions). */
export const MAX_RANGE_KEYS = 100_000

/** The end of etcd's range for every key starting with `prefix` (prefix with its last byte + 1). */
export function prefixEnd(prefix: string): string {
  const bytes = new TextEncoder().encode(prefix)
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = bytes.slice(0, i + 1)
      end[i]!++
      return new TextDecoder().decode(end)
    }
  }
  return '\0'
}

/**
 * The store as the request paths see it: a store that does not answer (timeout, connection
 * refused, an etcd error) is COORDINATOR_NOT_AVAILABLE to a client, never an internal error.
 */
export function withStoreErrors(store: MetaStore): MetaStore {
  const guard =
    <A extends unknown[], R>(what: string, fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      try {
        return await fn(...a)
      } catch (err) {
        if (err instanceof EdgelogError && err.code !== 'INTERNAL') throw err
        const e = new EdgelogError('COORDINATOR_NOT_AVAILABLE', `the cluster metadata store did not answer (${what}); try again`)
        ;(e as { cause?: unknown }).cause = err
        throw e
      }
    }
  return {
    get: guard('get', (k) => store.get(k)),
    range: guard('range', (p, l) => store.range(p, l)),
    txn: guard('txn', (c, o) => store.txn(c, o)),
    grantLease: guard('lease grant', (t) => store.grantLease(t)),
    keepAlive: guard('keepalive', (l) => store.keepAlive(l)),
    revokeLease: guard('lease revoke', (l) => store.revokeLease(l)),
  }
}
