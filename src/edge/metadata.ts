// What an edge knows of its region's topics: names, partition counts, configs and leaders,
// read from upstream (`GET /v1/topics`, `GET /v1/topics/{t}`) and kept in edge.db, so an edge
// restarted while the region is unreachable still routes and validates produces.
import type { HttpClient } from '../client/http.ts'
import { isEdgelogError } from '../client/errors.ts'
import type { Runtime, TimerHandle } from '../core/clock.ts'
import { validateTopicName } from '../broker/names.ts'
import { EdgelogError } from '../core/errors.ts'
import type { EdgeStore, PartitionMeta, TopicMeta } from './edge-store.ts'
import type { Upstream } from './upstream.ts'
import { credentialRefused, serverError } from './errors.ts'

/** A described topic is described again after this long even when nothing uses it. */
const DESCRIBE_MAX_AGE_FACTOR = 6
/** Topics described at once during a refresh. */
const DESCRIBE_CONCURRENCY = 4
/** How long a name upstream denied is answered as unknown without asking again. */
const UNKNOWN_TOPIC_MEMORY_MS = 1000
const MAX_UNKNOWN_REMEMBERED = 1000
/** Topics an edge tracks; a larger listing is cut (and reported) rather than held whole. */
export const MAX_TOPICS = 10_000

export interface MetadataListener {
  /** A topic appeared, or its id or partition count changed (it was re-created upstream). */
  topicChanged(topic: TopicMeta, previous: TopicMeta | undefined): void
  topicRemoved(name: string): void
}

export class EdgeMetadata {
  private readonly topics = new Map<string, TopicMeta>()
  private readonly describing = new Map<string, Promise<TopicMeta | undefined>>()
  /** Names upstream said do not exist, and when (a produce to one does not ask again at once). */
  private readonly unknown = new Map<string, number>()
  private refreshing: Promise<void> | undefined
  private timer: TimerHandle | undefined
  private stopped = false
  /** The refresh timer lapsed because the edge was idle (keepRefreshing); resume() restarts it. */
  private lapsed = false
  /** Monotonic ms of the last refresh that reached upstream. */
  lastRefreshAt = -Infinity
  refreshErrors = 0
  truncatedListing = false

  constructor(
    private readonly store: EdgeStore,
    private readonly upstream: Upstream,
    private readonly runtime: Runtime,
    private readonly refreshMs: number,
    private readonly listener: MetadataListener,
    /** Topics in use (produced to, relayed) are described at every refresh. */
    private readonly isActive: (topic: string) => boolean,
    private readonly logError: (message: string, err?: unknown) => void,
    /** Asked after each refresh: false lets the timer lapse until resume(). */
    private readonly keepRefreshing: () => boolean = () => true,
  ) {
    for (const t of store.topics()) this.topics.set(t.name, t)
  }

  get(name: string): TopicMeta | undefined {
    return this.topics.get(name)
  }

  list(): TopicMeta[] {
    return [...this.topics.values()].sort((a, b) => (a.name < b.name ? -1 : 1))
  }

