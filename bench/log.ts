// The storage ceiling: appends straight into a partition log, no HTTP.
import { bunStorage } from '../storage/bun-sqlite.ts'
import type { FsyncPolicy } from '../storage/driver.ts'
import { encodeRecordBatch, readBatchHeader, type NewRecord } from '../src/codec/record-batch.ts'
import { PartitionLog } from '../src/log/partition-log.ts'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface LogBenchRow {
  case: string
  records: number
  seconds: number
  recordsPerSec: number
  mbPerSec: number
}

export function benchLogAppend(opts: { fsync: FsyncPolicy; batchesPerCommit: number; totalRecords: number; recordsPerBatch?: number; valueBytes?: number }): LogBenchRow {
  const perBatch = opts.recordsPerBatch ?? 1000
  const value = new Uint8Array(opts.valueBytes ?? 100).fill(120)
  const dir = mkdtempSync(join(tmpdir(), 'edgelog-bench-'))
  const storage = bunStorage(dir, opts.fsync)
  const db = storage.open('p')
  const log = PartitionLog.open(db)
  const now = Date.now()
  const records: NewRecord[] = Array.from({ length: perBatch }, (_, i) => ({ key: null, value, timestamp: now + i }))
  const batches = Math.ceil(opts.totalRecords / perBatch)
  const started = performance.now()
  let bytes = 0
  for (let b = 0; b < batches; b += opts.batchesPerCommit) {
    const requests = []
    for (let k = 0; k < opts.batchesPerCommit && b + k < batches; k++) {
      // Encoding is part of every produce, so it is part of the ceiling.
      const batch = encodeRecordBatch({ baseOffset: 0, records })
      bytes += batch.byteLength
      requests.push({ batch, header: readBatchHeader(batch) })
    }
    for (const r of log.appendAsLeader(requests, 0, now)) if (!r.ok) throw r.error
  }
  if (opts.fsync === 'batch') storage.sync(db)
  const seconds = (performance.now() - started) / 1000
  log.close()
  rmSync(dir, { recursive: true, force: true })
  const n = batches * perBatch
  return {
    case: `log append, fsync=${opts.fsync}, ${perBatch} rec/batch, ${opts.batchesPerCommit} batch/commit`,
    records: n,
    seconds,
    recordsPerSec: n / seconds,
    mbPerSec: bytes / seconds / 1e6,
  }
}

if (import.meta.main) {
  const rows = [
    benchLogAppend({ fsync: 'batch', batchesPerCommit: 1, totalRecords: 2_000_000 }),
    benchLogAppend({ fsync: 'batch', batchesPerCommit: 8, totalRecords: 2_000_000 }),
    benchLogAppend({ fsync: 'always', batchesPerCommit: 1, totalRecords: 1_000_000 }),
    benchLogAppend({ fsync: 'always', batchesPerCommit: 8, totalRecords: 1_000_000 }),
  ]
  console.table(rows.map((r) => ({ ...r, seconds: r.seconds.toFixed(2), recordsPerSec: Math.round(r.recordsPerSec), mbPerSec: r.mbPerSec.toFixed(1) })))
}
