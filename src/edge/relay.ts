// Relay fan-out: local WebSocket and SSE subscribers of a topic share ONE upstream subscription
// per topic. The edge is a WebSocket client of its region's /v1/ws (src/client/), and what the
// region sends is written, at the region's offsets, into a relay cache: a broker of its own
// whose partitions hold the recent records. The fan-out hub (src/fanout/) runs on that cache
// exactly as it runs on a broker's logs, so every subscriber, at any edge or broker, sees the
// same records with the same offsets in the same order. A record produced at this edge reaches
// its local subscribers only when the region has committed it and sent it back. Older resumes
// than the cache holds are read from the region (readBefore).
import type { Acks, Broker, ProduceRecord, ProducerId } from '../broker/broker.ts'
import { recordSizeBound } from '../broker/batching.ts'
import type { Partition } from '../broker/partition.ts'
import { isEdgelogError } from '../client/errors.ts'
import { Subscription, type ConsumedRecord, type Gap, type SubscriptionStatus } from '../client/subscription.ts'
import { WsConnection, type WebSocketConstructor } from '../client/ws-connection.ts'
import { BATCH_HEADER_SIZE, encodeRetainedBatch, readBatchHeader, type BatchHeader, type BatchRecord, type NewRecord } from '../codec/record-batch.ts'
import type { TimerHandle } from '../core/clock.ts'
import { assert, EdgelogError, fail, knownErrorCode } from '../core/errors.ts'
import type { FanoutHub } from '../fanout/hub.ts'
import type { EarlierRange, FanoutNode, PubResult } from '../fanout/node.ts'
import type { StartPlan } from '../fanout/plan.ts'
import type { StartPosition } from '../fanout/protocol.ts'
import { isInternalTopic } from '../groups/offsets-topic.ts'
import type { EdgeNode } from './edge-node.ts'
import type { TopicMeta } from './edge-store.ts'
import { toBatchRecord } from './relay-records.ts'

/** Records accepted from upstream and not yet in the cache, per partition, before the feed waits for the cache. */
const MAX_PENDING_RECORDS = 20_000
/** One cache append: at most this many bytes of records (by the broker's bound). */
const CACHE_BATCH_BYTES = 1024 * 1024
/** A topic relay that starts more than this many records behind its region starts at the region's end instead (when nobody reads it). */
const MAX_CATCH_UP_RECORDS = 100_000
/** How fresh upstream offsets must be to resolve `latest` / `earliest` for a new local subscription. */
const UPSTREAM_OFFSETS_MAX_AGE_MS = 100
/** Records the upstream subscription may queue while the cache appends (its pause threshold). */
const UPSTREAM_QUEUE_RECORDS = 10_000
const RELAY_STATE_PREFIX = 'relay-topic:'

export class EdgeRelay implements FanoutNode {
  readonly groupSubscriptions = false
  private hub: FanoutHub | undefined
  private conn: WsConnection | undefined
  private connUrl = ''
  private readonly topics = new Map<string, TopicRelay>()
  private readonly localCounts = new Map<string, number>()
  private closed = false
  readonly m

  constructor(
    readonly edge: EdgeNode,
    /** The relay cache: a broker whose partitions hold recent records at the region's offsets. */
    readonly cache: Broker,
    private readonly WebSocket?: WebSocketConstructor,
  ) {
    const metrics = edge.metrics
    this.m = {
      relayed: metrics.counter('edgelog_edge_relay_records_total', 'Records received from the upstream subscription into the relay cache, per topic'),
      backfill: metrics.counter('edgelog_edge_relay_backfill_requests_total', 'Reads from upstream for local subscribers older than the relay cache, per topic'),
      errors: metrics.counter('edgelog_edge_relay_errors_total', 'Upstream subscription and cache errors, per topic and code'),
    }
    metrics.gauge('edgelog_edge_relay_subscriptions', 'Upstream subscriptions of this edge, one per relayed topic (1: live, 0: (re)connecting)', () =>
      [...this.topics.values()].map((t) => [{ topic: t.name }, t.status === 'live' ? 1 : 0]),
    )
    metrics.gauge('edgelog_edge_relay_lag_records', 'Upstream subscription lag: the region\'s high watermark as last read minus the relay cache\'s, per partition', () => {
      const out: Array<[Record<string, string | number>, number]> = []
      for (const t of this.topics.values()) {
        const meta = edge.metadata.get(t.name)
        for (const m of t.mirrors) out.push([{ topic: t.name, partition: m.index }, Math.max(0, (meta?.partitionInfo[m.index]?.highWatermark ?? 0) - m.partition.highWatermark)])
      }
      return out
    })
    metrics.gauge('edgelog_edge_relay_local_subscriptions', 'Local WebSocket and SSE subscriptions sharing each upstream subscription, per topic', () =>
      [...this.localCounts].map(([topic, n]) => [{ topic }, n]),
    )
  }

