// The fan-out over what the log cleaner and compression make of a log, against a real server:
// gzip batches (decoded asynchronously), compacted topics (offsets with holes), and retention
// that moves the log start while subscribers are away.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { removeDir, startServer, type TestServer } from '../helpers/server.ts'
import { postJson, SseClient, WsClient } from '../helpers/ws.ts'
import { waitUntil } from '../helpers/wait.ts'

let server: TestServer

/** Every record of partition 0 over HTTP: the oracle the fan-out must agree with. */
async function fetchAll(topic: string): Promise<Array<{ offset: number; key: string; value: unknown }>> {
  const out = []
  let offset: number | string = 'earliest'
  for (;;) {
    const res = await fetch(`${server.url}/v1/topics/${topic}/partitions/0/records?offset=${offset}&maxRecords=1000`)
    const body = (await res.json()) as any
    out.push(...body.records)
    if (body.nextOffset >= body.highWatermark) return out
    offset = body.nextOffset
  }
}

describe('fan-out over compressed, compacted and expiring logs', () => {
  before(async () => {
    server = await startServer({ args: ['--cleaner-interval-ms', '200'] })
  })
  after(async () => {
    await server.stop()
    removeDir(server.dataDir)
  })

  test('gzip topic: catch-up, live, timestamp start and SSE deliver every record in order', async () => {
    await postJson(`${server.url}/v1/topics`, { name: 'zipped', partitions: 1, config: { 'compression.type': 'gzip' } })
    // Timestamps a minute old: well inside the default retention (7 days). Fixed old ones (2023)
    // were expired by the cleaner (every 200 ms here) while the subscription was catching up,
    // so `earliest` started past them, under load.
    const base = Date.now() - 60_000
    for (let i = 0; i < 50; i += 10) {
      await postJson(`${server.url}/v1/topics/zipped/records`, { records: Array.from({ length: 10 }, (_, j) => ({ key: `k${i + j}`, value: { i: i + j }, timestamp: base + i + j })) })
    }
    const c = await WsClient.open(server.url)
    await c.call({ op: 'sub', id: 'z', topic: 'zipped', from: 'earliest' })
    await c.call({ op: 'sub', id: 'ts', topic: 'zipped', from: { timestamp: base + 45 } })
    await postJson(`${server.url}/v1/topics/zipped/records`, { records: Array.from({ length: 10 }, (_, j) => ({ key: `k${50 + j}`, value: { i: 50 + j } })) })
    const got = await c.waitRecords('z', 60)
    assert.deepEqual(got.map((r) => r.offset), Array.from({ length: 60 }, (_, i) => i))
    assert.deepEqual(got.map((r) => r.value.i), Array.from({ length: 60 }, (_, i) => i))
    const fromTs = await c.waitRecords('ts', 15)
    assert.deepEqual(fromTs.map((r) => r.offset), Array.from({ length: 15 }, (_, i) => 45 + i))
    const sse = await SseClient.open(`${server.url}/v1/topics/zipped/sse?from=earliest`)
    await sse.waitFor(() => sse.records().length >= 60)
    assert.deepEqual(sse.records().map((r) => r.offset), Array.from({ length: 60 }, (_, i) => i))
    sse.close()
    c.close()
  })

  test('compacted topic: catch-up returns exactly what a fetch returns (offsets with holes), then live', async () => {
    await postJson(`${server.url}/v1/topics`, { name: 'latest-per-key', partitions: 1, config: { 'cleanup.policy': 'compact' } })
    for (let round = 0; round < 10; round++) {
      await postJson(`${server.url}/v1/topics/latest-per-key/records`, { records: Array.from({ length: 10 }, (_, k) => ({ key: `key-${k}`, value: { round, k } })) })
    }
    // Until the cleaner is done: one record per key, round 9's (offsets 90-99; 0-89 are holes).
    // It then has nothing to remove until the next write, so the fetch and the subscription read
    // the same log. Comparing against a half-compacted log raced the cleaner (every 200 ms here),
    // which could remove more before the subscription caught up, under load.
    await waitUntil('compaction to keep only the latest record of each key', async () => (await fetchAll('latest-per-key')).length === 10)
    const expected = await fetchAll('latest-per-key')
    const c = await WsClient.open(server.url)
    const ok = await c.call({ op: 'sub', id: 'c', topic: 'latest-per-key', from: 'earliest' })
    assert.equal(ok.op, 'ok')
    const got = await c.waitRecords('c', expected.length)
    assert.deepEqual(
      got.map((r) => [r.offset, r.key, r.value]),
      expected.map((r) => [r.offset, r.key, r.value]),
    )
    const last = new Map(got.map((r) => [r.key, r.value.round]))
    for (let k = 0; k < 10; k++) assert.equal(last.get(`key-${k}`), 9, 'the latest value of every key is there')
    await postJson(`${server.url}/v1/topics/latest-per-key/records`, { records: [{ key: 'key-0', value: { round: 10, k: 0 } }] })
    const live = await c.next((f) => f.sub === 'c' && f.op === 'msg' && f.offset === 100)
    assert.deepEqual(live.value, { round: 10, k: 0 })
    c.close()
    // SSE ids over a compacted log: the position after each record is its own offset + 1, and
    // resuming from any id yields exactly the records after it.
    const sse = await SseClient.open(`${server.url}/v1/topics/latest-per-key/sse?from=earliest`)
    await sse.waitFor(() => sse.records().some((r) => r.offset === 100))
    const events = sse.events.filter((e) => e.event === 'message')
    for (const e of events) assert.equal(e.id, `0:${JSON.parse(e.data).offset + 1}`)
    sse.close()
    const middle = events[Math.floor(events.length / 2)]!
    const resumed = await SseClient.open(`${server.url}/v1/topics/latest-per-key/sse`, { 'Last-Event-ID': middle.id! })
    const rest = events.slice(events.indexOf(middle) + 1).map((e) => JSON.parse(e.data).offset)
    await resumed.waitFor(() => resumed.records().length >= rest.length)
    assert.deepEqual(resumed.records().map((r) => r.offset), rest)
    resumed.close()
  })

  test('retention while a subscriber is away: it resumes with a gap naming what expired', async () => {
    await postJson(`${server.url}/v1/topics`, { name: 'short-lived', partitions: 1, config: { 'retention.ms': 60_000 } })
    const old = Date.now() - 10 * 60_000
    await postJson(`${server.url}/v1/topics/short-lived/records`, { records: [{ value: 'old-0', timestamp: old }, { value: 'old-1', timestamp: old }] })
    await postJson(`${server.url}/v1/topics/short-lived/records`, { records: [{ value: 'fresh-2' }] })
    await waitUntil('the old records to expire', async () => {
      const body = (await (await fetch(`${server.url}/v1/topics/short-lived`)).json()) as any
      return body.partitions[0].logStartOffset === 2
    })
    const c = await WsClient.open(server.url)
    await c.call({ op: 'sub', id: 'back', topic: 'short-lived', from: { offsets: { '0': 0 } } })
    const got = await c.waitRecords('back', 1)
    assert.deepEqual(c.frames.find((f) => f.op === 'gap'), { op: 'gap', sub: 'back', partition: 0, from: 0, to: 2 })
    assert.deepEqual(got.map((r) => [r.offset, r.value]), [[2, 'fresh-2']])
    c.close()
  })
})
