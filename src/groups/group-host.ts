// What the group coordinator needs from the broker it runs in: topic metadata, partition
// positions and the `__consumer_offsets` log it stores every group change in. An interface so
// a single node and a cluster (where another broker may lead a partition) can both host it.
import type { NewRecord } from '../codec/record-batch.ts'
import type { Runtime } from '../core/clock.ts'

/** What the coordinator needs from the broker it runs in. */
export interface GroupHost {
  runtime: Runtime
  /** Partitions of a user topic; undefined when it does not exist (or is internal). */
  partitionCount(topic: string): number | undefined
  topicId(topic: string): string | undefined
  /**
   * Positions of a partition of a user topic as its leader has them (in a cluster another
   * broker may lead it); throws UNKNOWN_TOPIC_OR_PARTITION.
   */
  positions(topic: string, partition: number): Promise<Positions>
  /**
   * A log end offset of the partition that is at least `offset` if one is known (a commit's
   * bound: the log end only moves forward, except for an unacknowledged suffix a failover
   * truncates), else the current one; throws UNKNOWN_TOPIC_OR_PARTITION.
   */
  logEndOffset(topic: string, partition: number, offset: number): Promise<number>
  offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number | null>
  /** Partitions of the offsets topic; creates the topic when asked to and it is missing. */
  offsetsTopicPartitions(create: boolean): number | undefined
  /** Does this node lead this partition of the offsets topic? */
  isLeader(partition: number): boolean
  /**
   * Appends records to a partition of the offsets topic as one batch (one transaction) and
   * resolves once they are committed (in a cluster: on every in-sync replica, as acks=all).
   */
  append(partition: number, records: NewRecord[]): Promise<void>
  /** Visits every record of a partition of the offsets topic in offset order. */
  replay(partition: number, visit: (key: Uint8Array | null, value: Uint8Array | null) => void): void
}

export interface Positions {
  logStartOffset: number
  highWatermark: number
  logEndOffset: number
}
