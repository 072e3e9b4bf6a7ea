// The subscription's bookkeeping, frame by frame, against a scripted socket: what it asks for
// on every (re)subscribe, what it drops as a duplicate, how it passes on gaps and errors, and
// how a slow handler stops the feed instead of growing a queue. The behaviour against a real
// server (restarts, retention) is in test/integration/client-ws.test.ts.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { EdgelogClient, type ConsumedRecord, type Gap, type SubscriptionStatus } from '../../src/client/index.ts'
import type { EdgelogError } from '../../src/client/errors.ts'

/** A WebSocket whose server side is the test: it reads what the client sent and answers. */
class ScriptedSocket {
  static all: ScriptedSocket[] = []
  readyState = 0
  bufferedAmount = 0
  sent: any[] = []
  onopen: ((e: unknown) => void) | null = null
  onmessage: ((e: { data: unknown }) => void) | null = null
  onclose: ((e: { code: number; reason: string }) => void) | null = null
  onerror: ((e: unknown) => void) | null = null
  closedByClient = false

  constructor(readonly url: string) {
    ScriptedSocket.all.push(this)
  }
  send(text: string) {
    this.sent.push(JSON.parse(text))
  }
  close() {
    this.closedByClient = true
    this.readyState = 3
  }
  open() {
    this.readyState = 1
    this.onopen?.({})
  }
  frame(frame: unknown) {
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) })
  }
  drop(code = 1006, reason = '') {
    this.readyState = 3
    this.onclose?.({ code, reason })
  }
  last(op: string) {
    return [...this.sent].reverse().find((f) => f.op === op)
  }
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms))

async function until(what: string, condition: () => boolean, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await tick(2)
  }
}

function setup() {
  ScriptedSocket.all = []
  const client = new EdgelogClient({
    url: 'http://node.test:1',
    WebSocket: ScriptedSocket as never,
    reconnect: { baseMs: 1, maxMs: 2, random: () => 0 },
  })
  const records: ConsumedRecord[] = []
  const gaps: Gap[] = []
  const errors: EdgelogError[] = []
  const statuses: SubscriptionStatus[] = []
  const socket = (i: number) => ScriptedSocket.all[i]!
  return { client, records, gaps, errors, statuses, socket }
}

const rec = (offset: number, value: unknown = offset) => ({ offset, key: null, value, headers: {}, timestamp: 0 })

