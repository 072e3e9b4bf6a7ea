// A single node's broker: topics, partitions and their logs, produce, fetch, idempotent
// producers and committed offsets. It knows nothing of HTTP; the API layer calls it.
import type { FsyncPolicy, StorageProvider } from '../../storage/driver.ts'
import { decodeRecords, type BatchRecord, type NewRecord } from '../codec/record-batch.ts'
import { partitionForKey, StickyPartitioner } from '../codec/partitioner.ts'
import type { Runtime, TimerHandle } from '../core/clock.ts'
import { EdgelogError, fail } from '../core/errors.ts'
import { Metrics } from '../core/metrics.ts'
import { PartitionLog, type AppendResult } from '../log/partition-log.ts'
import { encodeAppend, packBatches } from './batching.ts'
import { MetadataStore, type TopicRecord } from './metadata.ts'
import { validateTopicName } from './names.ts'
import { Partition } from './partition.ts'
import { effectiveConfig, validateTopicConfig } from './topic-config.ts'

export type Acks = '0' | '1' | 'all'

export interface BrokerOptions {
  nodeId: number
  fsync: FsyncPolicy
  /** With fsync=batch: how often committed appends are made durable. */
  fsyncIntervalMs: number
  maxPartitionsPerTopic: number
  /** Partitions on this node, all topics together (each is an open SQLite file). */
  maxPartitions: number
  /** Long-poll fetches waiting at once on this node. */
  maxLongPolls: number
  maxWaitMs: number
  /** acks=all: how long a produce waits for the ISR before REQUEST_TIMED_OUT (Kafka's request.timeout.ms). */
  requestTimeoutMs: number
  /** Called for every partition as it is opened, before it serves anything (replication attaches its role here). */
  onPartitionOpen?: (p: Partition, topic: TopicRecord) => void
  /** Where producer ids come from: this node's meta.db by default, the cluster's metadata store in a cluster. */
  producerIds?: ProducerIdService
}

/** Issues idempotent producer ids and epochs (KIP-98 InitProducerId). */
export interface ProducerIdService {
  /** A new id at epoch 0, or the next epoch of `existing` (fencing the old one). */
  init(existing?: number): Promise<{ producerId: number; producerEpoch: number }>
  /** The newest epoch issued for the id, at least `atLeast` if such an epoch exists; undefined for an id never issued. */
  currentEpoch(producerId: number, atLeast: number): Promise<number | undefined>
}

export const DEFAULT_BROKER_OPTIONS: BrokerOptions = {
  nodeId: 0,
  fsync: 'always',
  fsyncIntervalMs: 1000,
  maxPartitionsPerTopic: 1024,
  maxPartitions: 4096,
  maxLongPolls: 10_000,
  maxWaitMs: 30_000,
  requestTimeoutMs: 30_000,
}

export interface ProduceRecord extends NewRecord {
  partition?: number
}

export interface ProducerId {
  id: number
  epoch: number
  sequence: number
}

export interface PartitionDescription {
  partition: number
  leader: number
  leaderEpoch: number
  replicas: number[]
  isr: number[]
  logStartOffset: number
  highWatermark: number
  logEndOffset: number
  sizeBytes: number
}

export interface TopicDescription {
  name: string
  topicId: string
  config: Record<string, string>
  partitions: PartitionDescription[]
}

export interface FetchResult {
  records: BatchRecord[]
  nextOffset: number
  highWatermark: number
  logStartOffset: number
}

interface Topic {
  record: TopicRecord
  partitions: Partition[]
}

export class Broker {
  readonly metrics = new Metrics()
  private readonly topics = new Map<string, Topic>()
  private readonly sticky: StickyPartitioner
  private longPolls = 0
  private fsyncTimer: TimerHandle | undefined
  private closed = false
  private readonly m
  private readonly producerIds: ProducerIdService

