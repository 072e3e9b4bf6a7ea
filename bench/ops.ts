// Operations benchmarks (issue 8): log compaction throughput (and how long it holds the event
// loop), and produce throughput over HTTP with gzip against uncompressed.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bunStorage } from '../storage/bun-sqlite.ts'
import { COMPRESSION } from '../src/codec/compression.ts'
import { compressBatch, encodeRecordBatch, readBatchHeader, type NewRecord } from '../src/codec/record-batch.ts'
import { compactLog } from '../src/log/compaction.ts'
import { PartitionLog } from '../src/log/partition-log.ts'
import { benchServer, createTopic, percentile, produceLoad, rssMb } from './server.ts'

const enc = new TextEncoder()

export interface CompactionRow {
  case: string
  records: number
  seconds: number
  recordsPerSec: number
  mbPerSec: number
  bytesBefore: number
  bytesAfter: number
  /** The longest the event loop went without a turn while compaction ran, and the 99th percentile. */
  maxStallMs: number
  p99StallMs: number
}

export async function benchCompaction(opts: { records: number; keys: number; perBatch: number; gzip: boolean; batchesPerStep?: number }): Promise<CompactionRow> {
  const dir = mkdtempSync(join(tmpdir(), 'edgelog-bench-'))
  const storage = bunStorage(dir, 'batch')
  const log = PartitionLog.open(storage.open('p'))
  try {
    const now = Date.now()
    let n = 0
    while (n < opts.records) {
      const records: NewRecord[] = []
      for (let i = 0; i < opts.perBatch && n < opts.records; i++, n++) {
        records.push({ key: enc.encode(`key-${(n * 7919) % opts.keys}`), value: enc.encode(`{"n":${n},"state":"${'s'.repeat(60)}"}`), timestamp: now })
      }
      let batch = encodeRecordBatch({ baseOffset: 0, records })
      if (opts.gzip) batch = await compressBatch(batch, COMPRESSION.gzip)
      const [r] = log.appendAsLeader([{ batch, header: readBatchHeader(batch) }], 0, now)
      if (!r!.ok) throw r!.error
    }
    const bytesBefore = log.sizeBytes
    // A ticker on the event loop: the gap between its turns is what a produce would wait.
    const stalls: number[] = []
    let last = performance.now()
    let ticking = true
    const tick = () => {
      const t = performance.now()
      stalls.push(t - last)
      last = t
      if (ticking) setImmediate(tick)
    }
    setImmediate(tick)
    const started = performance.now()
    await compactLog(log, log.logEndOffset, {
      now,
      deleteRetentionMs: 86_400_000,
      batchesPerStep: opts.batchesPerStep ?? 256,
      stepBudgetMs: 5,
      monotonic: () => performance.now(),
      maxKeys: 500_000,
      maxKeyBytes: 64 << 20,
      maxDecompressedBytes: 64 << 20,
      yieldNow: () => new Promise((r) => setImmediate(r)),
    })
    const seconds = (performance.now() - started) / 1000
    ticking = false
    stalls.sort((a, b) => a - b)
    return {
      case: `compaction, ${opts.records.toLocaleString('en-US')} records, ${opts.keys.toLocaleString('en-US')} keys, ${opts.perBatch}/batch, ${opts.gzip ? 'gzip' : 'uncompressed'}, ${opts.batchesPerStep ?? 256} batches or 5 ms/step`,
      records: opts.records,
      seconds,
      recordsPerSec: opts.records / seconds,
      mbPerSec: bytesBefore / seconds / 1e6,
      bytesBefore,
      bytesAfter: log.sizeBytes,
      maxStallMs: stalls[stalls.length - 1] ?? 0,
      p99StallMs: percentile(stalls, 99),
    }
  } finally {
    log.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

export interface GzipProduceRow {
  case: string
  records: number
  recordsPerSec: number
  storedBytesPerRecord: number
  serverRssMb: number
}

/** HTTP produce of ~110-byte JSON events, 1,000 per request, with and without ?compression=gzip. */
export async function benchGzipProduce(opts: { compression: 'none' | 'gzip'; seconds: number; inFlight: number }): Promise<GzipProduceRow> {
  const server = await benchServer(['--fsync', 'batch'])
  try {
    await createTopic(server.url, 'events', 1)
    const pages = ['/', '/products/42', '/cart', '/checkout', '/search?q=shoes']
    const bodies = Array.from({ length: 8 }, (_, b) =>
      JSON.stringify({
        records: Array.from({ length: 1000 }, (_, i) => ({
          value: { user: `u${(b * 1000 + i) % 977}`, event: i % 3 === 0 ? 'view' : 'click', page: pages[i % pages.length], ts: 1_700_000_000_000 + b * 1000 + i },
        })),
      }),
    )
    const url = `${server.url}/v1/topics/events/records?acks=1&compression=${opts.compression}`
    const { records, seconds } = await produceLoad(url, bodies, { ...opts, recordsPerBody: 1000 })
    const topic = (await (await fetch(`${server.url}/v1/topics/events`)).json()) as { partitions: Array<{ sizeBytes: number }> }
    return {
      case: `HTTP produce, 1 partition, 1000 JSON events/req, compression=${opts.compression}, fsync=batch, ${opts.inFlight} in flight`,
      records,
      recordsPerSec: records / seconds,
      storedBytesPerRecord: topic.partitions[0]!.sizeBytes / records,
      serverRssMb: rssMb(server.pid),
    }
  } finally {
    await server.stop()
  }
}
