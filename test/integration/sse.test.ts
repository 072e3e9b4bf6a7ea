// GET /v1/topics/{topic}/sse: every event id is the stream's position after it on every
// partition, so reconnecting with Last-Event-ID (what an EventSource does) resumes exactly,
// across a server restart too.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { removeDir, startServer, type TestServer } from '../helpers/server.ts'
import { assertContiguous, postJson, produceMany, SseClient } from '../helpers/ws.ts'

let server: TestServer
const sse = (query: string, headers: Record<string, string> = {}) => SseClient.open(`${server.url}/v1/topics/feed/sse${query}`, headers)

/** The position an event id names, as {partition: next}. */
function position(id: string): Record<number, number> {
  return Object.fromEntries(id.split(',').map((pair) => pair.split(':').map(Number) as [number, number]))
}

describe('SSE', () => {
  before(async () => {
    server = await startServer()
    await postJson(`${server.url}/v1/topics`, { name: 'feed', partitions: 3 })
    await produceMany(server.url, 'feed', 60, { key: (i) => `k${i}` })
  })
  after(async () => {
    await server.stop()
    removeDir(server.dataDir)
  })

  test('an ok event with the start position, then one event per record whose id is the position after it', async () => {
    const s = await sse('?from=earliest')
    assert.equal(s.status, 200)
    await s.waitFor(() => s.records().length >= 60)
    const ok = s.events[0]!
    assert.equal(ok.event, 'ok')
    assert.equal(ok.id, '0:0,1:0,2:0')
    assert.deepEqual(JSON.parse(ok.data), { topic: 'feed', offsets: { '0': 0, '1': 0, '2': 0 } })
    const pos: Record<number, number> = { 0: 0, 1: 0, 2: 0 }
    for (const e of s.events.slice(1)) {
      const r = JSON.parse(e.data)
      assert.equal(r.topic, 'feed')
      assert.equal(r.offset, pos[r.partition])
      pos[r.partition] = r.offset + 1
      assert.deepEqual(position(e.id!), pos, 'the id is the position after this record on every partition')
    }
    // Live records follow without a new request.
    await produceMany(server.url, 'feed', 5, { key: (i) => `k${i}`, from: 60 })
    await s.waitFor(() => s.records().length >= 65)
    s.close()
  })

  test('reconnecting with Last-Event-ID resumes exactly: nothing missed, nothing twice', async () => {
    const s1 = await sse('?from=earliest')
    await s1.waitFor(() => s1.records().length >= 30)
    s1.close()
    await new Promise((r) => setTimeout(r, 50))
    const seen = s1.records()
    const lastId = s1.lastId()!
    // Records appended while disconnected.
    await produceMany(server.url, 'feed', 20, { key: (i) => `k${i}`, from: 1000 })
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    const total = Number(/edgelog_produced_records_total\{topic="feed"\} (\d+)/.exec(metrics)![1])
    const s2 = await sse('?from=earliest', { 'Last-Event-ID': lastId })
    await s2.waitFor(() => seen.length + s2.records().length >= total)
    // The ok event of the resumed stream restates the position it resumed from.
    assert.equal(s2.events[0]!.id, lastId)
    const rest = s2.records()
    assertContiguous(rest as any, position(lastId))
    const keys = [...seen, ...rest].map((r) => `${r.partition}:${r.offset}`)
    assert.equal(new Set(keys).size, keys.length, 'nothing twice')
    assert.equal(keys.length, total, 'nothing missed')
    s2.close()
  })

  test('lastEventId as a query parameter and an id as from= are the same resume', async () => {
    const s1 = await sse('?from=earliest&partitions=1')
    await s1.waitFor(() => s1.records().length >= 5)
    s1.close()
    const id = s1.events[5]!.id!
    const viaQuery = await sse(`?lastEventId=${encodeURIComponent(id)}&partitions=1`)
    const viaFrom = await sse(`?from=${encodeURIComponent(id)}&partitions=1`)
    await viaQuery.waitFor(() => viaQuery.events.length >= 1)
    await viaFrom.waitFor(() => viaFrom.events.length >= 1)
    assert.equal(viaQuery.events[0]!.id, id)
    assert.equal(viaFrom.events[0]!.id, id)
    viaQuery.close()
    viaFrom.close()
  })

  test('from=latest (default) and from=timestamp:MS', async () => {
    await postJson(`${server.url}/v1/topics`, { name: 'ts', partitions: 1 })
    // A minute old, inside the 7-day default retention: fixed 2023 timestamps would let the
    // cleaner (every 30 s) delete the batch mid-test.
    const base = Date.now() - 60_000
    await postJson(`${server.url}/v1/topics/ts/records`, { records: Array.from({ length: 10 }, (_, i) => ({ value: i, timestamp: base + i })) })
    const latest = await SseClient.open(`${server.url}/v1/topics/ts/sse`)
    await latest.waitFor(() => latest.events.length >= 1)
    assert.equal(latest.events[0]!.id, '0:10')
    const fromTs = await SseClient.open(`${server.url}/v1/topics/ts/sse?from=timestamp:${base + 7}`)
    await fromTs.waitFor(() => fromTs.records().length >= 3)
    assert.deepEqual(fromTs.records().map((r) => r.value), [7, 8, 9])
    await postJson(`${server.url}/v1/topics/ts/records`, { records: [{ value: 'new' }] })
    await latest.waitFor(() => latest.records().length >= 1)
    assert.deepEqual(latest.records().map((r) => r.value), ['new'])
    latest.close()
    fromTs.close()
  })

  test('bad from, partitions or Last-Event-ID: 400 before the stream; unknown topic: 404', async () => {
    for (const q of ['?from=yesterday', '?from=0:-1', '?from=0:1,0:2', '?partitions=a', '?partitions=9', '?from=timestamp:x', '?from=0:1&partitions=1']) {
      const s = await sse(q)
      assert.ok(s.status === 400 || s.status === 404, `${q}: ${s.status}`)
      assert.ok(JSON.parse(s.body).error.code, q)
    }
    const badId = await sse('', { 'Last-Event-ID': 'garbage' })
    assert.equal(badId.status, 400)
    const beyond = await sse('', { 'Last-Event-ID': '0:99999' })
    assert.equal(beyond.status, 416)
    assert.equal(JSON.parse(beyond.body).error.code, 'OFFSET_OUT_OF_RANGE')
    const unknown = await SseClient.open(`${server.url}/v1/topics/nope/sse`)
    assert.equal(unknown.status, 404)
    // Refusals released their connection slots.
    const text = await (await fetch(`${server.url}/metrics`)).text()
    assert.match(text, /edgelog_sse_connections 0\n/)
  })
})

