// Reading committed records out of a partition: the fetch loop (bounded by records and bytes,
// below the high watermark) and the offset-for-timestamp search. Separate from the Broker,
// which keeps the long-poll accounting and the leader checks around them.
import type { BatchRecord } from '../codec/record-batch.ts'
import { EdgelogError, fail } from '../core/errors.ts'
import type { Partition } from './partition.ts'

export type DecodeStored = (data: Uint8Array) => Promise<BatchRecord[]>

export function checkFetchOffset(p: Partition, offset: number): void {
  if (offset < p.log.logStartOffset || offset > p.log.logEndOffset) {
    fail(
      'OFFSET_OUT_OF_RANGE',
      `offset ${offset} is outside ${p.topic}-${p.index}: log start ${p.log.logStartOffset}, log end ${p.log.logEndOffset}`,
    )
  }
}

/**
 * Records from `offset` below the high watermark, at most maxRecords and about maxBytes (always
 * at least one record when one is there), with the stored bytes read for the metrics.
 */
export async function readRecords(
  p: Partition,
  req: { offset: number; maxRecords: number; maxBytes: number },
  decode: DecodeStored,
): Promise<{ records: BatchRecord[]; nextOffset: number; highWatermark: number; bytesRead: number }> {
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
    for (const r of await decode(batch.data)) {
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
  return { records, nextOffset, highWatermark: hw, bytesRead }
}

/** The first offset whose record timestamp is ≥ ts, or null when there is none. */
export async function findOffsetForTimestamp(p: Partition, ts: number, decode: DecodeStored): Promise<number | null> {
  const hw = p.highWatermark
  let from = p.log.logStartOffset
  for (;;) {
    const batch = p.log.firstBatchWithTimestamp(ts, from)
    if (!batch || batch.baseOffset >= hw) return null
    for (const r of await decode(batch.data)) {
      if (r.offset >= from && r.offset < hw && r.timestamp >= ts) return r.offset
    }
    from = batch.lastOffset + 1
  }
}
