// The shapes the broker's callers pass in and get back (produce, fetch, describe), apart from
// the options, so the produce, fetch and topic helpers can share them without importing the
// Broker class.
import type { NewRecord, BatchRecord } from '../codec/record-batch.ts'
import type { TopicRecord } from './metadata.ts'
import type { Partition } from './partition.ts'
import type { ProduceCompression } from './topic-config.ts'

export type Acks = '0' | '1' | 'all'

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

/** A topic this node holds: its metadata row and its open partitions (broker-internal). */
export interface Topic {
  record: TopicRecord
  partitions: Partition[]
}
