// Three `edgelog serve --etcd` processes and a real etcd on loopback, faults by signal: the
// leader SIGKILLed under acks=all load, the leader SIGSTOPped past its lease (a zombie), a
// follower restarted. Each test names the failure it guards against.
import { describe, test, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { api, describe as describeTopic, eventually, metric, sleep, startCluster, storedBatches, type TestCluster } from './helpers.ts'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.stop()
  cluster = undefined
})

const FORWARDED = { 'x-edgelog-forwarded': 'test' }

async function createTopic(c: TestCluster, name: string, partitions = 1) {
  const r = await api(c.any(), '/v1/topics', { method: 'POST', json: { name, partitions, replicationFactor: 3, config: { 'min.insync.replicas': '2' } } })
  assert.equal(r.status, 201, JSON.stringify(r.body))
  // Every broker knows the topic and every partition has a full ISR.
  for (const b of c.brokers) await eventually(`broker ${b.id} has ${name}`, () => describeTopic(b.url(), name), (ps) => ps.every((p) => p.isr.length === 3))
  return r.body as { topicId: string }
}

/** An idempotent producer that retries each record (same sequence) through any live broker until acknowledged. */
class Producer {
  readonly acked: Array<{ value: string; offset: number }> = []
  private seq = 0
  private stopped = false
  running: Promise<void> = Promise.resolve()
  constructor(
    private readonly c: TestCluster,
    private readonly topic: string,
    private readonly id: { producerId: number; producerEpoch: number },
  ) {}

  static async create(c: TestCluster, topic: string) {
    const r = await api(c.any(), '/v1/producers', { method: 'POST' })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    return new Producer(c, topic, r.body)
  }

  start(count: number): void {
    this.running = (async () => {
      for (let i = 0; i < count && !this.stopped; i++) await this.sendOne()
    })()
  }

  stop(): Promise<void> {
    this.stopped = true
    return this.running
  }

  private async sendOne(): Promise<void> {
    const seq = this.seq++
    const value = `v${seq}`
    const deadline = Date.now() + 60_000
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      const live = this.c.brokers.filter((b) => b.server)
      const url = live[(seq + attempt) % live.length]!.url()
      try {
        const r = await api(url, `/v1/topics/${this.topic}/partitions/0/records?acks=all`, {
          method: 'POST',
          json: { records: [{ value }], producer: { id: this.id.producerId, epoch: this.id.producerEpoch, sequence: seq } },
          signal: AbortSignal.timeout(10_000),
        })
        if (r.status === 200) {
          this.acked.push({ value, offset: r.body.offsets[0].offset })
          return
        }
        assert.ok(!['OUT_OF_ORDER_SEQUENCE_NUMBER', 'INVALID_PRODUCER_EPOCH', 'UNKNOWN_PRODUCER_ID'].includes(r.body?.error?.code), `${value}: ${JSON.stringify(r.body)}`)
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err
      }
      await sleep(100)
    }
    throw new Error(`${value} was not acknowledged within 60 s`)
  }
}

async function readAll(url: string, topic: string, partition = 0): Promise<Array<{ offset: number; value: unknown }>> {
  const out: Array<{ offset: number; value: unknown }> = []
  let offset = 0
  for (;;) {
    const r = await api(url, `/v1/topics/${topic}/partitions/${partition}/records?offset=${offset}&maxRecords=1000`)
    assert.equal(r.status, 200, JSON.stringify(r.body))
    out.push(...r.body.records.map((x: { offset: number; value: unknown }) => ({ offset: x.offset, value: x.value })))
    if (r.body.nextOffset >= r.body.highWatermark) return out
    offset = r.body.nextOffset
  }
}

/** Stops every broker cleanly and checks their copies of the partition are the same batches, byte for byte. */
async function assertReplicasIdentical(c: TestCluster, topicId: string) {
  for (const b of c.brokers) await b.server?.stop('SIGTERM')
  const copies = c.brokers.map((b) => storedBatches(b.dataDir, topicId, 0))
  assert.ok(copies[0]!.length > 0)
  for (const other of copies.slice(1)) {
    assert.equal(other.length, copies[0]!.length, 'every replica holds the same number of batches')
    other.forEach((batch, i) => {
      assert.equal(batch.base, copies[0]![i]!.base)
      assert.deepEqual(batch.data, copies[0]![i]!.data, `batch at ${batch.base} is byte-identical`)
    })
  }
}

