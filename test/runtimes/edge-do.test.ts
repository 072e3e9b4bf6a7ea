// The edge relay as a Cloudflare Durable Object (EDGELOG_ROLE=edge), in real workerd through
// Miniflare, in front of a real Bun broker on loopback (behind a TCP proxy, so the region can
// go away and come back on the same URL). test/runtimes/edge-do.worker.ts is the shipped
// Worker plus one route that resets the object (ctx.abort), as an eviction does.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Miniflare } from 'miniflare'
import { bundleWorker } from '../../edge/cloudflare/bundle.ts'
import { startMiniflare } from '../../edge/cloudflare/miniflare.ts'
import { removeDir } from '../helpers/server.ts'
import { metric, startRegion, waitUntil, type Region } from '../helpers/edge.ts'
import { postJson, WsClient } from '../helpers/ws.ts'

const work = mkdtempSync(join(tmpdir(), 'edgelog-edge-do-'))
let script = ''

async function bundle(): Promise<string> {
  if (script) return script
  script = join(work, 'worker.js')
  await bundleWorker(join(import.meta.dirname, 'edge-do.worker.ts'), script)
  return script
}

after(() => rmSync(work, { recursive: true, force: true }))

async function startEdgeWorker(bindings: Record<string, string>): Promise<{ mf: Miniflare; base: string }> {
  const { mf, url } = await startMiniflare({
    scriptPath: await bundle(),
    durableObjects: { EDGELOG_NODE: 'TestEdgelogNode' },
    bindings,
  })
  return { mf, base: url.origin }
}

/** Every record of a partition at the region, read from offset 0. */
async function regionRecords(region: Region, topic: string, partition = 0): Promise<Array<{ offset: number; value: any }>> {
  const res = await fetch(`${region.broker.url}/v1/topics/${topic}/partitions/${partition}/records?offset=0&maxRecords=10000`)
  assert.equal(res.status, 200)
  return ((await res.json()) as any).records
}

