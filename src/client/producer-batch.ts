// The producer's record accumulator (Kafka's RecordAccumulator): per partition, a queue of
// batches, the last one open for records until it is full or sent. What fits in a batch is
// decided here; when a batch leaves is the sender's business (producer.ts).
import type { EdgelogError } from './errors.ts'
import type { Pending } from './producer-record.ts'

/** The server's cap on records in one `pub` batch (docs/ws-protocol.md). */
export const maxRecordsPerBatch = 10_000

export interface Batch {
  topic: string
  partition: number
  items: Pending[]
  bytes: number
  createdAt: number
  /** Assigned at the first attempt and kept by every retry. */
  sequence: number | undefined
  epoch: number | undefined
  attempts: number
  retryAt: number
  lastError: EdgelogError | undefined
}

/**
 * A partition's batches. Kept for the producer's life even when empty: it holds the partition's
 * next sequence, which must not restart at 0 within an epoch. Bounded by the partitions written.
 */
export interface PartitionQueue {
  topic: string
  partition: number
  batches: Batch[]
  inFlight: boolean
  nextSequence: number
}

export function queueKey(topic: string, partition: number): string {
  return `${partition}\u0000${topic}`
}

/** A new, empty batch, open for records. */
export function newBatch(topic: string, partition: number): Batch {
  return {
    topic,
    partition,
    items: [],
    bytes: 0,
    createdAt: Date.now(),
    sequence: undefined,
    epoch: undefined,
    attempts: 0,
    retryAt: 0,
    lastError: undefined,
  }
}

/** Whether a record may join a batch: the batch has not been sent, and has room. */
export function fitsBatch(batch: Batch, item: Pending, batchBytes: number): boolean {
  if (batch.sequence !== undefined || batch.attempts > 0) return false
  if (batch.items.length >= maxRecordsPerBatch) return false
  // A record larger than batchBytes travels alone, as in Kafka.
  return batch.bytes + item.bytes <= batchBytes
}
