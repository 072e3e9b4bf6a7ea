// Per-principal quotas (produce bytes/s, requests/s, long polls) and per-IP and per-principal
// concurrency caps. Over a quota the request is refused with 429 THROTTLED and a Retry-After,
// never queued. Every map here is bounded: buckets by an LRU cap (the entry dropped first is
// the one idle longest), counters by the requests in flight (an entry leaves at zero).
import type { Clock } from '../core/clock.ts'
import { assert, EdgelogError } from '../core/errors.ts'
import { TokenBucket } from './token-bucket.ts'

export type QuotaName =
  | 'requests'
  | 'produce_bytes'
  | 'connections_per_ip'
  | 'connections_per_principal'
  | 'long_polls_per_principal'

export interface QuotaOptions {
  /** Produce bytes (keys, values and headers of the records) per principal per second. */
  produceBytesPerSec?: number
  /** Requests per principal per second (an anonymous caller is counted per IP). */
  requestsPerSec?: number
  /** Requests in flight (long polls included) from one IP address. */
  maxConnectionsPerIp?: number
  /** Requests in flight for one principal. */
  maxConnectionsPerPrincipal?: number
  /** Fetches with waitMs in flight for one principal. */
  maxLongPollsPerPrincipal?: number
  /** Principals whose buckets are remembered; the least recently active are forgotten first. */
  maxTrackedPrincipals?: number
}

export const DEFAULT_MAX_TRACKED_PRINCIPALS = 100_000

/** 429 THROTTLED with Retry-After in whole seconds (at least 1), naming the quota for metrics. */
export class ThrottledError extends EdgelogError {
  constructor(
    readonly quota: QuotaName,
    message: string,
    retryAfterMs: number,
  ) {
    super('THROTTLED', message, { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) })
  }
}

function throttled(quota: QuotaName, message: string, retryAfterMs: number): ThrottledError {
  return new ThrottledError(quota, message, retryAfterMs)
}

/** Token buckets by key, at most `max` of them, least recently used dropped first. */
export class BucketMap {
  private readonly buckets = new Map<string, TokenBucket>()

  constructor(
    private readonly ratePerSec: number,
    private readonly max: number,
  ) {}

  get size(): number {
    return this.buckets.size
  }

  get(key: string, now: number): TokenBucket {
    let b = this.buckets.get(key)
    if (b) {
      this.buckets.delete(key)
    } else {
      if (this.buckets.size >= this.max) this.buckets.delete(this.buckets.keys().next().value!)
      b = new TokenBucket(this.ratePerSec, this.ratePerSec, now)
    }
    this.buckets.set(key, b)
    return b
  }
}

/** Counts held slots per key; an entry exists only while its count is above zero. */
export class SlotCounter {
  private readonly counts = new Map<string, number>()

  constructor(readonly limit: number) {}

  get size(): number {
    return this.counts.size
  }

  /** Takes a slot and returns its release, or undefined when the key holds `limit` already. */
  acquire(key: string): (() => void) | undefined {
    const n = this.counts.get(key) ?? 0
    if (n >= this.limit) return undefined
    this.counts.set(key, n + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      const m = this.counts.get(key) ?? 0
      assert(m > 0, 'a slot released more often than taken')
      if (m === 1) this.counts.delete(key)
      else this.counts.set(key, m - 1)
    }
  }
}

const noop = () => {}

export class Quotas {
  private readonly requests?: BucketMap
  private readonly produceBytes?: BucketMap
  private readonly perIp?: SlotCounter
  private readonly perPrincipal?: SlotCounter
  private readonly longPolls?: SlotCounter

  constructor(
    readonly options: QuotaOptions,
    private readonly clock: Clock,
  ) {
    const max = options.maxTrackedPrincipals ?? DEFAULT_MAX_TRACKED_PRINCIPALS
    if (options.requestsPerSec) this.requests = new BucketMap(options.requestsPerSec, max)
    if (options.produceBytesPerSec) this.produceBytes = new BucketMap(options.produceBytesPerSec, max)
    if (options.maxConnectionsPerIp) this.perIp = new SlotCounter(options.maxConnectionsPerIp)
    if (options.maxConnectionsPerPrincipal) this.perPrincipal = new SlotCounter(options.maxConnectionsPerPrincipal)
    if (options.maxLongPollsPerPrincipal) this.longPolls = new SlotCounter(options.maxLongPollsPerPrincipal)
  }

  /** True when any quota is set; without one the node does no bookkeeping at all. */
  get active(): boolean {
    return Boolean(this.requests || this.produceBytes || this.perIp || this.perPrincipal || this.longPolls)
  }

  acquireIp(ip: string): () => void {
    if (!this.perIp) return noop
    const release = this.perIp.acquire(ip)
    if (release) return release
    throw throttled('connections_per_ip', `more than ${this.perIp.limit} requests in flight from this address`, 1000)
  }

  acquirePrincipal(key: string): () => void {
    if (!this.perPrincipal) return noop
    const release = this.perPrincipal.acquire(key)
    if (release) return release
    throw throttled('connections_per_principal', `more than ${this.perPrincipal.limit} requests in flight for this principal`, 1000)
  }

  acquireLongPoll(key: string): () => void {
    if (!this.longPolls) return noop
    const release = this.longPolls.acquire(key)
    if (release) return release
    throw throttled('long_polls_per_principal', `more than ${this.longPolls.limit} long polls waiting for this principal`, 1000)
  }

  takeRequest(key: string): void {
    if (!this.requests) return
    const wait = this.requests.get(key, this.clock.monotonic()).tryTake(1, this.clock.monotonic())
    if (wait === 0) return
    throw throttled('requests', `over the quota of ${this.options.requestsPerSec} requests per second`, wait)
  }

  /** Before a produce body is read: refused while the principal is still in byte debt. */
  checkProduceBytes(key: string): void {
    if (!this.produceBytes) return
    const wait = this.produceBytes.get(key, this.clock.monotonic()).debtMs(this.clock.monotonic())
    if (wait === 0) return
    throw throttled('produce_bytes', `over the quota of ${this.options.produceBytesPerSec} produce bytes per second`, wait)
  }

  /** After a produce body was read and validated: its bytes count against the principal. */
  chargeProduceBytes(key: string, bytes: number): void {
    if (!this.produceBytes) return
    this.produceBytes.get(key, this.clock.monotonic()).charge(bytes, this.clock.monotonic())
  }
}
