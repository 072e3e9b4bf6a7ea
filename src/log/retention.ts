// Delete-policy retention for one partition log: `retention.ms` and `retention.bytes`, whichever
// triggers first, as Kafka applies them to segments — here the unit is a batch:
// - time: a batch goes once its newest record (max timestamp) is older than now - retention.ms;
// - size: the oldest batches go while the partition stays at or above retention.bytes without
//   them (Kafka's rule: the log never shrinks below retention.bytes, so a partition holds between
//   retention.bytes and retention.bytes + one batch);
// - only batches wholly below the high watermark go, and only from the start of the log, in
//   order: deletion stops at the first batch that must stay;
// - the newest batch is no exception: as Kafka deletes (after rolling) an expired active segment,
//   an idle partition whose records all expired ends up empty, log start = log end. The offsets
//   keep counting from there.
// The log start offset lands on a batch boundary (the offset after the last deleted batch).
import type { PartitionLog } from './partition-log.ts'

export interface RetentionPolicy {
  /** -1: no time limit. */
  retentionMs: number
  /** -1: no size limit. */
  retentionBytes: number
}

export interface RetentionStep {
  batches: number
  bytes: number
  /** Of which deleted because of retention.ms (the rest: retention.bytes). */
  bytesByTime: number
  /** True when the step stopped at its batch limit and more may be deletable. */
  more: boolean
}

/** Deletes at most `maxBatches` batches from the start of the log; one SQLite transaction. */
export function retentionStep(log: PartitionLog, highWatermark: number, policy: RetentionPolicy, now: number, maxBatches: number): RetentionStep {
  const none: RetentionStep = { batches: 0, bytes: 0, bytesByTime: 0, more: false }
  if (policy.retentionMs < 0 && policy.retentionBytes < 0) return none
  const cutoff = policy.retentionMs >= 0 ? now - policy.retentionMs : -Infinity
  const rows = log.batchIndex(log.logStartOffset, maxBatches)
  let size = log.sizeBytes
  let newStart = -1
  let count = 0
  let bytesByTime = 0
  for (const row of rows) {
    if (row.lastOffset >= highWatermark) break
    const byTime = row.maxTimestamp < cutoff
    const bySize = policy.retentionBytes >= 0 && size - row.sizeBytes >= policy.retentionBytes
    if (!byTime && !bySize) break
    if (byTime) bytesByTime += row.sizeBytes
    size -= row.sizeBytes
    newStart = row.lastOffset + 1
    count++
  }
  if (count === 0) return none
  const deleted = log.advanceLogStart(newStart)
  return { batches: deleted.batches, bytes: deleted.bytes, bytesByTime, more: count === maxBatches }
}

/**
 * When retention next has something to delete in this log (epoch ms; `now` or earlier: already),
 * or undefined while nothing will be due until more is appended. Only the oldest batch
 * matters: deletion goes in order from the start of the log.
 */
export function retentionDueAt(log: PartitionLog, highWatermark: number, policy: RetentionPolicy, now: number): number | undefined {
  const first = log.batchIndex(log.logStartOffset, 1)[0]
  if (!first || first.lastOffset >= highWatermark) return undefined
  if (policy.retentionBytes >= 0 && log.sizeBytes - first.sizeBytes >= policy.retentionBytes) return now
  // retentionStep deletes a batch once maxTimestamp < now - retention.ms.
  return policy.retentionMs >= 0 ? first.maxTimestamp + policy.retentionMs + 1 : undefined
}
