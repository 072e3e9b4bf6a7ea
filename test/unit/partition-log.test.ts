// The partition log against a model: any interleaving of appends, reads and reopenings keeps
// offsets dense and returns exactly what was appended, on real SQLite files.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { bunStorage } from '../../storage/bun-sqlite.ts'
import { decodeRecords, encodeRecordBatch, readBatchHeader, type NewRecord } from '../../src/codec/record-batch.ts'
import { PartitionLog, type AppendRequest } from '../../src/log/partition-log.ts'
import { removeDir, tempDir } from '../helpers/server.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

function request(values: string[], producer?: { producerId: number; producerEpoch: number; baseSequence: number }): AppendRequest {
  const records: NewRecord[] = values.map((v, i) => ({ key: null, value: enc.encode(v), timestamp: 1000 + i }))
  const batch = encodeRecordBatch({ baseOffset: 0, records, ...producer })
  return { batch, header: readBatchHeader(batch) }
}

function readAll(log: PartitionLog, from: number, maxBytes = 1 << 20): string[] {
  const out: string[] = []
  let next = from
  while (next < log.logEndOffset) {
    const batches = log.read(next, log.logEndOffset, maxBytes)
    assert.ok(batches.length > 0, `read from ${next} below the log end returns a batch`)
    for (const b of batches) {
      for (const r of decodeRecords(b.data)) {
        if (r.offset < next) continue
        assert.equal(r.offset, from + out.length, 'offsets are dense and in order')
        out.push(dec.decode(r.value!))
      }
      next = b.lastOffset + 1
    }
  }
  return out
}