describe('subscription', () => {
  test('resubscribes after a drop from the offset after the last record, and drops overlap', async () => {
    const { client, records, errors, statuses, socket } = setup()
    const sub = client.subscribe('t', { from: 'latest', onError: (e) => errors.push(e), onStatus: (s) => statuses.push(s) }, (r) => {
      records.push(r)
    })
    await until('a socket', () => ScriptedSocket.all.length === 1)
    socket(0).open()
    const first = socket(0).last('sub')
    assert.deepEqual({ ...first, id: undefined }, { op: 'sub', id: undefined, topic: 't', from: 'latest' }, 'the first sub is the caller’s request')
    socket(0).frame({ op: 'ok', id: first.id, offsets: { '0': 10, '1': 3 } })
    assert.equal(sub.status, 'live')
    socket(0).frame({ op: 'msgs', sub: first.id, topic: 't', partition: 0, records: [rec(10), rec(11)] })
    socket(0).frame({ op: 'msg', sub: first.id, topic: 't', partition: 0, ...rec(12) })
    assert.deepEqual(sub.positions(), { 0: 13, 1: 3 })

    socket(0).drop()
    assert.equal(sub.status, 'reconnecting')
    await until('a second socket', () => ScriptedSocket.all.length === 2)
    socket(1).open()
    const second = socket(1).last('sub')
    assert.notEqual(second.id, first.id, 'a resubscribe uses a fresh id, so late frames of the old one cannot mix in')
    assert.deepEqual(second.partitions, [0, 1])
    assert.deepEqual(second.from, { offsets: { '0': 13, '1': 3 } }, 'partition 1 resumes at its resolved start though it delivered nothing')
    // Frames of the old subscription id are ignored; overlap below the position is dropped.
    socket(1).frame({ op: 'msg', sub: first.id, topic: 't', partition: 0, ...rec(13, 'stale') })
    socket(1).frame({ op: 'ok', id: second.id })
    socket(1).frame({ op: 'msgs', sub: second.id, topic: 't', partition: 0, records: [rec(12), rec(13), rec(14)] })
    socket(1).frame({ op: 'msg', sub: second.id, topic: 't', partition: 1, ...rec(3) })
    await tick()
    assert.deepEqual(
      records.map((r) => `${r.partition}@${r.offset}`),
      ['0@10', '0@11', '0@12', '0@13', '0@14', '1@3'],
    )
    assert.ok(records.every((r) => r.value !== 'stale'))
    assert.ok(errors.some((e) => e.code === 'NETWORK_EXCEPTION'), 'the drop was reported')
    assert.deepEqual(statuses, ['subscribing', 'live', 'reconnecting', 'subscribing', 'live'])
    sub.close()
    await sub.done
    assert.equal(socket(1).last('unsub').id, second.id)
    client.close()
  })

  test('a gap is reported once, as [from, to), and delivery continues at to', async () => {
    const { client, records, gaps, socket } = setup()
    client.subscribe('t', { from: { offsets: { 0: 5 } }, onGap: (g) => gaps.push(g) }, (r) => {
      records.push(r)
    })
    await until('a socket', () => ScriptedSocket.all.length === 1)
    socket(0).open()
    const sub = socket(0).last('sub')
    assert.deepEqual(sub.from, { offsets: { '0': 5 } })
    socket(0).frame({ op: 'ok', id: sub.id, offsets: { '0': 5 } })
    socket(0).frame({ op: 'gap', sub: sub.id, partition: 0, from: 5, to: 100 })
    socket(0).frame({ op: 'gap', sub: sub.id, partition: 0, from: 5, to: 100 })
    socket(0).frame({ op: 'msg', sub: sub.id, topic: 't', partition: 0, ...rec(100) })
    await tick()
    assert.deepEqual(gaps, [{ topic: 't', partition: 0, from: 5, to: 100 }])
    assert.deepEqual(records.map((r) => r.offset), [100])
    client.close()
  })

  test('a refused subscribe ends the subscription with the server’s code; a throttled one retries', async () => {
    const { client, socket } = setup()
    const errors: string[] = []
    const refused = client.subscribe('nope', { onError: (e) => errors.push(e.code) }, () => {})
    const throttled = client.subscribe('t', { onError: (e) => errors.push(e.code) }, () => {})
    await until('a socket', () => ScriptedSocket.all.length === 1)
    socket(0).open()
    const subs = socket(0).sent.filter((f) => f.op === 'sub')
    assert.equal(subs.length, 2)
    socket(0).frame({ op: 'err', id: subs[0].id, code: 'UNKNOWN_TOPIC_OR_PARTITION', message: 'no such topic' })
    await assert.rejects(refused.done, (e: EdgelogError) => e.code === 'UNKNOWN_TOPIC_OR_PARTITION')
    assert.equal(refused.status, 'closed')
    socket(0).frame({ op: 'err', id: subs[1].id, code: 'THROTTLED', message: 'slow down' })
    await until('a retried sub', () => socket(0).sent.filter((f) => f.op === 'sub').length === 3)
    const retry = socket(0).last('sub')
    assert.notEqual(retry.id, subs[1].id)
    socket(0).frame({ op: 'ok', id: retry.id, offsets: { '0': 0 } })
    assert.equal(throttled.status, 'live')
    assert.deepEqual(errors, ['UNKNOWN_TOPIC_OR_PARTITION', 'THROTTLED'])
    client.close()
  })

  test('an unreadable frame drops the socket and the subscription resumes without loss', async () => {
    const { client, records, errors, socket } = setup()
    client.subscribe('t', { from: 'earliest', onError: (e) => errors.push(e) }, (r) => {
      records.push(r)
    })
    await until('a socket', () => ScriptedSocket.all.length === 1)
    socket(0).open()
    const first = socket(0).last('sub')
    socket(0).frame({ op: 'ok', id: first.id, offsets: { '0': 0 } })
    socket(0).frame({ op: 'msg', sub: first.id, topic: 't', partition: 0, ...rec(0) })
    socket(0).frame({ op: 'msg', sub: first.id, topic: 't', partition: 0, offset: 'one' })
    assert.ok(socket(0).closedByClient, 'the client closed the socket it could not read')
    await until('a second socket', () => ScriptedSocket.all.length === 2)
    socket(1).open()
    assert.deepEqual(socket(1).last('sub').from, { offsets: { '0': 1 } })
    assert.ok(errors.some((e) => e.code === 'INVALID_RESPONSE'))
    client.close()
  })

  test('a slow async handler stops the feed at maxQueuedRecords and resumes exactly after it', async () => {
    const { client, socket } = setup()
    const handled: number[] = []
    let release!: () => void
    let gate = new Promise<void>((r) => (release = r))
    const sub = client.subscribe('t', { maxQueuedRecords: 4 }, async (r) => {
      await gate
      handled.push(r.offset)
    })
    await until('a socket', () => ScriptedSocket.all.length === 1)
    socket(0).open()
    const first = socket(0).last('sub')
    socket(0).frame({ op: 'ok', id: first.id, offsets: { '0': 0 } })
    // Ten records arrive while the handler is stuck on the first.
    socket(0).frame({ op: 'msgs', sub: first.id, topic: 't', partition: 0, records: Array.from({ length: 10 }, (_, i) => rec(i)) })
    const unsub = socket(0).last('unsub')
    assert.equal(unsub?.id, first.id, 'the feed was stopped')
    assert.ok(sub.queued <= 4, `the queue stayed bounded (${sub.queued})`)
    const accepted = sub.positions()[0]!
    assert.ok(accepted <= 5, `records past the bound were not accepted (${accepted})`)
    // The server's frames until it processes the unsub are ignored.
    socket(0).frame({ op: 'msg', sub: first.id, topic: 't', partition: 0, ...rec(10) })
    release()
    gate = Promise.resolve()
    // The server side from here: answer every resubscribe with the records from its offset.
    let answered = 1
    await until('all handled', () => {
      const subs = socket(0).sent.filter((f) => f.op === 'sub')
      while (answered < subs.length) {
        const next = subs[answered++]
        const from = next.from.offsets['0']
        assert.equal(from, handled.length + sub.queued, 'each resubscribe starts right after the last accepted record')
        socket(0).frame({ op: 'ok', id: next.id })
        socket(0).frame({ op: 'msgs', sub: next.id, topic: 't', partition: 0, records: Array.from({ length: 12 - from }, (_, i) => rec(from + i)) })
      }
      return handled.length === 12
    })
    assert.deepEqual(handled, Array.from({ length: 12 }, (_, i) => i), 'every record once, in order')
    client.close()
  })

  test('a throwing handler is reported and delivery goes on', async () => {
    const { client, records, errors, socket } = setup()
    client.subscribe('t', { onError: (e) => errors.push(e) }, (r) => {
      if (r.offset === 1) throw new Error('boom')
      records.push(r)
    })
    await until('a socket', () => ScriptedSocket.all.length === 1)
    socket(0).open()
    const id = socket(0).last('sub').id
    socket(0).frame({ op: 'ok', id, offsets: { '0': 0 } })
    socket(0).frame({ op: 'msgs', sub: id, topic: 't', partition: 0, records: [rec(0), rec(1), rec(2)] })
    await tick()
    assert.deepEqual(records.map((r) => r.offset), [0, 2])
    assert.equal(errors[0]?.code, 'HANDLER_ERROR')
    client.close()
  })

  test('an abort signal closes the subscription', async () => {
    const { client, socket } = setup()
    const controller = new AbortController()
    const sub = client.subscribe('t', { signal: controller.signal }, () => {})
    await until('a socket', () => ScriptedSocket.all.length === 1)
    socket(0).open()
    controller.abort()
    await sub.done
    assert.equal(sub.status, 'closed')
    client.close()
  })
})
