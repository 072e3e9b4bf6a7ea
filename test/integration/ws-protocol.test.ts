// /v1/ws against a real `edgelog serve`: subscriptions from every start position, pub/ack at
// every acks level, commit, unsub, and per-partition order.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { removeDir, startServer, type TestServer } from '../helpers/server.ts'
import { assertContiguous, postJson, produceMany, WsClients } from '../helpers/ws.ts'

let server: TestServer
const clients = new WsClients(() => server.url)
const client = () => clients.open()

describe('WebSocket protocol', () => {
  before(async () => {
    server = await startServer()
  })
  after(async () => {
    clients.closeAll()
    await server.stop()
    removeDir(server.dataDir)
  })

  test('sub from earliest delivers every record of every partition in offset order, then live ones', async () => {
    await postJson(`${server.url}/v1/topics`, { name: 'orders', partitions: 3 })
    const produced = await produceMany(server.url, 'orders', 300, { key: (i) => `k${i % 17}` })
    const c = await client()
    const ok = await c.call({ op: 'sub', id: 's1', topic: 'orders', from: 'earliest' })
    assert.deepEqual(ok, { op: 'ok', id: 's1', offsets: { '0': 0, '1': 0, '2': 0 } })
    await c.waitRecords('s1', 300)
    // Live after catch-up: more records arrive without another request.
    await produceMany(server.url, 'orders', 60, { key: (i) => `k${i % 17}`, from: 300 })
    const all = await c.waitRecords('s1', 360)
    assertContiguous(all, { 0: 0, 1: 0, 2: 0 })
    assert.equal(all.length, 360)
    // The records are the produced ones, at the offsets the produce answered.
    const byPos = new Map(all.map((r) => [`${r.partition}:${r.offset}`, r]))
    produced.forEach((o, i) => assert.deepEqual(byPos.get(`${o.partition}:${o.offset}`)!.value, { i }))
    assert.equal(byPos.get(`${produced[5]!.partition}:${produced[5]!.offset}`)!.key, 'k5')
    for (const f of c.frames.filter((f) => f.op === 'msg' || f.op === 'msgs')) assert.equal(f.topic, 'orders')
  })

  test('sub from latest (the default) sees only what is appended after its ok, and the ok says where it starts', async () => {
    await postJson(`${server.url}/v1/topics`, { name: 'news', partitions: 2 })
    await produceMany(server.url, 'news', 10, { key: (i) => `n${i}` })
    const c = await client()
    const ok = await c.call({ op: 'sub', id: 'live', topic: 'news' })
    const starts = ok.offsets as Record<string, number>
    assert.equal(starts['0']! + starts['1']!, 10)
    await produceMany(server.url, 'news', 5, { key: (i) => `n${i}`, from: 10 })
    const got = await c.waitRecords('live', 5)
    assertContiguous(got, { 0: starts['0']!, 1: starts['1']! })
    assert.deepEqual(got.map((r) => r.value.i).sort((a, b) => a - b), [10, 11, 12, 13, 14])
  })

  test('sub from per-partition offsets, on chosen partitions only', async () => {
    await postJson(`${server.url}/v1/topics`, { name: 'picks', partitions: 3 })
    for (let p = 0; p < 3; p++) await postJson(`${server.url}/v1/topics/picks/records`, { records: Array.from({ length: 20 }, (_, i) => ({ value: { p, i }, partition: p })) })
    const c = await client()
    const ok = await c.call({ op: 'sub', id: 'p', topic: 'picks', partitions: [2, 0], from: { offsets: { '0': 15, '2': 7 } } })
    assert.deepEqual(ok.offsets, { '2': 7, '0': 15 })
    const got = await c.waitRecords('p', 5 + 13)
    assertContiguous(got, { 0: 15, 2: 7 })
    assert.ok(got.every((r) => r.partition !== 1), 'partition 1 was not asked for')
    // A partition of the subscription missing from the map starts at its log start.
    const ok2 = await c.call({ op: 'sub', id: 'q', topic: 'picks', partitions: [0, 1], from: { offsets: { '0': 19 } } })
    assert.deepEqual(ok2.offsets, { '0': 19, '1': 0 })
    await c.waitRecords('q', 21)
    // An offset beyond the log end: the log was replaced or lost, and the client hears it.
    const far = await c.call({ op: 'sub', id: 'far', topic: 'picks', from: { offsets: { '1': 21 } } })
    assert.equal(far.op, 'err')
    assert.equal(far.code, 'OFFSET_OUT_OF_RANGE')
    // The log end itself is fine: it is where the next record goes.
    const end = await c.call({ op: 'sub', id: 'end', topic: 'picks', partitions: [1], from: { offsets: { '1': 20 } } })
    assert.equal(end.op, 'ok')
  })

  test('sub from a timestamp starts each partition at its first record at or after it', async () => {
    await postJson(`${server.url}/v1/topics`, { name: 'times', partitions: 2 })
    const records = []
    // Recent, inside the 7-day default retention: fixed 2023 timestamps would let the cleaner
    // (every 30 s) delete the batches mid-test.
    const base = Date.now() - 60_000
    for (let i = 0; i < 10; i++) records.push({ value: { i }, partition: i % 2, timestamp: base + i * 1000 })
    await postJson(`${server.url}/v1/topics/times/records`, { records })
    const c = await client()
    const ok = await c.call({ op: 'sub', id: 't', topic: 'times', from: { timestamp: base + 5000 } })
    // Partition 1 holds i = 1,3,5,7,9 (offsets 0..4): i=5 is offset 2. Partition 0 holds 0,2,4,6,8: i=6 is offset 3.
    assert.deepEqual(ok.offsets, { '0': 3, '1': 2 })
    const got = await c.waitRecords('t', 5)
    assert.deepEqual(got.map((r) => r.value.i).sort((a, b) => a - b), [5, 6, 7, 8, 9])
    // After the newest timestamp: nothing yet, then live records.
    const ok2 = await c.call({ op: 'sub', id: 't2', topic: 'times', from: { timestamp: base + 3_600_000 } })
    assert.deepEqual(ok2.offsets, { '0': 5, '1': 5 })
  })

  test('pub answers ack with partition and offset at acks 1 and all, offset null at acks 0; all of them are stored', async () => {
    await postJson(`${server.url}/v1/topics`, { name: 'pubs', partitions: 4 })
    const c = await client()
    await c.call({ op: 'sub', id: 'watch', topic: 'pubs', from: 'earliest' })
    const a1 = await c.call({ op: 'pub', id: 'p1', topic: 'pubs', key: 'user-1', value: { n: 1 }, headers: { h: 'v' }, acks: '1' })
    assert.equal(a1.op, 'ack')
    assert.equal(typeof a1.partition, 'number')
    assert.equal(typeof a1.offset, 'number')
    const aAll = await c.call({ op: 'pub', id: 'p2', topic: 'pubs', key: 'user-1', value: { n: 2 }, acks: 'all' })
    assert.deepEqual({ p: aAll.partition, o: aAll.offset }, { p: a1.partition, o: a1.offset + 1 }, 'one key, one partition, next offset')
    const aDefault = await c.call({ op: 'pub', id: 'p3', topic: 'pubs', key: 'user-1', value: { n: 3 } })
    assert.equal(aDefault.offset, a1.offset + 2)
    const a0 = await c.call({ op: 'pub', id: 'p4', topic: 'pubs', key: 'user-1', value: { n: 4 }, acks: '0' })
    assert.deepEqual(a0, { op: 'ack', id: 'p4', partition: a1.partition, offset: null })
    const explicit = await c.call({ op: 'pub', id: 'p5', topic: 'pubs', value: 'to three', partition: 3, timestamp: 1234 })
    assert.equal(explicit.partition, 3)
    const batch = await c.call({ op: 'pub', id: 'p6', topic: 'pubs', records: [{ key: 'user-1', value: { n: 5 } }, { value: 'x', partition: 0 }] })
    assert.equal(batch.op, 'ack')
    assert.equal(batch.offsets.length, 2)
    assert.deepEqual(batch.offsets[0], { partition: a1.partition, offset: a1.offset + 4 })
    // Every pub is delivered to the subscriber, in per-partition order, with what was sent.
    const got = await c.waitRecords('watch', 7)
    const mine = got.filter((r) => r.key === 'user-1').map((r) => r.value.n)
    assert.ok(got.filter((r) => r.key === 'user-1').every((r) => r.partition === a1.partition))
    assert.deepEqual(mine, [1, 2, 3, 4, 5])
    const first = got.find((r) => r.value?.n === 1)!
    assert.deepEqual({ key: first.key, headers: first.headers }, { key: 'user-1', headers: { h: 'v' } })
    const three = got.find((r) => r.partition === 3)!
    assert.deepEqual({ value: three.value, timestamp: three.timestamp }, { value: 'to three', timestamp: 1234 })
  })

  test('idempotent pub: a retry answers the original offset and stores nothing twice', async () => {
    await postJson(`${server.url}/v1/topics`, { name: 'idem', partitions: 2 })
    const { body: producer } = await postJson(`${server.url}/v1/producers`, {})
    const c = await client()
    const frame = { op: 'pub', id: 'i1', topic: 'idem', partition: 1, value: 'once', producer: { id: producer.producerId, epoch: producer.producerEpoch, sequence: 0 } }
    const first = await c.call(frame)
    assert.deepEqual(first, { op: 'ack', id: 'i1', partition: 1, offset: 0 })
    const retry = await c.call({ ...frame, id: 'i1-retry' })
    assert.deepEqual(retry, { op: 'ack', id: 'i1-retry', partition: 1, offset: 0, duplicate: true })
    const gap = await c.call({ ...frame, id: 'i2', producer: { ...frame.producer, sequence: 5 } })
    assert.equal(gap.code, 'OUT_OF_ORDER_SEQUENCE_NUMBER')
    const res = await fetch(`${server.url}/v1/topics/idem/partitions/1/records?offset=0`)
    assert.equal(((await res.json()) as any).records.length, 1)
    const noPartition = await c.call({ op: 'pub', id: 'i3', topic: 'idem', value: 1, producer: frame.producer })
    assert.equal(noPartition.code, 'INVALID_REQUEST')
  })

  test('commit stores the group offsets through the broker and validates them', async () => {
    await postJson(`${server.url}/v1/topics`, { name: 'commits', partitions: 2 })
    await postJson(`${server.url}/v1/topics/commits/records`, { records: Array.from({ length: 10 }, (_, i) => ({ value: i, partition: 0 })) })
    const c = await client()
    const ok = await c.call({ op: 'commit', id: 'c1', group: 'readers', offsets: [{ topic: 'commits', partition: 0, offset: 4 }] })
    assert.deepEqual(ok, { op: 'ok', id: 'c1' })
    const res = await fetch(`${server.url}/v1/groups/readers/offsets`)
    assert.deepEqual(((await res.json()) as any).offsets, [{ topic: 'commits', partition: 0, offset: 4, metadata: '' }])
    const beyond = await c.call({ op: 'commit', id: 'c2', group: 'readers', offsets: [{ topic: 'commits', partition: 1, offset: 10_000 }] })
    assert.equal(beyond.code, 'OFFSET_OUT_OF_RANGE')
    const badGroup = await c.call({ op: 'commit', id: 'c3', group: 'bad group!', offsets: [{ topic: 'commits', partition: 0, offset: 1 }] })
    assert.equal(badGroup.code, 'INVALID_REQUEST')
    const noTopic = await c.call({ op: 'commit', id: 'c4', group: 'readers', offsets: [{ topic: 'nope', partition: 0, offset: 1 }] })
    assert.equal(noTopic.code, 'UNKNOWN_TOPIC_OR_PARTITION')
  })

  test('unsub: after its ok no record of that subscription arrives, and the id can be used again', async () => {
    await postJson(`${server.url}/v1/topics`, { name: 'unsubs', partitions: 1 })
    const c = await client()
    await c.call({ op: 'sub', id: 'u', topic: 'unsubs' })
    await produceMany(server.url, 'unsubs', 3)
    await c.waitRecords('u', 3)
    const ok = await c.call({ op: 'unsub', id: 'u' })
    assert.deepEqual(ok, { op: 'ok', id: 'u' })
    const okAt = c.frames.indexOf(ok)
    await produceMany(server.url, 'unsubs', 3, { from: 3 })
    // A second subscriber proves the records were fanned out meanwhile.
    await c.call({ op: 'sub', id: 'u2', topic: 'unsubs', from: 'earliest' })
    await c.waitRecords('u2', 6)
    assert.ok(c.frames.slice(okAt + 1).every((f) => f.sub !== 'u'), 'nothing for u after its unsub ok')
    const again = await c.call({ op: 'sub', id: 'u', topic: 'unsubs', from: { offsets: { '0': 3 } } })
    assert.equal(again.op, 'ok')
    const got = await c.waitRecords('u', 6)
    assert.deepEqual(got.slice(3).map((r) => r.offset), [3, 4, 5])
    const unknown = await c.call({ op: 'unsub', id: 'never' })
    assert.equal(unknown.code, 'INVALID_REQUEST')
  })

  test('a deleted topic ends its subscriptions with an err naming them; the socket stays usable', async () => {
    await postJson(`${server.url}/v1/topics`, { name: 'doomed', partitions: 2 })
    await postJson(`${server.url}/v1/topics`, { name: 'survivor', partitions: 1 })
    const c = await client()
    await c.call({ op: 'sub', id: 'd', topic: 'doomed', from: 'earliest' })
    const res = await fetch(`${server.url}/v1/topics/doomed`, { method: 'DELETE' })
    assert.equal(res.status, 200)
    const err = await c.next((f) => f.op === 'err' && f.id === 'd')
    assert.equal(err.code, 'UNKNOWN_TOPIC_OR_PARTITION')
    const ok = await c.call({ op: 'sub', id: 'd', topic: 'survivor' })
    assert.equal(ok.op, 'ok', 'the id is free again and the socket works')
    await produceMany(server.url, 'survivor', 2)
    await c.waitRecords('d', 2)
    assert.equal(c.closed, undefined)
  })

  test('metrics count connections, subscriptions per topic and frames', async () => {
    await postJson(`${server.url}/v1/topics`, { name: 'metered', partitions: 1 })
    const c = await client()
    await c.call({ op: 'sub', id: 'm1', topic: 'metered' })
    await c.call({ op: 'sub', id: 'm2', topic: 'metered' })
    const text = await (await fetch(`${server.url}/metrics`)).text()
    assert.match(text, /edgelog_subscriptions\{topic="metered"\} 2\n/)
    assert.match(text, /edgelog_ws_connections [1-9]/)
    assert.match(text, /edgelog_ws_frames_in_total\{op="sub"\} [1-9]/)
    assert.match(text, /edgelog_ws_frames_out_total [1-9]/)
    await c.call({ op: 'unsub', id: 'm1' })
    const after = await (await fetch(`${server.url}/metrics`)).text()
    assert.match(after, /edgelog_subscriptions\{topic="metered"\} 1\n/)
  })
})
