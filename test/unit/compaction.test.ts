// Log compaction (cleanup.policy=compact): exactly the latest record per key survives, with its
// original offset; tombstones go after delete.retention.ms; the log end and high watermark never
// move; the work runs in bounded steps that let produce through.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { bunStorage } from '../../storage/bun-sqlite.ts'
import { Broker } from '../../src/broker/broker.ts'
import { decodeBatch, encodeRecordBatch, readBatchHeader, compressBatch, type NewRecord } from '../../src/codec/record-batch.ts'
import { COMPRESSION } from '../../src/codec/compression.ts'
import { compactLog, type CompactionOptions } from '../../src/log/compaction.ts'
import { PartitionLog } from '../../src/log/partition-log.ts'
import { manualRuntime } from '../helpers/manual-runtime.ts'
import { removeDir, tempDir } from '../helpers/server.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()
const T0 = 1_700_000_000_000
const DAY = 86_400_000

interface Rec {
  key: string | null
  value: string | null
  timestamp: number
}

async function append(log: PartitionLog, records: Rec[], gzip = false) {
  let batch = encodeRecordBatch({
    baseOffset: 0,
    records: records.map((r): NewRecord => ({ key: r.key === null ? null : enc.encode(r.key), value: r.value === null ? null : enc.encode(r.value), timestamp: r.timestamp })),
  })
  if (gzip) batch = await compressBatch(batch, COMPRESSION.gzip)
  const [r] = log.appendAsLeader([{ batch, header: readBatchHeader(batch) }], 0, T0)
  assert.ok(r!.ok)
  return r!.baseOffset
}

async function readAll(log: PartitionLog): Promise<Array<{ offset: number; key: string | null; value: string | null }>> {
  const out = []
  for (const b of log.batchesFrom(log.logStartOffset, 1_000_000)) {
    for (const r of await decodeBatch(b.data)) out.push({ offset: r.offset, key: r.key && dec.decode(r.key), value: r.value && dec.decode(r.value) })
  }
  return out
}

function options(over: Partial<CompactionOptions> = {}): CompactionOptions {
  return {
    now: T0,
    deleteRetentionMs: DAY,
    batchesPerStep: 3,
    maxKeys: 1_000_000,
    maxKeyBytes: 1 << 30,
    maxDecompressedBytes: 1 << 26,
    yieldNow: () => new Promise((r) => setImmediate(r)),
    ...over,
  }
}

async function withLog(fn: (log: PartitionLog) => Promise<void>) {
  const dir = tempDir()
  const log = PartitionLog.open(bunStorage(dir, 'off').open('p'))
  try {
    await fn(log)
  } finally {
    log.close()
    removeDir(dir)
  }
}

