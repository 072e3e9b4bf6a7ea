// An edge relay node (`edgelog serve --role edge`): the same public API as a broker, in front
// of a region it may lose contact with. It learns the region's topics (metadata.ts), accepts
// produces into a SQLite outbox (outbox.ts), ships them upstream as an idempotent producer
// (shipper.ts, producer.ts) and relays the region's records to local subscribers (relay.ts).
import type { StorageProvider } from '../../storage/driver.ts'
import type { ProduceRecord, ProducerId } from '../broker/broker.ts'
import { encodeAppend, packBatches } from '../broker/batching.ts'
import { writeCompression, type ProduceCompression } from '../broker/topic-config.ts'
import type { FetchFunction } from '../client/http.ts'
import { StickyPartitioner } from '../codec/partitioner.ts'
import type { NewRecord } from '../codec/record-batch.ts'
import type { Runtime } from '../core/clock.ts'
import { EdgelogError, fail } from '../core/errors.ts'
import { Metrics } from '../core/metrics.ts'
import type { AppendResult } from '../log/partition-log.ts'
import { EdgeMetrics } from './edge-metrics.ts'
import { EdgeStore, type TopicMeta } from './edge-store.ts'
import { EdgeMetadata } from './metadata.ts'
import { DEFAULT_EDGE_OPTIONS, type EdgeOptions } from './options.ts'
import { Outbox, type OutboxPartition } from './outbox.ts'
import { EdgeProducer } from './producer.ts'
import { checkKeys, routeRecords, topicConfig } from './router.ts'
import { PartitionShipper, type ShipperHost } from './shipper.ts'
import { Upstream } from './upstream.ts'
import type { UpstreamCredential } from './upstream-credential.ts'
import type { ThrottleReason } from '../broker/broker-metrics.ts'

export type Acks = '0' | '1' | 'all'

/**
 * Where a record produced at an edge is held when the answer goes out (DESIGN.md, durability
 * levels): `edge-memory` (acks=0: validated, on its way into the outbox), `edge-outbox`
 * (acks=1: in this edge's SQLite outbox). With acks=all the answer carries the regional offset.
 */
export type HeldAt = 'edge-memory' | 'edge-outbox'

export interface EdgeProduceResult {
  partition: number
  offset: number | null
  heldAt?: HeldAt
}

/** What the relay fan-out (relay.ts) hears from the node. */
export interface RelayHooks {
  topicChanged(topic: TopicMeta, previous: TopicMeta | undefined): void
  topicRemoved(name: string): void
  isRelayed(topic: string): boolean
  /** Some topic is relayed now (an upstream subscription is open or lingering). */
  readonly relaying: boolean
}

export interface EdgeNodeDeps {
  /** Databases of this edge: `edge` (metadata, shipping state) and `outbox/<topic>-<partition>`. */
  storage: StorageProvider
  runtime: Runtime
  options: Partial<EdgeOptions> & { upstreams: string[] }
  /** Replaces the global fetch for upstream requests (tests). */
  fetch?: FetchFunction
  /** The edge's own token at the region (--upstream-token); without it its requests carry none. */
  credential?: UpstreamCredential
}

export class EdgeNode implements ShipperHost {
  readonly metrics = new Metrics()
  readonly options: EdgeOptions
  readonly runtime: Runtime
  readonly store: EdgeStore
  readonly upstream: Upstream
  readonly metadata: EdgeMetadata
  readonly outbox: Outbox
  readonly producer: EdgeProducer
  readonly m: EdgeMetrics
  ackWaiters = 0
  private readonly storage: StorageProvider
  private readonly shippers = new Map<OutboxPartition, PartitionShipper>()
  private readonly sticky: StickyPartitioner
  private relay: RelayHooks | undefined
  private closed = false
  private readonly credential: UpstreamCredential | undefined
  private readonly throttled
  private readonly credentialRefusals
  /** Monotonic ms of the last 403 logged, per code (one line a minute is enough to be seen). */
  private readonly forbiddenLoggedAt = new Map<string, number>()

