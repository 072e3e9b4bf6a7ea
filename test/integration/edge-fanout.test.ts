// Relay fan-out: subscribers at two edges share one upstream subscription per edge and see the
// very records, offsets and order a subscriber at the broker sees. A record produced at an edge
// reaches local subscribers only once the region committed it. Resumes within the relay cache
// are served locally, older ones from the region.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { removeDir, type TestServer } from '../helpers/server.ts'
import { metric, metricSum, startEdge, startRegion, waitUntil, type Region } from '../helpers/edge.ts'
import { postJson, SseClient, WsClient } from '../helpers/ws.ts'
import { startTcpProxy } from '../helpers/tcp-proxy.ts'
import { EdgelogClient } from '../../src/client/index.ts'

const SUBSCRIBERS_PER_EDGE = 500
const SOCKETS_PER_CLIENT = 1

async function readAll(url: string, topic: string, partitions: number) {
  const byPartition: Array<Array<{ offset: number; key: string; value: any }>> = []
  for (let p = 0; p < partitions; p++) {
    const r = await (await fetch(`${url}/v1/topics/${topic}/partitions/${p}/records?offset=0&maxRecords=10000`)).json()
    byPartition.push(r.records.map((x: any) => ({ offset: x.offset, key: x.key, value: x.value })))
  }
  return byPartition
}

/** A subscriber's records, per partition, as (offset, key, value). */
function perPartition(client: WsClient, sub: string, partitions: number) {
  const out: Array<Array<{ offset: number; key: string; value: any }>> = Array.from({ length: partitions }, () => [])
  for (const r of client.records(sub)) out[r.partition]!.push({ offset: r.offset, key: r.key, value: r.value })
  return out
}