  /** The hub runs on the relay cache; set once it exists. */
  attach(hub: FanoutHub): void {
    this.hub = hub
  }

  isRelayed(topic: string): boolean {
    return this.topics.has(topic)
  }

  // ---- FanoutNode: where subscriptions start ----

  /**
   * Resolves a local subscription against the region: `earliest` and `latest` are the region's
   * log start and high watermark, an explicit offset is checked against the region's log end.
   * The cursor then reads the cache, waits above it while the relay catches up, or reads older
   * records from the region.
   */
  async plan(topic: string, partitions: number[] | undefined, from: StartPosition): Promise<StartPlan> {
    this.checkOpen()
    const relay = await this.ready(topic)
    const count = relay.mirrors.length
    const indexes = partitions ?? Array.from({ length: count }, (_, i) => i)
    if (new Set(indexes).size !== indexes.length) fail('INVALID_REQUEST', 'partitions lists a partition twice')
    for (const i of indexes) if (i >= count) fail('UNKNOWN_TOPIC_OR_PARTITION', `topic '${topic}' has no partition ${i}`)
    const explicit = typeof from === 'object' && 'offsets' in from ? from.offsets : undefined
    if (explicit) {
      for (const key of Object.keys(explicit)) {
        if (!indexes.includes(Number(key))) {
          fail(partitions ? 'INVALID_REQUEST' : 'UNKNOWN_TOPIC_OR_PARTITION', `from.offsets names partition ${key}, which is not part of the subscription`)
        }
      }
    }
    const upstream = await this.upstreamOffsets(topic, from !== 'latest' || explicit !== undefined)
    const starts: StartPlan['starts'] = []
    for (const i of indexes) {
      const mirror = relay.mirrors[i]!
      const p = mirror.partition
      const region = upstream?.[i]
      let next: number
      if (from === 'earliest' || (explicit && explicit[String(i)] === undefined)) {
        next = region?.logStartOffset ?? p.log.logStartOffset
      } else if (from === 'latest') {
        next = Math.max(p.highWatermark, region?.highWatermark ?? 0)
      } else if ('timestamp' in from) {
        next = (await this.offsetForTimestamp(topic, i, from.timestamp)) ?? Math.max(p.highWatermark, region?.highWatermark ?? 0)
      } else {
        next = explicit![String(i)]!
        const end = Math.max(p.log.logEndOffset, region?.highWatermark ?? -1)
        // Beyond what the region has: the same answer a broker gives. Region unreachable: the cursor waits.
        if (next > end && region !== undefined) {
          throw new EdgelogError('OFFSET_OUT_OF_RANGE', `offset ${next} is beyond the end (${end}) of ${topic}-${i}; the log was replaced or lost`)
        }
      }
      starts.push({ partition: p, next })
    }
    if (starts.some((s) => s.partition.isClosed)) fail('UNKNOWN_TOPIC_OR_PARTITION', `topic '${topic}' was deleted`)
    relay.touch()
    return { topic, starts }
  }