  private constructor(deps: EdgeNodeDeps) {
    this.options = { ...DEFAULT_EDGE_OPTIONS, ...deps.options }
    this.runtime = deps.runtime
    this.storage = deps.storage
    this.sticky = new StickyPartitioner(deps.runtime.random)
    this.store = new EdgeStore(deps.storage.open('edge'))
    this.credential = deps.credential
    this.throttled = this.metrics.counter('edgelog_throttled_requests_total', 'Requests refused with THROTTLED, per reason')
    this.credentialRefusals = this.metrics.counter(
      'edgelog_edge_upstream_auth_failures_total',
      "The edge's own requests to the region refused with 401 or 403 (its --upstream-token), per code",
    )
    this.upstream = new Upstream(deps.runtime, {
      urls: this.options.upstreams,
      timeoutMs: this.options.upstreamTimeoutMs,
      reachabilityWindowMs: this.options.reachabilityWindowMs,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      ...(deps.credential ? { credential: deps.credential } : {}),
      onCredentialRefused: (code, message, first) => this.credentialRefused(code, message, first),
    })
    this.metadata = new EdgeMetadata(
      this.store,
      this.upstream,
      deps.runtime,
      this.options.metadataRefreshMs,
      { topicChanged: (t, prev) => this.topicChanged(t, prev), topicRemoved: (name) => this.topicRemoved(name) },
      (topic) => this.isActive(topic),
      this.options.logError,
      () => this.options.refreshWhenIdle || !this.idle,
    )
    this.outbox = new Outbox(deps.storage, deps.runtime, this.options.outboxBytes, (op) => {
      this.shippers.get(op)?.committed()
      this.options.onOutboxCommit()
    })
    this.producer = new EdgeProducer(this.store, this.upstream, deps.runtime, () => this.shippers.values(), this.options.logError, this.metrics)
    this.m = new EdgeMetrics(this.metrics, this.outbox, () => this.shippers.values())
    // Every outbox partition this edge ever wrote to has a ship_state row: reopen them all.
    for (const state of this.store.shipStates()) {
      const op = this.outbox.open(state.topic, state.partition)
      this.shippers.set(op, new PartitionShipper(op, this, state))
    }
    this.registerMetrics()
  }

  static open(deps: EdgeNodeDeps): EdgeNode {
    return new EdgeNode(deps)
  }

  /** The relay fan-out, once it exists (it is built on this node). */
  attachRelay(relay: RelayHooks): void {
    this.relay = relay
  }

  /** Starts the metadata refresh and ships whatever the outbox holds. */
  start(): void {
    this.metadata.start()
    for (const s of this.shippers.values()) s.wake()
  }

  /** Records in the outbox the region has not confirmed yet, all partitions together. */
  get unshipped(): number {
    let n = 0
    for (const s of this.shippers.values()) n += s.depth
    return n
  }

  /** Nothing to ship, nobody waiting for the region, no topic relayed: no timer needs to run. */
  get idle(): boolean {
    return this.unshipped === 0 && this.ackWaiters === 0 && !this.relay?.relaying
  }

  /** Ships what the outbox holds now (a partition backing off keeps its own retry time). */
  ship(): void {
    if (this.closed) return
    for (const s of this.shippers.values()) s.wake()
  }

  /** Some event arrived (a request, a frame, an alarm): a refresh timer that lapsed while idle runs again. */
  touch(): void {
    if (!this.closed) this.metadata.resume()
  }

  /** Ready while upstream answered recently and accepts the edge's credential. */
  get ready(): boolean {
    return !this.closed && this.upstream.reachable && this.upstream.credentialRefused === undefined
  }

  /** A quota refusal at this edge's gate (src/api/security.ts), counted as a broker counts it. */
  countThrottled(reason: ThrottleReason): void {
    this.throttled.inc({ reason })
  }

  // ---- produce ----

