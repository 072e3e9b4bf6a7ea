// The partition log's replication operations: follower appends keep the leader's offsets,
// epochs and bytes; truncation by epoch removes a divergent suffix and rebuilds idempotent
// producer state from what remains, so a retry after failover is still deduplicated.
import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import { bunStorage } from '../../storage/bun-sqlite.ts'
import { encodeRecordBatch, readBatchHeader, setBaseOffset, type NewRecord } from '../../src/codec/record-batch.ts'
import { PartitionLog, type AppendRequest } from '../../src/log/partition-log.ts'
import { removeDir, tempDir } from '../helpers/server.ts'

const enc = new TextEncoder()
const dirs: string[] = []
after(() => dirs.forEach(removeDir))

function openLog(name = 'p') {
  const dir = tempDir()
  dirs.push(dir)
  const storage = bunStorage(dir, 'off')
  return { log: PartitionLog.open(storage.open(name)), reopen: () => PartitionLog.open(storage.open(name)) }
}

function request(values: string[], producer?: { producerId: number; producerEpoch: number; baseSequence: number }): AppendRequest {
  const records: NewRecord[] = values.map((v, i) => ({ key: null, value: enc.encode(v), timestamp: 1000 + i }))
  const batch = encodeRecordBatch({ baseOffset: 0, records, ...producer })
  return { batch, header: readBatchHeader(batch) }
}

function allBatches(log: PartitionLog): Uint8Array[] {
  return log.read(log.logStartOffset, log.logEndOffset, 1 << 30).map((b) => b.data)
}

describe('partition log as a follower', () => {
  test('appendAsFollower keeps the leader offsets, epochs and bytes, and derives producer state', () => {
    const { log: leader } = openLog('leader')
    const { log: follower } = openLog('follower')
    leader.appendAsLeader([request(['a', 'b']), request(['c'], { producerId: 7, producerEpoch: 0, baseSequence: 0 })], 0, 0)
    leader.appendAsLeader([request(['d', 'e'], { producerId: 7, producerEpoch: 0, baseSequence: 1 })], 3, 0)
    const fetched = allBatches(leader)
    const r = follower.appendAsFollower(fetched, 2)
    assert.equal(r.records, 5)
    assert.equal(follower.logEndOffset, 5)
    assert.deepEqual(allBatches(follower), fetched, 'byte-identical batches')
    assert.deepEqual(follower.epochs.all(), [{ epoch: 0, startOffset: 0 }, { epoch: 3, startOffset: 3 }])
    assert.equal(follower.highWatermarkCheckpoint, 2)
    // Promoted to leader: a retry of the producer's last batch is answered with its offsets.
    follower.beginLeaderEpoch(4)
    const retry = follower.appendAsLeader([request(['d', 'e'], { producerId: 7, producerEpoch: 0, baseSequence: 1 })], 4, 0)
    assert.deepEqual(retry, [{ ok: true, baseOffset: 3, lastOffset: 4, duplicate: true }])
    const gap = follower.appendAsLeader([request(['x'], { producerId: 7, producerEpoch: 0, baseSequence: 9 })], 4, 0)
    assert.equal(gap[0]!.ok ? 'ok' : gap[0]!.error.code, 'OUT_OF_ORDER_SEQUENCE_NUMBER')
  })

  test('an overlap, a gap inside a fetch, an older epoch or a bad CRC is refused and nothing of the fetch is written', () => {
    const { log: leader } = openLog('leader')
    const { log: follower } = openLog('follower')
    leader.appendAsLeader([request(['a']), request(['b']), request(['c'])], 2, 0)
    const [b0, b1, b2] = allBatches(leader)
    assert.throws(() => follower.appendAsFollower([b0!, b2!], 0), { code: 'CORRUPT_MESSAGE' }, 'a gap between two batches of one fetch')
    const corrupt = b1!.slice()
    corrupt[corrupt.length - 1]! ^= 1
    assert.throws(() => follower.appendAsFollower([b0!, corrupt], 0), { code: 'CORRUPT_MESSAGE' })
    assert.equal(follower.logEndOffset, 0)
    follower.appendAsFollower([b0!], 0)
    assert.throws(() => follower.appendAsFollower([b0!], 0), { code: 'CORRUPT_MESSAGE' }, 'a batch before the log end')
    const older = request(['z']).batch
    setBaseOffset(older, 1) // epoch 0 after epoch 2 (the gap before it would be compaction's)
    assert.throws(() => follower.appendAsFollower([older], 0), { code: 'CORRUPT_MESSAGE' })
    assert.equal(follower.logEndOffset, 1)
  })
})