describe('an edge relay as a Durable Object (workerd via Miniflare) in front of a Bun region', () => {
  let region: Region
  let mf: Miniflare
  let base: string

  before(async () => {
    region = await startRegion()
    for (const name of ['orders', 'live', 'outage']) assert.equal((await postJson(`${region.broker.url}/v1/topics`, { name, partitions: 1 })).status, 201)
    ;({ mf, base } = await startEdgeWorker({ EDGELOG_ROLE: 'edge', EDGELOG_UPSTREAM: region.upstream, EDGELOG_METADATA_REFRESH_MS: '200', EDGELOG_NODE_NAME: 'edge-eu' }))
    await waitUntil('the edge knows the topics', async () => (await fetch(`${base}/v1/topics/orders`)).status === 200, 30_000, 200)
  })
  after(async () => {
    await mf?.dispose()
    await region?.close()
    if (region) removeDir(region.dataDir)
  })

  test('it says it is an edge: /metrics has edgelog_node_info{role="edge"} and /readyz names its upstream', async () => {
    assert.equal(await metric(base, 'edgelog_node_info{role="edge"}'), 1)
    const ready = await fetch(`${base}/readyz`)
    assert.equal(ready.status, 200)
    assert.equal(((await ready.json()) as any).upstream, region.upstream)
  })

  test('acks=1 is held at the edge (offset null), acks=all answers with the region offset; the region gets each record once, in order', async () => {
    const held = []
    for (let i = 0; i < 5; i++) {
      const r = await postJson(`${base}/v1/topics/orders/records?acks=1`, { records: [{ key: 'k', value: { i } }] })
      assert.equal(r.status, 200, JSON.stringify(r.body))
      held.push(r.body.offsets[0])
    }
    assert.deepEqual(held, held.map(() => ({ partition: 0, offset: null, heldAt: 'edge-outbox' })))
    const all = await postJson(`${base}/v1/topics/orders/records?acks=all`, { records: [{ key: 'k', value: { i: 5 } }, { key: 'k', value: { i: 6 } }] })
    assert.equal(all.status, 200, JSON.stringify(all.body))
    // Shipped in order, one batch in flight: the acks=all records come after the five held ones.
    assert.deepEqual(all.body.offsets, [
      { partition: 0, offset: 5 },
      { partition: 0, offset: 6 },
    ])
    const stored = await regionRecords(region, 'orders')
    assert.deepEqual(
      stored.map((r) => [r.offset, r.value.i]),
      [0, 1, 2, 3, 4, 5, 6].map((i) => [i, i]),
    )
  })

  test('a WebSocket subscriber at the edge receives the records produced at the region, in order, through the relay', async () => {
    const ws = await WsClient.open(base)
    try {
      assert.equal((await ws.call({ op: 'sub', id: 's', topic: 'live', from: 'earliest' })).op, 'ok')
      for (let i = 0; i < 3; i++) assert.equal((await postJson(`${region.broker.url}/v1/topics/live/records?acks=1`, { records: [{ value: { i } }] })).status, 200)
      const got = await ws.waitRecords('s', 3, 30_000)
      assert.deepEqual(
        got.map((r) => [r.offset, r.value.i]),
        [
          [0, 0],
          [1, 1],
          [2, 2],
        ],
      )
      // The region counts this edge's one upstream subscription.
      assert.equal(await metric(region.broker.url, 'edgelog_subscriptions{topic="live"}'), 1)
      await new Promise((r) => setTimeout(r, 300))
      assert.equal(ws.records('s').length, 3, 'no record twice')
    } finally {
      ws.close()
    }
  })

  test('region down: acks=1 records wait in the outbox; the object is reset and nothing is sent to it; the region comes back and its alarm ships each record once, in order', async () => {
    await region.stop()
    const held = []
    for (let i = 0; i < 4; i++) {
      const r = await postJson(`${base}/v1/topics/outage/records?acks=1`, { records: [{ key: 'k', value: { i } }] })
      assert.equal(r.status, 200, JSON.stringify(r.body))
      held.push(r.body.offsets[0].heldAt)
    }
    assert.deepEqual(held, ['edge-outbox', 'edge-outbox', 'edge-outbox', 'edge-outbox'])
    assert.equal(await metric(base, 'edgelog_edge_outbox_records{topic="outage",partition="0"}'), 4)
    const startedBefore = await metric(base, 'edgelog_node_start_time_seconds')
    // The reset throws away the instance (its memory, its retry timers); only SQLite and the alarm stay.
    await fetch(`${base}/__test/abort`).catch(() => undefined)
    await region.restart()
    // No request reaches the edge from here until the region has every record.
    await waitUntil('the region has the four records', async () => (await regionRecords(region, 'outage')).length >= 4, 90_000, 250)
    const stored = await regionRecords(region, 'outage')
    assert.deepEqual(
      stored.map((r) => [r.offset, r.value.i]),
      [0, 1, 2, 3].map((i) => [i, i]),
    )
    // It was a new instance, started by its alarm: a request would have started it first.
    const startedAfter = await metric(base, 'edgelog_node_start_time_seconds')
    assert.ok(startedBefore !== undefined && startedAfter !== undefined && startedAfter > startedBefore, `a new instance (${startedBefore} → ${startedAfter})`)
    assert.ok(((await metric(base, 'edgelog_edge_alarms_total')) ?? 0) >= 1, 'the new instance ran its alarm')
    assert.equal(await metric(base, 'edgelog_edge_outbox_records{topic="outage",partition="0"}'), 0)
    await new Promise((r) => setTimeout(r, 500))
    assert.equal((await regionRecords(region, 'outage')).length, 4, 'nothing shipped twice')
  })
})