  /** Records older than the relay cache holds: fetched from the region, or the gap it reports. */
  async readBefore(p: Partition, from: number, upTo: number, maxRecords: number, maxBytes: number): Promise<EarlierRange> {
    this.m.backfill.inc({ topic: p.topic })
    const up = this.edge.upstream
    try {
      const r = await up.call((http) => http.fetchRecords(p.topic, p.index, { offset: from, maxRecords, maxBytes }), { idempotent: true })
      const records: BatchRecord[] = []
      for (const x of r.records) if (x.offset >= from && x.offset < upTo) records.push(toBatchRecord(x))
      const last = records[records.length - 1]
      const next = Math.min(upTo, Math.max(last ? last.offset + 1 : from, r.records.length === records.length ? r.nextOffset : 0))
      if (next <= from) throw new EdgelogError('NETWORK_EXCEPTION', `upstream returned nothing from ${p.topic}-${p.index} at ${from}`)
      return { records, next }
    } catch (err) {
      if (isEdgelogError(err) && err.code === 'OFFSET_OUT_OF_RANGE') {
        // Gone in the region too: the gap a broker would report, up to the region's log start.
        const o = await up.call((http) => http.offsetForTimestamp(p.topic, p.index, Number.MAX_SAFE_INTEGER), { idempotent: true }).catch((e) => {
          throw serverError(e)
        })
        const logStart = (o as { logStartOffset?: number }).logStartOffset
        if (typeof logStart === 'number' && logStart > from) return { gapTo: Math.min(upTo, logStart) }
      }
      throw serverError(err)
    }
  }

  // ---- FanoutNode: pub and commit frames go where produces go at an edge ----

  produce(topic: string, records: ProduceRecord[], acks: Acks): Promise<PubResult[]> {
    return this.edge.produce(topic, records, acks)
  }

  produceIdempotent(topic: string, partition: number, records: NewRecord[], acks: Acks, producer: ProducerId) {
    return this.edge.produceIdempotent(topic, partition, records, acks, producer)
  }

  async commitOffsets(group: string, offsets: Array<{ topic: string; partition: number; offset: number; metadata?: string }>): Promise<void> {
    try {
      await this.edge.upstream.call((http) => http.commitOffsets(group, offsets), { idempotent: true })
    } catch (err) {
      throw serverError(err)
    }
  }

  subscriptionsChanged(topic: string, count: number): void {
    if (count === 0) this.localCounts.delete(topic)
    else this.localCounts.set(topic, count)
    const relay = this.topics.get(topic)
    if (relay) relay.touch()
    // A subscription whose relay stopped while it was being planned: the relay starts again.
    else if (count > 0 && !this.closed) void this.ready(topic).catch((err) => this.edge.options.logError(`edgelog edge: restarting the relay of ${topic} failed`, err))
  }

  localSubscriptions(topic: string): number {
    return this.localCounts.get(topic) ?? 0
  }

  // ---- metadata events ----

  /** The topic was re-created upstream or its partition count changed: the cache starts over. */
  topicChanged(meta: TopicMeta, previous: TopicMeta | undefined): void {
    if (!previous) return
    const relay = this.topics.get(meta.name)
    if (relay) relay.stop()
    this.dropCache(meta.name)
  }

  topicRemoved(name: string): void {
    this.topics.get(name)?.stop()
    this.dropCache(name)
  }

  // ---- the one upstream WebSocket ----

  /** The WebSocket to the current upstream, shared by every topic relay; a new one after a failover. */
  connection(): WsConnection {
    const up = this.edge.upstream
    if (this.conn && this.connUrl === up.url) return this.conn
    const old = this.conn
    const url = up.url
    const conn = new WsConnection({
      url: up.wsUrl,
      ...(this.WebSocket ? { WebSocket: this.WebSocket } : {}),
      backoff: { baseMs: 100, maxMs: 2000, random: () => this.edge.runtime.random.next() },
    })
    conn.onError((err) => {
      if (err.code !== 'NETWORK_EXCEPTION') return
      up.noteContact(url, false, err.message)
      up.moveOnFrom(url)
      // Another upstream is current now: every topic relay moves to it, from where its cache ends.
      if (up.url !== url && this.conn === conn) this.edge.runtime.timers.defer(() => this.moveRelays())
    })
    this.conn = conn
    this.connUrl = url
    if (old) old.close()
    return conn
  }

