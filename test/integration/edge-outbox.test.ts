// Produce through an edge while its region is away: acks=1 answers from the SQLite outbox
// (offset null, held at the edge), the outbox ships everything exactly once and in order when
// the region returns, acks=all answers only with regional offsets, and a full outbox refuses
// with 503 OUTBOX_FULL and Retry-After instead of growing.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { removeDir, type TestServer } from '../helpers/server.ts'
import { metric, metricSum, startEdge, startRegion, waitUntil, type Region } from '../helpers/edge.ts'
import { postJson } from '../helpers/ws.ts'

/** Every record of a topic at the broker, partition by partition, in offset order. */
async function readAll(url: string, topic: string, partitions: number) {
  const out: Array<{ partition: number; offset: number; key: string | null; value: any }> = []
  for (let p = 0; p < partitions; p++) {
    let offset = 0
    for (;;) {
      const r = await (await fetch(`${url}/v1/topics/${topic}/partitions/${p}/records?offset=${offset}&maxRecords=10000`)).json()
      for (const rec of r.records) out.push({ partition: p, offset: rec.offset, key: rec.key, value: rec.value })
      if (r.records.length === 0 || r.nextOffset >= r.highWatermark) break
      offset = r.nextOffset
    }
  }
  return out
}

async function highWatermarks(url: string, topic: string): Promise<number> {
  const d = await (await fetch(`${url}/v1/topics/${topic}`)).json()
  return d.partitions.reduce((n: number, p: any) => n + p.highWatermark, 0)
}

/** Each (key, n) exactly once, and each key's n in increasing order along its partition. */
function assertExactlyOnceInKeyOrder(records: Array<{ key: string | null; value: any }>, keys: number, perKey: number) {
  const seen = new Set<string>()
  const last = new Map<string, number>()
  for (const r of records) {
    const id = `${r.value.k}/${r.value.n}`
    assert.ok(!seen.has(id), `record ${id} arrived twice`)
    seen.add(id)
    assert.equal(r.key, r.value.k)
    const prev = last.get(r.value.k) ?? -1
    assert.ok(r.value.n > prev, `key ${r.value.k}: ${r.value.n} after ${prev}`)
    last.set(r.value.k, r.value.n)
  }
  assert.equal(seen.size, keys * perKey, `${keys * perKey} records, each once`)
}

describe('edge outbox', () => {
  let region: Region
  let edge: TestServer
  before(async () => {
    region = await startRegion()
    edge = await startEdge(region.upstream, ['--ack-timeout-ms', '1500'])
    assert.equal((await postJson(`${region.broker.url}/v1/topics`, { name: 'orders', partitions: 4 })).status, 201)
    await waitUntil('the edge knows the topic', async () => (await fetch(`${edge.url}/v1/topics/orders`)).status === 200)
  })
  after(async () => {
    await edge?.stop('SIGKILL')
    await region?.close()
    removeDir(edge.dataDir)
    removeDir(region.dataDir)
  })

  test('region stopped: 10,000 keyed records at acks=1 are held at the edge, then arrive exactly once in per-key order', async () => {
    await region.stop()
    const keys = 100
    const perKey = 100
    const n = keys * perKey
    for (let start = 0; start < n; start += 500) {
      const records = []
      for (let i = start; i < start + 500; i++) records.push({ key: `k${i % keys}`, value: { k: `k${i % keys}`, n: Math.floor(i / keys) } })
      const r = await postJson(`${edge.url}/v1/topics/orders/records?acks=1`, { records })
      assert.equal(r.status, 200, JSON.stringify(r.body))
      for (const o of r.body.offsets) {
        assert.equal(o.offset, null)
        assert.equal(o.heldAt, 'edge-outbox')
      }
    }
    assert.equal(await metricSum(edge.url, 'edgelog_edge_outbox_records'), n)
    // acks=all cannot be answered while the region is away: REQUEST_TIMED_OUT, and the record stays held.
    const timedOut = await postJson(`${edge.url}/v1/topics/orders/records?acks=all`, { records: [{ key: 'late', value: { k: 'late', n: 0 } }] })
    assert.equal(timedOut.status, 408)
    assert.equal(timedOut.body.error.code, 'REQUEST_TIMED_OUT')
    // Nothing shipped while records wait: the lag is not zero and the shipper says it is stalled.
    assert.ok((await metricSum(edge.url, 'edgelog_edge_shipping_lag_seconds')) > 0)
    await waitUntil('the shipper reports itself stalled', async () => (await metricSum(edge.url, 'edgelog_edge_shipping_stalled_since_seconds')) > 0, 20_000, 200)

    await region.restart()
    await waitUntil('the outbox drains', async () => (await metricSum(edge.url, 'edgelog_edge_outbox_records')) === 0, 60_000, 100)
    assert.equal(await metricSum(edge.url, 'edgelog_edge_shipping_stalled_since_seconds'), 0)
    assert.equal(await metricSum(edge.url, 'edgelog_edge_shipping_lag_seconds'), 0)
    const all = await readAll(region.broker.url, 'orders', 4)
    const late = all.filter((r) => r.key === 'late')
    assert.equal(late.length, 1, 'the timed-out acks=all record was still shipped, once')
    assertExactlyOnceInKeyOrder(all.filter((r) => r.key !== 'late'), keys, perKey)
  })

  test('acks=all through an edge answers with the regional partition and offset', async () => {
    const r = await postJson(`${edge.url}/v1/topics/orders/records?acks=all`, {
      records: [{ key: 'k1', value: 'x' }, { key: 'k2', value: 'y' }, { key: 'k1', value: 'z' }],
    })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    for (const [i, o] of r.body.offsets.entries()) {
      assert.equal(typeof o.offset, 'number')
      assert.equal(o.heldAt, undefined)
      const at = await (await fetch(`${region.broker.url}/v1/topics/orders/partitions/${o.partition}/records?offset=${o.offset}&maxRecords=1`)).json()
      assert.equal(at.records[0].value, ['x', 'y', 'z'][i])
    }
  })

  test('acks=0 answers after validation, and the record still arrives', async () => {
    const r = await postJson(`${edge.url}/v1/topics/orders/records?acks=0`, { records: [{ key: 'zero', value: 0 }] })
    assert.equal(r.status, 202)
    assert.deepEqual(Object.keys(r.body.offsets[0]).sort(), ['heldAt', 'offset', 'partition'])
    assert.equal(r.body.offsets[0].heldAt, 'edge-memory')
    await waitUntil('the acks=0 record is in the region', async () => (await readAll(region.broker.url, 'orders', 4)).some((x) => x.key === 'zero'))
  })
})

