// An edge in front of a three-broker cluster (and etcd), on loopback: the leader of a partition
// is SIGKILLed while the edge drains its outbox into the region. Every record still arrives
// exactly once, in per-key order, and a subscriber at the edge sees the region's log exactly.
import { describe, test, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { EdgelogClient } from '../../src/client/index.ts'
import { metricSum, startEdge, waitUntil } from '../helpers/edge.ts'
import { removeDir, type TestServer } from '../helpers/server.ts'
import { api, describe as describeTopic, eventually, startCluster, type TestCluster } from './helpers.ts'

let cluster: TestCluster | undefined
let edge: TestServer | undefined
afterEach(async () => {
  await edge?.stop('SIGKILL')
  if (edge) removeDir(edge.dataDir)
  edge = undefined
  await cluster?.stop()
  cluster = undefined
})

async function readAll(url: string, topic: string, partition: number): Promise<Array<{ offset: number; key: string; value: any }>> {
  const out: Array<{ offset: number; key: string; value: any }> = []
  let offset = 0
  for (;;) {
    const r = await api(url, `/v1/topics/${topic}/partitions/${partition}/records?offset=${offset}&maxRecords=5000`)
    assert.equal(r.status, 200, JSON.stringify(r.body))
    out.push(...r.body.records)
    if (r.body.records.length === 0 || r.body.nextOffset >= r.body.highWatermark) return out
    offset = r.body.nextOffset
  }
}

describe('an edge in front of a cluster', () => {
  test('the partition leader is SIGKILLed while the edge drains: exactly once, in order, and the edge subscriber sees the region\'s log', async () => {
    cluster = await startCluster()
    const c = cluster
    const r = await api(c.any(), '/v1/topics', { method: 'POST', json: { name: 'edge-drain', partitions: 2, replicationFactor: 3, config: { 'min.insync.replicas': '2' } } })
    assert.equal(r.status, 201, JSON.stringify(r.body))
    for (const b of c.brokers) await eventually(`broker ${b.id} has the topic`, () => describeTopic(b.url(), 'edge-drain'), (ps) => ps.every((p) => p.isr.length === 3))
    // Small shipped batches: the drain takes long enough to lose its leader in the middle.
    edge = await startEdge(c.brokers.map((b) => b.url()), ['--ship-batch-bytes', '4096'])
    const e = edge
    await waitUntil('the edge knows the topic', async () => (await fetch(`${e.url}/v1/topics/edge-drain`)).status === 200)

    const client = new EdgelogClient({ url: e.url, reconnect: { baseMs: 20, maxMs: 200 } })
    const seen: Array<{ partition: number; offset: number; key: unknown; value: unknown }> = []
    const sub = client.subscribe('edge-drain', { from: 'earliest' }, (rec) => void seen.push({ partition: rec.partition, offset: rec.offset, key: rec.key, value: rec.value }))
    try {
      await waitUntil('the edge subscription is live', () => sub.status === 'live')
      const total = 6000
      const keys = 30
      for (let start = 0; start < total; start += 1000) {
        const records = Array.from({ length: 1000 }, (_, j) => ({ key: `k${(start + j) % keys}`, value: { k: `k${(start + j) % keys}`, n: Math.floor((start + j) / keys) } }))
        const p = await api(e.url, '/v1/topics/edge-drain/records?acks=1', { method: 'POST', json: { records } })
        assert.equal(p.status, 200, JSON.stringify(p.body))
      }
      const before = (await describeTopic(c.any(), 'edge-drain'))[0]!
      await eventually('part of the outbox reached the region', async () => (await describeTopic(c.any(), 'edge-drain'))[0]!.highWatermark, (hw) => hw >= 200, 60_000)
      const leader = c.brokers[before.leader - 1]!
      await leader.server!.stop('SIGKILL')
      leader.server = undefined
      const left = await metricSum(e.url, 'edgelog_edge_outbox_records')
      assert.ok(left > 0, `the leader died while the edge was draining (${left} records waiting)`)
      await eventually('a new leader', () => describeTopic(c.any(), 'edge-drain'), (ps) => ps[0]!.leader >= 0 && ps[0]!.leader !== before.leader)
      await waitUntil('the edge drains', async () => (await metricSum(e.url, 'edgelog_edge_outbox_records')) === 0, 90_000, 200)
      assert.equal(await metricSum(e.url, 'edgelog_edge_sequence_errors_total'), 0)

      const log = [...(await readAll(c.any(), 'edge-drain', 0)), ...(await readAll(c.any(), 'edge-drain', 1))]
      const ids = new Set<string>()
      const last = new Map<string, number>()
      for (const rec of log) {
        const id = `${rec.value.k}/${rec.value.n}`
        assert.ok(!ids.has(id), `${id} arrived twice`)
        ids.add(id)
        assert.ok(rec.value.n > (last.get(rec.key) ?? -1), `key ${rec.key} in order`)
        last.set(rec.key, rec.value.n)
      }
      assert.equal(ids.size, total)

      await waitUntil('the edge subscriber has every record', () => seen.length >= total, 60_000)
      for (const p of [0, 1]) {
        const mine = seen.filter((s) => s.partition === p).map((s) => ({ offset: s.offset, value: s.value }))
        const region = (await readAll(c.any(), 'edge-drain', p)).map((x) => ({ offset: x.offset, value: x.value }))
        assert.deepEqual(mine, region, `partition ${p}: the edge subscriber saw the region's log exactly`)
      }
    } finally {
      sub.close()
      client.close()
    }
  })
})
