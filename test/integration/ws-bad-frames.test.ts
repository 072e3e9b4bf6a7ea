// Every kind of bad frame on /v1/ws is answered with an `err` (carrying the frame's id when it
// had one) or the documented close code, and neither the socket nor the server falls over:
// a normal subscription still works afterwards.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { removeDir, startServer, type TestServer } from '../helpers/server.ts'
import { postJson, produceMany, WsClient, WsClients } from '../helpers/ws.ts'

let server: TestServer
const clients = new WsClients(() => server.url)
const client = () => clients.open()

/** Sends a raw frame and returns the next err frame. */
async function errFor(c: WsClient, frame: string | Uint8Array): Promise<Record<string, any>> {
  const from = c.frames.length
  c.ws.send(frame as string)
  return c.next((f) => f.op === 'err', 10_000, from)
}

async function assertStillServes(c: WsClient, id: string): Promise<void> {
  const ok = await c.call({ op: 'sub', id, topic: 'good', from: 'earliest' })
  assert.equal(ok.op, 'ok')
  await c.waitRecords(id, 3)
  assert.equal(c.closed, undefined)
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200)
}

describe('WebSocket bad frames', () => {
  before(async () => {
    server = await startServer({ args: ['--ws-max-frame-bytes', '8192', '--ws-max-subscriptions', '3'] })
    await postJson(`${server.url}/v1/topics`, { name: 'good', partitions: 2 })
    await postJson(`${server.url}/v1/topics`, { name: 'tiny', partitions: 1, config: { 'max.message.bytes': 200 } })
    await produceMany(server.url, 'good', 3)
  })
  after(async () => {
    clients.closeAll()
    await server.stop()
    removeDir(server.dataDir)
  })

  test('frames that are not one JSON object: err without an id', async () => {
    const c = await client()
    for (const text of ['{oops', '', 'null', '42', '"sub"', '[{"op":"sub"}]', '{"op":"sub","id":"d","topic":"a","topic":"b"}', '['.repeat(3000) + ']'.repeat(3000)]) {
      const err = await errFor(c, text)
      assert.equal(err.code, 'INVALID_REQUEST', text.slice(0, 40))
      assert.equal(err.id, undefined)
      assert.equal(typeof err.message, 'string')
    }
    await assertStillServes(c, 'after-json')
  })

  test('a binary frame: err, the socket stays open', async () => {
    const c = await client()
    const err = await errFor(c, new Uint8Array([0x7b, 0x7d]))
    assert.equal(err.code, 'INVALID_REQUEST')
    assert.match(err.message, /binary/)
    await assertStillServes(c, 'after-binary')
  })

  test('unknown op, missing op, wrong types, unknown fields: err with the frame id', async () => {
    const c = await client()
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ op: 'zap', id: 'a1' }, 'INVALID_REQUEST'],
      [{ id: 'a2', topic: 'good' }, 'INVALID_REQUEST'],
      [{ op: 7, id: 'a3' }, 'INVALID_REQUEST'],
      [{ op: 'sub', id: 'a4', topic: 5 }, 'INVALID_REQUEST'],
      [{ op: 'sub', id: 'a5', topic: 'good', partitions: '0' }, 'INVALID_REQUEST'],
      [{ op: 'sub', id: 'a6', topic: 'good', partitions: [-1] }, 'INVALID_REQUEST'],
      [{ op: 'sub', id: 'a7', topic: 'good', partitions: [0.5] }, 'INVALID_REQUEST'],
      [{ op: 'sub', id: 'a8', topic: 'good', from: 'yesterday' }, 'INVALID_REQUEST'],
      [{ op: 'sub', id: 'a9', topic: 'good', from: { offsets: { '0': -1 } } }, 'INVALID_REQUEST'],
      [{ op: 'sub', id: 'a10', topic: 'good', from: { offsets: { zero: 1 } } }, 'INVALID_REQUEST'],
      [{ op: 'sub', id: 'a11', topic: 'good', from: { offsets: { '0': 1e300 } } }, 'INVALID_REQUEST'],
      [{ op: 'sub', id: 'a12', topic: 'good', from: { timestamp: 1.5 } }, 'INVALID_REQUEST'],
      [{ op: 'sub', id: 'a13', topic: 'good', from: { timestamp: 1, offsets: {} } }, 'INVALID_REQUEST'],
      [{ op: 'sub', id: 'a14', topic: 'good', extra: true }, 'INVALID_REQUEST'],
      [{ op: 'unsub', id: 'a15', topic: 'good' }, 'INVALID_REQUEST'],
      [{ op: 'pub', id: 'a16', topic: 'good' }, 'INVALID_REQUEST'],
      [{ op: 'pub', id: 'a17', topic: 'good', value: 1, acks: 2 }, 'INVALID_REQUEST'],
      [{ op: 'pub', id: 'a18', topic: 'good', value: 1, key: 5 }, 'INVALID_REQUEST'],
      [{ op: 'pub', id: 'a19', topic: 'good', value: 1, headers: { h: 1 } }, 'INVALID_REQUEST'],
      [{ op: 'pub', id: 'a20', topic: 'good', value: 1, records: [{ value: 2 }] }, 'INVALID_REQUEST'],
      [{ op: 'pub', id: 'a21', topic: 'good', records: [] }, 'INVALID_REQUEST'],
      [{ op: 'pub', id: 'a22', topic: 'good', value: { base64: '!!!' } }, 'INVALID_RECORD'],
      [{ op: 'pub', id: 'a23', topic: 'good', value: 1, partition: 9 }, 'UNKNOWN_TOPIC_OR_PARTITION'],
      [{ op: 'pub', id: 'a24', topic: 'nope', value: 1 }, 'UNKNOWN_TOPIC_OR_PARTITION'],
      [{ op: 'pub', id: 'a25', topic: 'tiny', value: 'x'.repeat(500) }, 'MESSAGE_TOO_LARGE'],
      [{ op: 'commit', id: 'a26', group: 'g', offsets: [] }, 'INVALID_REQUEST'],
      [{ op: 'commit', id: 'a27', group: 'g', offsets: [{ topic: 'good', partition: 0, offset: '1' }] }, 'INVALID_REQUEST'],
      [{ op: 'sub', id: '', topic: 'good' }, 'INVALID_REQUEST'],
    ]
    for (const [frame, code] of cases) {
      const err = await errFor(c, JSON.stringify(frame))
      assert.equal(err.code, code, JSON.stringify(frame))
      if (typeof frame.id === 'string' && frame.id !== '') assert.equal(err.id, frame.id, JSON.stringify(frame))
    }
    // An id that is not a usable string cannot be echoed; the err comes without one.
    for (const id of [5, null, 'x'.repeat(200)]) {
      const err = await errFor(c, JSON.stringify({ op: 'sub', id, topic: 'good' }))
      assert.equal(err.code, 'INVALID_REQUEST')
      assert.equal(err.id, undefined)
    }
    await assertStillServes(c, 'after-types')
  })

  test('unknown topic, bad partition, invalid name, duplicate partitions: err with the sub id', async () => {
    const c = await client()
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ op: 'sub', id: 'b1', topic: 'nope' }, 'UNKNOWN_TOPIC_OR_PARTITION'],
      [{ op: 'sub', id: 'b2', topic: 'good', partitions: [2] }, 'UNKNOWN_TOPIC_OR_PARTITION'],
      [{ op: 'sub', id: 'b3', topic: '../etc', from: 'earliest' }, 'UNKNOWN_TOPIC_OR_PARTITION'],
      [{ op: 'sub', id: 'b4', topic: 'good', partitions: [0, 0] }, 'INVALID_REQUEST'],
      [{ op: 'sub', id: 'b5', topic: 'good', partitions: [1], from: { offsets: { '0': 1 } } }, 'INVALID_REQUEST'],
      [{ op: 'sub', id: 'b6', topic: 'good', from: { offsets: { '7': 0 } } }, 'UNKNOWN_TOPIC_OR_PARTITION'],
    ]
    for (const [frame, code] of cases) {
      const err = await errFor(c, JSON.stringify(frame))
      assert.deepEqual({ id: err.id, code: err.code }, { id: frame.id, code }, JSON.stringify(frame))
    }
    await assertStillServes(c, 'after-topics')
  })

  test('a duplicate subscription id and too many subscriptions: err, the existing ones keep delivering', async () => {
    const c = await client()
    assert.equal((await c.call({ op: 'sub', id: 'x1', topic: 'good', from: 'earliest' })).op, 'ok')
    const dup = await c.call({ op: 'sub', id: 'x1', topic: 'good' })
    assert.deepEqual({ id: dup.id, code: dup.code }, { id: 'x1', code: 'INVALID_REQUEST' })
    assert.equal((await c.call({ op: 'sub', id: 'x2', topic: 'good' })).op, 'ok')
    assert.equal((await c.call({ op: 'sub', id: 'x3', topic: 'good' })).op, 'ok')
    const fourth = await c.call({ op: 'sub', id: 'x4', topic: 'good' })
    assert.deepEqual({ id: fourth.id, code: fourth.code }, { id: 'x4', code: 'TOO_MANY_SUBSCRIPTIONS' })
    await produceMany(server.url, 'good', 2, { from: 3 })
    const got = await c.waitRecords('x1', 5)
    assert.equal(got.length, 5, 'the duplicate did not deliver twice')
    await c.waitRecords('x3', 2)
    // Room again after an unsub.
    await c.call({ op: 'unsub', id: 'x2' })
    assert.equal((await c.call({ op: 'sub', id: 'x4', topic: 'good' })).op, 'ok')
  })

  test('sub/unsub churn beyond the rate limit is throttled, then allowed again', async () => {
    const c = await client()
    const from = c.frames.length
    for (let i = 0; i < 400; i++) c.send({ op: 'unsub', id: `n${i}` })
    await c.next((f) => f.id === 'n399', 15_000, from)
    const answers = c.frames.slice(from).filter((f) => f.op === 'err')
    const throttled = answers.filter((f) => f.code === 'THROTTLED').length
    assert.ok(throttled > 0, 'some churn was throttled')
    assert.ok(answers.length - throttled >= 200, 'the burst was allowed')
    await new Promise((r) => setTimeout(r, 1500))
    await assertStillServes(c, 'after-churn')
  })

  test('a frame over --ws-max-frame-bytes closes that socket with 1009; other sockets and the server carry on', async () => {
    const bystander = await client()
    await bystander.call({ op: 'sub', id: 'by', topic: 'good', from: 'earliest' })
    const before = (await bystander.waitRecords('by', 3)).length
    const c = await client()
    c.send(JSON.stringify({ op: 'pub', id: 'big', topic: 'good', value: 'y'.repeat(10_000) }))
    const closed = await c.waitClose()
    assert.equal(closed.code, 1009)
    const c2 = await client()
    await assertStillServes(c2, 'after-oversize')
    await produceMany(server.url, 'good', 1, { from: 100 })
    await bystander.waitRecords('by', before + 1)
    assert.equal(bystander.closed, undefined)
  })
})