describe('edge outbox limit', () => {
  let region: Region
  let edge: TestServer
  before(async () => {
    region = await startRegion()
    edge = await startEdge(region.upstream, ['--outbox-bytes', '65536'])
    await postJson(`${region.broker.url}/v1/topics`, { name: 'bounded', partitions: 2 })
    await waitUntil('the edge knows the topic', async () => (await fetch(`${edge.url}/v1/topics/bounded`)).status === 200)
  })
  after(async () => {
    await edge?.stop('SIGKILL')
    await region?.close()
    removeDir(edge.dataDir)
    removeDir(region.dataDir)
  })

  test('a full outbox refuses with 503 OUTBOX_FULL and Retry-After; after the link returns it drains and accepts again', async () => {
    await region.stop()
    const value = 'v'.repeat(200)
    let accepted = 0
    let refusal: Response | undefined
    for (let i = 0; i < 1000 && !refusal; i++) {
      const res = await fetch(`${edge.url}/v1/topics/bounded/records?acks=1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ records: Array.from({ length: 10 }, (_, j) => ({ key: `k${j}`, value: { i, j, value } })) }),
      })
      if (res.status === 200) accepted += 10
      else refusal = res
    }
    assert.ok(refusal, 'the outbox refused at some point')
    assert.equal(refusal.status, 503)
    assert.ok(Number(refusal.headers.get('retry-after')) >= 1)
    assert.equal((await refusal.json()).error.code, 'OUTBOX_FULL')
    assert.ok(accepted > 0)
    assert.ok((await metric(edge.url, 'edgelog_edge_outbox_used_bytes'))! <= 65536)
    assert.ok((await metricSum(edge.url, 'edgelog_edge_outbox_full_total')) >= 1)
    // acks=0 is refused as well: the limit is checked at validation.
    const zero = await postJson(`${edge.url}/v1/topics/bounded/records?acks=0`, { records: Array.from({ length: 20 }, () => ({ value })) })
    assert.equal(zero.status, 503)

    await region.restart()
    await waitUntil('the outbox drains', async () => (await metricSum(edge.url, 'edgelog_edge_outbox_records')) === 0, 60_000, 100)
    assert.equal(await highWatermarks(region.broker.url, 'bounded'), accepted)
    const again = await postJson(`${edge.url}/v1/topics/bounded/records?acks=1`, { records: [{ value }] })
    assert.equal(again.status, 200)
  })
})