  private moveRelays(): void {
    if (this.closed) return
    for (const t of this.topics.values()) t.resubscribe()
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    for (const t of [...this.topics.values()]) t.stop()
    this.conn?.close()
  }

  // ---- internals ----

  /** The topic's relay, started if need be, once its cache is in place and its upstream subscription asked for. */
  private async ready(topic: string): Promise<TopicRelay> {
    if (isInternalTopic(topic)) fail('INVALID_REQUEST', `'${topic}' is an internal topic of the region; an edge does not relay it`)
    let relay = this.topics.get(topic)
    if (!relay) {
      relay = new TopicRelay(this, topic)
      this.topics.set(topic, relay)
      relay.start()
    }
    const timeoutMs = this.edge.options.relayReadyTimeoutMs
    let timer: TimerHandle | undefined
    try {
      await Promise.race([
        relay.started,
        new Promise((_, reject) => {
          timer = this.edge.runtime.timers.setTimeout(
            () => reject(new EdgelogError('REQUEST_TIMED_OUT', `the relay of topic '${topic}' did not start within ${timeoutMs} ms (upstream unreachable?)`)),
            timeoutMs,
          )
        }),
      ])
    } finally {
      if (timer) this.edge.runtime.timers.clearTimeout(timer)
    }
    return relay
  }

  forget(relay: TopicRelay): void {
    if (this.topics.get(relay.name) === relay) this.topics.delete(relay.name)
  }

  /** Offsets of the topic's partitions in the region, read within the last 100 ms; undefined when it cannot be reached. */
  private async upstreamOffsets(topic: string, required: boolean): Promise<TopicMeta['partitionInfo'] | undefined> {
    const known = this.edge.metadata.get(topic)
    if (known && known.describedAt > 0 && this.edge.runtime.clock.now() - known.describedAt <= UPSTREAM_OFFSETS_MAX_AGE_MS) return known.partitionInfo
    // The region did not answer the last request: no new subscription waits for a timeout.
    if (this.edge.upstream.down) return required && known?.partitionInfo.length ? known.partitionInfo : undefined
    try {
      const d = await this.edge.metadata.describe(topic)
      if (!d) fail('UNKNOWN_TOPIC_OR_PARTITION', `topic '${topic}' does not exist`)
      return d.partitionInfo
    } catch (err) {
      if (err instanceof EdgelogError && err.code === 'UNKNOWN_TOPIC_OR_PARTITION') throw err
      // Away: `latest` is this edge's newest; `earliest` what it last learned.
      if (!required) return undefined
      return known?.partitionInfo.length ? known.partitionInfo : undefined
    }
  }

  private async offsetForTimestamp(topic: string, partition: number, ts: number): Promise<number | null> {
    try {
      const r = await this.edge.upstream.call((http) => http.offsetForTimestamp(topic, partition, ts), { idempotent: true })
      return r.offset
    } catch (err) {
      throw serverError(err)
    }
  }

  /** Closes the topic's cache partitions (their feeds end their cursors) and deletes them. */
  dropCache(topic: string): void {
    this.edge.store.deleteState(RELAY_STATE_PREFIX + topic)
    try {
      this.cache.deleteTopic(topic)
    } catch (err) {
      if (!(err instanceof EdgelogError && err.code === 'UNKNOWN_TOPIC_OR_PARTITION')) throw err
    }
  }