  private constructor(
    private readonly storage: StorageProvider,
    private readonly meta: MetadataStore,
    readonly runtime: Runtime,
    readonly options: BrokerOptions,
  ) {
    this.sticky = new StickyPartitioner(runtime.random)
    this.producerIds = options.producerIds ?? localProducerIds(meta, runtime)
    this.m = {
      records: this.metrics.counter('edgelog_produced_records_total', 'Records appended, per topic'),
      bytes: this.metrics.counter('edgelog_produced_bytes_total', 'Record batch bytes appended, per topic'),
      fetched: this.metrics.counter('edgelog_fetched_records_total', 'Records returned by fetches, per topic'),
      errors: this.metrics.counter('edgelog_produce_errors_total', 'Produce failures, per topic and error code'),
      commits: this.metrics.counter('edgelog_log_commits_total', 'Group commits (SQLite transactions) that appended records, per topic'),
    }
    this.metrics.gauge('edgelog_partition_log_end_offset', 'Log end offset per partition', () =>
      this.eachPartition((p) => p.log.logEndOffset),
    )
    this.metrics.gauge('edgelog_partition_log_start_offset', 'Log start offset per partition', () =>
      this.eachPartition((p) => p.log.logStartOffset),
    )
    this.metrics.gauge('edgelog_partition_high_watermark', 'High watermark per partition', () =>
      this.eachPartition((p) => p.highWatermark),
    )
    this.metrics.gauge('edgelog_partition_size_bytes', 'Stored bytes per partition', () => this.eachPartition((p) => p.log.sizeBytes))
    this.metrics.gauge('edgelog_long_polls', 'Fetches waiting for data', () => [[{}, this.longPolls]])
  }

  static open(storage: StorageProvider, runtime: Runtime, options: Partial<BrokerOptions> = {}): Broker {
    const broker = new Broker(storage, new MetadataStore(storage.open('meta')), runtime, { ...DEFAULT_BROKER_OPTIONS, ...options })
    for (const t of broker.meta.topics()) broker.openTopic(t)
    broker.scheduleFsync()
    return broker
  }

  // ---- topics ----

