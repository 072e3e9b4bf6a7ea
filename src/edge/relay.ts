// Relay fan-out: local WebSocket and SSE subscribers of a topic share ONE upstream subscription
// per topic. The edge is a WebSocket client of its region's /v1/ws (src/client/), and what the
// region sends is written, at the region's offsets, into a relay cache: a broker of its own
// whose partitions hold the recent records. The fan-out hub (src/fanout/) runs on that cache
// exactly as it runs on a broker's logs, so every subscriber, at any edge or broker, sees the
// same records with the same offsets in the same order. A record produced at this edge reaches
// its local subscribers only when the region has committed it and sent it back. Older resumes
// than the cache holds are read from the region (readBefore).
import type { Acks, Broker, ProduceRecord, ProducerId } from '../broker/broker.ts'
import type { Partition } from '../broker/partition.ts'
import { isEdgelogError } from '../client/errors.ts'
import { WsConnection, type WebSocketConstructor } from '../client/ws-connection.ts'
import type { BatchRecord, NewRecord } from '../codec/record-batch.ts'
import type { TimerHandle } from '../core/clock.ts'
import { EdgelogError, fail } from '../core/errors.ts'
import type { FanoutHub } from '../fanout/hub.ts'
import type { EarlierRange, FanoutNode, PubResult } from '../fanout/node.ts'
import type { StartPlan } from '../fanout/plan.ts'
import type { StartPosition } from '../fanout/protocol.ts'
import { isInternalTopic } from '../groups/offsets-topic.ts'
import type { EdgeNode } from './edge-node.ts'
import type { TopicMeta } from './edge-store.ts'
import { serverError } from './errors.ts'
import { startAt } from './relay-cache.ts'
import { TopicRelay } from './topic-relay.ts'
import { toBatchRecord } from './wire-records.ts'

/** A topic relay that starts more than this many records behind its region starts at the region's end instead (when nobody reads it). */
const MAX_CATCH_UP_RECORDS = 100_000
/** How fresh upstream offsets must be to resolve `latest` / `earliest` for a new local subscription. */
const UPSTREAM_OFFSETS_MAX_AGE_MS = 100
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

  get relaying(): boolean {
    return this.topics.size > 0
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

  checkProducerOwner(producerId: number, principal: string, anyOwner: boolean): void {
    this.edge.checkProducerOwner(producerId, principal, anyOwner)
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
      // A refused upgrade looks like a connection error to a WebSocket client; while the region
      // refuses the edge's credential over HTTP, that is the likelier cause: the broker is up,
      // so it is neither marked unreachable nor passed over (the subscription keeps retrying).
      if (up.credentialRefused) return
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

