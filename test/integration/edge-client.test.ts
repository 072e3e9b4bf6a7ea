// The client library through an edge: its idempotent producer (ids issued by the edge, retries
// deduplicated in the outbox), and a subscription that survives the edge being SIGKILLed and
// restarted, resuming exactly from its last record (every record once, in order).
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { EdgelogClient } from '../../src/client/index.ts'
import { removeDir, type TestServer } from '../helpers/server.ts'
import { metricSum, startEdge, startRegion, waitUntil, type Region } from '../helpers/edge.ts'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts'
import { postJson } from '../helpers/ws.ts'

describe('the client library through an edge', () => {
  let region: Region
  let edge: TestServer
  let front: TcpProxy
  before(async () => {
    region = await startRegion()
    edge = await startEdge(region.upstream)
    front = await startTcpProxy(edge.port)
    await postJson(`${region.broker.url}/v1/topics`, { name: 'cl', partitions: 2 })
    await waitUntil('the edge knows the topic', async () => (await fetch(`${edge.url}/v1/topics/cl`)).status === 200)
  })
  after(async () => {
    await front?.close()
    await edge?.stop('SIGKILL')
    await region?.close()
    removeDir(edge.dataDir)
    removeDir(region.dataDir)
  })

  test('an idempotent producer at acks=all gets regional offsets; at acks=1 offsets are null until shipped', async () => {
    const client = new EdgelogClient({ url: edge.url })
    try {
      const all = client.producer({ acks: 'all', lingerMs: 1 })
      const sent = await Promise.all(Array.from({ length: 100 }, (_, i) => all.send('cl', { key: `k${i % 5}`, value: { i } })))
      for (const s of sent) assert.equal(typeof s.offset, 'number')
      const one = client.producer({ acks: '1', lingerMs: 1 })
      const held = await one.send('cl', { key: 'k1', value: { i: 100 } })
      assert.equal(held.offset, null)
      await all.close()
      await one.close()
      await waitUntil('the outbox drains', async () => (await metricSum(edge.url, 'edgelog_edge_outbox_records')) === 0)
      let total = 0
      for (let p = 0; p < 2; p++) {
        const r = await (await fetch(`${region.broker.url}/v1/topics/cl/partitions/${p}/records?offset=0&maxRecords=1000`)).json()
        total += r.records.length
        for (const s of sent.filter((x) => x.partition === p)) assert.equal(r.records.find((x: any) => x.offset === s.offset)?.offset, s.offset)
      }
      assert.equal(total, 101)
    } finally {
      client.close()
    }
  })

  test('a retried idempotent batch is answered as a duplicate and shipped once', async () => {
    const id = (await postJson(`${edge.url}/v1/producers`, {})).body
    const body = { records: [{ value: 'once' }], producer: { id: id.producerId, epoch: id.producerEpoch, sequence: 0 } }
    const first = await postJson(`${edge.url}/v1/topics/cl/partitions/1/records?acks=all`, body)
    const retry = await postJson(`${edge.url}/v1/topics/cl/partitions/1/records?acks=all`, body)
    assert.equal(first.status, 200)
    assert.equal(retry.body.duplicate, true)
    assert.deepEqual(retry.body.offsets, first.body.offsets)
    const gap = await postJson(`${edge.url}/v1/topics/cl/partitions/1/records`, { ...body, producer: { ...body.producer, sequence: 5 } })
    assert.equal(gap.body.error.code, 'OUT_OF_ORDER_SEQUENCE_NUMBER')
  })

  test('a subscription through an edge that is SIGKILLed and restarted resumes exactly', async () => {
    const client = new EdgelogClient({ url: front.url, reconnect: { baseMs: 20, maxMs: 200 } })
    const seen: Array<{ partition: number; offset: number; value: any }> = []
    const sub = client.subscribe('cl', { from: 'latest' }, (r) => void seen.push({ partition: r.partition, offset: r.offset, value: r.value }))
    try {
      await waitUntil('the subscription is live', () => sub.status === 'live')
      const starts = sub.positions()
      let produced = 0
      const produce = async (n: number) => {
        for (let i = 0; i < n; i += 20) {
          const records = Array.from({ length: 20 }, (_, j) => ({ key: `s${(produced + j) % 3}`, value: { n: produced + j } }))
          assert.equal((await postJson(`${region.broker.url}/v1/topics/cl/records?acks=1`, { records })).status, 200)
          produced += 20
        }
      }
      await produce(200)
      await waitUntil('some records arrived', () => seen.length >= 100)
      await edge.stop('SIGKILL')
      front.cutAll()
      await produce(200) // while the edge is down
      edge = await startEdge(region.upstream, [], edge.dataDir)
      front.targetPort = edge.port
      await produce(200)
      await waitUntil('every record arrived', () => seen.length >= produced, 30_000)
      await new Promise((r) => setTimeout(r, 300))
      assert.equal(seen.length, produced, 'none twice')
      for (let p = 0; p < 2; p++) {
        const offsets = seen.filter((r) => r.partition === p).map((r) => r.offset)
        assert.deepEqual(offsets, Array.from({ length: offsets.length }, (_, i) => starts[p]! + i), `partition ${p} in order, no gap`)
      }
      assert.deepEqual(new Set(seen.map((r) => r.value.n)).size, produced)
    } finally {
      sub.close()
      client.close()
    }
  })
})
