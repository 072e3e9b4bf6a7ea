// A single node's broker: the facade that holds a node's state (topics and their open
// partitions, meta.db, the long-poll count, the fsync timer) and runs each request against it:
// topic admin, produce, idempotent produce, fetch, and the group coordinator (src/groups/) that
// keeps consumer groups in `__consumer_offsets`. It knows nothing of HTTP; the API layer calls
// it. The rules that need no state live beside it: broker-options.ts and broker-types.ts (what
// callers pass and get), topic-admin.ts, produce-plan.ts, stored-batch.ts, fetch-read.ts,
// group-host.ts, legacy-offsets.ts, broker-cleaner.ts and producer-ids.ts.
import type { StorageProvider } from '../../storage/driver.ts'
import type { BatchRecord, NewRecord } from '../codec/record-batch.ts'
import { StickyPartitioner } from '../codec/partitioner.ts'
import type { Runtime, TimerHandle } from '../core/clock.ts'
import { EdgelogError, fail } from '../core/errors.ts'
import { Metrics } from '../core/metrics.ts'
import { DEFAULT_GROUP_OPTIONS, GroupCoordinator } from '../groups/coordinator.ts'
import { isInternalTopic, OFFSETS_TOPIC, OFFSETS_TOPIC_CONFIG } from '../groups/offsets-topic.ts'
import type { CleanerRunStats, LogCleaner } from '../log/cleaner.ts'
import { PartitionLog, type AppendRequest, type AppendResult } from '../log/partition-log.ts'
import { encodeAppend, packBatches } from './batching.ts'
import { cleanerTargets, openCleaner } from './broker-cleaner.ts'
import { BrokerMetrics, type LagView, type ThrottleReason } from './broker-metrics.ts'
import { DEFAULT_BROKER_OPTIONS, type BrokerOpenOptions, type BrokerOptions, type ProducerIdService } from './broker-options.ts'
import type { Acks, FetchResult, ProduceOptions, ProduceRecord, ProducerId, Topic, TopicDescription } from './broker-types.ts'
import { checkFetchOffset, findOffsetForTimestamp, readRecords } from './fetch-read.ts'
import { groupHost } from './group-host.ts'
import { importLegacyOffsets } from './legacy-offsets.ts'
import { MetadataStore, type TopicRecord } from './metadata.ts'
import { validateTopicName } from './names.ts'
import { Partition } from './partition.ts'
import { assignPartitions, awaitCommitted, checkKeys, planAppends } from './produce-plan.ts'
import { localProducerIds } from './producer-ids.ts'
import { compressedForStore, decodeStored } from './stored-batch.ts'
import { alteredConfig, checkNewTopic, describeTopic, listTopics, maxMessageBytes, newTopicId, partitionFile, type NewTopicInput } from './topic-admin.ts'
import { effectiveConfig, writeCompression, type ProduceCompression } from './topic-config.ts'