  /**
   * Validates and routes records exactly as a broker of the region would, then appends them to
   * the outbox: acks=0 answers now, acks=1 once they are in the outbox's SQLite log, acks=all
   * once the regional leader confirmed them (with their regional offsets) or REQUEST_TIMED_OUT.
   */
  async produce(topicName: string, records: ProduceRecord[], acks: Acks, options: { compression?: ProduceCompression } = {}): Promise<EdgeProduceResult[]> {
    this.checkOpen()
    const topic = await this.metadata.forProduce(topicName)
    const routing = routeRecords(topic, records, this.sticky)
    const maxBytes = Number(routing.config['max.message.bytes'])
    const codec = writeCompression(routing.config['compression.type']!, options.compression)
    const plans = routing.partitions.map((rp) => ({
      op: this.openOutbox(topicName, rp.partition),
      indexes: rp.batches,
      requests: rp.batches.map((b) => encodeAppend(b.map((i) => records[i]!))),
    }))
    const bytes = plans.reduce((n, p) => n + p.requests.reduce((m, r) => m + r.batch.byteLength, 0), 0)
    const release = this.reserve(topicName, bytes)
    this.m.produceRequests.inc({ topic: topicName, acks })
    const appends = Promise.all(plans.map((plan) => Promise.all(plan.requests.map((r) => this.outbox.append(plan.op, r, codec, maxBytes)))))
    const settled = appends.finally(release)
    if (acks === '0') {
      settled.then((rs) => this.countAppended(topicName, rs.flat()), () => {})
      return routing.assigned.map((partition) => ({ partition, offset: null, heldAt: 'edge-memory' as const }))
    }
    const results = await settled
    this.countAppended(topicName, results.flat())
    for (const r of results.flat()) if (!r.ok) throw r.error
    if (acks === '1') return routing.assigned.map((partition) => ({ partition, offset: null, heldAt: 'edge-outbox' as const }))
    const out: EdgeProduceResult[] = new Array(records.length)
    await Promise.all(
      plans.map(async (plan, k) => {
        const shipper = this.shippers.get(plan.op)!
        await Promise.all(
          results[k]!.map(async (r, b) => {
            if (!r.ok) return
            const offsets = await shipper.waitRegional(r.baseOffset, r.lastOffset + 1, this.options.ackTimeoutMs)
            plan.indexes[b]!.forEach((i, j) => (out[i] = { partition: plan.op.index, offset: offsets[j] ?? null }))
          }),
        )
      }),
    )
    return out
  }

  /**
   * One batch from a client's idempotent producer, to one partition: the outbox log keeps that
   * producer's state (R6), so a retry is answered with the original outbox offsets (and, with
   * acks=all, regional offsets) instead of being shipped twice.
   */
  async produceIdempotent(
    topicName: string,
    index: number,
    records: NewRecord[],
    acks: Acks,
    producer: ProducerId,
    options: { compression?: ProduceCompression } = {},
  ): Promise<{ partition: number; offsets: Array<number | null>; duplicate: boolean; heldAt?: HeldAt }> {
    this.checkOpen()
    const topic = await this.metadata.forProduce(topicName)
    this.checkPartition(topic, index)
    const config = topicConfig(topic)
    const maxBytes = Number(config['max.message.bytes'])
    checkKeys(topicName, config, records)
    const current = this.store.clientProducerEpoch(producer.id)
    if (current === undefined) fail('UNKNOWN_PRODUCER_ID', `producer id ${producer.id} was not issued by this edge`)
    if (producer.epoch < current) fail('INVALID_PRODUCER_EPOCH', `producer ${producer.id} epoch ${producer.epoch} is fenced by epoch ${current}`)
    if (producer.epoch > current) fail('INVALID_PRODUCER_EPOCH', `producer ${producer.id} has no epoch ${producer.epoch} yet`)
    if (packBatches(records, maxBytes).length > 1) fail('MESSAGE_TOO_LARGE', `an idempotent produce must fit in one batch of max.message.bytes (${maxBytes})`)
    const request = encodeAppend(records, { producerId: producer.id, producerEpoch: producer.epoch, baseSequence: producer.sequence })
    const op = this.openOutbox(topicName, index)
    const release = this.reserve(topicName, request.batch.byteLength)
    this.m.produceRequests.inc({ topic: topicName, acks })
    const pending = this.outbox.append(op, request, writeCompression(config['compression.type']!, options.compression), maxBytes).finally(release)
    if (acks === '0') {
      pending.then((r) => this.countAppended(topicName, [r]), () => {})
      return { partition: index, offsets: records.map(() => null), duplicate: false, heldAt: 'edge-memory' }
    }
    const r = await pending
    this.countAppended(topicName, [r])
    if (!r.ok) throw r.error
    if (acks === '1') return { partition: index, offsets: records.map(() => null), duplicate: r.duplicate, heldAt: 'edge-outbox' }
    const offsets = await this.shippers.get(op)!.waitRegional(r.baseOffset, r.lastOffset + 1, this.options.ackTimeoutMs)
    return { partition: index, offsets, duplicate: r.duplicate }
  }