  createTopic(input: { name: unknown; partitions?: number; replicationFactor?: number; config?: Record<string, unknown> }): TopicDescription {
    this.checkOpen()
    const name = validateTopicName(input.name)
    const partitions = input.partitions ?? 1
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > this.options.maxPartitionsPerTopic) {
      fail('INVALID_PARTITIONS', `partitions must be an integer from 1 to ${this.options.maxPartitionsPerTopic}`)
    }
    const replicationFactor = input.replicationFactor ?? 1
    if (replicationFactor !== 1) {
      fail('INVALID_REPLICATION_FACTOR', `replicationFactor ${replicationFactor} needs ${replicationFactor} brokers; this node runs alone`)
    }
    const config = validateTopicConfig(input.config ?? {})
    if (this.topics.has(name)) fail('TOPIC_ALREADY_EXISTS', `topic '${name}' already exists`)
    if (this.partitionCount() + partitions > this.options.maxPartitions) {
      fail('INVALID_PARTITIONS', `this node holds at most ${this.options.maxPartitions} partitions`)
    }
    const record: TopicRecord = {
      name,
      topicId: this.newTopicId(),
      partitions,
      replicationFactor,
      createdAt: this.runtime.clock.now(),
      config,
    }
    // Partition files first: a crash before the metadata row leaves only orphan files, never
    // a topic whose partitions are missing.
    const topic = this.openTopic(record)
    try {
      this.meta.insertTopic(record)
    } catch (err) {
      this.dropTopic(topic)
      throw err
    }
    return this.describe(topic)
  }

  deleteTopic(name: string): void {
    this.checkOpen()
    const topic = this.topic(name)
    this.meta.deleteTopic(name)
    this.dropTopic(topic)
    this.metrics.forget({ topic: name })
  }

  /**
   * Cluster mode: makes this node hold the topic as the cluster metadata describes it (same
   * topic id), replacing a local topic of the same name with another id (deleted and re-created).
   */
  ensureTopic(record: TopicRecord): void {
    this.checkOpen()
    const existing = this.topics.get(record.name)
    if (existing?.record.topicId === record.topicId) return
    if (existing) this.removeTopic(record.name)
    const topic = this.openTopic(record)
    try {
      this.meta.insertTopic(record)
    } catch (err) {
      this.dropTopic(topic)
      throw err
    }
  }

  /** Cluster mode: the topic is gone from the cluster metadata. */
  removeTopic(name: string): void {
    if (!this.topics.has(name)) return
    this.deleteTopic(name)
  }

  /** Topic records this node holds (cluster mode compares them with the metadata store). */
  topicRecords(): TopicRecord[] {
    return [...this.topics.values()].map((t) => t.record)
  }

  listTopics(): Array<{ name: string; partitions: number }> {
    return [...this.topics.values()]
      .map((t) => ({ name: t.record.name, partitions: t.partitions.length }))
      .sort((a, b) => (a.name < b.name ? -1 : 1))
  }

  describeTopic(name: string): TopicDescription {
    return this.describe(this.topic(name))
  }

  partition(topic: string, index: number): Partition {
    const t = this.topic(topic)
    const p = Number.isInteger(index) ? t.partitions[index] : undefined
    if (!p) fail('UNKNOWN_TOPIC_OR_PARTITION', `topic '${topic}' has no partition ${index}`)
    return p
  }

  // ---- produce ----

  /**
   * Appends records, each to its explicit partition, its key's partition (murmur2, as Kafka's
   * Java client) or the sticky partition. Returns offsets in request order. Everything is
   * validated before anything is appended; with acks=0 the answer does not wait for the append.
   */
  async produce(topicName: string, records: ProduceRecord[], acks: Acks): Promise<Array<{ partition: number; offset: number | null }>> {
    this.checkOpen()
    const topic = this.topic(topicName)
    const n = topic.partitions.length
    const maxBytes = this.maxMessageBytes(topic)
    const byPartition = new Map<number, number[]>()
    let usedSticky = false
    const assigned = records.map((r, i) => {
      let p: number
      if (r.partition !== undefined) {
        if (r.partition >= n) fail('UNKNOWN_TOPIC_OR_PARTITION', `topic '${topicName}' has no partition ${r.partition}`)
        p = r.partition
      } else if (r.key !== null) {
        p = partitionForKey(r.key, n)
      } else {
        p = this.sticky.partition(topicName, n)
        usedSticky = true
      }
      let list = byPartition.get(p)
      if (!list) byPartition.set(p, (list = []))
      list.push(i)
      return p
    })
    if (usedSticky) this.sticky.onNewBatch(topicName, n)

    if (acks === 'all') for (const p of byPartition.keys()) topic.partitions[p]!.role?.checkInSyncReplicas()
    const plans: Array<{ partition: Partition; indexes: number[][]; requests: ReturnType<typeof encodeAppend>[] }> = []
    for (const [p, indexes] of byPartition) {
      const groups = packBatches(indexes.map((i) => records[i]!), maxBytes)
      let at = 0
      const split = groups.map((g) => indexes.slice(at, (at += g.length)))
      plans.push({ partition: topic.partitions[p]!, indexes: split, requests: groups.map((g) => encodeAppend(g)) })
    }

    const appends = plans.map((plan) => Promise.all(plan.requests.map((r) => plan.partition.append(r))))
    if (acks === '0') {
      for (const a of appends) a.then((rs) => rs.forEach((r) => this.countResult(topicName, r))).catch(() => {})
      return assigned.map((partition) => ({ partition, offset: null }))
    }
    const offsets: Array<{ partition: number; offset: number | null }> = new Array(records.length)
    const results = await Promise.all(appends)
    if (acks === 'all') await this.awaitCommitted(results.map((rs, k) => ({ partition: plans[k]!.partition, results: rs })))
    let firstError: EdgelogError | undefined
    results.forEach((rs, k) => {
      const plan = plans[k]!
      rs.forEach((r, b) => {
        this.countResult(topicName, r)
        if (!r.ok) {
          firstError ??= r.error
          return
        }
        plan.indexes[b]!.forEach((i, j) => (offsets[i] = { partition: plan.partition.index, offset: r.baseOffset + j }))
      })
    })
    if (firstError) throw firstError
    return offsets
  }

  /**
   * Appends records to one partition as one batch from an idempotent producer (R6, R7): a
   * retry is answered with the original offsets, a sequence gap or a fenced epoch is refused.
   */
  async produceIdempotent(
    topicName: string,
    index: number,
    records: NewRecord[],
    acks: Acks,
    producer: ProducerId,
  ): Promise<{ partition: number; baseOffset: number | null; duplicate: boolean }> {
    this.checkOpen()
    const partition = this.partition(topicName, index)
    const maxBytes = this.maxMessageBytes(this.topic(topicName))
    if (acks === 'all') partition.role?.checkInSyncReplicas()
    const current = await this.producerIds.currentEpoch(producer.id, producer.epoch)
    if (current === undefined) fail('UNKNOWN_PRODUCER_ID', `producer id ${producer.id} was not issued by this node`)
    if (producer.epoch < current) fail('INVALID_PRODUCER_EPOCH', `producer ${producer.id} epoch ${producer.epoch} is fenced by epoch ${current}`)
    if (producer.epoch > current) fail('INVALID_PRODUCER_EPOCH', `producer ${producer.id} has no epoch ${producer.epoch} yet`)
    // One request is one batch, so a retry of the request is recognised as a whole.
    if (packBatches(records, maxBytes).length > 1) {
      fail('MESSAGE_TOO_LARGE', `an idempotent produce must fit in one batch of max.message.bytes (${maxBytes})`)
    }
    const pending = partition.append(
      encodeAppend(records, { producerId: producer.id, producerEpoch: producer.epoch, baseSequence: producer.sequence }),
    )
    if (acks === '0') {
      pending.then((r) => this.countResult(topicName, r)).catch(() => {})
      return { partition: index, baseOffset: null, duplicate: false }
    }
    const r = await pending
    this.countResult(topicName, r)
    if (!r.ok) throw r.error
    // A duplicate waits too: the original may not have reached the ISR yet.
    if (acks === 'all') await this.awaitCommitted([{ partition, results: [r] }])
    return { partition: index, baseOffset: r.baseOffset, duplicate: r.duplicate }
  }

  initProducer(existing?: number): Promise<{ producerId: number; producerEpoch: number }> {
    this.checkOpen()
    return this.producerIds.init(existing)
  }

  /** acks=all: waits until every appended batch is below its partition's high watermark. */
  private async awaitCommitted(appended: Array<{ partition: Partition; results: AppendResult[] }>): Promise<void> {
    const waits: Promise<void>[] = []
    for (const { partition, results } of appended) {
      let end = -1
      for (const r of results) if (r.ok) end = Math.max(end, r.lastOffset + 1)
      if (end >= 0) waits.push(partition.awaitCommit(end, this.options.requestTimeoutMs))
    }
    await Promise.all(waits)
  }

  // ---- fetch ----

  resolveOffset(topic: string, index: number, spec: number | 'earliest' | 'latest'): number {
    const p = this.partition(topic, index)
    p.role?.checkLeader()
    return spec === 'earliest' ? p.log.logStartOffset : spec === 'latest' ? p.highWatermark : spec
  }

  /**
   * Records from `offset` below the high watermark, at most maxRecords and about maxBytes
   * (always at least one record when one is there). With waitMs, waits for data first.
   */
  async fetch(topic: string, index: number, req: { offset: number; maxRecords: number; maxBytes: number; waitMs: number }): Promise<FetchResult> {
    this.checkOpen()
    const p = this.partition(topic, index)
    p.role?.checkLeader()
    this.checkFetchOffset(p, req.offset)
    if (req.waitMs > 0 && p.highWatermark <= req.offset) {
      if (this.longPolls >= this.options.maxLongPolls) fail('THROTTLED', 'too many fetches are waiting on this node')
      this.longPolls++
      try {
        await p.waitFor(req.offset, Math.min(req.waitMs, this.options.maxWaitMs))
      } finally {
        this.longPolls--
      }
      if (this.closed) fail('SHUTTING_DOWN', 'the node is shutting down')
      if (this.topics.get(topic)?.partitions[index] !== p) fail('UNKNOWN_TOPIC_OR_PARTITION', `topic '${topic}' was deleted`)
      p.role?.checkLeader()
      this.checkFetchOffset(p, req.offset)
    }
    const hw = p.highWatermark
    const records: BatchRecord[] = []
    for (const batch of p.log.read(req.offset, hw, req.maxBytes)) {
      for (const r of decodeRecords(batch.data)) {
        if (r.offset < req.offset || r.offset >= hw) continue
        if (records.length >= req.maxRecords) break
        records.push(r)
      }
    }
    const nextOffset = records.length > 0 ? records[records.length - 1]!.offset + 1 : req.offset
    if (records.length > 0) this.m.fetched.inc({ topic }, records.length)
    return { records, nextOffset, highWatermark: hw, logStartOffset: p.log.logStartOffset }
  }

  /** The first offset whose record timestamp is ≥ ts, or null when there is none. */
  offsetForTimestamp(topic: string, index: number, ts: number): number | null {
    const p = this.partition(topic, index)
    const hw = p.highWatermark
    let from = p.log.logStartOffset
    for (;;) {
      const batch = p.log.firstBatchWithTimestamp(ts, from)
      if (!batch || batch.baseOffset >= hw) return null
      for (const r of decodeRecords(batch.data)) {
        if (r.offset >= from && r.offset < hw && r.timestamp >= ts) return r.offset
      }
      from = batch.lastOffset + 1
    }
  }

  // ---- committed offsets ----

  commitOffsets(group: string, offsets: Array<{ topic: string; partition: number; offset: number; metadata?: string }>): void {
    this.checkOpen()
    const now = this.runtime.clock.now()
    for (const o of offsets) {
      const p = this.partition(o.topic, o.partition)
      if (o.offset > p.log.logEndOffset) {
        fail('OFFSET_OUT_OF_RANGE', `offset ${o.offset} is beyond the end (${p.log.logEndOffset}) of ${o.topic}-${o.partition}`)
      }
    }
    this.meta.commitOffsets(
      group,
      offsets.map((o) => ({ ...o, metadata: o.metadata ?? '', commitTimestamp: now })),
    )
  }

  committedOffsets(group: string) {
    return this.meta.committedOffsets(group).filter((o) => this.topics.has(o.topic))
  }

  lag(group: string) {
    const partitions = this.committedOffsets(group).flatMap((o) => {
      const p = this.topics.get(o.topic)?.partitions[o.partition]
      if (!p) return []
      const highWatermark = p.highWatermark
      return [{ topic: o.topic, partition: o.partition, committed: o.offset, highWatermark, lag: Math.max(0, highWatermark - o.offset) }]
    })
    return { group, partitions, totalLag: partitions.reduce((s, p) => s + p.lag, 0) }
  }

  // ---- lifecycle ----

  /** Flushes queued appends, makes them durable and closes every database. */
  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.fsyncTimer) this.runtime.timers.clearTimeout(this.fsyncTimer)
    for (const t of this.topics.values()) {
      for (const p of t.partitions) {
        p.flush()
        p.wakeAll()
        this.storage.sync(p.log.db)
        p.log.close()
      }
    }
    this.topics.clear()
    this.meta.close()
  }

  // ---- internals ----

  private topic(name: string): Topic {
    const t = this.topics.get(name)
    if (!t) fail('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' does not exist`)
    return t
  }

  private describe(t: Topic): TopicDescription {
    const node = this.options.nodeId
    return {
      name: t.record.name,
      topicId: t.record.topicId,
      config: effectiveConfig(t.record.config),
      partitions: t.partitions.map((p) => ({
        partition: p.index,
        ...(p.role?.describe() ?? { leader: node, leaderEpoch: p.leaderEpoch, replicas: [node], isr: [node] }),
        logStartOffset: p.log.logStartOffset,
        highWatermark: p.highWatermark,
        logEndOffset: p.log.logEndOffset,
        sizeBytes: p.log.sizeBytes,
      })),
    }
  }

  private openTopic(record: TopicRecord): Topic {
    const partitions: Partition[] = []
    for (let i = 0; i < record.partitions; i++) {
      const log = PartitionLog.open(this.storage.open(partitionFile(record, i)))
      const p = new Partition(record.name, i, log, this.runtime, (p, records, bytes) => this.onAppend(p, records, bytes))
      this.options.onPartitionOpen?.(p, record)
      partitions.push(p)
    }
    const topic = { record, partitions }
    this.topics.set(record.name, topic)
    return topic
  }

  private dropTopic(topic: Topic): void {
    this.topics.delete(topic.record.name)
    for (const p of topic.partitions) {
      p.flush()
      p.wakeAll()
      p.log.close()
      this.storage.remove(partitionFile(topic.record, p.index))
    }
  }

  private onAppend(p: Partition, records: number, bytes: number): void {
    this.m.records.inc({ topic: p.topic }, records)
    this.m.bytes.inc({ topic: p.topic }, bytes)
    this.m.commits.inc({ topic: p.topic })
  }

  private countResult(topic: string, r: AppendResult): void {
    if (!r.ok) this.m.errors.inc({ topic, code: r.error.code })
  }

  private checkFetchOffset(p: Partition, offset: number): void {
    if (offset < p.log.logStartOffset || offset > p.log.logEndOffset) {
      fail(
        'OFFSET_OUT_OF_RANGE',
        `offset ${offset} is outside ${p.topic}-${p.index}: log start ${p.log.logStartOffset}, log end ${p.log.logEndOffset}`,
      )
    }
  }

  private maxMessageBytes(t: Topic): number {
    return Number(effectiveConfig(t.record.config)['max.message.bytes'])
  }

  private partitionCount(): number {
    let n = 0
    for (const t of this.topics.values()) n += t.partitions.length
    return n
  }

  private eachPartition(value: (p: Partition) => number): Array<[Record<string, string | number>, number]> {
    const out: Array<[Record<string, string | number>, number]> = []
    for (const t of this.topics.values()) for (const p of t.partitions) out.push([{ topic: p.topic, partition: p.index }, value(p)])
    return out
  }

  private newTopicId(): string {
    let id = ''
    for (let i = 0; i < 4; i++) id += Math.floor(this.runtime.random.next() * 0x10000).toString(16).padStart(4, '0')
    return id
  }

  /** fsync=batch: make appends durable every fsyncIntervalMs (FsyncPolicy). */
  private scheduleFsync(): void {
    if (this.options.fsync !== 'batch' || this.closed) return
    this.fsyncTimer = this.runtime.timers.setTimeout(() => {
      for (const t of this.topics.values()) {
        for (const p of t.partitions) {
          if (!p.dirty) continue
          p.dirty = false
          this.storage.sync(p.log.db)
        }
      }
      this.scheduleFsync()
    }, this.options.fsyncIntervalMs)
  }

  private checkOpen(): void {
    if (this.closed) throw new EdgelogError('SHUTTING_DOWN', 'the node is shutting down')
  }
}

/** Producer ids issued from this node's meta.db: a single node is the whole cluster. */
function localProducerIds(meta: MetadataStore, runtime: Runtime): ProducerIdService {
  return {
    async init(existing) {
      const r = meta.initProducer(runtime.clock.now(), existing)
      if (!r) fail('UNKNOWN_PRODUCER_ID', `producer id ${existing} was not issued by this cluster`)
      return r
    },
    async currentEpoch(producerId) {
      return meta.producerEpoch(producerId)
    },
  }
}

function partitionFile(t: TopicRecord, index: number): string {
  return `partitions/${t.topicId}-${index}`
}
