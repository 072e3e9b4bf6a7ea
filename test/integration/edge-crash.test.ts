// An edge killed while it drains its outbox loses nothing and duplicates nothing: the batch in
// flight was persisted before it was sent, so the restarted edge sends the same records with
// the same sequence numbers and the region recognises what it already has. A sequence the
// region does not expect is raised and counted, and nothing is skipped.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { removeDir, type TestServer } from '../helpers/server.ts'
import { metric, metricSum, startEdge, startRegion, waitUntil, type Region } from '../helpers/edge.ts'
import { postJson } from '../helpers/ws.ts'

async function highWatermark(url: string, topic: string): Promise<number> {
  const d = await (await fetch(`${url}/v1/topics/${topic}`)).json()
  return d.partitions.reduce((n: number, p: any) => n + p.highWatermark, 0)
}

async function readAll(url: string, topic: string, partitions: number) {
  const out: Array<{ key: string; value: any }> = []
  for (let p = 0; p < partitions; p++) {
    let offset = 0
    for (;;) {
      const r = await (await fetch(`${url}/v1/topics/${topic}/partitions/${p}/records?offset=${offset}&maxRecords=10000`)).json()
      out.push(...r.records)
      if (r.records.length === 0 || r.nextOffset >= r.highWatermark) break
      offset = r.nextOffset
    }
  }
  return out
}

async function produceKeyed(edgeUrl: string, topic: string, n: number, keys: number) {
  for (let start = 0; start < n; start += 1000) {
    const records = []
    for (let i = start; i < Math.min(n, start + 1000); i++) records.push({ key: `k${i % keys}`, value: { k: `k${i % keys}`, n: Math.floor(i / keys) } })
    const r = await postJson(`${edgeUrl}/v1/topics/${topic}/records?acks=1`, { records })
    assert.equal(r.status, 200, JSON.stringify(r.body))
  }
}

function assertExactlyOnceInKeyOrder(records: Array<{ key: string; value: any }>, total: number) {
  const seen = new Set<string>()
  const last = new Map<string, number>()
  for (const r of records) {
    const id = `${r.value.k}/${r.value.n}`
    assert.ok(!seen.has(id), `record ${id} arrived twice`)
    seen.add(id)
    const prev = last.get(r.key) ?? -1
    assert.ok(r.value.n > prev, `key ${r.key}: ${r.value.n} after ${prev}`)
    last.set(r.key, r.value.n)
  }
  assert.equal(seen.size, total)
}