describe('edge relay fan-out', () => {
  let region: Region
  let edgeA: TestServer
  let edgeB: TestServer
  before(async () => {
    region = await startRegion()
    edgeA = await startEdge(region.upstream, ['--relay-cache-bytes', '16384'])
    edgeB = await startEdge(region.upstream, ['--relay-cache-bytes', '16384'])
    assert.equal((await postJson(`${region.broker.url}/v1/topics`, { name: 'scores', partitions: 3 })).status, 201)
    for (const e of [edgeA, edgeB]) await waitUntil('the edge knows the topic', async () => (await fetch(`${e.url}/v1/topics/scores`)).status === 200)
  })
  after(async () => {
    for (const e of [edgeA, edgeB]) {
      await e?.stop('SIGKILL')
      removeDir(e.dataDir)
    }
    await region?.close()
    removeDir(region.dataDir)
  })

  test(`two edges with ${SUBSCRIBERS_PER_EDGE} WebSocket subscribers each: every subscriber sees the broker's sequence; the broker holds one subscription per edge`, async () => {
    const clients: WsClient[] = []
    try {
      for (const edge of [edgeA, edgeB]) {
        for (let i = 0; i < SUBSCRIBERS_PER_EDGE / SOCKETS_PER_CLIENT; i++) clients.push(await WsClient.open(edge.url))
      }
      await Promise.all(clients.map(async (c) => assert.equal((await c.call({ op: 'sub', id: 's', topic: 'scores', from: 'latest' })).op, 'ok')))
      const at = await (await fetch(`${region.broker.url}/v1/topics/scores`)).json()
      const starts = at.partitions.map((p: any) => p.highWatermark)

      // Records produced at the broker and at both edges, concurrently.
      const produced = 300
      await Promise.all(
        [region.broker.url, edgeA.url, edgeB.url].map(async (url, n) => {
          for (let i = 0; i < produced / 3; i += 10) {
            const records = Array.from({ length: 10 }, (_, j) => ({ key: `key-${(i + j) % 17}`, value: { from: n, i: i + j } }))
            assert.equal((await postJson(`${url}/v1/topics/scores/records?acks=1`, { records })).status, 200)
          }
        }),
      )
      await waitUntil('every subscriber has every record', () => clients.every((c) => c.records('s').length >= produced), 60_000, 200)
      const log = await readAll(region.broker.url, 'scores', 3)
      const expected = log.map((records, p) => records.filter((r) => r.offset >= starts[p]))
      assert.equal(expected.reduce((n, r) => n + r.length, 0), produced)
      for (const c of clients) assert.deepEqual(perPartition(c, 's', 3), expected)

      assert.equal(await metric(region.broker.url, 'edgelog_subscriptions{topic="scores"}'), 2, 'one upstream subscription per edge')
      for (const edge of [edgeA, edgeB]) {
        assert.equal(await metric(edge.url, 'edgelog_subscriptions{topic="scores"}'), SUBSCRIBERS_PER_EDGE)
        assert.equal(await metric(edge.url, 'edgelog_edge_relay_subscriptions{topic="scores"}'), 1)
      }
    } finally {
      for (const c of clients) c.close()
    }
  })

  test('a record produced at an edge reaches its local subscribers only once the region committed it, with its regional offset', async () => {
    const local = await WsClient.open(edgeA.url)
    try {
      assert.equal((await local.call({ op: 'sub', id: 'l', topic: 'scores', partitions: [0], from: 'latest' })).op, 'ok')
      await region.stop()
      const r = await postJson(`${edgeA.url}/v1/topics/scores/records?acks=1`, { records: [{ value: 'held', partition: 0 }] })
      assert.equal(r.body.offsets[0].offset, null)
      await new Promise((resolve) => setTimeout(resolve, 500))
      assert.equal(local.records('l').length, 0, 'not delivered while only the edge holds it')
      await region.restart()
      const [got] = await local.waitRecords('l', 1, 30_000)
      const atBroker = await (await fetch(`${region.broker.url}/v1/topics/scores/partitions/0/records?offset=${got!.offset}&maxRecords=1`)).json()
      assert.equal(got!.value, 'held')
      assert.equal(atBroker.records[0].value, 'held')
    } finally {
      local.close()
    }
  })

  test('resumes: recent offsets from the relay cache, older ones from the region, SSE included', async () => {
    // Enough records that the 16 KiB cache no longer holds the start of partition 1.
    for (let i = 0; i < 400; i += 50) {
      const records = Array.from({ length: 50 }, (_, j) => ({ partition: 1, value: { n: i + j, pad: 'x'.repeat(100) } }))
      assert.equal((await postJson(`${region.broker.url}/v1/topics/scores/records?acks=1`, { records })).status, 200)
    }
    await waitUntil('edge B relayed them', async () => ((await metric(edgeB.url, 'edgelog_edge_relay_lag_records{topic="scores",partition="1"}')) ?? 1) === 0 && (await metric(edgeB.url, 'edgelog_relay_cache_partition_high_watermark{topic="scores",partition="1"}')) === (await (await fetch(`${region.broker.url}/v1/topics/scores`)).json()).partitions[1].highWatermark)
    const cacheStart = (await metric(edgeB.url, 'edgelog_relay_cache_partition_log_start_offset{topic="scores",partition="1"}'))!
    assert.ok(cacheStart > 0, 'the cache was trimmed to its limit')
    const [log] = (await readAll(region.broker.url, 'scores', 3)).slice(1, 2)
    const end = log!.length

    const backfillBefore = await metricSum(edgeB.url, 'edgelog_edge_relay_backfill_requests_total')
    const recent = await WsClient.open(edgeB.url)
    assert.equal((await recent.call({ op: 'sub', id: 'r', topic: 'scores', partitions: [1], from: { offsets: { 1: end - 5 } } })).op, 'ok')
    assert.deepEqual((await recent.waitRecords('r', 5)).map((r) => r.offset), [end - 5, end - 4, end - 3, end - 2, end - 1])
    assert.equal(await metricSum(edgeB.url, 'edgelog_edge_relay_backfill_requests_total'), backfillBefore, 'served from the cache')

    const old = await WsClient.open(edgeB.url)
    assert.equal((await old.call({ op: 'sub', id: 'o', topic: 'scores', partitions: [1], from: 'earliest' })).op, 'ok')
    const all = await old.waitRecords('o', end)
    assert.deepEqual(all.map((r) => ({ offset: r.offset, key: r.key, value: r.value })), log)
    assert.ok((await metricSum(edgeB.url, 'edgelog_edge_relay_backfill_requests_total')) > backfillBefore, 'older records came from the region')

    const sse = await SseClient.open(`${edgeB.url}/v1/topics/scores/sse?partitions=1&from=1:${end - 3}`)
    await sse.waitFor(() => sse.records().length >= 3)
    assert.deepEqual(sse.records().map((r) => r.offset), [end - 3, end - 2, end - 1])
    assert.equal(sse.lastId(), `1:${end}`)
    for (const c of [recent, old]) c.close()
    sse.close()
  })

  test('bad subscriptions get the answers a broker gives', async () => {
    const ws = await WsClient.open(edgeA.url)
    try {
      const unknown = await ws.call({ op: 'sub', id: 'u', topic: 'no-such-topic' })
      assert.equal(unknown.code, 'UNKNOWN_TOPIC_OR_PARTITION')
      const noPartition = await ws.call({ op: 'sub', id: 'p', topic: 'scores', partitions: [7] })
      assert.equal(noPartition.code, 'UNKNOWN_TOPIC_OR_PARTITION')
      const beyond = await ws.call({ op: 'sub', id: 'b', topic: 'scores', partitions: [0], from: { offsets: { 0: 1_000_000 } } })
      assert.equal(beyond.code, 'OFFSET_OUT_OF_RANGE')
      const broker = await WsClient.open(region.broker.url)
      const atBroker = await broker.call({ op: 'sub', id: 'b', topic: 'scores', partitions: [0], from: { offsets: { 0: 1_000_000 } } })
      assert.equal(atBroker.code, beyond.code)
      broker.close()
    } finally {
      ws.close()
    }
  })
})

