// A single node's broker: topics, partitions and their logs, produce, fetch, idempotent
// producers, and the group coordinator (src/groups/) that keeps consumer groups and their
// committed offsets in the internal topic `__consumer_offsets`. It knows nothing of HTTP; the
// API layer calls it.
import type { FsyncPolicy, StorageProvider } from '../../storage/driver.ts'
import { compressBatch, decodeBatch, decodeRecords, DEFAULT_MAX_DECOMPRESSED_BYTES, readBatchHeader, type BatchRecord, type NewRecord } from '../codec/record-batch.ts'
import { COMPRESSION } from '../codec/compression.ts'
import { CodecError } from '../codec/errors.ts'
import { partitionForKey, StickyPartitioner } from '../codec/partitioner.ts'
import type { Runtime, TimerHandle } from '../core/clock.ts'
import { EdgelogError, fail } from '../core/errors.ts'
import { Metrics } from '../core/metrics.ts'
import { DEFAULT_GROUP_OPTIONS, GroupCoordinator, type GroupHost, type GroupOptions, type Positions } from '../groups/coordinator.ts'
import { encodeOffsetsRecord, isInternalTopic, OFFSETS_TOPIC, OFFSETS_TOPIC_CONFIG, partitionForGroup, type OffsetsRecord } from '../groups/offsets-topic.ts'
import { LogCleaner, DEFAULT_CLEANER_OPTIONS, type CleanerRunStats, type CleanerTarget } from '../log/cleaner.ts'
import { PartitionLog, type AppendRequest, type AppendResult } from '../log/partition-log.ts'
import { encodeAppend, packBatches } from './batching.ts'
import { MetadataStore, type LegacyCommittedOffset, type TopicRecord } from './metadata.ts'
import { validateTopicName } from './names.ts'
import { Partition } from './partition.ts'
import { BrokerMetrics, type LagView, type ThrottleReason } from './broker-metrics.ts'
import { cleanerPolicy, effectiveConfig, validateConfigDeletes, validateTopicConfig, writeCompression, type ProduceCompression } from './topic-config.ts'

export type Acks = '0' | '1' | 'all'

/** Partitions whose leader's log end the group coordinator remembers (commit bounds). */
const MAX_KNOWN_LOG_ENDS = 10_000

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
  /** Consumer groups: the offsets topic, membership limits and timeouts. */
  groups: GroupOptions
  /** How often the log cleaner (retention, compaction) runs; 0 runs it only on demand. */
  cleanerIntervalMs: number
  /** Batches the cleaner deletes, reads or rewrites per step before yielding. */
  cleanerBatchesPerStep: number
  /** Most bytes the records of one stored batch may decompress to (compression bombs). */
  maxBatchDecompressedBytes: number
  /** Where background failures (a cleaner step) are reported; never to a client. */
  logError: (message: string, err: unknown) => void
  /**
   * Something the log cleaner acts on changed: records were committed to a partition, or a
   * topic's config changed (no partition: all of them). For a host that schedules the cleaner
   * itself with cleanerIntervalMs 0 (a Durable Object's alarm; see cleanerDueAt).
   */
  onCleanerWork?: (topic: string, partition?: number) => void
  /** acks=all: how long a produce waits for the ISR before REQUEST_TIMED_OUT (Kafka's request.timeout.ms). */
  requestTimeoutMs: number
  /** Called for every partition as it is opened, before it serves anything (replication attaches its role here). */
  onPartitionOpen?: (p: Partition, topic: TopicRecord) => void
  /** Where producer ids come from: this node's meta.db by default, the cluster's metadata store in a cluster. */
  producerIds?: ProducerIdService
  /**
   * A cluster's one hop: records for a partition another broker leads go there (its partition
   * produce route) instead of failing with NOT_LEADER_OR_FOLLOWER. Resolves to the base offset.
   */
  forwardProduce?: (
    topic: string,
    partition: number,
    records: NewRecord[],
    acks: Acks,
    producer?: ProducerId,
    compression?: ProduceCompression,
  ) => Promise<{ offsets: Array<number | null>; duplicate: boolean }>
  /** A cluster's view for the group coordinator; absent on a single node. */
  groupCluster?: GroupClusterHooks
}

/**
 * What the group coordinator needs from a cluster (DESIGN decision 8): `__consumer_offsets` is
 * a replicated topic created in the cluster metadata (never by one broker on its own), the
 * coordinator of a group is the leader of its partition, and a commit's bounds come from the
 * leader of the committed partition, which may be another broker.
 */
