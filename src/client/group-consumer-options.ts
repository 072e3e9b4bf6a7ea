// What a GroupConsumer user writes and reads: its options (named after Kafka's consumer
// configs where one exists), the record its handler gets, and its counters. Apart from the
// consumer so the public client API can name these types without the membership machinery.
import type { HttpClient } from './http.ts'
import type { RetryOptions } from './retry.ts'
import type { FetchedRecord } from './schemas.ts'

export interface ConsumedRecord extends FetchedRecord {
  /** The topic and partition it was read from (a retry topic for a retried record). */
  topic: string
  partition: number
  /** The topic it was first produced to. */
  originalTopic: string
  /** 1 on first delivery, n on the n-th attempt. */
  attempt: number
}

export type RecordHandler = (record: ConsumedRecord) => void | Promise<void>

export interface TopicPartition {
  topic: string
  partition: number
}

export interface GroupConsumerStats {
  /** Records whose handler succeeded. */
  processed: number
  /** Handler failures. */
  failed: number
  /** Records republished to a retry topic. */
  retried: number
  /** Records sent to a dead-letter topic. */
  deadLettered: number
  /** Offset commits the coordinator refused (fenced). */
  commitsRejected: number
}

export interface GroupConsumerOptions {
  group: string
  topics: string[]
  /** A client, or the URL of any node. */
  client?: HttpClient
  url?: string
  /** Static membership: a restart within the session timeout keeps the partitions. */
  instanceId?: string
  /** How long the coordinator waits for a heartbeat before removing the member. Default 30,000. */
  sessionTimeoutMs?: number
  /** How long the member may take to give up revoked partitions. Default: the server's. */
  rebalanceTimeoutMs?: number
  /** Where a partition with no committed offset starts. Default earliest. */
  autoOffsetReset?: 'earliest' | 'latest'
  /** Records per fetch. Default 500. */
  maxRecords?: number
  /** How long a fetch waits for records. Default 1,000. */
  maxWaitMs?: number
  /** Fetches in flight at once across partitions. Default 16. */
  maxInFlightFetches?: number
  /**
   * Commit every this many milliseconds instead of after each handled batch: fewer commits,
   * more records handled again after a crash. Revocation and stop always commit.
   */
  autoCommitIntervalMs?: number
  /** Republish failed records to retry topics, then to a dead-letter topic. */
  retry?: RetryOptions
  /** Create missing retry and dead-letter topics (with the main topic's partition count). Default true. */
  createRetryTopics?: boolean
  onAssign?: (partitions: TopicPartition[]) => void
  /** Called once the partitions' workers have stopped; `lost` when no commit was possible. */
  onRevoke?: (partitions: TopicPartition[], lost: boolean) => void
  /** Errors the consumer retries on its own (network, server restarts, refused commits). */
  onError?: (error: unknown) => void
}
