// The storage hot path on any driver: appends of encoded record batches through the partition
// log (one SQLite transaction per group commit) and reads of them back (with the CRC check a
// fetch does). Runtime-agnostic: the caller brings the StorageProvider, so the same numbers
// come from bun:sqlite, node:sqlite (Deno, Node 24), better-sqlite3 (Node 20) and a Durable
// Object. Encoding happens before the clock starts: this measures storage, not the codec.
import type { StorageProvider } from '../storage/driver.ts'
import { encodeRecordBatch, readBatchHeader, type NewRecord } from '../src/codec/record-batch.ts'
import { PartitionLog } from '../src/log/partition-log.ts'

export interface HotPathOptions {
  batches: number
  recordsPerBatch: number
  batchesPerCommit: number
  valueBytes: number
}

export interface HotPathTiming extends HotPathOptions {
  appendMs: number
  readMs: number
  appendRecordsPerSec: number
  readRecordsPerSec: number
  commitsPerSec: number
}

export const SMALL_HOT_PATH: HotPathOptions = { batches: 600, recordsPerBatch: 10, batchesPerCommit: 1, valueBytes: 100 }
export const BENCH_HOT_PATH: HotPathOptions[] = [
  { batches: 5_000, recordsPerBatch: 1, batchesPerCommit: 1, valueBytes: 100 },
  { batches: 2_000, recordsPerBatch: 100, batchesPerCommit: 1, valueBytes: 100 },
  { batches: 2_000, recordsPerBatch: 100, batchesPerCommit: 8, valueBytes: 100 },
]

/** Appends then reads back `batches` batches in database `name`; the log must be new. */
export function measureHotPath(storage: StorageProvider, name: string, opts: HotPathOptions, now: () => number = () => performance.now()): HotPathTiming {
  const value = new Uint8Array(opts.valueBytes).fill(120)
  const records: NewRecord[] = Array.from({ length: opts.recordsPerBatch }, (_, i) => ({ key: null, value, timestamp: 1_700_000_000_000 + i }))
  const template = encodeRecordBatch({ baseOffset: 0, records })
  // The log writes the base offset into the batch, so every append gets its own copy.
  const batches = Array.from({ length: opts.batches }, () => template.slice())
  const header = readBatchHeader(template)
  const log = PartitionLog.open(storage.open(name))
  try {
    const t0 = now()
    for (let b = 0; b < batches.length; b += opts.batchesPerCommit) {
      const group = batches.slice(b, b + opts.batchesPerCommit).map((batch) => ({ batch, header }))
      for (const r of log.appendAsLeader(group, 0, 0)) if (!r.ok) throw r.error
    }
    const t1 = now()
    let read = 0
    for (let next = 0; next < log.logEndOffset; ) {
      const got = log.read(next, log.logEndOffset, 1 << 20)
      if (got.length === 0) throw new Error(`read from ${next} returned nothing below ${log.logEndOffset}`)
      for (const b of got) read += b.lastOffset - b.baseOffset + 1
      next = got[got.length - 1]!.lastOffset + 1
    }
    const t2 = now()
    const total = opts.batches * opts.recordsPerBatch
    if (read !== total) throw new Error(`read ${read} records, appended ${total}`)
    const appendMs = t1 - t0
    const readMs = t2 - t1
    return {
      ...opts,
      appendMs,
      readMs,
      appendRecordsPerSec: total / (appendMs / 1000),
      readRecordsPerSec: total / (readMs / 1000),
      commitsPerSec: Math.ceil(opts.batches / opts.batchesPerCommit) / (appendMs / 1000),
    }
  } finally {
    log.close()
  }
}

export function formatHotPath(driver: string, t: HotPathTiming): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US')
  return (
    `${driver}: ${t.batches} batches x ${t.recordsPerBatch} records, ${t.batchesPerCommit}/commit: ` +
    `append ${t.appendMs.toFixed(0)} ms (${n(t.commitsPerSec)} commits/s, ${n(t.appendRecordsPerSec)} records/s), ` +
    `read ${t.readMs.toFixed(0)} ms (${n(t.readRecordsPerSec)} records/s)`
  )
}