  /**
   * The topic's cache, in place at the region's offsets: reused when it was built for this
   * incarnation of the topic (same id and partition count), else built anew starting at the
   * region's high watermarks (which needs the region).
   */
  async openCache(topic: string): Promise<Partition[]> {
    const known = this.edge.metadata.get(topic) ?? (await this.edge.metadata.forProduce(topic))
    const built = this.edge.store.getState(RELAY_STATE_PREFIX + topic)
    const existing = this.cache.listTopics().find((t) => t.name === topic)
    if (existing && built !== undefined && built === known.topicId && known.topicId !== '' && existing.partitions === known.partitions) {
      const parts = Array.from({ length: existing.partitions }, (_, i) => this.cache.partition(topic, i))
      await this.skipAhead(topic, parts)
      return parts
    }
    const fresh = await this.edge.metadata.describe(topic)
    if (!fresh) fail('UNKNOWN_TOPIC_OR_PARTITION', `topic '${topic}' does not exist`)
    if (existing) this.dropCache(topic)
    this.cache.createTopic({ name: topic, partitions: fresh.partitions })
    const parts = Array.from({ length: fresh.partitions }, (_, i) => this.cache.partition(topic, i))
    parts.forEach((p, i) => startAt(p, fresh.partitionInfo[i]!.highWatermark))
    this.edge.store.setState(RELAY_STATE_PREFIX + topic, fresh.topicId)
    return parts
  }

  /** A cache far behind its region, that nobody reads now, starts at the region's end instead of replaying. */
  private async skipAhead(topic: string, parts: Partition[]): Promise<void> {
    if (this.edge.upstream.down) return
    let region: TopicMeta | undefined
    try {
      region = await this.edge.metadata.describe(topic)
    } catch {
      return // away: resume from where the cache ends
    }
    parts.forEach((p, i) => {
      const hw = region?.partitionInfo[i]?.highWatermark ?? 0
      if (hw - p.log.logEndOffset > MAX_CATCH_UP_RECORDS && this.hub?.publishedOffset(p) === undefined) startAt(p, hw)
    })
  }

  publishedOffset(p: Partition): number | undefined {
    return this.hub?.publishedOffset(p)
  }

  private checkOpen(): void {
    if (this.closed) throw new EdgelogError('SHUTTING_DOWN', 'the node is shutting down')
  }
}

/** Moves an empty-or-behind cache partition forward to `offset` (its feed hears a gap if it had cursors). */
function startAt(p: Partition, offset: number): void {
  if (offset <= p.log.logEndOffset) return
  p.log.truncateFullyAndStartAt(offset)
  p.setHighWatermark(offset)
}

/** One relayed topic: its upstream subscription and the cache partitions it writes. */
class TopicRelay {
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

/**
 * One cache partition fed by the upstream subscription: records are appended at their
 * regional offsets (a batch's base is where the cache ends, so an offset hole left by the
 * region's compaction stays a hole), gaps start the cache again further on, and every change
 * runs in order on one chain. The cache keeps about --relay-cache-bytes, trimmed only below what
 * its live feed has sent.
 */
class MirrorPartition {
  readonly index: number
  /** Where the next record accepted from upstream must be: the cache's end plus what is on its way. */
  acceptedEnd: number
  private chain: Promise<void> = Promise.resolve()
  private open: BatchRecord[] | undefined
  private pending = 0
  private stopped = false

  constructor(
    private readonly topic: TopicRelay,
    readonly partition: Partition,
  ) {
    this.index = partition.index
    this.acceptedEnd = partition.log.logEndOffset
  }

  push(r: BatchRecord): void | Promise<void> {
    if (this.stopped || r.offset < this.acceptedEnd) return // a repeat after a resubscribe
    this.acceptedEnd = r.offset + 1
    if (!this.open) {
      const records: BatchRecord[] = []
      this.open = records
      this.enqueue(() => {
        if (this.open === records) this.open = undefined
        this.pending -= records.length
        return this.append(records)
      })
    }
    this.open.push(r)
    this.pending++
    // Far ahead of the cache: the upstream subscription waits (it queues, then pauses its feed).
    if (this.pending >= MAX_PENDING_RECORDS) return this.chain
  }

  /** The region no longer has [acceptedEnd, to): the cache starts again at `to` (live cursors hear a gap). */
  gap(to: number): void {
    if (this.stopped || to <= this.acceptedEnd) return
    this.acceptedEnd = to
    this.open = undefined
    this.enqueue(async () => startAt(this.partition, to))
  }

