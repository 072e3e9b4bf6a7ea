// Retention (cleanup.policy=delete): retention.ms and retention.bytes, whichever triggers first,
// delete whole batches from the start of the log and advance the log start offset; a manual clock
// decides what has expired.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { bunStorage } from '../../storage/bun-sqlite.ts'
import { Broker } from '../../src/broker/broker.ts'
import { encodeRecordBatch, readBatchHeader } from '../../src/codec/record-batch.ts'
import { PartitionLog } from '../../src/log/partition-log.ts'
import { retentionStep } from '../../src/log/retention.ts'
import { manualRuntime } from '../helpers/manual-runtime.ts'
import { removeDir, tempDir } from '../helpers/server.ts'

const enc = new TextEncoder()
const HOUR = 3_600_000

function appendBatch(log: PartitionLog, values: string[], timestamp: number) {
  const batch = encodeRecordBatch({ baseOffset: 0, records: values.map((v) => ({ key: null, value: enc.encode(v), timestamp })) })
  const [r] = log.appendAsLeader([{ batch, header: readBatchHeader(batch) }], 0, timestamp)
  assert.ok(r!.ok)
  return { base: r!.baseOffset, last: r!.lastOffset, size: batch.byteLength }
}

function withLog(fn: (log: PartitionLog, reopen: () => PartitionLog) => void) {
  const dir = tempDir()
  const storage = bunStorage(dir, 'off')
  let log = PartitionLog.open(storage.open('p'))
  try {
    fn(log, () => {
      log.close()
      log = PartitionLog.open(storage.open('p'))
      return log
    })
  } finally {
    log.close()
    removeDir(dir)
  }
}

const T0 = 1_700_000_000_000

