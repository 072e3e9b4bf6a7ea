// What a client needs to place and route a record: a topic's partition count, each partition's
// leader, and the brokers' advertised URLs (`GET /v1/brokers`) — Kafka's Metadata response.
// Cached as Kafka's client caches metadata (metadata.max.age.ms), refreshed early when a
// request finds it stale (the partition is unknown, the leader refused or is gone, or a broker
// had to forward), and bounded in the topics and brokers it remembers. A cluster of one lists no
// brokers, so every request goes to the bootstrap URL, exactly as without routing.
import { EdgelogError, isEdgelogError } from './errors.ts'
import type { HttpClient, PartitionRouter, StaleReason } from './http.ts'
import type { BrokerList, TopicDescription } from './schemas.ts'

export const metadataMaxAgeMsDefault = 5 * 60_000
export const metadataMaxTopicsDefault = 1000
/** Brokers remembered at most (a larger list is cut: routing falls back to the bootstrap URL). */
export const metadataMaxBrokers = 1000
/** How long a leader that could not be reached is passed over (its requests go to the bootstrap URL). */
export const unreachableBackoffMsDefault = 5_000
/**
 * At most one refresh per topic this often on the hint that a broker forwarded our request
 * (during a failover every request through the bootstrap broker is forwarded).
 */
export const forwardedRefreshIntervalMsDefault = 500

interface Entry {
  partitions: number
  /** Leader node id per partition; null when the partition has none right now. */
  leaders: Array<number | null>
  fetchedAt: number
}

export interface TopicMetadataOptions {
  maxAgeMs?: number
  maxTopics?: number
  unreachableBackoffMs?: number
  forwardedRefreshIntervalMs?: number
  now?: () => number
}

export class TopicMetadata implements PartitionRouter {
  readonly #http: HttpClient
  readonly #maxAgeMs: number
  readonly #maxTopics: number
  readonly #unreachableMs: number
  readonly #forwardedRefreshMs: number
  /** Topic → when a forwarded answer last made us read its metadata again. Bounded like #entries. */
  readonly #forwardedAt = new Map<string, number>()
  readonly #now: () => number
  readonly #entries = new Map<string, Entry>()
  readonly #loading = new Map<string, Promise<number>>()
  /** Advertised URL by node id, from the last `GET /v1/brokers`. */
  #brokers = new Map<number, string>()
  #brokersAt = -Infinity
  #brokersLoading: Promise<void> | undefined
  /** URL → until when it is passed over. Bounded by the brokers known. */
  readonly #unreachable = new Map<string, number>()

  constructor(http: HttpClient, options: TopicMetadataOptions = {}) {
    this.#http = http
    this.#maxAgeMs = options.maxAgeMs ?? metadataMaxAgeMsDefault
    this.#maxTopics = options.maxTopics ?? metadataMaxTopicsDefault
    this.#unreachableMs = options.unreachableBackoffMs ?? unreachableBackoffMsDefault
    this.#forwardedRefreshMs = options.forwardedRefreshIntervalMs ?? forwardedRefreshIntervalMsDefault
    this.#now = options.now ?? Date.now
  }

  /** The cached count if it is fresh, else undefined (then call partitionCount). */
  cached(topic: string): number | undefined {
    return this.#fresh(topic)?.partitions
  }

  /** Resolves the partition count, asking the server at most once at a time per topic. */
  partitionCount(topic: string): Promise<number> {
    const cached = this.cached(topic)
    if (cached !== undefined) return Promise.resolve(cached)
    return this.#load(topic)
  }

  /** Forgets a topic, so the next lookup asks the server (after UNKNOWN_TOPIC_OR_PARTITION). */
  invalidate(topic: string): void {
    this.#entries.delete(topic)
  }

  // ---- PartitionRouter -------------------------------------------------------------------