  /**
   * The topic to route a produce by: described at least once (configs decide validation).
   * Unknown here and upstream unreachable: NETWORK_EXCEPTION (the edge cannot tell), never a guess.
   */
  async forProduce(name: string): Promise<TopicMeta> {
    const known = this.topics.get(name)
    // A name no broker accepts, or one upstream denied a moment ago: no round trip.
    if (!known && (!legalTopicName(name) || this.recentlyUnknown(name))) {
      throw new EdgelogError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name.slice(0, 300)}' does not exist`)
    }
    if (known && known.describedAt > 0) return known
    // The region did not answer the last request: a produce does not wait for another timeout.
    if (this.upstream.down) {
      if (known) return known
      throw new EdgelogError('NETWORK_EXCEPTION', `topic '${name}' is not known at this edge and upstream cannot be reached`)
    }
    let described: TopicMeta | undefined
    try {
      described = await this.describe(name)
    } catch (err) {
      // Listed but never described, upstream away: route by the listing with default configs.
      if (known) return known
      if (credentialRefused(err)) throw new EdgelogError('NETWORK_EXCEPTION', `topic '${name}' is not known at this edge: ${serverError(err).message}`)
      throw new EdgelogError('NETWORK_EXCEPTION', `topic '${name}' is not known at this edge and upstream cannot be reached: ${(err as Error).message}`)
    }
    if (!described) throw new EdgelogError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' does not exist`)
    return described
  }

  /** Describes one topic upstream now; undefined when upstream says it does not exist. */
  describe(name: string): Promise<TopicMeta | undefined> {
    let pending = this.describing.get(name)
    if (pending) return pending
    pending = this.upstream
      .call((http) => http.describeTopic(name), { idempotent: true })
      .then(
        (d) => {
          const meta = fromDescription(name, d, this.runtime.clock.now())
          this.put(meta)
          return meta
        },
        (err: unknown) => {
          if (isEdgelogError(err) && err.code === 'UNKNOWN_TOPIC_OR_PARTITION') {
            this.remove([name])
            this.rememberUnknown(name)
            return undefined
          }
          throw err
        },
      )
      .finally(() => this.describing.delete(name))
    this.describing.set(name, pending)
    return pending
  }

  /** Lists topics upstream, describes the new, changed, active and stale ones, and forgets deleted ones. */
  refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => (this.refreshing = undefined))
    return this.refreshing
  }

  start(): void {
    this.stopped = false
    void this.refresh().catch(() => {})
    this.schedule()
  }

  /** Restarts a refresh timer that lapsed while the edge was idle (a refresh now, then on schedule). */
  resume(): void {
    if (!this.lapsed || this.stopped) return
    this.lapsed = false
    void this.refresh().catch(() => {})
    this.schedule()
  }

  stop(): void {
    this.stopped = true
    if (this.timer) this.runtime.timers.clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Takes in a description that arrived another way (a client's describe through this edge). */
  learn(name: string, d: Description): void {
    try {
      this.put(fromDescription(name, d, this.runtime.clock.now()))
    } catch (err) {
      this.logError(`edgelog edge: upstream's description of ${name} was not usable`, err)
    }
  }

  /** Applies what upstream said of a topic. */
  put(meta: TopicMeta): void {
    this.unknown.delete(meta.name)
    const previous = this.topics.get(meta.name)
    this.topics.set(meta.name, meta)
    this.store.saveTopics([meta])
    // A listing carries no id: only two described ids that differ mean the topic was re-created.
    const recreated = previous !== undefined && previous.topicId !== '' && meta.topicId !== '' && previous.topicId !== meta.topicId
    if (!previous || previous.partitions !== meta.partitions || recreated) this.listener.topicChanged(meta, previous)
  }

  private recentlyUnknown(name: string): boolean {
    const at = this.unknown.get(name)
    if (at === undefined) return false
    if (this.runtime.clock.monotonic() - at < UNKNOWN_TOPIC_MEMORY_MS) return true
    this.unknown.delete(name)
    return false
  }

  private rememberUnknown(name: string): void {
    this.unknown.delete(name)
    this.unknown.set(name, this.runtime.clock.monotonic())
    if (this.unknown.size > MAX_UNKNOWN_REMEMBERED) this.unknown.delete(this.unknown.keys().next().value as string)
  }

  private remove(names: string[]): void {
    const gone = names.filter((n) => this.topics.delete(n))
    if (gone.length === 0) return
    this.store.saveTopics([], gone)
    for (const n of gone) this.listener.topicRemoved(n)
  }

  private schedule(): void {
    if (this.stopped) return
    this.timer = this.runtime.timers.setTimeout(() => {
      void this.refresh()
        .catch(() => {})
        .finally(() => {
          if (this.keepRefreshing()) return this.schedule()
          this.timer = undefined
          this.lapsed = true
        })
    }, this.refreshMs)
  }

  private async doRefresh(): Promise<void> {
    let listing: Array<{ name: string; partitions: number }>
    try {
      listing = (await this.upstream.call((http: HttpClient) => http.listTopics(), { idempotent: true })).topics
    } catch (err) {
      this.refreshErrors++
      throw err
    }
    this.lastRefreshAt = this.runtime.clock.monotonic()
    listing = listing.filter((t) => {
      // Names become file names (the outbox): a name a broker would refuse is never used here.
      if (legalTopicName(t.name) && Number.isInteger(t.partitions) && t.partitions > 0) return true
      this.logError(`edgelog edge: upstream listed a topic this edge cannot use: ${JSON.stringify(t.name).slice(0, 300)}`)
      return false
    })
    this.truncatedListing = listing.length > MAX_TOPICS
    if (this.truncatedListing) {
      this.logError(`edgelog edge: upstream lists ${listing.length} topics; only the first ${MAX_TOPICS} are tracked`)
      listing = listing.slice(0, MAX_TOPICS)
    }
    const now = this.runtime.clock.now()
    const listed = new Set(listing.map((t) => t.name))
    if (!this.truncatedListing) this.remove([...this.topics.keys()].filter((n) => !listed.has(n)))
    const toDescribe: string[] = []
    for (const t of listing) {
      let known = this.topics.get(t.name)
      if (!known || known.partitions !== t.partitions) {
        // Routable from now on, even if the describe below cannot be made.
        this.put({ name: t.name, topicId: '', partitions: t.partitions, config: {}, describedAt: 0, partitionInfo: [] })
        known = this.topics.get(t.name)
      }
      const stale = known !== undefined && now - known.describedAt > this.refreshMs * DESCRIBE_MAX_AGE_FACTOR
      if (!known || known.partitions !== t.partitions || known.describedAt === 0 || stale || this.isActive(t.name)) toDescribe.push(t.name)
    }
    let next = 0
    const worker = async () => {
      while (next < toDescribe.length && !this.stopped) {
        const name = toDescribe[next++]!
        try {
          await this.describe(name)
        } catch (err) {
          this.refreshErrors++
          // A topic listed a moment ago may be gone; anything else is reported, and retried next refresh.
          if (!(isEdgelogError(err) && err.code === 'UNKNOWN_TOPIC_OR_PARTITION')) this.logError(`edgelog edge: describing topic ${name} upstream failed`, err)
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(DESCRIBE_CONCURRENCY, toDescribe.length) }, worker))
  }
}

export interface Description {
  name: string
  config: Record<string, string>
  partitions: Array<{ partition: number; leader: number | string | null; leaderEpoch: number; logStartOffset: number; highWatermark: number }>
}

function legalTopicName(name: string): boolean {
  try {
    validateTopicName(name)
    return true
  } catch {
    return false
  }
}

function fromDescription(name: string, d: Description, now: number): TopicMeta {
  if (!legalTopicName(name)) throw new EdgelogError('INVALID_TOPIC', `'${name.slice(0, 300)}' is not a topic name this edge can use`)
  const topicId = (d as { topicId?: unknown }).topicId
  const partitionInfo: PartitionMeta[] = [...d.partitions]
    .sort((a, b) => a.partition - b.partition)
    .map((p) => ({ partition: p.partition, leader: p.leader, leaderEpoch: p.leaderEpoch, logStartOffset: p.logStartOffset, highWatermark: p.highWatermark }))
  partitionInfo.forEach((p, i) => {
    if (p.partition !== i) throw new EdgelogError('INTERNAL', `upstream described ${name} with partitions that are not 0..n-1`)
  })
  return {
    name,
    topicId: typeof topicId === 'string' ? topicId : '',
    partitions: partitionInfo.length,
    config: { ...d.config },
    describedAt: now,
    partitionInfo,
  }
}