  /**
   * A producer id for one of this edge's clients (their batches are deduplicated in the outbox),
   * bound to the principal that asked, as a broker binds its ids (admins may bump any).
   */
  initClientProducer(existing?: number, principal = '', anyOwner = true): { producerId: number; producerEpoch: number } {
    this.checkOpen()
    const r = this.store.initClientProducer(this.runtime.clock.now(), principal, existing, anyOwner)
    if (!r) fail('UNKNOWN_PRODUCER_ID', `producer id ${existing} was not issued by this edge to this principal`)
    return r
  }

  /** Refuses a client producer id issued to another principal, as if it did not exist (as a broker does). */
  checkProducerOwner(producerId: number, principal: string, anyOwner = false): void {
    const owner = this.store.clientProducerOwner(producerId)
    if (owner === undefined || (!anyOwner && owner !== principal)) {
      fail('UNKNOWN_PRODUCER_ID', `producer id ${producerId} was not issued by this edge to this principal`)
    }
  }

  /** The partition exists (as far as this edge knows), or UNKNOWN_TOPIC_OR_PARTITION, as a broker answers. */
  async checkTopicPartition(topicName: string, index?: number): Promise<TopicMeta> {
    const topic = await this.metadata.forProduce(topicName)
    if (index !== undefined) this.checkPartition(topic, index)
    return topic
  }

  // ---- lifecycle ----

  close(): void {
    if (this.closed) return
    this.closed = true
    this.metadata.stop()
    for (const s of this.shippers.values()) s.close()
    this.outbox.close((p) => this.storage.sync(p.log.db))
    this.store.close()
  }

  // ---- internals ----

