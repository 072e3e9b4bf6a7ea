// Reads committed records of one partition for the fan-out: whole stored batches (a batch is
// decoded once, never cut and decoded again for the next frame), from `from` below `upTo`.
import { decodeRecords, type BatchRecord } from '../codec/record-batch.ts'
import type { Partition } from '../broker/partition.ts'

/**
 * Records in [from, upTo): the batches holding them up to about maxBytes of stored bytes, and no
 * further batch once maxRecords are collected. At least one record when one is there.
 */
export function readRecords(p: Partition, from: number, upTo: number, maxRecords: number, maxBytes: number): BatchRecord[] {
  const out: BatchRecord[] = []
  for (const batch of p.log.read(from, upTo, maxBytes)) {
    if (out.length >= maxRecords) break
    for (const r of decodeRecords(batch.data)) {
      if (r.offset >= from && r.offset < upTo) out.push(r)
    }
  }
  return out
}