describe('partition log truncation', () => {
  test('truncateTo removes the suffix, a straddling batch whole, and the epochs that started in it', () => {
    const { log } = openLog()
    log.appendAsLeader([request(['a', 'b', 'c'])], 0, 0) // 0..2
    log.appendAsLeader([request(['d', 'e'])], 1, 0) // 3..4
    log.appendAsLeader([request(['f'])], 2, 0) // 5
    assert.equal(log.truncateTo(4), 3, 'the batch 3..4 goes whole')
    assert.deepEqual(log.epochs.all(), [{ epoch: 0, startOffset: 0 }])
    assert.equal(log.endOffsetForEpoch(0).endOffset, 3)
    assert.equal(log.truncateTo(10), 3, 'beyond the end is a no-op')
    const after = log.appendAsLeader([request(['g'])], 3, 0)
    assert.deepEqual(after[0], { ok: true, baseOffset: 3, lastOffset: 3, duplicate: false })
  })

  test('producer state is rebuilt from the remaining batches: a retry of a removed batch is appended again', () => {
    const { log, reopen } = openLog()
    const p = (seq: number) => ({ producerId: 1, producerEpoch: 0, baseSequence: seq })
    log.appendAsLeader([request(['a'], p(0)), request(['b', 'c'], p(1))], 0, 0) // 0, 1..2
    log.appendAsLeader([request(['d'], p(3))], 1, 0) // 3
    log.appendAsLeader([request(['q'], { producerId: 2, producerEpoch: 0, baseSequence: 0 })], 1, 0) // 4
    log.truncateTo(3)
    const check = (l: PartitionLog) => {
      const dup = l.appendAsLeader([request(['b', 'c'], p(1))], 5, 0)[0]!
      assert.ok(dup.ok && dup.duplicate && dup.baseOffset === 1, 'the surviving batch is still a duplicate')
    }
    check(log)
    const reopened = reopen()
    check(reopened)
    const again = reopened.appendAsLeader([request(['d'], p(3))], 5, 0)[0]!
    assert.ok(again.ok && !again.duplicate && again.baseOffset === 3, 'the removed batch is appended, not answered as a duplicate')
    const other = reopened.appendAsLeader([request(['q'], { producerId: 2, producerEpoch: 0, baseSequence: 0 })], 5, 0)[0]!
    assert.ok(other.ok && !other.duplicate, 'a producer whose only batch was removed starts again at sequence 0')
  })

  test('epochs, truncation and the high watermark checkpoint survive a reopen', () => {
    const { log, reopen } = openLog()
    log.beginLeaderEpoch(3)
    log.appendAsLeader([request(['a', 'b'])], 3, 0, 0)
    log.appendAsLeader([request(['c'])], 3, 0, 2)
    log.beginLeaderEpoch(5)
    assert.equal(log.endOffsetForEpoch(3).endOffset, 3)
    assert.equal(log.endOffsetForEpoch(4).epoch, 3, 'an unknown epoch answers with the largest earlier one')
    assert.deepEqual(log.endOffsetForEpoch(9), { epoch: 5, endOffset: 3 })
    assert.equal(log.highWatermarkCheckpoint, 2)
    assert.equal(log.truncateTo(2), 2)
    const r = reopen()
    assert.equal(r.logEndOffset, 2)
    assert.deepEqual(r.epochs.all(), [{ epoch: 3, startOffset: 0 }], 'epoch 5 started at the removed offset 3')
    assert.equal(r.highWatermarkCheckpoint, 2)
    assert.equal(r.truncateTo(1), 0, 'the batch 0..1 straddles 1 and goes whole')
    assert.equal(reopen().highWatermarkCheckpoint, 0, 'the checkpoint never passes the log end')
  })
})

describe('partition log start-over', () => {
  test('truncateFullyAndStartAt empties the replica and starts it at the leader log start', () => {
    const { log, reopen } = openLog()
    log.appendAsLeader([request(['a', 'b'], { producerId: 3, producerEpoch: 0, baseSequence: 0 })], 1, 0)
    log.truncateFullyAndStartAt(40)
    for (const l of [log, reopen()]) {
      assert.equal(l.logStartOffset, 40)
      assert.equal(l.logEndOffset, 40)
      assert.deepEqual(l.epochs.all(), [])
      assert.equal(l.producers.get(3), undefined)
    }
  })

  test('a fetch may start after the log end where compaction left a gap on the leader', () => {
    const { log: leader } = openLog('leader')
    const { log: follower } = openLog('follower')
    leader.appendAsLeader([request(['a']), request(['b'])], 0, 0)
    const [, b1] = allBatches(leader)
    follower.appendAsFollower([b1!], 0)
    assert.equal(follower.logEndOffset, 2)
  })
})