export interface GroupClusterHooks {
  /** Asks the cluster to create `__consumer_offsets` (asynchronously; idempotent). */
  requestOffsetsTopic(): void
  /** Positions (and, with a timestamp, the offset for it) from the leader of a partition another broker leads. */
  remotePositions(topic: string, partition: number, timestamp?: number): Promise<Positions & { offset?: number | null }>
}

/** Issues idempotent producer ids and epochs (KIP-98 InitProducerId). */
export interface ProducerIdService {
  /**
   * A new id at epoch 0 issued to `principal` ('' without authentication), or the next epoch of
   * `existing` (fencing the old one; its principal stays).
   */
  init(existing?: number, principal?: string): Promise<{ producerId: number; producerEpoch: number }>
  /** The principal the id was issued to, or undefined for an id never issued. */
  owner(producerId: number): Promise<string | undefined>
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
  groups: DEFAULT_GROUP_OPTIONS,
  cleanerIntervalMs: DEFAULT_CLEANER_OPTIONS.intervalMs,
  cleanerBatchesPerStep: DEFAULT_CLEANER_OPTIONS.batchesPerStep,
  maxBatchDecompressedBytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
  logError: (message, err) => console.error(message, err),
  requestTimeoutMs: 30_000,
}

export type BrokerOpenOptions = Partial<Omit<BrokerOptions, 'groups'>> & { groups?: Partial<GroupOptions> }

export interface ProduceRecord extends NewRecord {
  partition?: number
}

export interface ProduceOptions {
  /** The producer's compression (used when the topic's compression.type is `producer`). */
  compression?: ProduceCompression
  /** Never hand records on to another broker (the request names its partition, or was forwarded already). */
  noForward?: boolean
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
  readonly groups: GroupCoordinator
  private readonly topics = new Map<string, Topic>()
  private readonly sticky: StickyPartitioner
  private longPolls = 0
  private fsyncTimer: TimerHandle | undefined
  private closed = false
  private readonly m: BrokerMetrics
  readonly cleaner: LogCleaner
  private readonly producerIds: ProducerIdService

  private constructor(
    private readonly storage: StorageProvider,
    private readonly meta: MetadataStore,
    readonly runtime: Runtime,
    readonly options: BrokerOptions,
  ) {
    this.sticky = new StickyPartitioner(runtime.random)
    this.producerIds = options.producerIds ?? localProducerIds(meta, runtime)
    this.groups = new GroupCoordinator(this.groupHost(), options.groups)
    this.m = new BrokerMetrics(this.metrics, {
      partitions: () => {
        const out = []
        for (const t of this.topics.values()) {
          for (const p of t.partitions) {
            out.push({ topic: p.topic, partition: p.index, logStartOffset: p.log.logStartOffset, logEndOffset: p.log.logEndOffset, highWatermark: p.highWatermark, sizeBytes: p.log.sizeBytes })
          }
        }
        return out
      },
      longPolls: () => this.longPolls,
      lag: (limit) => this.lagSeries(limit),
    })
    this.cleaner = new LogCleaner(
      runtime,
      {
        ...DEFAULT_CLEANER_OPTIONS,
        intervalMs: options.cleanerIntervalMs,
        batchesPerStep: options.cleanerBatchesPerStep,
        maxDecompressedBytes: options.maxBatchDecompressedBytes,
      },
      () => this.cleanerTargets(),
      {
        retention: (t, d) => {
          this.m.retentionBatches.inc({ topic: t.topic }, d.batches)
          if (d.bytesByTime > 0) this.m.retentionBytes.inc({ topic: t.topic, reason: 'time' }, d.bytesByTime)
          if (d.bytes > d.bytesByTime) this.m.retentionBytes.inc({ topic: t.topic, reason: 'size' }, d.bytes - d.bytesByTime)
        },
        compaction: (t, stats) => this.m.compaction(t.topic, stats),
        error: (t, err) => {
          this.m.cleanerErrors.inc({ topic: t.topic })
          this.options.logError(`edgelog: log cleaner failed on ${t.topic}-${t.partition}`, err)
        },
        run: (ms) => this.m.cleanerRun(ms),
      },
    )
  }

