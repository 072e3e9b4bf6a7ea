// How many partitions a topic has, as a producer needs to know to place a key. Cached as Kafka's
// producer caches metadata (metadata.max.age.ms), refreshed early when the server says the
// partition is unknown, and bounded in the number of topics it remembers.
import type { HttpClient } from './http.ts'

export const metadataMaxAgeMsDefault = 5 * 60_000
export const metadataMaxTopicsDefault = 1000

interface Entry {
  partitions: number
  fetchedAt: number
}

export class TopicMetadata {
  readonly #http: HttpClient
  readonly #maxAgeMs: number
  readonly #maxTopics: number
  readonly #now: () => number
  readonly #entries = new Map<string, Entry>()
  readonly #loading = new Map<string, Promise<number>>()

  constructor(http: HttpClient, options: { maxAgeMs?: number; maxTopics?: number; now?: () => number } = {}) {
    this.#http = http
    this.#maxAgeMs = options.maxAgeMs ?? metadataMaxAgeMsDefault
    this.#maxTopics = options.maxTopics ?? metadataMaxTopicsDefault
    this.#now = options.now ?? Date.now
  }

  /** The cached count if it is fresh, else undefined (then call partitionCount). */
  cached(topic: string): number | undefined {
    const entry = this.#entries.get(topic)
    if (entry === undefined || this.#now() - entry.fetchedAt > this.#maxAgeMs) return undefined
    return entry.partitions
  }

  /** Resolves the partition count, asking the server at most once at a time per topic. */
  partitionCount(topic: string): Promise<number> {
    const cached = this.cached(topic)
    if (cached !== undefined) return Promise.resolve(cached)
    const loading = this.#loading.get(topic)
    if (loading !== undefined) return loading
    const promise = this.#http.describeTopic(topic).then(
      (description) => {
        this.#loading.delete(topic)
        const partitions = description.partitions.length
        if (partitions < 1) throw new RangeError(`topic ${topic} reports no partitions`)
        this.#remember(topic, partitions)
        return partitions
      },
      (error: unknown) => {
        this.#loading.delete(topic)
        throw error
      },
    )
    this.#loading.set(topic, promise)
    return promise
  }

  /** Forgets a topic, so the next lookup asks the server (after UNKNOWN_TOPIC_OR_PARTITION). */
  invalidate(topic: string): void {
    this.#entries.delete(topic)
  }

  #remember(topic: string, partitions: number): void {
    this.#entries.delete(topic) // re-insert at the end: Map order is the eviction order
    this.#entries.set(topic, { partitions, fetchedAt: this.#now() })
    while (this.#entries.size > this.#maxTopics) {
      const oldest = this.#entries.keys().next().value as string
      this.#entries.delete(oldest)
    }
  }
}