describe('an edge Durable Object with invalid configuration refuses every request, naming the var', () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['no upstream', { EDGELOG_ROLE: 'edge' }, /EDGELOG_UPSTREAM: an edge needs at least one --upstream URL|EDGELOG_UPSTREAM/],
    ['an upstream that is not a URL', { EDGELOG_ROLE: 'edge', EDGELOG_UPSTREAM: 'region.example' }, /EDGELOG_UPSTREAM/],
    ['an outbox limit out of range', { EDGELOG_ROLE: 'edge', EDGELOG_UPSTREAM: 'http://127.0.0.1:9', EDGELOG_OUTBOX_BYTES: '12' }, /EDGELOG_OUTBOX_BYTES/],
    ['a malformed upstream token', { EDGELOG_ROLE: 'edge', EDGELOG_UPSTREAM: 'http://127.0.0.1:9', EDGELOG_UPSTREAM_TOKEN: 'not-a-jwt' }, /EDGELOG_UPSTREAM_TOKEN: not a JWT/],
    ['a var that is no edge setting (a typo)', { EDGELOG_ROLE: 'edge', EDGELOG_UPSTREAM: 'http://127.0.0.1:9', EDGELOG_UPSTREM: 'http://x' }, /EDGELOG_UPSTREM is not a setting/],
    ['an unknown role', { EDGELOG_ROLE: 'relay' }, /EDGELOG_ROLE must be 'edge' or 'broker'/],
    ['an upstream without the edge role', { EDGELOG_UPSTREAM: 'http://127.0.0.1:9' }, /EDGELOG_UPSTREAM is set, but EDGELOG_ROLE is not 'edge'/],
  ]
  let mf: Miniflare | undefined
  after(async () => {
    await mf?.dispose()
  })
  for (const [what, bindings, message] of cases) {
    test(`${what}: 500 NODE_MISCONFIGURED on every request`, async () => {
      await mf?.dispose()
      let base: string
      ;({ mf, base } = await startEdgeWorker(bindings))
      for (const path of ['/healthz', '/v1/topics', '/v1/topics/t/records']) {
        const res = await fetch(`${base}${path}`, path.endsWith('records') ? { method: 'POST', body: '{"records":[{"value":1}]}', headers: { 'content-type': 'application/json' } } : {})
        const body = (await res.json()) as any
        assert.equal(res.status, 500, JSON.stringify(body))
        assert.equal(body.error.code, 'NODE_MISCONFIGURED')
        assert.match(body.error.message, message)
        assert.doesNotMatch(body.error.message, /usage:/)
      }
    })
  }
})

describe('an idle edge Durable Object keeps no timer, so workerd can evict it', () => {
  let region: Region
  let mf: Miniflare | undefined
  before(async () => {
    region = await startRegion()
    assert.equal((await postJson(`${region.broker.url}/v1/topics`, { name: 'quiet', partitions: 1 })).status, 201)
  })
  after(async () => {
    await mf?.dispose()
    await region?.close()
    if (region) removeDir(region.dataDir)
  })

  test('after an acks=all produce and no subscriber, the object is evicted within a quiet period, and the next request starts it with its outbox and topics', async () => {
    let base: string
    ;({ mf, base } = await startEdgeWorker({ EDGELOG_ROLE: 'edge', EDGELOG_UPSTREAM: region.upstream, EDGELOG_METADATA_REFRESH_MS: '200' }))
    await waitUntil('the edge knows the topic', async () => (await fetch(`${base}/v1/topics/quiet`)).status === 200, 30_000, 200)
    const r = await postJson(`${base}/v1/topics/quiet/records?acks=all`, { records: [{ value: 1 }] })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    const before = await metric(base, 'edgelog_node_start_time_seconds')
    // workerd evicts an object with nothing pending after about 10 s (hibernation.test.ts measured
    // it); the last upstream request's timeout signal (AbortSignal.timeout, 10 s) is pending until
    // it fires, so an idle edge goes about 20 s after its last request to the region.
    await new Promise((resolve) => setTimeout(resolve, 30_000))
    const after = await metric(base, 'edgelog_node_start_time_seconds')
    assert.ok(before !== undefined && after !== undefined && after > before, `the object was evicted while idle (start time ${before} → ${after})`)
    // The new instance has what the old one stored: the topic routes, the produce goes on.
    const again = await postJson(`${base}/v1/topics/quiet/records?acks=all`, { records: [{ value: 2 }] })
    assert.deepEqual(again.body.offsets, [{ partition: 0, offset: 1 }])
  })
})