  static open(storage: StorageProvider, runtime: Runtime, options: BrokerOpenOptions = {}): Broker {
    const merged: BrokerOptions = { ...DEFAULT_BROKER_OPTIONS, ...options, groups: { ...DEFAULT_GROUP_OPTIONS, ...options.groups } }
    const broker = new Broker(storage, new MetadataStore(storage.open('meta')), runtime, merged)
    for (const t of broker.meta.topics()) broker.openTopic(t)
    broker.importLegacyOffsets(broker.meta.legacyCommittedOffsets())
    broker.meta.finishMigrations()
    broker.groups.load()
    broker.scheduleFsync()
    if (broker.options.cleanerIntervalMs > 0) broker.cleaner.start()
    return broker
  }

  // ---- topics ----

  createTopic(input: { name: unknown; partitions?: number; replicationFactor?: number; config?: Record<string, unknown> }): TopicDescription {
    const name = validateTopicName(input.name)
    if (isInternalTopic(name)) fail('INVALID_TOPIC', `'${name}' is reserved for an internal topic`)
    const description = this.createTopicRecord(name, input)
    this.groups.onTopicCreated(name)
    return description
  }

  private createTopicRecord(
    name: string,
    input: { partitions?: number; replicationFactor?: number; config?: Record<string, unknown> },
  ): TopicDescription {
    this.checkOpen()
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
    if (isInternalTopic(name)) fail('INVALID_TOPIC', `'${name}' is an internal topic and cannot be deleted`)
    this.meta.deleteTopic(name)
    this.dropTopic(topic)
    this.metrics.forget({ topic: name })
    this.groups.onTopicDeleted(name)
  }

  /**
   * Cluster mode: makes this node hold the topic as the cluster metadata describes it (same
   * topic id), replacing a local topic of the same name with another id (deleted and re-created).
   */
  ensureTopic(record: TopicRecord): void {
    this.checkOpen()
    const existing = this.topics.get(record.name)
    if (existing?.record.topicId === record.topicId) {
      // Configs change in the cluster metadata (alter configs): take them over.
      if (JSON.stringify(existing.record.config) !== JSON.stringify(record.config)) {
        this.meta.replaceTopicConfig(record.name, record.config)
        existing.record = { ...existing.record, config: record.config }
      }
      return
    }
    if (existing && isInternalTopic(record.name)) {
      // A broker's own offsets topic from before it joined the cluster gives way to the cluster's.
      this.meta.deleteTopic(record.name)
      this.dropTopic(existing)
    } else if (existing) {
      this.removeTopic(record.name)
    }
    const topic = this.openTopic(record)
    try {
      this.meta.insertTopic(record)
    } catch (err) {
      this.dropTopic(topic)
      throw err
    }
    // Groups this broker coordinates that wait for the topic get its partitions now.
    if (!isInternalTopic(record.name)) this.groups.onTopicCreated(record.name)
  }

  /** Cluster mode: the topic is gone from the cluster metadata. */
  removeTopic(name: string): void {
    if (!this.topics.has(name) || isInternalTopic(name)) return
    this.deleteTopic(name)
  }

  /** Topic records this node holds (cluster mode compares them with the metadata store). */
  /** Partition logs whose recovery at open removed a torn or corrupt tail (or stale epochs/producer state). */
  recoveredLogs(): Array<{ topic: string; partition: number; truncatedFrom: number | undefined; batches: number }> {
    const out = []
    for (const t of this.topics.values()) {
      for (const p of t.partitions) {
        const r = p.log.recovered
        if (r.batches > 0 || r.inconsistencies > 0) out.push({ topic: t.record.name, partition: p.index, truncatedFrom: r.truncatedFrom, batches: r.batches })
      }
    }
    return out
  }

  topicRecords(): TopicRecord[] {
    return [...this.topics.values()].map((t) => t.record)
  }

  /** User topics by name; internal topics (`__consumer_offsets`) only when asked for. */
  listTopics(includeInternal = false): Array<{ name: string; partitions: number; internal?: true }> {
    return [...this.topics.values()]
      .filter((t) => includeInternal || !isInternalTopic(t.record.name))
      .map((t) => (isInternalTopic(t.record.name)
        ? { name: t.record.name, partitions: t.partitions.length, internal: true as const }
        : { name: t.record.name, partitions: t.partitions.length }))
      .sort((a, b) => (a.name < b.name ? -1 : 1))
  }

  describeTopic(name: string): TopicDescription {
    return this.describe(this.topic(name))
  }