type Cmd = { kind: 'append'; batches: string[][] } | { kind: 'read'; from: number; maxBytes: number } | { kind: 'reopen' }

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('append' as const), batches: fc.array(fc.array(fc.string({ maxLength: 40 }), { minLength: 1, maxLength: 20 }), { minLength: 1, maxLength: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('read' as const), from: fc.nat(), maxBytes: fc.integer({ min: 1, max: 4096 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
)

describe('partition log', () => {
  test('any interleaving of appends, reads and reopenings keeps offsets dense and returns what was appended', () => {
    fc.assert(
      fc.property(fc.array(cmd, { minLength: 1, maxLength: 25 }), (cmds) => {
        const dir = tempDir()
        const storage = bunStorage(dir, 'off')
        let log = PartitionLog.open(storage.open('p'))
        const model: string[] = []
        try {
          for (const c of cmds) {
            if (c.kind === 'append') {
              const results = log.appendAsLeader(c.batches.map((b) => request(b)), 0, 0)
              for (let i = 0; i < c.batches.length; i++) {
                const r = results[i]!
                assert.ok(r.ok)
                assert.equal(r.baseOffset, model.length, 'a batch starts at the log end')
                model.push(...c.batches[i]!)
                assert.equal(r.lastOffset, model.length - 1)
              }
              assert.equal(log.logEndOffset, model.length)
            } else if (c.kind === 'read') {
              const from = model.length === 0 ? 0 : c.from % (model.length + 1)
              // Reads page by maxBytes; the concatenation is the model's suffix.
              assert.deepEqual(readAll(log, from, c.maxBytes), model.slice(from))
            } else {
              log.close()
              log = PartitionLog.open(storage.open('p'))
              assert.equal(log.logEndOffset, model.length, 'the log end survives a reopen')
            }
          }
          assert.deepEqual(readAll(log, 0), model)
        } finally {
          log.close()
          removeDir(dir)
        }
      }),
      { numRuns: 40 },
    )
  })

  test('a read that starts inside a batch returns that batch from the offset on', () => {
    const dir = tempDir()
    const log = PartitionLog.open(bunStorage(dir, 'off').open('p'))
    try {
      log.appendAsLeader([request(['a', 'b', 'c', 'd'])], 0, 0)
      const [batch] = log.read(2, log.logEndOffset, 1 << 20)
      assert.equal(batch!.baseOffset, 0)
      assert.deepEqual(readAll(log, 2), ['c', 'd'])
    } finally {
      log.close()
      removeDir(dir)
    }
  })

  test('a corrupt stored batch is reported, never served as data', () => {
    const dir = tempDir()
    const storage = bunStorage(dir, 'off')
    const db = storage.open('p')
    const log = PartitionLog.open(db)
    try {
      log.appendAsLeader([request(['hello', 'world'])], 0, 0)
      // Flip one byte of the stored value, as a bad disk would.
      const row = db.prepare('SELECT data FROM batches WHERE base_offset = 0').get()!
      const data = new Uint8Array(row.data as Uint8Array)
      data[data.length - 3] ^= 0xff
      db.prepare('UPDATE batches SET data = ? WHERE base_offset = 0').run(data)
      assert.throws(() => log.read(0, log.logEndOffset, 1 << 20), (e: Error & { code?: string }) => e.code === 'CORRUPT_MESSAGE')
    } finally {
      log.close()
      removeDir(dir)
    }
  })

  test('the leader epoch is stamped on every batch and the epoch cache survives a reopen', () => {
    const dir = tempDir()
    const storage = bunStorage(dir, 'off')
    let log = PartitionLog.open(storage.open('p'))
    try {
      log.appendAsLeader([request(['a'])], 0, 0)
      log.appendAsLeader([request(['b', 'c'])], 3, 0)
      log.appendAsLeader([request(['d'])], 3, 0)
      assert.throws(() => log.appendAsLeader([request(['e'])], 2, 0), /epoch/)
      log.close()
      log = PartitionLog.open(storage.open('p'))
      assert.deepEqual(log.epochs.all(), [
        { epoch: 0, startOffset: 0 },
        { epoch: 3, startOffset: 1 },
      ])
      const epochs = log.read(0, log.logEndOffset, 1 << 20).map((b) => readBatchHeader(b.data).partitionLeaderEpoch)
      assert.deepEqual(epochs, [0, 3, 3])
      assert.deepEqual(log.epochs.endOffsetFor(0, log.logEndOffset), { epoch: 0, endOffset: 1 })
      assert.deepEqual(log.epochs.endOffsetFor(3, log.logEndOffset), { epoch: 3, endOffset: 4 })
    } finally {
      log.close()
      removeDir(dir)
    }
  })

  test('idempotent producer: duplicates answer the original offsets, gaps and fenced epochs are refused, state survives a reopen', () => {
    const dir = tempDir()
    const storage = bunStorage(dir, 'off')
    let log = PartitionLog.open(storage.open('p'))
    const pid = { producerId: 7, producerEpoch: 0 }
    try {
      const [first] = log.appendAsLeader([request(['a', 'b'], { ...pid, baseSequence: 0 })], 0, 0)
      assert.deepEqual(first, { ok: true, baseOffset: 0, lastOffset: 1, duplicate: false })
      log.appendAsLeader([request(['x'])], 0, 0) // another producer's record in between
      log.close()
      log = PartitionLog.open(storage.open('p'))
      const [dup] = log.appendAsLeader([request(['a', 'b'], { ...pid, baseSequence: 0 })], 0, 0)
      assert.deepEqual(dup, { ok: true, baseOffset: 0, lastOffset: 1, duplicate: true })
      const [gap] = log.appendAsLeader([request(['c'], { ...pid, baseSequence: 5 })], 0, 0)
      assert.ok(!gap!.ok && gap!.error.code === 'OUT_OF_ORDER_SEQUENCE_NUMBER')
      const [next] = log.appendAsLeader([request(['c'], { ...pid, baseSequence: 2 })], 0, 0)
      assert.deepEqual(next, { ok: true, baseOffset: 3, lastOffset: 3, duplicate: false })
      const [bumped] = log.appendAsLeader([request(['d'], { producerId: 7, producerEpoch: 1, baseSequence: 0 })], 0, 0)
      assert.ok(bumped!.ok && !bumped!.duplicate)
      const [zombie] = log.appendAsLeader([request(['e'], { ...pid, baseSequence: 3 })], 0, 0)
      assert.ok(!zombie!.ok && zombie!.error.code === 'INVALID_PRODUCER_EPOCH')
      const [reset] = log.appendAsLeader([request(['f'], { producerId: 8, producerEpoch: 0, baseSequence: 4 })], 0, 0)
      assert.ok(!reset!.ok && reset!.error.code === 'OUT_OF_ORDER_SEQUENCE_NUMBER', 'an unknown producer must start at 0')
      assert.deepEqual(readAll(log, 0), ['a', 'b', 'x', 'c', 'd'])
    } finally {
      log.close()
      removeDir(dir)
    }
  })

  test('two batches of one producer in one group commit are checked in order', () => {
    const dir = tempDir()
    const log = PartitionLog.open(bunStorage(dir, 'off').open('p'))
    const pid = { producerId: 1, producerEpoch: 0 }
    try {
      const results = log.appendAsLeader(
        [request(['a'], { ...pid, baseSequence: 0 }), request(['b'], { ...pid, baseSequence: 1 }), request(['b'], { ...pid, baseSequence: 1 })],
        0,
        0,
      )
      assert.deepEqual(results, [
        { ok: true, baseOffset: 0, lastOffset: 0, duplicate: false },
        { ok: true, baseOffset: 1, lastOffset: 1, duplicate: false },
        { ok: true, baseOffset: 1, lastOffset: 1, duplicate: true },
      ])
    } finally {
      log.close()
      removeDir(dir)
    }
  })

  test('advancing the log start deletes whole batches below it and survives a reopen', () => {
    const dir = tempDir()
    const storage = bunStorage(dir, 'off')
    let log = PartitionLog.open(storage.open('p'))
    try {
      log.appendAsLeader([request(['a', 'b']), request(['c', 'd']), request(['e'])], 0, 0)
      log.advanceLogStart(3)
      assert.equal(log.logStartOffset, 3)
      log.close()
      log = PartitionLog.open(storage.open('p'))
      assert.equal(log.logStartOffset, 3)
      assert.equal(log.logEndOffset, 5)
      assert.deepEqual(readAll(log, 3), ['d', 'e'])
    } finally {
      log.close()
      removeDir(dir)
    }
  })
})