// Every name importers took from this file before it was split stays importable from here.
export { DEFAULT_BROKER_OPTIONS } from './broker-options.ts'
export type { BrokerOpenOptions, BrokerOptions, GroupClusterHooks, ProducerIdService } from './broker-options.ts'
export type {
  Acks,
  FetchResult,
  PartitionDescription,
  ProduceOptions,
  ProduceRecord,
  ProducerId,
  TopicDescription,
} from './broker-types.ts'

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
    this.groups = new GroupCoordinator(
      groupHost({
        runtime: this.runtime,
        options: this.options,
        topics: this.topics,
        partition: (topic, index) => this.partition(topic, index),
        offsetForTimestamp: (topic, index, ts) => this.offsetForTimestamp(topic, index, ts),
        offsetsTopic: (create) => this.offsetsTopic(create),
        checkOpen: () => this.checkOpen(),
      }),
      options.groups,
    )
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
    this.cleaner = openCleaner(runtime, options, this.m, () => cleanerTargets(this.topics))
  }

  static open(storage: StorageProvider, runtime: Runtime, options: BrokerOpenOptions = {}): Broker {
    const merged: BrokerOptions = { ...DEFAULT_BROKER_OPTIONS, ...options, groups: { ...DEFAULT_GROUP_OPTIONS, ...options.groups } }
    const broker = new Broker(storage, new MetadataStore(storage.open('meta')), runtime, merged)
    for (const t of broker.meta.topics()) broker.openTopic(t)
    importLegacyOffsets(broker.meta.legacyCommittedOffsets(), broker.topics, (create) => broker.offsetsTopic(create), storage, runtime)
    broker.meta.finishMigrations()
    broker.groups.load()
    broker.scheduleFsync()
    if (broker.options.cleanerIntervalMs > 0) broker.cleaner.start()
    return broker
  }

  // ---- topics ----

  createTopic(input: { name: unknown } & NewTopicInput): TopicDescription {
    const name = validateTopicName(input.name)
    if (isInternalTopic(name)) fail('INVALID_TOPIC', `'${name}' is reserved for an internal topic`)
    const description = this.createTopicRecord(name, input)
    this.groups.onTopicCreated(name)
    return description
  }

  private createTopicRecord(name: string, input: NewTopicInput): TopicDescription {
    this.checkOpen()
    const { partitions, replicationFactor, config } = checkNewTopic(name, input, {
      maxPartitionsPerTopic: this.options.maxPartitionsPerTopic,
      maxPartitions: this.options.maxPartitions,
      partitionsHeld: this.partitionCount(),
      exists: this.topics.has(name),
    })
    const record: TopicRecord = {
      name,
      topicId: newTopicId(this.runtime.random),
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
    return describeTopic(topic, this.options.nodeId)
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

  /** Topic records this node holds (cluster mode compares them with the metadata store). */
  topicRecords(): TopicRecord[] {
    return [...this.topics.values()].map((t) => t.record)
  }


  /** User topics by name; internal topics (`__consumer_offsets`) only when asked for. */
  listTopics(includeInternal = false): Array<{ name: string; partitions: number; internal?: true }> {
    return listTopics(this.topics.values(), includeInternal)
  }

  describeTopic(name: string): TopicDescription {
    return describeTopic(this.topic(name), this.options.nodeId)
  }

  /**
   * Changes topic configs at runtime (Kafka's incremental alter configs): `set` overrides keys,
   * `remove` returns keys to their defaults. Validated whole before anything changes, persisted
   * in meta.db, and live at once: produce reads it per request, the cleaner at its next run.
   */
  alterTopicConfig(name: string, set: Record<string, unknown>, remove: string[]): TopicDescription {
    this.checkOpen()
    const topic = this.topic(name)
    const config = alteredConfig(topic.record.config, set, remove)
    this.meta.replaceTopicConfig(name, config)
    topic.record = { ...topic.record, config }
    this.options.onCleanerWork?.(name)
    return describeTopic(topic, this.options.nodeId)
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
    const maxBytes = maxMessageBytes(topic)
    const config = effectiveConfig(topic.record.config)
    const codec = writeCompression(config['compression.type']!, options.compression)
    checkKeys(topicName, config, records)
    const { assigned, byPartition } = assignPartitions(topicName, records, n, this.sticky)

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
    const plans = planAppends(byPartition, records, topic.partitions, maxBytes)

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
    if (acks === 'all') await awaitCommitted(results.map((rs, k) => ({ partition: plans[k]!.partition, results: rs })), this.options.requestTimeoutMs)
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
    const maxBytes = maxMessageBytes(topic)
    const config = effectiveConfig(topic.record.config)
    const codec = writeCompression(config['compression.type']!, options.compression)
    checkKeys(topicName, config, records)
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
    if (acks === 'all') await awaitCommitted([{ partition, results: [r] }], this.options.requestTimeoutMs)
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
    checkFetchOffset(p, req.offset)
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
      checkFetchOffset(p, req.offset)
    }
    const { records, nextOffset, highWatermark, bytesRead } = await readRecords(p, req, (data) => this.decode(topic, data))
    this.m.fetchRequests.inc({ topic })
    if (bytesRead > 0) this.m.fetchedBytes.inc({ topic }, bytesRead)
    if (records.length > 0) this.m.fetchedRecords.inc({ topic }, records.length)
    return { records, nextOffset, highWatermark, logStartOffset: p.log.logStartOffset }
  }

  /** The first offset whose record timestamp is ≥ ts, or null when there is none. */
  async offsetForTimestamp(topic: string, index: number, ts: number): Promise<number | null> {
    return findOffsetForTimestamp(this.partition(topic, index), ts, (data) => this.decode(topic, data))
  }

  /** Decodes a stored batch, compressed or not, within the decompression limit (fetch and the fan-out). */
  async decode(topic: string, data: Uint8Array): Promise<BatchRecord[]> {
    return decodeStored(data, this.options.maxBatchDecompressedBytes, () => this.m.decodeRefusals.inc({ topic }))
  }

  // ---- the group coordinator's view of this node (group-host.ts) ----

  /** Users may read internal topics but never write them (Kafka: "cannot append to internal topic"). */
  checkWritable(topic: string): void {
    if (isInternalTopic(topic)) fail('INVALID_TOPIC', `'${topic}' is an internal topic; only the node writes to it`)
  }

  /** `__consumer_offsets`, created on first use with --offsets-topic-partitions partitions. */
  private offsetsTopic(create: boolean): Topic | undefined {
    const existing = this.topics.get(OFFSETS_TOPIC)
    if (existing || !create) return existing
    this.createTopicRecord(OFFSETS_TOPIC, { partitions: this.options.groups.offsetsTopicPartitions, config: OFFSETS_TOPIC_CONFIG })
    return this.topics.get(OFFSETS_TOPIC)
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

  /** The batch as it will be stored (stored-batch.ts), counting the ones stored compressed. */
  private compressed(topic: string, request: AppendRequest, codec: ProduceCompression, maxBytes: number): AppendRequest | Promise<AppendRequest> {
    return compressedForStore(request, codec, maxBytes, () => this.m.compressedBatches.inc({ topic, codec }))
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

  private partitionCount(): number {
    let n = 0
    for (const t of this.topics.values()) n += t.partitions.length
    return n
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