describe('compaction of a partition log', () => {
  test('keeps exactly the latest record per key at its original offset; the newest batch is left as it is', async () => {
    await withLog(async (log) => {
      await append(log, [{ key: 'a', value: 'a1', timestamp: T0 }, { key: 'b', value: 'b1', timestamp: T0 }, { key: 'a', value: 'a2', timestamp: T0 }]) // 0..2
      await append(log, [{ key: 'c', value: 'c1', timestamp: T0 }, { key: 'b', value: 'b2', timestamp: T0 }], true) // 3..4, gzip
      await append(log, [{ key: 'a', value: 'a3', timestamp: T0 }]) // 5
      await append(log, [{ key: 'd', value: 'd1', timestamp: T0 }, { key: 'd', value: 'd2', timestamp: T0 }]) // 6..7: newest batch
      const end = log.logEndOffset
      const stats = await compactLog(log, end, options())
      assert.deepEqual(await readAll(log), [
        { offset: 3, key: 'c', value: 'c1' },
        { offset: 4, key: 'b', value: 'b2' },
        { offset: 5, key: 'a', value: 'a3' },
        { offset: 6, key: 'd', value: 'd1' }, // in the newest batch: not compacted yet
        { offset: 7, key: 'd', value: 'd2' },
      ])
      assert.equal(log.logEndOffset, end, 'the log end never moves')
      assert.equal(stats.batchesRemoved, 1, 'batch 0 lost every record')
      assert.equal(stats.batchesRewritten, 0, 'batch 3 lost nothing')
      assert.equal(stats.recordsRemoved, 3)
      assert.equal(stats.cleanedUpTo, 6, 'the checkpoint stops before the newest batch')
      assert.equal(log.sizeBytes, log.batchIndex(0, 10).reduce((s, b) => s + b.sizeBytes, 0))
      // A rewritten gzip batch stays gzip.
      await append(log, [{ key: 'c', value: 'c2', timestamp: T0 }]) // 8
      await compactLog(log, log.logEndOffset, options())
      const batch3 = log.batchesFrom(3, 1)[0]!
      assert.equal(readBatchHeader(batch3.data).compression, 1)
      assert.equal(readBatchHeader(batch3.data).lastOffsetDelta, 1, 'the batch keeps its last offset')
      assert.deepEqual((await readAll(log)).map((r) => `${r.offset}:${r.value}`), ['4:b2', '5:a3', '7:d2', '8:c2'])
    })
  })

  test('tombstones survive until delete.retention.ms after their timestamp, then go; older values of the key go at once', async () => {
    await withLog(async (log) => {
      await append(log, [{ key: 'user-1', value: 'alice', timestamp: T0 }])
      await append(log, [{ key: 'user-1', value: null, timestamp: T0 + 1000 }]) // tombstone at 1
      await append(log, [{ key: 'user-2', value: 'bob', timestamp: T0 + 2000 }]) // newest batch
      await compactLog(log, log.logEndOffset, options({ now: T0 + 5000 }))
      assert.deepEqual((await readAll(log)).map((r) => `${r.offset}:${r.key}=${r.value}`), ['1:user-1=null', '2:user-2=bob'])
      assert.equal(log.tombstoneDue, T0 + 1000 + DAY + 1, 'the cleaner knows when to come back')
      await compactLog(log, log.logEndOffset, options({ now: T0 + 1000 + DAY }))
      assert.equal((await readAll(log)).length, 2, 'exactly delete.retention.ms old: still there')
      const stats = await compactLog(log, log.logEndOffset, options({ now: T0 + 1001 + DAY }))
      assert.equal(stats.tombstonesRemoved, 1)
      assert.deepEqual((await readAll(log)).map((r) => `${r.offset}:${r.key}=${r.value}`), ['2:user-2=bob'])
      assert.equal(log.tombstoneDue, -1)
    })
  })

  test('records without a key are removed (a topic switched from delete to compact)', async () => {
    await withLog(async (log) => {
      await append(log, [{ key: null, value: 'x', timestamp: T0 }, { key: 'k', value: 'v', timestamp: T0 }])
      await append(log, [{ key: 'z', value: 'z', timestamp: T0 }])
      await compactLog(log, log.logEndOffset, options())
      assert.deepEqual((await readAll(log)).map((r) => r.offset), [1, 2])
    })
  })

  test('nothing at or above the high watermark is read into the key map or rewritten', async () => {
    await withLog(async (log) => {
      await append(log, [{ key: 'a', value: '1', timestamp: T0 }]) // 0
      await append(log, [{ key: 'b', value: '1', timestamp: T0 }]) // 1
      await append(log, [{ key: 'a', value: '2', timestamp: T0 }]) // 2: not committed yet
      await append(log, [{ key: 'c', value: '1', timestamp: T0 }]) // 3
      await compactLog(log, 2, options())
      assert.deepEqual((await readAll(log)).map((r) => r.offset), [0, 1, 2, 3], 'a1 stays: a2 is above the high watermark')
    })
  })

  test('a full key map limits a pass to what it covers; later passes finish the job', async () => {
    await withLog(async (log) => {
      for (let round = 0; round < 3; round++) {
        for (let k = 0; k < 6; k++) await append(log, [{ key: `k${k}`, value: `r${round}`, timestamp: T0 }])
      }
      await append(log, [{ key: 'last', value: 'x', timestamp: T0 }])
      let passes = 0
      while (passes < 20) {
        passes++
        const before = log.cleanerCheckpoint
        await compactLog(log, log.logEndOffset, options({ maxKeys: 4 }))
        if (log.cleanerCheckpoint === before) break
      }
      assert.ok(passes > 2, `several passes (${passes})`)
      assert.deepEqual((await readAll(log)).map((r) => `${r.key}=${r.value}`), ['k0=r2', 'k1=r2', 'k2=r2', 'k3=r2', 'k4=r2', 'k5=r2', 'last=x'])
    })
  })

  test('any sequence of keyed writes, tombstones and passes: latest per key kept with its offset, nothing else below the newest batch, log end fixed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            { weight: 6, arbitrary: fc.array(fc.record({ key: fc.integer({ min: 0, max: 7 }), tombstone: fc.boolean(), age: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 5 }) },
            { weight: 2, arbitrary: fc.record({ compact: fc.constant(true), maxKeys: fc.integer({ min: 1, max: 10 }), step: fc.integer({ min: 1, max: 4 }), gzip: fc.boolean() }) },
          ),
          { minLength: 1, maxLength: 20 },
        ),
        async (ops) => {
          await withLog(async (log) => {
            // The model: every record ever written, by offset.
            const written: Array<{ offset: number; key: string; value: string | null; timestamp: number }> = []
            let gzip = false
            for (const op of ops) {
              if (Array.isArray(op)) {
                const recs = op.map((r, i) => ({ key: `k${r.key}`, value: r.tombstone ? null : `v${written.length + i}`, timestamp: T0 - r.age * DAY }))
                const base = await append(log, recs, gzip)
                recs.forEach((r, i) => written.push({ offset: base + i, ...r }))
              } else {
                gzip = op.gzip
                await compactLog(log, log.logEndOffset, options({ maxKeys: op.maxKeys, batchesPerStep: op.step, now: T0 + 1 }))
              }
            }
            // A final pass with a roomy map settles everything below the newest batch.
            const end = log.logEndOffset
            await compactLog(log, end, options({ now: T0 + 1 }))
            assert.equal(log.logEndOffset, end)
            const newestBase = log.lastBatch()?.baseOffset ?? 0
            const latest = new Map<string, number>()
            for (const w of written) latest.set(w.key, w.offset)
            const expected = written.filter((w) => {
              if (w.offset >= newestBase) return true // the newest batch is untouched
              if (latest.get(w.key) !== w.offset) return false // superseded
              return !(w.value === null && w.timestamp < T0 + 1 - DAY) // expired tombstone
            })
            const actual = await readAll(log)
            assert.deepEqual(
              actual.map((r) => `${r.offset}:${r.key}=${r.value}`),
              expected.map((w) => `${w.offset}:${w.key}=${w.value}`),
            )
          })
        },
      ),
      { numRuns: 60 },
    )
  })
})