  /**
   * Changes topic configs at runtime (Kafka's incremental alter configs): `set` overrides keys,
   * `remove` returns keys to their defaults. Validated whole before anything changes, persisted
   * in meta.db, and live at once: produce reads it per request, the cleaner at its next run.
   */
  alterTopicConfig(name: string, set: Record<string, unknown>, remove: string[]): TopicDescription {
    this.checkOpen()
    const topic = this.topic(name)
    const overrides = validateTopicConfig(set)
    validateConfigDeletes(remove)
    for (const key of remove) {
      if (key in overrides) fail('INVALID_CONFIG', `topic config '${key}' is both set and deleted`)
    }
    const config = { ...topic.record.config, ...overrides }
    for (const key of remove) delete config[key]
    this.meta.replaceTopicConfig(name, config)
    topic.record = { ...topic.record, config }
    this.options.onCleanerWork?.(name)
    return this.describe(topic)
  }

  /**
   * When the log cleaner next has work (epoch ms), or undefined, over every partition or those of
   * one topic (and partition): for hosts that schedule it (cleaner.ts).
   */
  cleanerDueAt(topic?: string, partition?: number): number | undefined {
    return this.cleaner.nextDue((t) => (topic === undefined || t.topic === topic) && (partition === undefined || t.partition === partition))
  }

  /** Runs the log cleaner (retention, compaction) over every partition now. */
  runCleaner(): Promise<CleanerRunStats> {
    this.checkOpen()
    return this.cleaner.runOnce()
  }

