// The broker's options, their defaults and the hooks a host (a cluster, a Durable Object)
// plugs in: the one place to read what a node can be configured to do.
import type { FsyncPolicy } from '../../storage/driver.ts'
import { DEFAULT_MAX_DECOMPRESSED_BYTES, type NewRecord } from '../codec/record-batch.ts'
import { DEFAULT_GROUP_OPTIONS, type GroupOptions, type Positions } from '../groups/coordinator.ts'
import { DEFAULT_CLEANER_OPTIONS } from '../log/cleaner.ts'
import type { Acks, ProducerId } from './broker-types.ts'
import type { TopicRecord } from './metadata.ts'
import type { Partition } from './partition.ts'
import type { ProduceCompression } from './topic-config.ts'

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
