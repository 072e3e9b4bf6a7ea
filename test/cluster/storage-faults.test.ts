// A flipped bit on a real follower's disk (RELIABILITY.md F16, PROC): three brokers and etcd;
// a byte of one stored batch changes while the follower is stopped. At restart its log recovery
// finds the batch; the follower leaves the ISR, repairs the batch from the leader and rejoins,
// and the replicas are byte-identical again.
import { afterEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Database } from 'bun:sqlite'
import { join } from 'node:path'
import { api, describe as describeTopic, eventually, metric, startCluster, storedBatches, type TestCluster } from './helpers.ts'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.stop()
  cluster = undefined
})

describe('storage faults on a real cluster (three brokers, etcd)', () => {
  test('a bit flipped in a stopped follower\'s stored batch: it leaves the ISR, repairs the batch from the leader, and the replicas are byte-identical again', async () => {
    const c = (cluster = await startCluster(3))
    const created = await api(c.any(), '/v1/topics', { method: 'POST', json: { name: 'flip', partitions: 1, replicationFactor: 3, config: { 'min.insync.replicas': '2' } } })
    assert.equal(created.status, 201, JSON.stringify(created.body))
    const topicId = created.body.topicId as string
    const [p0] = await eventually('the partition has its full ISR', () => describeTopic(c.any(), 'flip'), (ps) => ps[0]!.leader > 0 && ps[0]!.isr.length === 3)
    const leader = c.brokers[p0!.leader - 1]!
    for (let i = 0; i < 6; i++) {
      const r = await api(leader.url(), '/v1/topics/flip/records?acks=all', { method: 'POST', json: { records: [{ value: `r${i}` }] } })
      assert.equal(r.status, 200, JSON.stringify(r.body))
    }
    const follower = c.brokers.find((b) => b.id !== leader.id)!
    await eventually('the follower has every record', () => api(follower.url(), '/v1/topics/flip'), (r) => r.body.partitions[0].logEndOffset === 6)
    await follower.server!.stop('SIGTERM')
    follower.server = undefined
    const db = new Database(join(follower.dataDir, 'partitions', `${topicId}-0.db`))
    try {
      const row = db.query('SELECT data FROM batches WHERE base_offset = 2').get() as { data: Uint8Array }
      const data = new Uint8Array(row.data)
      data[data.length - 3]! ^= 0x08
      db.query('UPDATE batches SET data = ? WHERE base_offset = 2').run(data)
    } finally {
      db.close()
    }
    await c.start(follower.id)
    await eventually('the follower counts the corrupt batch', () => metric(follower.url(), 'edgelog_corrupt_batches_total'), (n) => n === 1)
    await eventually(
      'the follower is back in the ISR with the whole log',
      () => Promise.all([describeTopic(leader.url(), 'flip'), api(follower.url(), '/v1/topics/flip')]),
      ([ps, f]) => ps[0]!.isr.includes(follower.id) && f.body.partitions[0].logEndOffset === 6,
    )
    // A consumer reading through the follower (forwarded to the leader) gets every record.
    const read = await api(follower.url(), '/v1/topics/flip/partitions/0/records?offset=0')
    assert.deepEqual(read.body.records.map((r: any) => r.value), ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'])
    // Byte for byte, the follower holds the leader's batches again.
    await follower.server!.stop('SIGTERM')
    follower.server = undefined
    await leader.server!.stop('SIGTERM')
    leader.server = undefined
    assert.deepEqual(storedBatches(follower.dataDir, topicId, 0), storedBatches(leader.dataDir, topicId, 0))
  })
})