describe('edge crash while draining', () => {
  let region: Region
  const edges: TestServer[] = []
  before(async () => {
    region = await startRegion()
  })
  after(async () => {
    region.proxy.swallowAnswers = false
    for (const e of edges) {
      await e.stop('SIGKILL')
      removeDir(e.dataDir)
    }
    await region?.close()
    removeDir(region.dataDir)
  })

  test('SIGKILL in the middle of draining 20,000 records, restart: none lost, none duplicated, per-key order kept', async () => {
    // Small shipped batches make the drain take long enough to be cut in the middle.
    let edge = await startEdge(region.upstream, ['--ship-batch-bytes', '2048'])
    edges.push(edge)
    await postJson(`${region.broker.url}/v1/topics`, { name: 'drain', partitions: 2 })
    await waitUntil('the edge knows the topic', async () => (await fetch(`${edge.url}/v1/topics/drain`)).status === 200)
    await region.stop()
    await produceKeyed(edge.url, 'drain', 20_000, 50)
    await region.restart()
    await waitUntil('part of the outbox reached the region', async () => (await highWatermark(region.broker.url, 'drain')) >= 1000, 30_000, 10)
    await edge.stop('SIGKILL')
    const atKill = await highWatermark(region.broker.url, 'drain')
    assert.ok(atKill < 20_000, `the edge was killed mid-drain (${atKill} of 20000 shipped)`)

    edge = await startEdge(region.upstream, ['--ship-batch-bytes', '2048'], edge.dataDir)
    edges.push(edge)
    await waitUntil('the restarted edge drains', async () => (await metricSum(edge.url, 'edgelog_edge_outbox_records')) === 0, 60_000, 100)
    assertExactlyOnceInKeyOrder(await readAll(region.broker.url, 'drain', 2), 20_000)
  })

  test('killed after the region appended a batch but before the answer arrived: the retry is recognised, not appended again', async () => {
    let edge = await startEdge(region.upstream)
    edges.push(edge)
    await postJson(`${region.broker.url}/v1/topics`, { name: 'lost-answer', partitions: 1 })
    await waitUntil('the edge knows the topic', async () => (await fetch(`${edge.url}/v1/topics/lost-answer`)).status === 200)
    // One record through first, so the edge holds its producer id before answers start to vanish.
    assert.equal((await postJson(`${edge.url}/v1/topics/lost-answer/records?acks=all`, { records: [{ key: 'first', value: { k: 'first', n: 0 } }] })).status, 200)
    region.proxy.swallowAnswers = true
    await produceKeyed(edge.url, 'lost-answer', 100, 5)
    await waitUntil('the region appended the batch', async () => (await highWatermark(region.broker.url, 'lost-answer')) === 101, 30_000, 20)
    await edge.stop('SIGKILL')
    region.proxy.swallowAnswers = false

    edge = await startEdge(region.upstream, [], edge.dataDir)
    edges.push(edge)
    await waitUntil('the restarted edge confirms the batch', async () => (await metricSum(edge.url, 'edgelog_edge_outbox_records')) === 0, 30_000, 50)
    assert.equal(await highWatermark(region.broker.url, 'lost-answer'), 101, 'the retry was not appended again')
    assert.equal(await metric(edge.url, 'edgelog_edge_shipped_duplicates_total{topic="lost-answer"}'), 1)
    // The sequence goes on from there.
    await produceKeyed(edge.url, 'lost-answer', 10, 5)
    await waitUntil('ten more arrive', async () => (await highWatermark(region.broker.url, 'lost-answer')) === 111)
  })

  test('a sequence the region does not expect halts that partition, counted and reported; its records stay in the outbox', async () => {
    const edge = await startEdge(region.upstream)
    edges.push(edge)
    await postJson(`${region.broker.url}/v1/topics`, { name: 'reborn', partitions: 1 })
    await waitUntil('the edge knows the topic', async () => (await fetch(`${edge.url}/v1/topics/reborn`)).status === 200)
    assert.equal((await postJson(`${edge.url}/v1/topics/reborn/records?acks=all`, { records: [{ value: 1 }, { value: 2 }] })).status, 200)
    // The topic is re-created upstream: its new partition has no state for this edge's producer.
    assert.equal((await fetch(`${region.broker.url}/v1/topics/reborn`, { method: 'DELETE' })).status, 200)
    await postJson(`${region.broker.url}/v1/topics`, { name: 'reborn', partitions: 1 })
    assert.equal((await postJson(`${edge.url}/v1/topics/reborn/records?acks=1`, { records: [{ value: 3 }, { value: 4 }, { value: 5 }] })).status, 200)
    const series = 'edgelog_edge_sequence_errors_total{topic="reborn",partition="0",code="OUT_OF_ORDER_SEQUENCE_NUMBER"}'
    await waitUntil('the lost sequence is counted', async () => ((await metric(edge.url, series)) ?? 0) >= 1)
    assert.equal(await metric(edge.url, 'edgelog_edge_shipping_halted{topic="reborn",partition="0",code="OUT_OF_ORDER_SEQUENCE_NUMBER"}'), 1)
    assert.equal(await metric(edge.url, 'edgelog_edge_outbox_records{topic="reborn",partition="0"}'), 3, 'nothing was skipped')
    assert.ok((await metric(edge.url, 'edgelog_edge_shipping_lag_seconds{topic="reborn",partition="0"}'))! > 0, 'a halted partition never reports zero lag')
    assert.equal(await highWatermark(region.broker.url, 'reborn'), 0)
    assert.match(edge.output(), /shipping reborn-0 halted at outbox offset 2: OUT_OF_ORDER_SEQUENCE_NUMBER/)
  })
})
