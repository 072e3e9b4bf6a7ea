// Reads committed records of one partition for the fan-out, as a fetch does: whole stored
// batches (a batch is decoded once, never cut and decoded again for the next frame), decoded
// within the broker's decompression bound, from `from` below `upTo`.
import type { Broker } from '../broker/broker.ts'
import type { Partition } from '../broker/partition.ts'
import type { BatchRecord } from '../codec/record-batch.ts'

export interface ReadRange {
  /** Records in [from, next), ascending. A compacted topic has holes, so maybe fewer than next - from. */
  records: BatchRecord[]
  /** Where the next read starts: past the last batch read (or `upTo` when nothing is left below it). */
  next: number
}

/**
 * Records in [from, upTo): the batches holding them up to about maxBytes of stored bytes, and
 * no further batch once maxRecords are collected. Always moves forward when from < upTo.
 * Asynchronous because compressed batches (gzip) inflate asynchronously; the stored bytes are
 * read synchronously first, so what is returned was in the log when the call began.
 */
export async function readRange(broker: Broker, p: Partition, from: number, upTo: number, maxRecords: number, maxBytes: number): Promise<ReadRange> {
  const batches = p.log.read(from, upTo, maxBytes)
  // No batch in [from, upTo): compaction removed every record of that range.
  if (batches.length === 0) return { records: [], next: upTo }
  const records: BatchRecord[] = []
  let next = from
  for (const batch of batches) {
    if (records.length >= maxRecords) break
    for (const r of await broker.decode(p.topic, batch.data)) {
      if (r.offset >= from && r.offset < upTo) records.push(r)
    }
    next = Math.max(next, Math.min(batch.lastOffset + 1, upTo))
  }
  return { records, next }
}
