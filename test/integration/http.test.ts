// Round trips against a real `edgelog serve` process on loopback.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { removeDir, startServer, type TestServer } from '../helpers/server.ts'

let server: TestServer

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(server.url + path, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as any }
}

describe('HTTP API round trips', () => {
  before(async () => {
    server = await startServer()
  })
  after(async () => {
    await server.stop()
    removeDir(server.dataDir)
  })

  test('topics: create, list, describe with Kafka defaults, delete', async () => {
    const created = await call('POST', '/v1/topics', { name: 'orders', partitions: 4, config: { 'retention.ms': 1000 } })
    assert.equal(created.status, 201)
    assert.equal(created.body.partitions.length, 4)
    assert.equal(created.body.config['retention.ms'], '1000')
    assert.equal(created.body.config['max.message.bytes'], '1048588')
    const list = await call('GET', '/v1/topics')
    assert.deepEqual(list.body.topics, [{ name: 'orders', partitions: 4 }])
    const described = await call('GET', '/v1/topics/orders')
    assert.deepEqual(described.body.partitions[3], {
      partition: 3, leader: 0, leaderEpoch: 0, replicas: [0], isr: [0], logStartOffset: 0, highWatermark: 0, logEndOffset: 0, sizeBytes: 0,
    })
    assert.equal((await call('DELETE', '/v1/topics/orders')).status, 200)
    assert.equal((await call('GET', '/v1/topics/orders')).status, 404)
    // A re-created topic starts empty.
    await call('POST', '/v1/topics', { name: 'orders', partitions: 1 })
    assert.equal((await call('GET', '/v1/topics/orders')).body.partitions[0].logEndOffset, 0)
  })

  test('produce returns offsets in request order and fetch returns the same records', async () => {
    await call('POST', '/v1/topics', { name: 'rt', partitions: 3 })
    const records = [
      { key: 'user-1', value: { n: 1 }, headers: { source: 'test' } },
      { key: 'user-2', value: 'two' },
      { key: 'user-1', value: [1, 2, 3], timestamp: 1700000000000 },
      { key: { base64: 'AAEC/w==' }, value: { base64: '3q2+7w==' } },
      { key: null, value: null },
    ]
    const produced = await call('POST', '/v1/topics/rt/records?acks=1', { records })
    assert.equal(produced.status, 200)
    const offsets = produced.body.offsets as Array<{ partition: number; offset: number }>
    assert.equal(offsets.length, records.length)
    assert.equal(offsets[0]!.partition, offsets[2]!.partition, 'one key, one partition')
    // Within a partition, records take consecutive offsets in request order.
    const last = new Map<number, number>()
    for (const { partition, offset } of offsets) {
      if (last.has(partition)) assert.equal(offset, last.get(partition)! + 1)
      last.set(partition, offset)
    }
    for (let i = 0; i < records.length; i++) {
      const { partition, offset } = offsets[i]!
      const fetched = await call('GET', `/v1/topics/rt/partitions/${partition}/records?offset=${offset}&maxRecords=1`)
      assert.equal(fetched.status, 200)
      const [r] = fetched.body.records
      assert.equal(r.offset, offset)
      assert.deepEqual(r.key, records[i]!.key)
      assert.deepEqual(r.value, records[i]!.value)
      assert.deepEqual(r.headers, records[i]!.headers ?? {})
      if (records[i]!.timestamp) assert.equal(r.timestamp, records[i]!.timestamp)
      assert.equal(fetched.body.nextOffset, offset + 1)
    }
  })

  test('keys land on the partition Kafka\'s Java client picks', async () => {
    await call('POST', '/v1/topics', { name: 'keyed', partitions: 10 })
    // Utils.toPositive(Utils.murmur2("0".getBytes())) % 10 == 971027396 % 10 == 6
    const r = await call('POST', '/v1/topics/keyed/records', { records: [{ key: '0', value: 1 }] })
    assert.equal(r.body.offsets[0].partition, 971027396 % 10)
  })

  test('NDJSON bodies stream many records', async () => {
    await call('POST', '/v1/topics', { name: 'nd', partitions: 1 })
    const lines = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ value: { i } })).join('\n') + '\n'
    const r = await fetch(`${server.url}/v1/topics/nd/records`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: lines })
    assert.equal(r.status, 200)
    const body = (await r.json()) as any
    assert.equal(body.offsets.length, 5000)
    assert.equal(body.offsets[4999].offset, 4999)
    const fetched = await call('GET', '/v1/topics/nd/partitions/0/records?offset=4990')
    assert.deepEqual(fetched.body.records.map((x: any) => x.value.i), [4990, 4991, 4992, 4993, 4994, 4995, 4996, 4997, 4998, 4999])
  })

  test('acks=0 answers before the append and the record still lands', async () => {
    await call('POST', '/v1/topics', { name: 'fire', partitions: 1 })
    const r = await call('POST', '/v1/topics/fire/records?acks=0', { records: [{ value: 'x' }] })
    assert.equal(r.status, 202)
    assert.deepEqual(r.body.offsets, [{ partition: 0, offset: null }])
    const fetched = await call('GET', '/v1/topics/fire/partitions/0/records?offset=0&waitMs=2000')
    assert.equal(fetched.body.records[0].value, 'x')
  })

  test('a long-poll fetch wakes up as soon as a record arrives', async () => {
    await call('POST', '/v1/topics', { name: 'lp', partitions: 1 })
    const started = Date.now()
    const pending = call('GET', '/v1/topics/lp/partitions/0/records?offset=0&waitMs=20000')
    await new Promise((r) => setTimeout(r, 300))
    await call('POST', '/v1/topics/lp/records', { records: [{ value: 'wake' }] })
    const fetched = await pending
    const waited = Date.now() - started
    assert.equal(fetched.body.records[0].value, 'wake')
    assert.ok(waited >= 250 && waited < 5000, `woke after ${waited} ms`)
  })

  test('a long-poll fetch with no data answers empty after waitMs', async () => {
    const started = Date.now()
    const fetched = await call('GET', '/v1/topics/lp/partitions/0/records?offset=latest&waitMs=300')
    assert.deepEqual(fetched.body.records, [])
    assert.ok(Date.now() - started >= 290)
  })

  test('offsets by timestamp: the first offset whose timestamp is at or after the target', async () => {
    await call('POST', '/v1/topics', { name: 'ts', partitions: 1 })
    await call('POST', '/v1/topics/ts/partitions/0/records', {
      records: [{ value: 0, timestamp: 1000 }, { value: 1, timestamp: 3000 }, { value: 2, timestamp: 2000 }, { value: 3, timestamp: 5000 }],
    })
    const at = async (ms: number) => (await call('GET', `/v1/topics/ts/partitions/0/offsets?timestamp=${ms}`)).body.offset
    assert.equal(await at(0), 0)
    assert.equal(await at(1500), 1)
    assert.equal(await at(2500), 1)
    assert.equal(await at(4000), 3)
    assert.equal(await at(6000), null)
  })

  test('committed offsets and lag', async () => {
    await call('POST', '/v1/topics', { name: 'lagged', partitions: 2 })
    await call('POST', '/v1/topics/lagged/records', {
      records: [{ value: 1, partition: 0 }, { value: 2, partition: 0 }, { value: 3, partition: 1 }],
    })
    const commit = await call('POST', '/v1/groups/billing/offsets', { offsets: [{ topic: 'lagged', partition: 0, offset: 1 }, { topic: 'lagged', partition: 1, offset: 1 }] })
    assert.equal(commit.status, 200)
    const got = await call('GET', '/v1/groups/billing/offsets')
    assert.deepEqual(got.body.offsets, [
      { topic: 'lagged', partition: 0, offset: 1, metadata: '' },
      { topic: 'lagged', partition: 1, offset: 1, metadata: '' },
    ])
    const lag = await call('GET', '/v1/groups/billing/lag')
    assert.deepEqual(lag.body, {
      group: 'billing',
      state: 'Empty',
      partitions: [
        { topic: 'lagged', partition: 0, committed: 1, logStartOffset: 0, highWatermark: 2, lag: 1, owner: null },
        { topic: 'lagged', partition: 1, committed: 1, logStartOffset: 0, highWatermark: 1, lag: 0, owner: null },
      ],
      totalLag: 1,
    })
  })

  test('metrics and health', async () => {
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200)
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200)
    const text = await (await fetch(`${server.url}/metrics`)).text()
    assert.match(text, /edgelog_produced_records_total\{topic="rt"\} 5/)
  })
})