async function fullIsr(c: TestCluster, topic: string) {
  for (const b of c.brokers.filter((x) => x.server)) {
    await eventually(`broker ${b.id} sees a full ISR`, () => describeTopic(b.url(), topic), (ps) => ps.every((p) => p.isr.length === 3 && p.leader >= 0))
  }
}

describe('cluster on real processes (three brokers, etcd)', () => {
  test('SIGKILL of the leader during acks=all load: every acknowledged record is readable exactly once, in order, and replicas are byte-identical', async () => {
    cluster = await startCluster()
    const c = cluster
    const { topicId } = await createTopic(c, 'orders')
    const producer = await Producer.create(c, 'orders')
    producer.start(150)
    await eventually('30 records acknowledged', async () => producer.acked.length, (n) => n >= 30)
    const before = (await describeTopic(c.any(), 'orders'))[0]!
    const leader = c.brokers[before.leader - 1]!
    leader.server!.proc.kill('SIGKILL')
    await leader.server!.stop()
    leader.server = undefined
    const after = await eventually('a new leader', () => describeTopic(c.any(), 'orders'), (ps) => ps[0]!.leader >= 0 && ps[0]!.leader !== before.leader)
    assert.ok(after[0]!.leaderEpoch > before.leaderEpoch, 'the leader epoch moved on')
    await producer.stop()
    assert.ok(producer.acked.length >= 30)
    await c.start(leader.id)
    await fullIsr(c, 'orders')
    for (const b of c.brokers) {
      await eventually(`broker ${b.id}: no under-replicated partition`, () => metric(b.url(), 'edgelog_under_replicated_partitions'), (v) => v === 0)
    }
    const records = await readAll(c.any(), 'orders')
    const seen = new Map<string, number[]>()
    for (const r of records) seen.set(String(r.value), [...(seen.get(String(r.value)) ?? []), r.offset])
    for (const a of producer.acked) assert.deepEqual(seen.get(a.value), [a.offset], `${a.value} is at its acknowledged offset, once`)
    for (const [value, offsets] of seen) assert.equal(offsets.length, 1, `${value} appears once`)
    const order = records.map((r) => Number(String(r.value).slice(1)))
    assert.deepEqual(order, [...order].sort((a, b) => a - b), 'the producer order is kept')
    await assertReplicasIdentical(c, topicId)
  })

  test('SIGSTOP of the leader past its lease: a new leader takes over; after SIGCONT the old one acknowledges nothing and truncates its suffix to rejoin', async () => {
    cluster = await startCluster()
    const c = cluster
    const { topicId } = await createTopic(c, 'zombie')
    for (let i = 0; i < 10; i++) {
      const r = await api(c.any(), '/v1/topics/zombie/partitions/0/records?acks=all', { method: 'POST', json: { records: [{ value: `c${i}` }] } })
      assert.equal(r.status, 200, JSON.stringify(r.body))
    }
    const before = (await describeTopic(c.any(), 'zombie'))[0]!
    const old = c.brokers[before.leader - 1]!
    const followers = c.brokers.filter((b) => b !== old)
    // A suffix only the leader has: the followers are frozen (briefly, within their leases and
    // the lag time) while it takes acks=1 writes.
    for (const f of followers) f.server!.proc.kill('SIGSTOP')
    for (let i = 0; i < 3; i++) {
      const r = await api(old.url(), '/v1/topics/zombie/partitions/0/records?acks=1', { method: 'POST', json: { records: [{ value: `suffix${i}` }] }, headers: FORWARDED })
      assert.equal(r.status, 200, JSON.stringify(r.body))
    }
    old.server!.proc.kill('SIGSTOP')
    for (const f of followers) f.server!.proc.kill('SIGCONT')
    const next = await eventually('a new leader while the old one is stopped', () => describeTopic(followers[0]!.url(), 'zombie'), (ps) => ps[0]!.leader >= 0 && ps[0]!.leader !== old.id, 20_000)
    assert.ok(next[0]!.leaderEpoch > before.leaderEpoch)
    for (let i = 0; i < 5; i++) {
      const r = await api(followers[0]!.url(), '/v1/topics/zombie/partitions/0/records?acks=all', { method: 'POST', json: { records: [{ value: `n${i}` }] } })
      assert.equal(r.status, 200, JSON.stringify(r.body))
    }
    // Requests wait in the stopped process's socket; it answers them when it continues.
    const atZombie = ['all', '1'].map((acks) =>
      api(old.url(), `/v1/topics/zombie/partitions/0/records?acks=${acks}`, { method: 'POST', json: { records: [{ value: `to-zombie-${acks}` }] }, headers: FORWARDED }),
    )
    await sleep(200)
    old.server!.proc.kill('SIGCONT')
    for (const r of await Promise.all(atZombie)) {
      assert.notEqual(r.status, 200, `the old leader acknowledged: ${JSON.stringify(r.body)}`)
      assert.equal(r.body.error.code, 'NOT_LEADER_OR_FOLLOWER')
    }
    await fullIsr(c, 'zombie')
    await eventually('the old leader truncated its suffix', () => metric(old.url(), 'edgelog_replica_truncations_total'), (v) => (v ?? 0) >= 1)
    const values = (await readAll(c.any(), 'zombie')).map((r) => String(r.value))
    assert.deepEqual(
      values.filter((v) => !v.startsWith('suffix')),
      [...Array.from({ length: 10 }, (_, i) => `c${i}`), ...Array.from({ length: 5 }, (_, i) => `n${i}`)],
    )
    // A fetch already on its way to a follower may have carried the first suffix record (acks=1
    // promises nothing more); the rest existed on the old leader only, and is gone.
    const kept = values.filter((v) => v.startsWith('suffix'))
    assert.deepEqual(kept, ['suffix0', 'suffix1', 'suffix2'].slice(0, kept.length))
    assert.ok(!kept.includes('suffix2'), 'the unreplicated suffix was truncated')
    await assertReplicasIdentical(c, topicId)
  })

  test('a restarted follower catches up, rejoins the ISR, and under-replicated partitions go back to 0', async () => {
    cluster = await startCluster()
    const c = cluster
    const { topicId } = await createTopic(c, 'restart')
    const produce = async (n: number, prefix: string) => {
      for (let i = 0; i < n; i++) {
        const r = await api(c.any(), '/v1/topics/restart/partitions/0/records?acks=all', { method: 'POST', json: { records: [{ value: `${prefix}${i}` }] } })
        assert.equal(r.status, 200, JSON.stringify(r.body))
      }
    }
    await produce(20, 'a')
    const state = (await describeTopic(c.any(), 'restart'))[0]!
    const follower = c.brokers.find((b) => b.id !== state.leader)!
    const leader = c.brokers[state.leader - 1]!
    follower.server!.proc.kill('SIGKILL')
    await follower.server!.stop()
    follower.server = undefined
    // acks=all goes on with two in-sync replicas; the leader reports one under-replicated partition.
    await produce(20, 'b')
    await eventually('the leader reports an under-replicated partition', () => metric(leader.url(), 'edgelog_under_replicated_partitions'), (v) => v === 1)
    await c.start(follower.id)
    assert.match(follower.server!.output(), /unclean start/, 'a restart after SIGKILL registers as unclean (R5)')
    await produce(5, 'c')
    await fullIsr(c, 'restart')
    for (const b of c.brokers) {
      await eventually(`broker ${b.id}: under-replicated back to 0`, () => metric(b.url(), 'edgelog_under_replicated_partitions'), (v) => v === 0)
    }
    assert.equal((await readAll(c.any(), 'restart')).length, 45)
    await assertReplicasIdentical(c, topicId)
  })

  test('any broker serves any partition (one hop), topics show leader, epoch, replicas and ISR as node ids, and bad cluster requests are refused', async () => {
    cluster = await startCluster(3, ['--peer-token', 'a-peer-token-of-16+chars'])
    const c = cluster
    const bad = await api(c.any(), '/v1/topics', { method: 'POST', json: { name: 'big', replicationFactor: 4 } })
    assert.equal(bad.status, 400)
    assert.equal(bad.body.error.code, 'INVALID_REPLICATION_FACTOR')
    const minIsr = await api(c.any(), '/v1/topics', { method: 'POST', json: { name: 'x', replicationFactor: 2, config: { 'min.insync.replicas': '3' } } })
    assert.equal(minIsr.body.error.code, 'INVALID_CONFIG')
    await createTopic(c, 'spread', 3)
    const ps = await describeTopic(c.any(), 'spread')
    assert.deepEqual(new Set(ps.map((p) => p.leader)), new Set([1, 2, 3]), 'leaders are spread over the brokers')
    for (const p of ps) {
      assert.deepEqual([...p.replicas].sort(), [1, 2, 3])
      assert.deepEqual([...p.isr].sort(), [1, 2, 3])
      assert.equal(p.leaderEpoch, 0)
    }
    const dup = await api(c.brokers[2]!.url(), '/v1/topics', { method: 'POST', json: { name: 'spread', partitions: 1 } })
    assert.equal(dup.body.error.code, 'TOPIC_ALREADY_EXISTS')
    // Keyed records to every partition through one broker: the others' partitions go one hop.
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`)
    const r = await api(c.brokers[0]!.url(), '/v1/topics/spread/records?acks=all', { method: 'POST', json: { records: keys.map((k) => ({ key: k, value: k })) } })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    assert.equal(new Set(r.body.offsets.map((o: { partition: number }) => o.partition)).size, 3)
    for (const b of c.brokers) {
      let total = 0
      for (let p = 0; p < 3; p++) total += (await readAll(b.url(), 'spread', p)).length
      assert.equal(total, 30, `broker ${b.id} serves every partition`)
    }
    // A WebSocket publish to a broker that does not lead the partition goes one hop too, with
    // its producer fields: the retry is still recognised as a duplicate.
    const follower = c.brokers.find((b) => b.id !== ps[0]!.leader)!
    const producer = (await api(follower.url(), '/v1/producers', { method: 'POST' })).body
    const ws = new WebSocket(`${follower.url().replace('http', 'ws')}/v1/ws`)
    const answers: Array<Record<string, unknown>> = []
    ws.onmessage = (e) => answers.push(JSON.parse(String(e.data)))
    await new Promise((res, rej) => ((ws.onopen = res), (ws.onerror = rej)))
    const pub = (id: string) =>
      ws.send(JSON.stringify({ op: 'pub', id, topic: 'spread', partition: 0, value: 'over-ws', acks: 'all', producer: { id: producer.producerId, epoch: producer.producerEpoch, sequence: 0 } }))
    pub('a')
    await eventually('the publish is acknowledged', async () => answers.length, (n) => n >= 1)
    pub('b')
    await eventually('the retry is answered', async () => answers.length, (n) => n >= 2)
    ws.close()
    assert.equal(answers[0]!.op, 'ack', JSON.stringify(answers))
    assert.deepEqual([answers[1]!.op, answers[1]!.offset, answers[1]!.duplicate], ['ack', answers[0]!.offset, true], JSON.stringify(answers))
    // Broker-to-broker routes want the peer token.
    const fetch = await api(c.any(), '/internal/v1/replica/fetch', { method: 'POST', json: {} })
    assert.equal(fetch.status, 401)
    const wrong = await api(c.any(), '/internal/v1/replica/fetch', { method: 'POST', json: {}, headers: { authorization: 'Bearer nope' } })
    assert.equal(wrong.status, 401)
    const malformed = await api(c.any(), '/internal/v1/replica/fetch', { method: 'POST', json: { replicaId: -1 }, headers: { authorization: 'Bearer a-peer-token-of-16+chars' } })
    assert.equal(malformed.status, 400)
    // Configs change cluster-wide, validated against the replication factor.
    const alter = await api(c.brokers[2]!.url(), '/v1/topics/spread/config', { method: 'PATCH', json: { set: { 'min.insync.replicas': '3' } } })
    assert.equal(alter.status, 200, JSON.stringify(alter.body))
    for (const b of c.brokers) await eventually(`broker ${b.id} has the new config`, () => api(b.url(), '/v1/topics/spread'), (x) => x.body.config['min.insync.replicas'] === '3')
    const tooHigh = await api(c.any(), '/v1/topics/spread/config', { method: 'PATCH', json: { set: { 'min.insync.replicas': '4' } } })
    assert.equal(tooHigh.body.error.code, 'INVALID_CONFIG')
    const del = await api(c.brokers[1]!.url(), '/v1/topics/spread', { method: 'DELETE' })
    assert.equal(del.status, 200)
    for (const b of c.brokers) await eventually(`broker ${b.id} dropped the topic`, () => api(b.url(), '/v1/topics/spread'), (x) => x.status === 404)
  })
})
