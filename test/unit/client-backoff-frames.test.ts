// The client's small pure parts: reconnect backoff (exponential, full jitter, capped, reset)
// and the reading of server frames (every shape of the protocol, and what is not one).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Backoff } from '../../src/client/backoff.ts'
import { parseServerFrame } from '../../src/client/frames.ts'
import { webSocketUrl } from '../../src/client/index.ts'

describe('backoff', () => {
  test('the ceiling doubles from baseMs up to maxMs, and the delay is uniform below it', () => {
    const top = new Backoff({ baseMs: 100, maxMs: 1000, random: () => 0.999999 })
    const ceilings = Array.from({ length: 8 }, () => top.next())
    assert.deepEqual(ceilings, [99, 199, 399, 799, 999, 999, 999, 999])
    const bottom = new Backoff({ baseMs: 100, maxMs: 1000, random: () => 0 })
    assert.deepEqual(Array.from({ length: 4 }, () => bottom.next()), [0, 0, 0, 0], 'full jitter reaches 0')
  })

  test('reset starts again from the smallest ceiling', () => {
    const b = new Backoff({ baseMs: 50, maxMs: 5000, random: () => 0.5 })
    b.next()
    b.next()
    b.next()
    assert.equal(b.attempt, 3)
    b.reset()
    assert.equal(b.next(), 25)
  })

  test('thousands of failures never overflow the cap', () => {
    const b = new Backoff({ baseMs: 100, maxMs: 10_000, random: () => 0.5 })
    let last = 0
    for (let i = 0; i < 5000; i++) last = b.next()
    assert.equal(last, 5000)
  })

  test('bad settings and a bad random source are refused', () => {
    assert.throws(() => new Backoff({ baseMs: 0 }), RangeError)
    assert.throws(() => new Backoff({ baseMs: 100, maxMs: 10 }), RangeError)
    assert.throws(() => new Backoff({ random: () => 1 }).next(), RangeError)
    assert.throws(() => new Backoff({ random: () => Number.NaN }).next(), RangeError)
  })
})

describe('server frames', () => {
  test('every frame of the protocol is read', () => {
    const frames = [
      { op: 'ok', id: 's1', offsets: { '0': 12, '1': 40 } },
      { op: 'ok', id: 'c1' },
      { op: 'msg', sub: 's1', topic: 't', partition: 2, offset: 17, key: 'k', value: { a: 1 }, headers: {}, timestamp: 1 },
      { op: 'msgs', sub: 's1', topic: 't', partition: 2, records: [{ offset: 17, key: null, value: null, headers: { h: { base64: 'AA==' } }, timestamp: 0 }] },
      { op: 'ack', id: 'p1', partition: 2, offset: 17 },
      { op: 'ack', id: 'p2', offsets: [{ partition: 0, offset: null }], duplicate: true },
      { op: 'err', id: 'p1', code: 'MESSAGE_TOO_LARGE', message: 'm' },
      { op: 'err', code: 'INVALID_REQUEST', message: 'no id' },
      { op: 'gap', sub: 's1', partition: 2, from: 0, to: 100 },
    ]
    for (const frame of frames) {
      const parsed = parseServerFrame(JSON.stringify(frame))
      assert.equal(parsed.kind, 'frame', JSON.stringify(frame))
    }
  })

  test("a newer server's fields and ops pass without breaking anything", () => {
    const extra = parseServerFrame(JSON.stringify({ op: 'ok', id: 's1', offsets: { '0': 1 }, leaderEpoch: 4 }))
    assert.equal(extra.kind, 'frame')
    assert.deepEqual(parseServerFrame('{"op":"pong"}'), { kind: 'unknown', op: 'pong' })
  })

  test('what is not a frame is invalid, with the reason', () => {
    const bad = [
      'not json',
      '[]',
      'null',
      '{"no":"op"}',
      '{"op":"msg","sub":"s1","topic":"t","partition":-1,"offset":0,"key":null,"value":1,"headers":{},"timestamp":0}',
      '{"op":"msg","sub":"s1","topic":"t","partition":0,"offset":1.5,"key":null,"value":1,"headers":{},"timestamp":0}',
      '{"op":"gap","sub":"s1","partition":0,"from":"0","to":5}',
      '{"op":"ok","id":"s1","offsets":{"zero":1}}',
      '{"op":"ack","id":"p1","offsets":[{"partition":0}]}',
      '{"op":"err","id":"p1","code":"","message":"m"}',
    ]
    for (const text of bad) {
      const parsed = parseServerFrame(text)
      assert.equal(parsed.kind, 'invalid', text)
    }
  })
})

describe('urls', () => {
  test('the WebSocket URL follows the HTTP one', () => {
    assert.equal(webSocketUrl('http://127.0.0.1:8080'), 'ws://127.0.0.1:8080/v1/ws')
    assert.equal(webSocketUrl('https://edge.example.com/base/?x=1'), 'wss://edge.example.com/base/v1/ws')
  })
})