describe('compaction in the broker', () => {
  test('a compacted topic refuses records without a key; fetch serves the survivors in order with their offsets; produce is not held up by a pass in bounded steps', async () => {
    const dir = tempDir()
    const rt = manualRuntime(T0)
    const broker = Broker.open(bunStorage(dir, 'off'), rt, { cleanerIntervalMs: 0, cleanerBatchesPerStep: 2 })
    try {
      broker.createTopic({ name: 'profiles', partitions: 1, config: { 'cleanup.policy': 'compact' } })
      await assert.rejects(broker.produce('profiles', [{ key: null, value: enc.encode('x'), timestamp: T0 }], '1'), (e: Error & { code?: string }) => e.code === 'INVALID_RECORD' && /needs one/.test(e.message))
      const rec = (k: string, v: string) => ({ key: enc.encode(k), value: enc.encode(v), timestamp: T0 })
      for (let i = 0; i < 30; i++) await broker.produce('profiles', [rec(`user-${i % 5}`, `v${i}`)], '1')
      await broker.produce('profiles', [rec('tail', 'end')], '1')
      const defers = rt.defers()
      const run = broker.runCleaner()
      const during = broker.produce('profiles', [rec('user-0', 'during')], '1')
      const [offsets, stats] = await Promise.all([during, run])
      assert.equal(offsets[0]!.offset, 31)
      assert.equal(stats.compactions, 1)
      assert.ok(rt.defers() - defers >= 10, 'the pass yielded between steps')
      const f = await broker.fetch('profiles', 0, { offset: 0, maxRecords: 100, maxBytes: 1 << 20, waitMs: 0 })
      assert.deepEqual(
        f.records.map((r) => `${r.offset}:${dec.decode(r.key!)}=${dec.decode(r.value!)}`),
        ['25:user-0=v25', '26:user-1=v26', '27:user-2=v27', '28:user-3=v28', '29:user-4=v29', '30:tail=end', '31:user-0=during'],
      )
      assert.equal(f.highWatermark, 32)
      // A fetch from inside a removed range moves on to the next survivor.
      const mid = await broker.fetch('profiles', 0, { offset: 3, maxRecords: 2, maxBytes: 1 << 20, waitMs: 0 })
      assert.deepEqual(mid.records.map((r) => r.offset), [25, 26])
      assert.equal(mid.nextOffset, 27)
      // A fetch of a removed range with a tiny maxBytes still makes progress (never an empty answer forever).
      const tiny = await broker.fetch('profiles', 0, { offset: 3, maxRecords: 10, maxBytes: 1, waitMs: 0 })
      assert.ok(tiny.records.length > 0 || tiny.nextOffset > 3)
      const m = broker.metrics.render()
      assert.match(m, /edgelog_compaction_records_removed_total\{topic="profiles"\} 25\n/)
      assert.match(m, /edgelog_compaction_runs_total\{topic="profiles"\} 1\n/)
      assert.match(m, /edgelog_compaction_bytes_reclaimed_total\{topic="profiles"\} [1-9]\d*\n/)
    } finally {
      broker.close()
      removeDir(dir)
    }
  })

  test('the cleaner compacts only past min.cleanable.dirty.ratio, or when a tombstone is due', async () => {
    const dir = tempDir()
    const rt = manualRuntime(T0)
    const broker = Broker.open(bunStorage(dir, 'off'), rt, { cleanerIntervalMs: 0 })
    try {
      broker.createTopic({ name: 'kv', partitions: 1, config: { 'cleanup.policy': 'compact', 'delete.retention.ms': 60_000, 'min.cleanable.dirty.ratio': 0.9 } })
      const rec = (k: string, v: string | null) => ({ key: enc.encode(k), value: v === null ? null : enc.encode(v), timestamp: rt.clock.now() })
      for (let i = 0; i < 10; i++) await broker.produce('kv', [rec(`k${i}`, 'x'.repeat(50))], '1')
      assert.equal((await broker.runCleaner()).compactions, 1, 'all dirty: compacts')
      await broker.produce('kv', [rec('k0', null)], '1')
      await broker.produce('kv', [rec('k1', 'y')], '1')
      assert.equal((await broker.runCleaner()).compactions, 0, 'a little new data stays below the 0.9 ratio')
      broker.alterTopicConfig('kv', { 'min.cleanable.dirty.ratio': 0 }, [])
      assert.equal((await broker.runCleaner()).compactions, 1, 'ratio 0: any new data compacts')
      const keys = async () => (await broker.fetch('kv', 0, { offset: broker.resolveOffset('kv', 0, 'earliest'), maxRecords: 100, maxBytes: 1 << 20, waitMs: 0 })).records.map((r) => `${dec.decode(r.key!)}=${r.value && dec.decode(r.value)}`)
      assert.ok((await keys()).includes('k0=null'), 'the tombstone is served while it is young')
      broker.alterTopicConfig('kv', { 'min.cleanable.dirty.ratio': 1 }, [])
      rt.setNow(T0 + 61_000)
      assert.equal((await broker.runCleaner()).compactions, 1, 'a due tombstone triggers a pass without new data')
      assert.ok(!(await keys()).some((k) => k.startsWith('k0=')), 'the tombstone is gone, and no older k0 came back')
      assert.match(broker.metrics.render(), /edgelog_compaction_tombstones_removed_total\{topic="kv"\} 1\n/)
    } finally {
      broker.close()
      removeDir(dir)
    }
  })
})