  stop(): void {
    this.stopped = true
    this.open = undefined
  }

  private enqueue(op: () => Promise<void> | void): void {
    this.chain = this.chain.then(async () => {
      if (this.stopped) return
      try {
        await op()
      } catch (err) {
        this.topic.failed(err)
      }
    })
  }

  private async append(records: BatchRecord[]): Promise<void> {
    const p = this.partition
    // Batches well under the cache's size, so trimming keeps most of what the cache may hold.
    const maxBatch = Math.min(CACHE_BATCH_BYTES, Math.max(4096, Math.floor(this.topic.relay.edge.options.relayCacheBytes / 8)))
    let at = 0
    while (at < records.length && !this.stopped) {
      const base = p.log.logEndOffset
      let bound = BATCH_HEADER_SIZE
      let end = at
      while (end < records.length && (end === at || bound + recordSizeBound(records[end]!) <= maxBatch)) bound += recordSizeBound(records[end++]!)
      const chunk = records.slice(at, end)
      at = end
      assert(chunk[0]!.offset >= base, `relay cache ${p.topic}-${p.index}: record ${chunk[0]!.offset} below the cache end ${base}`)
      const last = chunk[chunk.length - 1]!.offset
      if (last - base > 0x7fff_ffff) {
        // A hole wider than one batch can describe: the cache starts again at the first record.
        startAt(p, chunk[0]!.offset)
        at -= chunk.length
        continue
      }
      const header = syntheticHeader(base, last - base)
      const batch = encodeRetainedBatch(header, chunk)
      const r = await p.append({ batch, header: readBatchHeader(batch) })
      if (!r.ok) throw r.error
      assert(r.baseOffset === base && r.lastOffset === last, `relay cache ${p.topic}-${p.index}: batch placed at ${r.baseOffset}, expected ${base}`)
    }
    this.trim()
  }

  /** Keeps about --relay-cache-bytes, and nothing older than the region keeps; never past what the live feed sent. */
  private trim(): void {
    const p = this.partition
    const log = p.log
    const limit = this.topic.relay.edge.options.relayCacheBytes
    const regionStart = this.topic.relay.edge.metadata.get(p.topic)?.partitionInfo[p.index]?.logStartOffset ?? 0
    const published = this.topic.relay.publishedOffset(p) ?? p.highWatermark
    let cut = Math.min(Math.max(log.logStartOffset, regionStart), published)
    if (log.sizeBytes > limit) {
      let remaining = log.sizeBytes
      for (const b of log.batchIndex(log.logStartOffset, 10_000)) {
        if (remaining <= limit || b.lastOffset + 1 > published) break
        remaining -= b.sizeBytes
        cut = Math.max(cut, b.lastOffset + 1)
      }
    }
    if (cut > log.logStartOffset) log.advanceLogStart(cut)
  }
}

/** The header of a cache batch from `base` spanning `lastOffsetDelta` offsets (no producer, no compression). */
function syntheticHeader(base: number, lastOffsetDelta: number): BatchHeader {
  return {
    baseOffset: base,
    batchLength: 0,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0,
    attributes: 0,
    compression: 0,
    lastOffsetDelta,
    baseTimestamp: 0,
    maxTimestamp: 0,
    producerId: -1,
    producerEpoch: -1,
    baseSequence: -1,
    recordCount: 0,
  }
}

function codeOf(err: unknown): string {
  return isEdgelogError(err) ? err.code : err instanceof EdgelogError ? err.code : 'INTERNAL'
}

/** An upstream or client-library error as one this node answers with (unknown codes: NETWORK_EXCEPTION). */
export function serverError(err: unknown): EdgelogError {
  if (err instanceof EdgelogError) return err
  if (isEdgelogError(err)) return new EdgelogError(knownErrorCode(err.code) ?? 'NETWORK_EXCEPTION', err.message)
  return new EdgelogError('INTERNAL', 'internal error')
}