describe('SSE across a server restart', () => {
  test('the stream ends on SIGTERM; Last-Event-ID against the restarted node resumes exactly', async () => {
    let node = await startServer()
    await postJson(`${node.url}/v1/topics`, { name: 'restart', partitions: 2 })
    await produceMany(node.url, 'restart', 40, { key: (i) => `r${i}` })
    const s1 = await SseClient.open(`${node.url}/v1/topics/restart/sse?from=earliest`)
    await s1.waitFor(() => s1.records().length >= 40)
    const dataDir = node.dataDir
    await node.stop('SIGTERM')
    await s1.waitFor(() => s1.ended)
    node = await startServer({ dataDir })
    await produceMany(node.url, 'restart', 25, { key: (i) => `r${i}`, from: 40 })
    const s2 = await SseClient.open(`${node.url}/v1/topics/restart/sse`, { 'Last-Event-ID': s1.lastId()! })
    await s2.waitFor(() => s2.records().length >= 25)
    await new Promise((r) => setTimeout(r, 200))
    const all = [...s1.records(), ...s2.records()].map((r) => r.value.i).sort((a, b) => a - b)
    assert.deepEqual(all, Array.from({ length: 65 }, (_, i) => i))
    s2.close()
    await node.stop()
    removeDir(dataDir)
  })
})