describe('edge relay failover', () => {
  test('the upstream in use goes away: the relay and the shipper move to the next upstream, and subscribers miss nothing', async () => {
    const region = await startRegion()
    // Two ways to the region; the first is closed in the middle.
    const second = await startTcpProxy(region.broker.port)
    const edge = await startEdge([region.upstream, second.url])
    const client = new EdgelogClient({ url: edge.url, reconnect: { baseMs: 20, maxMs: 200 } })
    try {
      await postJson(`${region.broker.url}/v1/topics`, { name: 'moves', partitions: 2 })
      await waitUntil('the edge knows the topic', async () => (await fetch(`${edge.url}/v1/topics/moves`)).status === 200)
      const seen: Array<{ partition: number; offset: number }> = []
      const sub = client.subscribe('moves', { from: 'earliest' }, (r) => void seen.push({ partition: r.partition, offset: r.offset }))
      await waitUntil('live', () => sub.status === 'live')
      let n = 0
      const produce = async (url: string, count: number) => {
        for (let i = 0; i < count; i += 10) {
          const records = Array.from({ length: 10 }, () => ({ key: `k${n++ % 7}`, value: n }))
          assert.equal((await postJson(`${url}/v1/topics/moves/records?acks=1`, { records })).status, 200)
        }
      }
      await produce(region.broker.url, 100)
      await waitUntil('the first records arrive', () => seen.length === 100)
      await region.proxy.close()
      await produce(region.broker.url, 100)
      await produce(edge.url, 100) // shipped through the second upstream
      await waitUntil('every record arrives through the second upstream', () => seen.length >= 300, 30_000)
      await new Promise((r) => setTimeout(r, 300))
      assert.equal(seen.length, 300)
      for (let p = 0; p < 2; p++) {
        const offsets = seen.filter((r) => r.partition === p).map((r) => r.offset)
        assert.deepEqual(offsets, Array.from({ length: offsets.length }, (_, i) => i))
      }
      assert.equal(await metric(edge.url, `edgelog_edge_upstream_current{upstream="${second.url}"}`), 1)
      sub.close()
    } finally {
      client.close()
      await edge.stop('SIGKILL')
      removeDir(edge.dataDir)
      await second.close()
      await region.close()
      removeDir(region.dataDir)
    }
  })
})