  private checkPartition(topic: TopicMeta, index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= topic.partitions) fail('UNKNOWN_TOPIC_OR_PARTITION', `topic '${topic.name}' has no partition ${index}`)
  }

  private reserve(topic: string, bytes: number): () => void {
    try {
      return this.outbox.reserve(bytes, this.upstream.reachable ? 1 : 5)
    } catch (err) {
      if (err instanceof EdgelogError && err.code === 'OUTBOX_FULL') this.m.outboxFull.inc({ topic })
      throw err
    }
  }

  private countAppended(topic: string, results: AppendResult[]): void {
    let n = 0
    for (const r of results) if (r.ok && !r.duplicate) n += r.lastOffset - r.baseOffset + 1
    if (n > 0) this.m.producedRecords.inc({ topic }, n)
  }

  /** The outbox partition and its shipper; its ship_state row exists before anything is appended. */
  private openOutbox(topic: string, index: number): OutboxPartition {
    const existing = this.outbox.get(topic, index)
    if (existing) return existing
    const op = this.outbox.open(topic, index)
    const state = { topic, partition: index, nextOffset: op.log.logStartOffset, nextSequence: 0, inflight: null }
    this.store.putShipState(state)
    this.shippers.set(op, new PartitionShipper(op, this, state))
    return op
  }

  private checkOpen(): void {
    if (this.closed) throw new EdgelogError('SHUTTING_DOWN', 'the node is shutting down')
  }

  // ---- metadata events ----

  private topicChanged(topic: TopicMeta, previous: TopicMeta | undefined): void {
    this.relay?.topicChanged(topic, previous)
  }

  private topicRemoved(name: string): void {
    this.relay?.topicRemoved(name)
  }

  /** Topics described at every metadata refresh: those this edge ships or relays. */
  private isActive(topic: string): boolean {
    if (this.relay?.isRelayed(topic)) return true
    for (const op of this.shippers.keys()) if (op.topic === topic) return true
    return false
  }

  /**
   * The region refused one of the edge's own requests for its credential. Nothing is dropped:
   * the shippers keep their records and halt (offering them again), the relays retry; this
   * says why, once when it starts and once a minute for a missing grant.
   */
  private credentialRefused(code: string, message: string, first: boolean): void {
    this.credentialRefusals.inc({ code })
    const what = this.credential ? `this edge's --upstream-token (sub ${JSON.stringify(this.credential.subject)})` : "this edge's requests (it has no --upstream-token)"
    if (code === 'UNAUTHORIZED') {
      if (first) {
        this.options.logError(
          `edgelog edge: the region refused ${what}: ${message}. Records stay in the outbox and ship once the region accepts the edge's credential (restart it with a valid --upstream-token).`,
        )
      }
      return
    }
    const now = this.runtime.clock.monotonic()
    if (now - (this.forbiddenLoggedAt.get(code) ?? -Infinity) < 60_000) return
    this.forbiddenLoggedAt.set(code, now)
    this.options.logError(`edgelog edge: the region refused ${what} a grant it needs (${code}): ${message}. Records stay in the outbox.`)
  }

  private registerMetrics(): void {
    const m = this.metrics
    m.gauge('edgelog_node_info', 'What this node is (1): role="edge" for an edge relay', () => [[{ role: 'edge' }, 1]])
    m.gauge('edgelog_edge_upstream_up', 'Per upstream URL: 1 when its last request was answered, 0 when it failed', () =>
      this.upstream.upStates().flatMap((s) => (s.up === undefined ? [] : [[{ upstream: s.url }, s.up ? 1 : 0] as [Record<string, string>, number]])),
    )
    m.gauge('edgelog_edge_upstream_current', 'The upstream URL requests go to now (1)', () => [[{ upstream: this.upstream.url }, 1]])
    m.gauge('edgelog_edge_upstream_reachable', '1 while upstream answered the latest request (what /readyz says)', () => [[{}, this.upstream.reachable ? 1 : 0]])
    m.gauge('edgelog_edge_metadata_age_seconds', 'Seconds since topic metadata was last read from upstream (-1: never since start)', () => {
      const at = this.metadata.lastRefreshAt
      return [[{}, at === -Infinity ? -1 : Math.round((this.runtime.clock.monotonic() - at) / 100) / 10]]
    })
    m.gauge('edgelog_edge_upstream_credential_refused', "1 while the region refuses this edge's credential (401 to its own requests, until one succeeds)", () => [
      [{}, this.upstream.credentialRefused ? 1 : 0],
    ])
    const credential = this.credential
    if (credential) {
      m.gauge('edgelog_edge_upstream_token_expiry_seconds', "The exp claim of this edge's --upstream-token (epoch seconds)", () => [[{}, credential.expiresAt]])
    }
    m.gauge('edgelog_edge_topics', 'Topics this edge knows of its region', () => [[{}, this.metadata.list().length]])
    m.gauge('edgelog_edge_ack_waiters', 'acks=all produces waiting for their regional offsets', () => [[{}, this.ackWaiters]])
  }
}
