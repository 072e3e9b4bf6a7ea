// One relayed topic: the edge's single upstream subscription for it (the client library's
// Subscription, resuming exactly where the relay cache ends) and the cache partitions it writes.
import { Subscription, type ConsumedRecord, type Gap, type SubscriptionStatus } from '../client/subscription.ts'
import type { TimerHandle } from '../core/clock.ts'
import { codeOf, serverError } from './errors.ts'
import { MirrorPartition } from './relay-cache.ts'
import type { EdgeRelay } from './relay.ts'
import { toBatchRecord } from './wire-records.ts'

/** Records the upstream subscription may queue while the cache appends (its pause threshold). */
const UPSTREAM_QUEUE_RECORDS = 10_000

/** One relayed topic: its upstream subscription and the cache partitions it writes. */
export class TopicRelay {
  status: SubscriptionStatus | 'starting' = 'starting'
  mirrors: MirrorPartition[] = []
  /** Resolves once the cache is in place and the upstream subscription was asked for. */
  readonly started: Promise<void>
  private resolveStarted!: () => void
  private rejectStarted!: (err: unknown) => void
  private sub: Subscription | undefined
  private lingerTimer: TimerHandle | undefined
  private retryTimer: TimerHandle | undefined
  private stopped = false

  constructor(
    readonly relay: EdgeRelay,
    readonly name: string,
  ) {
    this.started = new Promise((resolve, reject) => {
      this.resolveStarted = resolve
      this.rejectStarted = reject
    })
    this.started.catch(() => {})
  }

  start(): void {
    this.relay
      .openCache(this.name)
      .then((parts) => {
        if (this.stopped) return
        this.mirrors = parts.map((p) => new MirrorPartition(this, p))
        this.subscribe()
        this.resolveStarted()
        this.touch()
      })
      .catch((err) => {
        // Not started (region unreachable for a new cache, topic gone): the next subscribe tries again.
        this.relay.m.errors.inc({ topic: this.name, code: codeOf(err) })
        this.stop()
        this.rejectStarted(serverError(err))
      })
  }

  /** (Re)subscribes upstream from exactly where the cache (and what is on its way into it) ends. */
  private subscribe(): void {
    const offsets: Record<string, number> = {}
    for (const m of this.mirrors) offsets[String(m.index)] = m.acceptedEnd
    const sub = new Subscription(
      this.relay.connection(),
      this.name,
      {
        from: { offsets },
        partitions: this.mirrors.map((m) => m.index),
        maxQueuedRecords: UPSTREAM_QUEUE_RECORDS,
        onGap: (gap) => this.onGap(gap),
        onStatus: (status) => {
          if (this.sub !== sub) return
          this.status = status
          if (status === 'live') this.relay.edge.upstream.noteContact(this.relay.edge.upstream.url, true)
        },
        onError: (err) => this.relay.m.errors.inc({ topic: this.name, code: err.code }),
      },
      (record) => this.onRecord(record),
    )
    this.sub = sub
    sub.done.then(
      () => {},
      (err: unknown) => {
        if (this.sub !== sub || this.stopped) return
        this.upstreamEnded(err)
      },
    )
  }

  /** Moves to another upstream (a failover), from where the cache ends. */
  resubscribe(): void {
    if (this.stopped || !this.sub) return
    const old = this.sub
    this.sub = undefined
    old.close()
    this.subscribe()
  }

  private onRecord(record: ConsumedRecord): void | Promise<void> {
    const mirror = this.mirrors[record.partition]
    if (!mirror) return
    this.relay.m.relayed.inc({ topic: this.name })
    return mirror.push(toBatchRecord(record))
  }

  private onGap(gap: Gap): void {
    this.mirrors[gap.partition]?.gap(gap.to)
  }

  /** The upstream subscription ended with an answer no retry changes. */
  private upstreamEnded(err: unknown): void {
    const code = codeOf(err)
    this.relay.m.errors.inc({ topic: this.name, code })
    if (code === 'OFFSET_OUT_OF_RANGE') {
      // The region's log is now shorter than this cache: it was replaced or lost data. Start over.
      this.relay.edge.options.logError(`edgelog edge: topic ${this.name} in the region ends before this edge's relay cache; the cache starts over`)
      this.stop()
      this.relay.dropCache(this.name)
      return
    }
    if (code === 'UNKNOWN_TOPIC_OR_PARTITION') {
      void this.relay.edge.metadata.describe(this.name).catch(() => {})
      this.stop()
      return
    }
    this.retryTimer = this.relay.edge.runtime.timers.setTimeout(() => {
      this.retryTimer = undefined
      if (!this.stopped) this.subscribe()
    }, 1000)
  }

  /** The cache could not be written: this relay ends (its local subscribers hear it) and the next subscribe starts it again. */
  failed(err: unknown): void {
    if (this.stopped) return
    this.relay.edge.options.logError(`edgelog edge: relay cache of ${this.name} failed; it starts over`, err)
    this.relay.m.errors.inc({ topic: this.name, code: codeOf(err) })
    this.stop()
    this.relay.dropCache(this.name)
  }

  /** Keeps the relay while local subscriptions exist; closes it a while after the last one left. */
  touch(): void {
    if (this.stopped) return
    if (this.lingerTimer) this.relay.edge.runtime.timers.clearTimeout(this.lingerTimer)
    this.lingerTimer = undefined
    if (this.relay.localSubscriptions(this.name) > 0) return
    this.lingerTimer = this.relay.edge.runtime.timers.setTimeout(() => {
      this.lingerTimer = undefined
      if (this.relay.localSubscriptions(this.name) === 0) this.stop()
    }, this.relay.edge.options.relayLingerMs)
  }

  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.status = 'closed'
    if (this.lingerTimer) this.relay.edge.runtime.timers.clearTimeout(this.lingerTimer)
    if (this.retryTimer) this.relay.edge.runtime.timers.clearTimeout(this.retryTimer)
    this.sub?.close()
    this.sub = undefined
    for (const m of this.mirrors) m.stop()
    this.relay.forget(this)
  }
}