describe('retention on the partition log', () => {
  test('retention.ms deletes whole batches whose newest record is older than now - retention.ms, oldest first, and stops at the first one that stays', () => {
    withLog((log, reopen) => {
      appendBatch(log, ['a', 'b', 'c'], T0) // 0..2
      appendBatch(log, ['d', 'e'], T0 + 1 * HOUR) // 3..4
      appendBatch(log, ['f'], T0 + 3 * HOUR) // 5
      appendBatch(log, ['g'], T0 + 1 * HOUR) // 6: old again, but behind a batch that stays
      const policy = { retentionMs: 2 * HOUR, retentionBytes: -1 }
      const step = retentionStep(log, log.logEndOffset, policy, T0 + 3 * HOUR + 1, 100)
      assert.equal(step.batches, 2)
      assert.equal(step.bytesByTime, step.bytes)
      assert.equal(log.logStartOffset, 5, 'the log start lands on a batch boundary')
      assert.deepEqual(log.batchIndex(0, 10).map((b) => b.baseOffset), [5, 6])
      assert.equal(log.logEndOffset, 7, 'the log end does not move')
      log = reopen()
      assert.equal(log.logStartOffset, 5, 'the log start survives a reopen')
      assert.equal(log.sizeBytes, log.batchIndex(0, 10).reduce((s, b) => s + b.sizeBytes, 0), 'the size counter matches the stored batches')
    })
  })

  test('retention.bytes keeps the partition at or above the limit, as Kafka does (never below it)', () => {
    withLog((log) => {
      const sizes = [0, 1, 2, 3, 4].map((i) => appendBatch(log, [`value-${i}`.repeat(10)], T0).size)
      const total = sizes.reduce((a, b) => a + b, 0)
      // Room for just under three batches: two go, three stay (deleting a third would dip below).
      const limit = sizes[2]! + sizes[3]! + sizes[4]! - 1
      const step = retentionStep(log, log.logEndOffset, { retentionMs: -1, retentionBytes: limit }, T0, 100)
      assert.equal(step.batches, 2)
      assert.equal(step.bytesByTime, 0)
      assert.equal(log.sizeBytes, total - sizes[0]! - sizes[1]!)
      assert.ok(log.sizeBytes >= limit)
      assert.equal(log.logStartOffset, 2)
      // retention.bytes = 0 empties the log below the high watermark; the offsets keep counting.
      retentionStep(log, log.logEndOffset, { retentionMs: -1, retentionBytes: 0 }, T0, 100)
      assert.equal(log.logStartOffset, 5)
      assert.equal(log.sizeBytes, 0)
      assert.equal(appendBatch(log, ['next'], T0).base, 5, 'appends continue at the log end')
    })
  })

  test('whichever triggers first: a batch young enough for retention.ms still goes when retention.bytes is exceeded', () => {
    withLog((log) => {
      appendBatch(log, ['old'], T0)
      appendBatch(log, ['young'.repeat(50)], T0 + 10 * HOUR)
      appendBatch(log, ['young'.repeat(50)], T0 + 10 * HOUR)
      const step = retentionStep(log, log.logEndOffset, { retentionMs: 5 * HOUR, retentionBytes: 1 }, T0 + 10 * HOUR, 100)
      assert.equal(step.batches, 2, 'the old batch by time, then one young batch by size')
      assert.ok(step.bytesByTime > 0 && step.bytesByTime < step.bytes)
      assert.equal(log.logStartOffset, 2)
    })
  })

  test('nothing at or above the high watermark is deleted', () => {
    withLog((log) => {
      appendBatch(log, ['a'], T0)
      appendBatch(log, ['b'], T0)
      retentionStep(log, 1, { retentionMs: 0, retentionBytes: -1 }, T0 + HOUR, 100)
      assert.equal(log.logStartOffset, 1, 'only the batch wholly below the high watermark')
    })
  })

  test('a step deletes at most its batch limit and says there may be more', () => {
    withLog((log) => {
      for (let i = 0; i < 10; i++) appendBatch(log, [`v${i}`], T0)
      const policy = { retentionMs: 0, retentionBytes: -1 }
      const first = retentionStep(log, log.logEndOffset, policy, T0 + 1, 4)
      assert.deepEqual([first.batches, first.more, log.logStartOffset], [4, true, 4])
      retentionStep(log, log.logEndOffset, policy, T0 + 1, 4)
      const last = retentionStep(log, log.logEndOffset, policy, T0 + 1, 4)
      assert.deepEqual([last.batches, last.more, log.logStartOffset], [2, false, 10])
    })
  })

  test('advanceLogStart into the middle of a batch keeps that batch and deletes only whole batches below', () => {
    withLog((log) => {
      appendBatch(log, ['a', 'b', 'c'], T0) // 0..2
      appendBatch(log, ['d', 'e', 'f'], T0) // 3..5
      appendBatch(log, ['g'], T0) // 6
      assert.equal(log.advanceLogStart(4).batches, 1)
      assert.equal(log.logStartOffset, 4)
      assert.deepEqual(log.batchIndex(0, 10).map((b) => b.baseOffset), [3, 6])
      assert.equal(log.read(4, log.logEndOffset, 1 << 20)[0]!.baseOffset, 3, 'a read at the log start gets the batch holding it')
      // A later retention step sees the batch holding the log start, and deletes it whole.
      retentionStep(log, log.logEndOffset, { retentionMs: -1, retentionBytes: 0 }, T0, 1)
      assert.equal(log.logStartOffset, 6)
    })
  })

  test('a log start in a gap that compaction left between batches deletes the batch below the gap', () => {
    withLog((log) => {
      appendBatch(log, ['a'], T0) // 0
      appendBatch(log, ['b'], T0) // 1
      appendBatch(log, ['c'], T0) // 2
      log.replaceBatch(1, null) // compaction emptied batch 1: offsets 0, 2 remain
      assert.equal(log.advanceLogStart(1).batches, 1, 'batch 0 lies wholly below 1')
      assert.deepEqual(log.batchIndex(0, 10).map((b) => b.baseOffset), [2])
      const read = log.read(1, log.logEndOffset, 1 << 20)
      assert.deepEqual(read.map((b) => b.baseOffset), [2], 'a read in the gap starts at the next batch')
    })
  })
})

