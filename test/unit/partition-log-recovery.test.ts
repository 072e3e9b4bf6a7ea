// Storage faults the partition log must survive on real SQLite files (RELIABILITY.md F16, F17):
// a torn or cut tail is recovered to the last whole batch at open, rows missing at the tail do
// not leave epochs or producer state behind, and a flipped bit anywhere in a stored batch —
// including the header fields the CRC does not cover — is found by a read or the scrub.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { bunStorage } from '../../storage/bun-sqlite.ts'
import type { SqlDriver } from '../../storage/driver.ts'
import { encodeRecordBatch, readBatchHeader, type NewRecord } from '../../src/codec/record-batch.ts'
import { PartitionLog, type AppendRequest } from '../../src/log/partition-log.ts'
import { removeDir, tempDir } from '../helpers/server.ts'

const enc = new TextEncoder()

function request(values: string[], producer?: { producerId: number; producerEpoch: number; baseSequence: number }): AppendRequest {
  const records: NewRecord[] = values.map((v, i) => ({ key: null, value: enc.encode(v), timestamp: 1000 + i }))
  const batch = encodeRecordBatch({ baseOffset: 0, records, ...producer })
  return { batch, header: readBatchHeader(batch) }
}

function withLog(fn: (open: () => { log: PartitionLog; db: SqlDriver }) => void): void {
  const dir = tempDir()
  const storage = bunStorage(dir, 'off')
  const opened: PartitionLog[] = []
  try {
    fn(() => {
      const db = storage.open('p')
      const log = PartitionLog.open(db)
      opened.push(log)
      return { log, db }
    })
  } finally {
    for (const l of opened) if (!l.closed) l.close()
    removeDir(dir)
  }
}

function rewrite(db: SqlDriver, baseOffset: number, change: (data: Uint8Array) => Uint8Array): void {
  const row = db.prepare('SELECT data FROM batches WHERE base_offset = ?').get(baseOffset)!
  db.prepare('UPDATE batches SET data = ? WHERE base_offset = ?').run(change(new Uint8Array(row.data as Uint8Array)), baseOffset)
}

describe('partition log recovery and corruption', () => {
  test('a torn last batch is cut away at open: the log ends at its last whole batch', () => {
    withLog((open) => {
      let { log, db } = open()
      log.appendAsLeader([request(['a', 'b'])], 0, 0)
      log.appendAsLeader([request(['c'])], 0, 0)
      log.appendAsLeader([request(['d', 'e', 'f'])], 1, 0)
      rewrite(db, 3, (d) => d.slice(0, d.length - 7))
      log.close()
      ;({ log } = open())
      assert.equal(log.logEndOffset, 3)
      assert.deepEqual(log.recovered, { truncatedFrom: 3, batches: 1, inconsistencies: 0 })
      // The epoch that began with the torn batch went with it.
      assert.deepEqual(log.epochs.all(), [{ epoch: 0, startOffset: 0 }])
      assert.equal(log.read(0, log.logEndOffset, 1 << 20).length, 2)
    })
  })

  test('rows missing at the tail leave no epoch or producer state that names them', () => {
    withLog((open) => {
      let { log, db } = open()
      const producer = { producerId: 7, producerEpoch: 0 }
      log.appendAsLeader([request(['a'], { ...producer, baseSequence: 0 })], 0, 0)
      log.appendAsLeader([request(['b'], { ...producer, baseSequence: 1 })], 2, 0)
      log.appendAsLeader([request(['c'], { ...producer, baseSequence: 2 })], 3, 0)
      db.prepare('DELETE FROM batches WHERE base_offset >= 1').run()
      log.close()
      ;({ log } = open())
      assert.equal(log.logEndOffset, 1)
      // Epoch 3 started at 2, past the end: gone. Epoch 2 starts at the end, as a leader's
      // fresh epoch does (a follower's truncation by epoch removes it if the leader never had it).
      assert.deepEqual(log.epochs.all(), [
        { epoch: 0, startOffset: 0 },
        { epoch: 2, startOffset: 1 },
      ])
      assert.ok(log.recovered.inconsistencies > 0)
      // The producer's state is rebuilt from what is left: sequence 1 is next again, not a duplicate.
      const [r] = log.appendAsLeader([request(['b'], { ...producer, baseSequence: 1 })], 2, 0)
      assert.ok(r!.ok && !r!.duplicate && r!.baseOffset === 1, JSON.stringify(r))
    })
  })

  test('a flipped batch with whole batches after it is not a torn tail: nothing is cut, the batch is marked corrupt', () => {
    withLog((open) => {
      let { log, db } = open()
      for (let i = 0; i < 5; i++) log.appendAsLeader([request([`v${i}`])], 0, 0)
      rewrite(db, 2, (d) => {
        d[d.length - 1]! ^= 0x01
        return d
      })
      log.close()
      ;({ log } = open())
      assert.equal(log.logEndOffset, 5, 'the whole batches after it stay')
      assert.equal(log.recovered.batches, 0)
      assert.equal(log.corruptAt, 2)
      assert.equal(log.read(3, log.logEndOffset, 1 << 20).length, 2, 'what follows is readable')
      assert.throws(() => log.read(2, log.logEndOffset, 1 << 20), (e: Error & { code?: string }) => e.code === 'CORRUPT_MESSAGE')
    })
  })

  test('a clean log recovers nothing', () => {
    withLog((open) => {
      let { log } = open()
      log.appendAsLeader([request(['a'])], 0, 0)
      log.close()
      ;({ log } = open())
      assert.deepEqual(log.recovered, { truncatedFrom: undefined, batches: 0, inconsistencies: 0 })
    })
  })

  test('a flipped leader epoch byte (outside the CRC) is refused on read and marks the log corrupt', () => {
    withLog((open) => {
      const { log, db } = open()
      log.appendAsLeader([request(['a'])], 0, 0)
      log.appendAsLeader([request(['b'])], 0, 0)
      const found: number[] = []
      log.onCorrupt = (at) => found.push(at)
      rewrite(db, 1, (d) => {
        d[15]! ^= 0x04 // partitionLeaderEpoch, bytes 12–15: not covered by the CRC
        return d
      })
      assert.throws(() => log.read(1, log.logEndOffset, 1 << 20), (e: Error & { code?: string }) => e.code === 'CORRUPT_MESSAGE')
      assert.equal(log.corruptAt, 1)
      assert.deepEqual(found, [1])
      log.truncateTo(1)
      assert.equal(log.corruptAt, undefined, 'truncation removed the corrupt batch')
    })
  })

  test('the scrub finds a flipped bit in a batch nobody reads, once', () => {
    withLog((open) => {
      const { log, db } = open()
      for (let i = 0; i < 10; i++) log.appendAsLeader([request([`v${i}`])], 0, 0)
      rewrite(db, 6, (d) => {
        d[d.length - 2]! ^= 0x10
        return d
      })
      const found: number[] = []
      log.onCorrupt = (at) => found.push(at)
      let cursor = log.scrub(0, 4)
      assert.equal(cursor, 4)
      cursor = log.scrub(cursor, 4)
      assert.deepEqual(found, [6])
      assert.equal(log.corruptAt, 6)
      log.scrub(0, 100)
      assert.deepEqual(found, [6], 'reported once')
    })
  })
})
