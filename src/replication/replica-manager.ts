// Every partition replica on this broker: attaches a role to each partition the broker opens,
// applies the partition states read from the metadata store, and routes the requests of other
// brokers' followers to the leader replica they are for.
import type { Broker } from '../broker/broker.ts'
import type { TopicRecord } from '../broker/metadata.ts'
import type { Partition } from '../broker/partition.ts'
import type { ClusterSnapshot } from '../cluster/state.ts'
import { isInternalTopic } from '../groups/offsets-topic.ts'
import type { Runtime, TimerHandle } from '../core/clock.ts'
import type { Metrics } from '../core/metrics.ts'
import type { ClusterAccess } from './cluster-access.ts'
import type { ReplicationConfig } from './config.ts'
import type { OffsetsForLeaderEpochRequest, OffsetsForLeaderEpochResponse, ReplicaFetchRequest, ReplicaFetchResponse, ReplicaTransport } from './protocol.ts'
import { PartitionReplica, type ReplicaEvents } from './replica.ts'

const key = (topic: string, partition: number) => `${topic}/${partition}`

export class ReplicaManager {
  private readonly replicas = new Map<string, PartitionReplica>()
  private broker: Broker | undefined
  private readonly events: ReplicaEvents
  private closed = false
  private scrubTimer: TimerHandle | undefined

  constructor(
    private readonly runtime: Runtime,
    private readonly cluster: ClusterAccess,
    private readonly transport: ReplicaTransport,
    private readonly config: ReplicationConfig,
    metrics: Metrics,
    /** Observes every role change and truncation (the simulation's checker listens here). */
    listener?: Partial<ReplicaEvents>,
  ) {
    const isrShrinks = metrics.counter('edgelog_isr_shrinks_total', 'ISR shrinks by leaders on this broker, per topic')
    const isrExpands = metrics.counter('edgelog_isr_expands_total', 'ISR expansions by leaders on this broker, per topic')
    const truncations = metrics.counter('edgelog_replica_truncations_total', 'Divergent suffixes removed by epoch, per topic')
    const replicated = metrics.counter('edgelog_replicated_records_total', 'Records appended as a follower, per topic')
    const corrupt = metrics.counter('edgelog_corrupt_batches_total', 'Stored batches found corrupt (CRC or header) by a read or the scrub, per topic')
    metrics.gauge('edgelog_under_replicated_partitions', 'Partitions led here whose ISR is smaller than their replica set', () => [
      [{}, [...this.replicas.values()].filter((r) => r.underReplicated).length],
    ])
    metrics.gauge('edgelog_leader_partitions', 'Partitions this broker leads', () => [
      [{}, [...this.replicas.values()].filter((r) => r.role === 'leader').length],
    ])
    this.events = {
      isrChange: (r, kind) => {
        ;(kind === 'expand' ? isrExpands : isrShrinks).inc({ topic: r.topic })
        listener?.isrChange?.(r, kind)
      },
      truncate: (r, from, to) => {
        truncations.inc({ topic: r.topic })
        listener?.truncate?.(r, from, to)
      },
      followerAppend: (r, records, bytes) => {
        replicated.inc({ topic: r.topic }, records)
        listener?.followerAppend?.(r, records, bytes)
      },
      roleChange: (r, role, epoch) => listener?.roleChange?.(r, role, epoch),
      corrupt: (r, baseOffset) => {
        corrupt.inc({ topic: r.topic })
        listener?.corrupt?.(r, baseOffset)
      },
    }
    this.scheduleScrub()
  }

  /**
   * The background scrub: every logScrubIntervalMs, up to logScrubBatches batches of every
   * replica are checked, so a bit flip in a batch nobody reads is found (and repaired) before
   * this replica could be elected with it.
   */
  private scheduleScrub(): void {
    if (this.closed || this.config.logScrubIntervalMs <= 0) return
    this.scrubTimer = this.runtime.timers.setTimeout(() => {
      this.scrubTimer = undefined
      for (const r of this.replicas.values()) {
        if (this.closed) return
        if (r.corrupt || r.partition.log.closed) continue
        try {
          r.scrubCursor = r.partition.log.scrub(r.scrubCursor, this.config.logScrubBatches)
        } catch {
          // A database that cannot be read right now: the next pass tries again.
        }
      }
      this.scheduleScrub()
    }, this.config.logScrubIntervalMs)
  }

  /** The broker's onPartitionOpen hook: every partition gets a replica role before it serves. */
  attach(partition: Partition, record: TopicRecord): void {
    const replica = new PartitionReplica(partition, record, this.runtime, this.cluster, this.transport, this.config, this.events)
    partition.role = replica
    this.replicas.get(key(record.name, partition.index))?.close()
    this.replicas.set(key(record.name, partition.index), replica)
  }

  bind(broker: Broker): void {
    this.broker = broker
  }

  replica(topic: string, partition: number): PartitionReplica | undefined {
    return this.replicas.get(key(topic, partition))
  }

  all(): PartitionReplica[] {
    return [...this.replicas.values()]
  }

  /** Makes this broker's topics and replica roles match the cluster metadata. */
  applySnapshot(snap: ClusterSnapshot): void {
    const broker = this.broker
    if (!broker || this.closed) return
    for (const local of broker.topicRecords()) {
      if (isInternalTopic(local.name)) continue
      const remote = snap.topics.get(local.name)
      if (remote && remote.value.topicId === local.topicId) continue
      this.detachTopic(local)
      broker.removeTopic(local.name)
    }
    for (const { value: record } of snap.topics.values()) {
      broker.ensureTopic(record)
      for (let i = 0; i < record.partitions; i++) {
        const state = snap.partitions.get(key(record.name, i))
        const replica = this.replicas.get(key(record.name, i))
        replica?.updateTopic(record)
        if (state) replica?.applyState(state.value, state.modRevision)
      }
    }
  }

  private detachTopic(record: TopicRecord): void {
    for (let i = 0; i < record.partitions; i++) {
      this.replicas.get(key(record.name, i))?.close()
      this.replicas.delete(key(record.name, i))
    }
  }

  handleFetch(req: ReplicaFetchRequest): Promise<ReplicaFetchResponse> {
    const r = this.replicas.get(key(req.topic, req.partition))
    if (!r || r.topicId !== req.topicId || this.closed) {
      return Promise.resolve({ error: 'UNKNOWN_TOPIC_OR_PARTITION', highWatermark: 0, logStartOffset: 0, logEndOffset: 0, batches: [] })
    }
    return r.handleFetch(req)
  }

  handleOffsetsForLeaderEpoch(req: OffsetsForLeaderEpochRequest): OffsetsForLeaderEpochResponse {
    const r = this.replicas.get(key(req.topic, req.partition))
    if (!r || r.topicId !== req.topicId || this.closed) return { error: 'UNKNOWN_TOPIC_OR_PARTITION', epoch: -1, endOffset: 0 }
    return r.handleOffsetsForLeaderEpoch(req)
  }

  close(): void {
    this.closed = true
    if (this.scrubTimer) this.runtime.timers.clearTimeout(this.scrubTimer)
    for (const r of this.replicas.values()) r.close()
  }
}