  /**
   * The URL of the partition's leader, if the metadata is fresh, names a leader, and that
   * leader's URL is known and was not found unreachable lately. Otherwise undefined: the
   * bootstrap URL (which forwards), and a refresh starts in the background.
   */
  leaderUrl(topic: string, partition: number): string | undefined {
    const entry = this.#fresh(topic)
    if (entry === undefined) {
      // Not for a cluster of one (it lists no brokers): nothing to route, nothing to load.
      if (this.#brokers.size > 0 || this.#brokersAt === -Infinity) this.#load(topic).catch(() => {})
      return undefined
    }
    const leader = entry.leaders[partition]
    if (leader === undefined || leader === null) return undefined
    const url = this.#brokers.get(leader)
    if (url === undefined) return undefined
    const until = this.#unreachable.get(url)
    if (until !== undefined) {
      if (this.#now() < until) return undefined
      this.#unreachable.delete(url)
    }
    return url
  }

  stale(topic: string, url: string | undefined, reason: StaleReason): void {
    if (reason === 'forwarded') {
      if (this.#brokers.size === 0) return
      const at = this.#forwardedAt.get(topic)
      if (at !== undefined && this.#now() - at < this.#forwardedRefreshMs) return
      this.#forwardedAt.delete(topic)
      this.#forwardedAt.set(topic, this.#now())
      while (this.#forwardedAt.size > this.#maxTopics) this.#forwardedAt.delete(this.#forwardedAt.keys().next().value as string)
      this.invalidate(topic)
      this.#load(topic).catch(() => {})
      return
    }
    this.invalidate(topic)
    if (reason === 'unreachable' && url !== undefined) this.#unreachable.set(url, this.#now() + this.#unreachableMs)
    // The brokers may have changed too (a broker gone, one back under a new URL).
    this.#brokersAt = -Infinity
  }

  async refresh(topic: string): Promise<void> {
    this.invalidate(topic)
    await this.#load(topic)
  }

  /** Known brokers' URLs by node id (for status displays and tests). */
  get brokers(): ReadonlyMap<number, string> {
    return this.#brokers
  }

  // ---- loading ---------------------------------------------------------------------------

  #fresh(topic: string): Entry | undefined {
    const entry = this.#entries.get(topic)
    if (entry === undefined || this.#now() - entry.fetchedAt > this.#maxAgeMs) return undefined
    return entry
  }

  #load(topic: string): Promise<number> {
    const loading = this.#loading.get(topic)
    if (loading !== undefined) return loading
    const promise = (async () => {
      try {
        const [description] = await Promise.all([this.#describe(topic), this.#refreshBrokers()])
        const partitions = description.partitions.length
        if (partitions < 1) throw new RangeError(`topic ${topic} reports no partitions`)
        const leaders: Array<number | null> = new Array(partitions).fill(null)
        for (const p of description.partitions) {
          if (p.partition < partitions && typeof p.leader === 'number' && p.leader >= 0) leaders[p.partition] = p.leader
        }
        this.#remember(topic, { partitions, leaders, fetchedAt: this.#now() })
        return partitions
      } finally {
        this.#loading.delete(topic)
      }
    })()
    this.#loading.set(topic, promise)
    return promise
  }

  /**
   * Describes the topic through the bootstrap node, or, when it cannot be reached, through the
   * other brokers known (as Kafka's client asks any broker it knows for metadata).
   */
  async #describe(topic: string): Promise<TopicDescription> {
    try {
      return await this.#http.describeTopic(topic)
    } catch (error) {
      if (!isUnreachable(error)) throw error
      for (const url of this.#brokers.values()) {
        if (url === this.#http.url) continue
        try {
          return await this.#http.describeTopic(topic, { baseUrl: url })
        } catch (other) {
          if (!isUnreachable(other)) throw other
        }
      }
      throw error
    }
  }

  /** Reads `GET /v1/brokers` when the list is older than the metadata age; keeps the old list on failure. */
  #refreshBrokers(): Promise<void> {
    if (this.#now() - this.#brokersAt <= this.#maxAgeMs) return Promise.resolve()
    this.#brokersLoading ??= (async () => {
      try {
        let list: BrokerList | undefined
        try {
          list = await this.#http.listBrokers()
        } catch (error) {
          // A server from before `GET /v1/brokers`: no routing, everything to the bootstrap URL.
          if (isEdgelogError(error) && (error.code === 'NOT_FOUND' || error.status === 404)) list = { brokers: [], controller: null }
          else if (!isUnreachable(error)) throw error
          for (const url of list === undefined ? this.#brokers.values() : []) {
            try {
              list = await this.#http.listBrokers({ baseUrl: url })
              break
            } catch {}
          }
        }
        if (list === undefined) return
        const brokers = new Map<number, string>()
        for (const b of list.brokers.slice(0, metadataMaxBrokers)) brokers.set(b.nodeId, b.url.replace(/\/+$/, ''))
        this.#brokers = brokers
        this.#brokersAt = this.#now()
        const known = new Set(brokers.values())
        for (const url of [...this.#unreachable.keys()]) if (!known.has(url)) this.#unreachable.delete(url)
      } catch {
        // Routing falls back to the bootstrap URL until the next refresh.
      } finally {
        this.#brokersLoading = undefined
      }
    })()
    return this.#brokersLoading
  }

  #remember(topic: string, entry: Entry): void {
    this.#entries.delete(topic) // re-insert at the end: Map order is the eviction order
    this.#entries.set(topic, entry)
    while (this.#entries.size > this.#maxTopics) {
      const oldest = this.#entries.keys().next().value as string
      this.#entries.delete(oldest)
    }
  }
}

function isUnreachable(error: unknown): boolean {
  return error instanceof EdgelogError && error.status === 0 && (error.code === 'NETWORK_EXCEPTION' || error.code === 'REQUEST_TIMED_OUT')
}