  /** A throttled request somewhere in front of the broker (quotas): counted in the metrics. */
  countThrottled(reason: ThrottleReason): void {
    this.m.throttle(reason)
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
  async produce(
    topicName: string,
    records: ProduceRecord[],
    acks: Acks,
    options: ProduceOptions = {},
  ): Promise<Array<{ partition: number; offset: number | null }>> {
    this.checkOpen()
    const topic = this.topic(topicName)
    this.checkWritable(topicName)
    const n = topic.partitions.length
    const maxBytes = this.maxMessageBytes(topic)
    const config = effectiveConfig(topic.record.config)
    const codec = writeCompression(config['compression.type']!, options.compression)
    this.checkKeys(topicName, config, records)
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

    // A partition led elsewhere: its records go to the leader in one request (one hop).
    const forward = this.options.forwardProduce
    const remote: Array<Promise<void>> = []
    const offsets: Array<{ partition: number; offset: number | null }> = new Array(records.length)
    for (const [p, indexes] of [...byPartition]) {
      const role = topic.partitions[p]!.role
      if (!forward || options.noForward || !role || role.leads) continue
      byPartition.delete(p)
      remote.push(
        forward(topicName, p, indexes.map((i) => records[i]!), acks, undefined, options.compression).then((r) => {
          indexes.forEach((i, j) => (offsets[i] = { partition: p, offset: r.offsets[j]! }))
        }),
      )
    }
    if (acks === 'all') for (const p of byPartition.keys()) topic.partitions[p]!.role?.checkInSyncReplicas()
    const plans: Array<{ partition: Partition; indexes: number[][]; requests: AppendRequest[] }> = []
    for (const [p, indexes] of byPartition) {
      const groups = packBatches(indexes.map((i) => records[i]!), maxBytes)
      let at = 0
      const split = groups.map((g) => indexes.slice(at, (at += g.length)))
      plans.push({ partition: topic.partitions[p]!, indexes: split, requests: groups.map((g) => encodeAppend(g)) })
    }

    this.m.produceRequests.inc({ topic: topicName })
    const appends = plans.map((plan) =>
      Promise.all(plan.requests.map((r) => plan.partition.append(this.compressed(topicName, r, codec, maxBytes), r.batch.byteLength))),
    )
    if (acks === '0') {
      for (const a of appends) a.then((rs) => rs.forEach((r) => this.countResult(topicName, r))).catch(() => {})
      for (const r of remote) r.catch(() => {})
      return assigned.map((partition) => ({ partition, offset: null }))
    }
    const results = await Promise.all(appends)
    await Promise.all(remote)
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
    options: ProduceOptions = {},
  ): Promise<{ partition: number; baseOffset: number | null; duplicate: boolean }> {
    this.checkOpen()
    const partition = this.partition(topicName, index)
    this.checkWritable(topicName)
    const topic = this.topic(topicName)
    const maxBytes = this.maxMessageBytes(topic)
    const config = effectiveConfig(topic.record.config)
    const codec = writeCompression(config['compression.type']!, options.compression)
    this.checkKeys(topicName, config, records)
    const forward = this.options.forwardProduce
    if (forward && !options.noForward && partition.role && !partition.role.leads) {
      // Led elsewhere (a WebSocket publish to a follower, say): one hop, with the producer fields.
      const r = await forward(topicName, index, records, acks, producer, options.compression)
      return { partition: index, baseOffset: r.offsets[0] ?? null, duplicate: r.duplicate }
    }
    if (acks === 'all') partition.role?.checkInSyncReplicas()
    const current = await this.producerIds.currentEpoch(producer.id, producer.epoch)
    if (current === undefined) fail('UNKNOWN_PRODUCER_ID', `producer id ${producer.id} was not issued by this node`)
    if (producer.epoch < current) fail('INVALID_PRODUCER_EPOCH', `producer ${producer.id} epoch ${producer.epoch} is fenced by epoch ${current}`)
    if (producer.epoch > current) fail('INVALID_PRODUCER_EPOCH', `producer ${producer.id} has no epoch ${producer.epoch} yet`)
    // One request is one batch, so a retry of the request is recognised as a whole.
    if (packBatches(records, maxBytes).length > 1) {
      fail('MESSAGE_TOO_LARGE', `an idempotent produce must fit in one batch of max.message.bytes (${maxBytes})`)
    }
    const request = encodeAppend(records, { producerId: producer.id, producerEpoch: producer.epoch, baseSequence: producer.sequence })
    this.m.produceRequests.inc({ topic: topicName })
    const pending = partition.append(this.compressed(topicName, request, codec, maxBytes), request.batch.byteLength)
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

  /**
   * A new producer id for `principal`, or the next epoch of `existing`. Unless `anyOwner`
   * (an admin), an existing id must have been issued to the same principal: another
   * principal's id is answered as unknown, so ids cannot be probed or fenced across principals
   * (RELIABILITY.md §5.4 item 11).
   */
  async initProducer(existing?: number, principal = '', anyOwner = false): Promise<{ producerId: number; producerEpoch: number }> {
    this.checkOpen()
    if (existing !== undefined) await this.checkProducerOwner(existing, principal, anyOwner)
    return this.producerIds.init(existing, principal)
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

  /** Refuses a producer id issued to another principal, as if it did not exist. */
  async checkProducerOwner(producerId: number, principal: string, anyOwner = false): Promise<void> {
    const owner = await this.producerIds.owner(producerId)
    if (owner === undefined || (!anyOwner && owner !== principal)) {
      fail('UNKNOWN_PRODUCER_ID', `producer id ${producerId} was not issued by this node to this principal`)
    }
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
      if (this.longPolls >= this.options.maxLongPolls) {
        this.m.throttle('long_polls')
        fail('THROTTLED', 'too many fetches are waiting on this node')
      }
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
    let nextOffset = req.offset
    let bytesRead = 0
    let recordBytes = 0
    let stored
    try {
      stored = p.log.read(req.offset, hw, req.maxBytes)
    } catch (err) {
      // In a cluster the replica that found a corrupt batch has stepped down already: the
      // consumer is told to find the new leader (retriable), never given the bytes.
      if (err instanceof EdgelogError && err.code === 'CORRUPT_MESSAGE') p.role?.checkLeader()
      throw err
    }
    fetching: for (const batch of stored) {
      bytesRead += batch.data.byteLength
      for (const r of await this.decode(topic, batch.data)) {
        if (r.offset < req.offset || r.offset >= hw) continue
        if (records.length >= req.maxRecords) break fetching
        records.push(r)
        nextOffset = r.offset + 1
        recordBytes += (r.key?.byteLength ?? 0) + (r.value?.byteLength ?? 0)
      }
      // The whole batch was taken: continue after it, even if compaction emptied its tail.
      nextOffset = Math.max(nextOffset, Math.min(batch.lastOffset + 1, hw))
      // Compressed batches inflate: bound the answer by what it holds, not only what was read.
      if (recordBytes >= req.maxBytes) break
    }
    this.m.fetchRequests.inc({ topic })
    if (bytesRead > 0) this.m.fetchedBytes.inc({ topic }, bytesRead)
    if (records.length > 0) this.m.fetchedRecords.inc({ topic }, records.length)
    return { records, nextOffset, highWatermark: hw, logStartOffset: p.log.logStartOffset }
  }

  /** The first offset whose record timestamp is ≥ ts, or null when there is none. */
  async offsetForTimestamp(topic: string, index: number, ts: number): Promise<number | null> {
    const p = this.partition(topic, index)
    const hw = p.highWatermark
    let from = p.log.logStartOffset
    for (;;) {
      const batch = p.log.firstBatchWithTimestamp(ts, from)
      if (!batch || batch.baseOffset >= hw) return null
      for (const r of await this.decode(topic, batch.data)) {
        if (r.offset >= from && r.offset < hw && r.timestamp >= ts) return r.offset
      }
      from = batch.lastOffset + 1
    }
  }

  // ---- the group coordinator's view of this node ----

  /** Users may read internal topics but never write them (Kafka: "cannot append to internal topic"). */
  checkWritable(topic: string): void {
    if (isInternalTopic(topic)) fail('INVALID_TOPIC', `'${topic}' is an internal topic; only the node writes to it`)
  }

  private groupHost(): GroupHost {
    const userTopic = (name: string) => (isInternalTopic(name) ? undefined : this.topics.get(name))
    const cluster = this.options.groupCluster
    const localPositions = (p: Partition): Positions => ({ logStartOffset: p.log.logStartOffset, highWatermark: p.highWatermark, logEndOffset: p.log.logEndOffset })
    /** In a cluster, a partition this broker does not lead is asked of its leader. */
    const remote = (p: Partition) => cluster !== undefined && p.role !== undefined && !p.role.leads
    /** Log ends other brokers answered, per partition (bounded; the oldest entry goes first). */
    const knownLogEnds = new Map<string, number>()
    return {
      runtime: this.runtime,
      partitionCount: (topic) => userTopic(topic)?.partitions.length,
      topicId: (topic) => userTopic(topic)?.record.topicId,
      positions: async (topic, partition) => {
        if (isInternalTopic(topic)) fail('UNKNOWN_TOPIC_OR_PARTITION', `'${topic}' is an internal topic`)
        const p = this.partition(topic, partition)
        if (!remote(p)) return localPositions(p)
        const { logStartOffset, highWatermark, logEndOffset } = await cluster!.remotePositions(topic, partition)
        return { logStartOffset, highWatermark, logEndOffset }
      },
      logEndOffset: async (topic, partition, offset) => {
        if (isInternalTopic(topic)) fail('UNKNOWN_TOPIC_OR_PARTITION', `'${topic}' is an internal topic`)
        const p = this.partition(topic, partition)
        if (!remote(p)) return p.log.logEndOffset
        // Most commits are below a log end already seen: no request to the leader for those.
        const key = `${p.topic}/${p.index}/${this.topics.get(topic)!.record.topicId}`
        const known = knownLogEnds.get(key)
        if (known !== undefined && offset <= known) return known
        const { logEndOffset } = await cluster!.remotePositions(topic, partition)
        if (knownLogEnds.size >= MAX_KNOWN_LOG_ENDS && !knownLogEnds.has(key)) knownLogEnds.delete(knownLogEnds.keys().next().value!)
        knownLogEnds.set(key, Math.max(logEndOffset, known ?? 0))
        return logEndOffset
      },
      offsetForTimestamp: async (topic, partition, ts) => {
        const p = this.partition(topic, partition)
        if (!remote(p)) return this.offsetForTimestamp(topic, partition, ts)
        return (await cluster!.remotePositions(topic, partition, ts)).offset ?? null
      },
      offsetsTopicPartitions: (create) => {
        if (!cluster) return this.offsetsTopic(create)?.partitions.length
        const t = this.topics.get(OFFSETS_TOPIC)
        if (t || !create) return t?.partitions.length
        cluster.requestOffsetsTopic()
        fail('COORDINATOR_NOT_AVAILABLE', `${OFFSETS_TOPIC} is being created in the cluster; try again`)
      },
      // One node leads every partition; in a cluster, the replica role of the offsets partition says.
      // A leader that cannot confirm its lease (paused, cut off from etcd) answers nothing either.
      isLeader: (partition) => {
        if (!cluster) return true
        const role = this.topics.get(OFFSETS_TOPIC)?.partitions[partition]?.role
        if (!role?.leads) return false
        try {
          role.checkLeader()
          return true
        } catch {
          return false
        }
      },
      append: async (partition, records) => {
        this.checkOpen()
        const p = this.offsetsPartition(partition)
        // Kafka commits offsets with acks=-1: an answered commit is on every in-sync replica.
        p.role?.checkInSyncReplicas()
        const r = await p.append(this.offsetsBatch(records))
        if (!r.ok) throw r.error
        if (p.role) await p.awaitCommit(r.lastOffset + 1, this.options.requestTimeoutMs)
      },
      // Offsets batches are written uncompressed (and compaction keeps them so), so they
      // decode synchronously while the node opens. Up to the log end, not the high watermark:
      // a new leader's high watermark may trail records its ISR already acknowledged.
      replay: (partition, visit) => {
        const p = this.offsetsPartition(partition)
        const end = p.log.logEndOffset
        let next = p.log.logStartOffset
        while (next < end) {
          const batches = p.log.read(next, end, 4 * 1024 * 1024)
          if (batches.length === 0) break
          for (const b of batches) {
            for (const r of decodeRecords(b.data)) if (r.offset >= next && r.offset < end) visit(r.key, r.value)
            next = b.lastOffset + 1
          }
        }
      },
    }
  }

  /** `__consumer_offsets`, created on first use with --offsets-topic-partitions partitions. */
  private offsetsTopic(create: boolean): Topic | undefined {
    const existing = this.topics.get(OFFSETS_TOPIC)
    if (existing || !create) return existing
    this.createTopicRecord(OFFSETS_TOPIC, { partitions: this.options.groups.offsetsTopicPartitions, config: OFFSETS_TOPIC_CONFIG })
    return this.topics.get(OFFSETS_TOPIC)
  }

  private offsetsPartition(index: number): Partition {
    const t = this.offsetsTopic(false)
    const p = t?.partitions[index]
    if (!p) fail('NOT_COORDINATOR', `${OFFSETS_TOPIC} has no partition ${index}`)
    return p
  }

  /** One change of a group is one batch, so it is stored whole or not at all. */
  private offsetsBatch(records: NewRecord[]) {
    const maxBytes = this.maxMessageBytes(this.offsetsTopic(false)!)
    if (packBatches(records, maxBytes).length > 1) {
      fail('RECORD_LIST_TOO_LARGE', `a group change of ${records.length} records does not fit in one batch of ${maxBytes} bytes`)
    }
    return encodeAppend(records)
  }

  /**
   * Moves offsets an older node kept in meta.db into `__consumer_offsets` (once: the table is
   * dropped right after). Written and made durable before the drop, so a crash in between
   * only repeats the import.
   */
  private importLegacyOffsets(rows: LegacyCommittedOffset[]): void {
    const live = rows.filter((r) => {
      const t = this.topics.get(r.topic)
      return t !== undefined && !isInternalTopic(r.topic) && r.partition < t.partitions.length
    })
    if (live.length === 0) return
    const topic = this.offsetsTopic(true)!
    const byPartition = new Map<number, OffsetsRecord[]>()
    for (const r of live) {
      const p = partitionForGroup(r.group, topic.partitions.length)
      let list = byPartition.get(p)
      if (!list) byPartition.set(p, (list = []))
      list.push({
        type: 'offset',
        group: r.group,
        topic: r.topic,
        partition: r.partition,
        value: { v: 1, offset: r.offset, metadata: r.metadata, commitTimestamp: r.commitTimestamp, memberEpoch: -1, topicId: this.topics.get(r.topic)!.record.topicId },
      })
    }
    for (const [index, records] of byPartition) {
      const p = topic.partitions[index]!
      const encoded = records.map((r) => encodeOffsetsRecord(r, this.runtime.clock.now()))
      // Nothing else is queued while the node opens: append now, not on the next tick.
      for (const chunk of packBatches(encoded, this.maxMessageBytes(topic))) {
        const [result] = p.log.appendAsLeader([encodeAppend(chunk)], p.leaderEpoch, this.runtime.clock.now())
        if (!result!.ok) throw result!.error
      }
      p.setHighWatermark(p.log.logEndOffset)
      this.storage.sync(p.log.db)
    }
  }

  // ---- lifecycle ----

  /** Flushes queued appends, makes them durable and closes every database. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.groups.close()
    this.cleaner.stop()
    if (this.fsyncTimer) this.runtime.timers.clearTimeout(this.fsyncTimer)
    for (const t of this.topics.values()) {
      for (const p of t.partitions) {
        p.close() // commits what is queued, wakes waiters, tells listeners
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
      p.close() // commits what is queued, wakes waiters, tells listeners
      p.log.close()
      this.storage.remove(partitionFile(topic.record, p.index))
    }
  }

  private onAppend(p: Partition, records: number, bytes: number): void {
    this.m.producedRecords.inc({ topic: p.topic }, records)
    this.m.producedBytes.inc({ topic: p.topic }, bytes)
    this.m.commits.inc({ topic: p.topic })
    this.options.onCleanerWork?.(p.topic, p.index)
  }

  private countResult(topic: string, r: AppendResult): void {
    if (r.ok) return
    this.m.produceErrors.inc({ topic, code: r.error.code })
    if (r.error.code === 'THROTTLED') this.m.throttle('partition_queue')
  }

  private checkFetchOffset(p: Partition, offset: number): void {
    if (offset < p.log.logStartOffset || offset > p.log.logEndOffset) {
      fail(
        'OFFSET_OUT_OF_RANGE',
        `offset ${offset} is outside ${p.topic}-${p.index}: log start ${p.log.logStartOffset}, log end ${p.log.logEndOffset}`,
      )
    }
  }

  /** The batch as it will be stored: gzipped when asked, unless that would not fit the topic's limit. */
  private compressed(topic: string, request: AppendRequest, codec: ProduceCompression, maxBytes: number): AppendRequest | Promise<AppendRequest> {
    if (codec === 'none') return request
    return compressBatch(request.batch, COMPRESSION.gzip).then((batch) => {
      // Incompressible records can grow by a few bytes; the uncompressed batch always fits.
      if (batch.byteLength > maxBytes) return request
      this.m.compressedBatches.inc({ topic, codec })
      return { batch, header: readBatchHeader(batch) }
    })
  }

  /** Decodes a stored batch, compressed or not, within the decompression limit (fetch and the fan-out). */
  async decode(topic: string, data: Uint8Array): Promise<BatchRecord[]> {
    try {
      return await decodeBatch(data, { maxDecompressedBytes: this.options.maxBatchDecompressedBytes })
    } catch (err) {
      if (err instanceof CodecError && err.code === 'DECOMPRESSED_TOO_LARGE') {
        this.m.decodeRefusals.inc({ topic })
        throw new EdgelogError('CORRUPT_MESSAGE', `a stored record batch decompresses past the ${this.options.maxBatchDecompressedBytes}-byte limit; refused`)
      }
      throw err
    }
  }

  /** A compacted topic keeps the latest record per key, so every record needs one (as in Kafka). */
  private checkKeys(topic: string, config: Record<string, string>, records: NewRecord[]): void {
    if (!cleanerPolicy(config).compact) return
    const i = records.findIndex((r) => r.key === null)
    if (i >= 0) fail('INVALID_RECORD', `records[${i}] has no key; topic '${topic}' is compacted (cleanup.policy=${config['cleanup.policy']}) and needs one`)
  }

  private cleanerTargets(): CleanerTarget[] {
    const out: CleanerTarget[] = []
    for (const t of this.topics.values()) {
      const name = t.record.name
      for (const p of t.partitions) {
        out.push({
          topic: name,
          partition: p.index,
          log: p.log,
          highWatermark: () => p.highWatermark,
          // The live config: a PATCH applies at the next run.
          policy: () => cleanerPolicy(effectiveConfig(this.topics.get(name)?.record.config ?? t.record.config)),
        })
      }
    }
    return out
  }

  private lagSeries(limit: number): { series: LagView[]; dropped: number } {
    const { offsets, total } = this.groups.allCommittedOffsets(limit)
    const series: LagView[] = []
    for (const o of offsets) {
      const p = this.topics.get(o.topic)?.partitions[o.partition]
      if (!p) continue
      series.push({ group: o.group, topic: o.topic, partition: o.partition, committed: o.offset, lag: Math.max(0, p.highWatermark - o.offset) })
    }
    return { series, dropped: Math.max(0, total - offsets.length) }
  }

  private maxMessageBytes(t: Topic): number {
    return Number(effectiveConfig(t.record.config)['max.message.bytes'])
  }

  private partitionCount(): number {
    let n = 0
    for (const t of this.topics.values()) n += t.partitions.length
    return n
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
    async init(existing, principal = '') {
      const r = meta.initProducer(runtime.clock.now(), existing, principal)
      if (!r) fail('UNKNOWN_PRODUCER_ID', `producer id ${existing} was not issued by this cluster`)
      return r
    },
    async owner(producerId) {
      return meta.producerPrincipal(producerId)
    },
    async currentEpoch(producerId) {
      return meta.producerEpoch(producerId)
    },
  }
}

function partitionFile(t: TopicRecord, index: number): string {
  return `partitions/${t.topicId}-${index}`
}