describe('retention in the broker', () => {
  async function withBroker(fn: (broker: Broker, rt: ReturnType<typeof manualRuntime>) => Promise<void>, options = {}) {
    const dir = tempDir()
    const rt = manualRuntime(T0)
    const broker = Broker.open(bunStorage(dir, 'off'), rt, { cleanerIntervalMs: 30_000, ...options })
    try {
      await fn(broker, rt)
    } finally {
      broker.close()
      removeDir(dir)
    }
  }
  const rec = (v: string, timestamp: number) => ({ key: null, value: enc.encode(v), timestamp, partition: 0 })

  test('the cleaner runs on its interval, expired records go, a fetch below the new log start is OFFSET_OUT_OF_RANGE, earliest moves', async () => {
    await withBroker(async (broker, rt) => {
      broker.createTopic({ name: 'events', partitions: 1, config: { 'retention.ms': 60_000 } })
      await broker.produce('events', [rec('a', T0), rec('b', T0)], '1')
      await broker.produce('events', [rec('c', T0 + 50_000)], '1')
      rt.advance(30_000) // first run: nothing is older than a minute yet
      await broker.cleaner.runOnce() // joins the run the timer started
      assert.equal(broker.describeTopic('events').partitions[0]!.logStartOffset, 0)
      rt.advance(30_000) // now = T0 + 60 s: the first batch's newest record is exactly 60 s old
      await broker.cleaner.runOnce()
      rt.advance(30_000) // T0 + 90 s: first batch expired, second (T0 + 50 s) not
      await broker.cleaner.runOnce()
      const p = broker.describeTopic('events').partitions[0]!
      assert.equal(p.logStartOffset, 2)
      assert.equal(p.highWatermark, 3)
      await assert.rejects(broker.fetch('events', 0, { offset: 0, maxRecords: 10, maxBytes: 1 << 20, waitMs: 0 }), (e: Error & { code?: string }) => e.code === 'OFFSET_OUT_OF_RANGE')
      assert.equal(broker.resolveOffset('events', 0, 'earliest'), 2)
      const f = await broker.fetch('events', 0, { offset: 2, maxRecords: 10, maxBytes: 1 << 20, waitMs: 0 })
      assert.deepEqual(f.records.map((r) => r.offset), [2])
      const metrics = broker.metrics.render()
      assert.match(metrics, /edgelog_retention_deleted_batches_total\{topic="events"\} 1\n/)
      assert.match(metrics, /edgelog_retention_deleted_bytes_total\{topic="events",reason="time"\} \d+\n/)
      assert.match(metrics, /edgelog_cleaner_runs_total [3-9]\n/)
      assert.match(metrics, /edgelog_partition_log_start_offset\{topic="events",partition="0"\} 2\n/)
    })
  })

  test('a host that runs the cleaner itself (a Durable Object alarm) learns when it is due and when that may have changed', async () => {
    const told: Array<[string, number | undefined]> = []
    await withBroker(
      async (broker, rt) => {
        broker.createTopic({ name: 'kept', partitions: 1, config: { 'retention.ms': '-1' } })
        broker.createTopic({ name: 'expiring', partitions: 2, config: { 'retention.ms': 60_000 } })
        assert.equal(broker.cleanerDueAt(), undefined, 'empty logs: nothing will be due')
        await broker.produce('kept', [rec('k', T0)], '1')
        assert.equal(broker.cleanerDueAt(), undefined, 'retention.ms=-1: never due')
        await broker.produce('expiring', [rec('a', T0 - 10_000), rec('b', T0 - 5_000)], '1')
        assert.deepEqual(told, [['kept', 0], ['expiring', 0]], 'each commit is reported with its partition')
        // The batch goes once its newest record (T0 - 5 s) is more than a minute old.
        assert.equal(broker.cleanerDueAt(), T0 - 5_000 + 60_000 + 1)
        assert.equal(broker.cleanerDueAt('expiring', 1), undefined, 'partition 1 is empty')
        assert.equal(broker.cleanerDueAt('kept'), undefined)
        rt.advance(30_000)
        await broker.runCleaner()
        assert.equal(broker.describeTopic('expiring').partitions[0]!.logStartOffset, 0, 'not due yet')
        broker.alterTopicConfig('expiring', { 'retention.ms': 1_000 }, [])
        assert.deepEqual(told.at(-1), ['expiring', undefined], 'a config change is reported for the whole topic')
        assert.equal(broker.cleanerDueAt(), rt.clock.now(), 'due already: never earlier than now')
        await broker.runCleaner()
        assert.equal(broker.describeTopic('expiring').partitions[0]!.logStartOffset, 2)
        assert.equal(broker.cleanerDueAt(), undefined, 'nothing left to clean')
        assert.match(broker.metrics.render(), /edgelog_cleaner_runs_total 2\n/, 'no run of its own: only the two asked for')
      },
      { cleanerIntervalMs: 0, onCleanerWork: (topic: string, partition?: number) => void told.push([topic, partition]) },
    )
  })

  test('a config change is live at the next run: lowering retention.bytes deletes at once', async () => {
    await withBroker(async (broker) => {
      broker.createTopic({ name: 'metrics', partitions: 1 })
      for (let i = 0; i < 5; i++) await broker.produce('metrics', [rec(`v${i}`.repeat(100), T0)], '1')
      await broker.runCleaner()
      assert.equal(broker.describeTopic('metrics').partitions[0]!.logStartOffset, 0, 'defaults keep a week and no size limit')
      const described = broker.alterTopicConfig('metrics', { 'retention.bytes': 0 }, [])
      assert.equal(described.config['retention.bytes'], '0')
      await broker.runCleaner()
      assert.equal(broker.describeTopic('metrics').partitions[0]!.logStartOffset, 5)
      assert.equal(broker.describeTopic('metrics').partitions[0]!.sizeBytes, 0)
      // delete returns a key to its default.
      assert.equal(broker.alterTopicConfig('metrics', {}, ['retention.bytes']).config['retention.bytes'], '-1')
    })
  })

  test('compact-only topics are not touched by retention; compact,delete topics are', async () => {
    await withBroker(async (broker) => {
      broker.createTopic({ name: 'c', partitions: 1, config: { 'cleanup.policy': 'compact', 'retention.ms': 1 } })
      broker.createTopic({ name: 'cd', partitions: 1, config: { 'cleanup.policy': 'compact,delete', 'retention.ms': 1 } })
      for (const t of ['c', 'cd']) {
        await broker.produce(t, [{ key: enc.encode('k1'), value: enc.encode('1'), timestamp: T0 - 10_000, partition: 0 }], '1')
        await broker.produce(t, [{ key: enc.encode('k2'), value: enc.encode('2'), timestamp: T0 - 10_000, partition: 0 }], '1')
      }
      await broker.runCleaner()
      assert.equal(broker.describeTopic('c').partitions[0]!.logStartOffset, 0)
      assert.equal(broker.describeTopic('cd').partitions[0]!.logStartOffset, 2)
    })
  })

  test('retention deletes in bounded steps and yields between them; a produce during the run is not held up', async () => {
    await withBroker(
      async (broker, rt) => {
        broker.createTopic({ name: 'many', partitions: 1, config: { 'retention.ms': 1000 } })
        for (let i = 0; i < 40; i++) await broker.produce('many', [rec(`v${i}`, T0 - 5000)], '1')
        const defersBefore = rt.defers()
        const run = broker.runCleaner()
        const produced = broker.produce('many', [rec('during', T0)], '1')
        const [offsets] = await Promise.all([produced, run])
        assert.equal(offsets[0]!.offset, 40)
        assert.ok(rt.defers() - defersBefore >= 40 / 4, `yielded between steps (${rt.defers() - defersBefore} defers)`)
        assert.equal(broker.describeTopic('many').partitions[0]!.logStartOffset, 40)
      },
      { cleanerBatchesPerStep: 4 },
    )
  })

  test('PATCH-style config validation: unknown keys, bad values, set and delete of one key, read-only codecs', async () => {
    await withBroker(async (broker) => {
      broker.createTopic({ name: 't', partitions: 1 })
      const code = (fn: () => unknown) => {
        try {
          fn()
        } catch (e) {
          return (e as { code?: string }).code
        }
        return 'ok'
      }
      assert.equal(code(() => broker.alterTopicConfig('t', { 'retention.mss': 1 }, [])), 'INVALID_CONFIG')
      assert.equal(code(() => broker.alterTopicConfig('t', { 'retention.ms': -5 }, [])), 'INVALID_CONFIG')
      assert.equal(code(() => broker.alterTopicConfig('t', { 'retention.ms': 5 }, ['retention.ms'])), 'INVALID_CONFIG')
      assert.equal(code(() => broker.alterTopicConfig('t', {}, ['nope'])), 'INVALID_CONFIG')
      assert.equal(code(() => broker.alterTopicConfig('t', { 'compression.type': 'zstd' }, [])), 'INVALID_CONFIG')
      assert.equal(code(() => broker.alterTopicConfig('t', { 'min.cleanable.dirty.ratio': '1.5' }, [])), 'INVALID_CONFIG')
      assert.equal(code(() => broker.alterTopicConfig('nope', { 'retention.ms': 5 }, [])), 'UNKNOWN_TOPIC_OR_PARTITION')
      assert.equal(broker.describeTopic('t').config['retention.ms'], '604800000', 'a refused change changes nothing')
    })
  })
})

