// The fan-out core in-process, on the runtime-agnostic path (no native publish: the hub loops
// over member sockets), with sockets whose send buffer the test controls.
import { afterEach, beforeEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { bunStorage } from '../../storage/bun-sqlite.ts'
import { Broker } from '../../src/broker/broker.ts'
import { MAX_HW_LISTENERS } from '../../src/broker/partition.ts'
import { systemRuntime } from '../../src/core/clock.ts'
import { FanoutHub } from '../../src/fanout/hub.ts'
import type { WsSession } from '../../src/fanout/session.ts'
import type { FanoutSocket } from '../../src/fanout/socket.ts'
import { removeDir, tempDir } from '../helpers/server.ts'

const enc = new TextEncoder()

/** A socket that keeps what it was sent; `reading: false` makes its buffer grow like a stalled peer's. */
class FakeSocket implements FanoutSocket {
  sent: string[] = []
  closed: { code: number; reason: string } | undefined
  reading = true
  private queued = 0
  send(text: string): void {
    assert.equal(this.closed, undefined, 'nothing is sent after close')
    this.sent.push(text)
    if (!this.reading) this.queued += text.length
  }
  bufferedAmount(): number {
    return this.queued
  }
  close(code: number, reason: string): void {
    this.closed = { code, reason }
  }
  frames(): any[] {
    return this.sent.map((t) => JSON.parse(t))
  }
  records(sub: string): Array<{ partition: number; offset: number; value: unknown }> {
    const out = []
    for (const f of this.frames()) {
      if (f.sub !== sub) continue
      if (f.op === 'msg') out.push(f)
      if (f.op === 'msgs') for (const r of f.records) out.push({ ...r, partition: f.partition })
    }
    return out
  }
}

let dir: string
let broker: Broker
let hub: FanoutHub

function open(socket: FakeSocket): WsSession {
  const admitted = hub.admit(new Request('http://127.0.0.1/v1/ws'), 'ws')
  assert.ok('slot' in admitted)
  return hub.openSession(socket, admitted.slot)
}

const tick = () => new Promise((r) => setTimeout(r, 5))
async function until(pred: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await tick()
  }
}

async function produce(topic: string, n: number, partition = 0, from = 0, pad = 0): Promise<void> {
  const value = (i: number) => enc.encode(JSON.stringify(pad ? { i, pad: 'p'.repeat(pad) } : i))
  await broker.produce(topic, Array.from({ length: n }, (_, i) => ({ key: null, value: value(from + i), timestamp: 1, partition })), '1')
}

describe('fan-out hub (no native publish)', () => {
  beforeEach(() => {
    dir = tempDir()
    broker = Broker.open(bunStorage(dir, 'off'), systemRuntime())
    hub = new FanoutHub(broker, { limits: { maxBufferedBytes: 64 * 1024, slowConsumerCheckMs: 10 }, logError: () => {} })
    broker.createTopic({ name: 't', partitions: 2 })
  })
  afterEach(() => {
    hub.shutdown()
    broker.close()
    removeDir(dir)
  })

  test('a live range is rendered once: every member socket gets the very same string', async () => {
    const sockets = Array.from({ length: 5 }, () => new FakeSocket())
    const sessions = sockets.map(open)
    sessions.forEach((s) => s.onFrame(JSON.stringify({ op: 'sub', id: 's1', topic: 't', partitions: [0] })))
    await produce('t', 3)
    await until(() => sockets.every((s) => s.records('s1').length === 3))
    const live = sockets.map((s) => s.sent.at(-1)!)
    for (const text of live) assert.ok(Object.is(text, live[0]), 'one string object for all')
    assert.deepEqual(JSON.parse(live[0]!).records.map((r: any) => r.value), [0, 1, 2])
  })

  test('a socket that stops reading is closed with 4001; the others get every record', async () => {
    const stalled = new FakeSocket()
    const healthy = new FakeSocket()
    for (const s of [stalled, healthy]) open(s).onFrame(JSON.stringify({ op: 'sub', id: 'a', topic: 't', partitions: [0] }))
    stalled.reading = false
    for (let i = 0; i < 40; i++) {
      await broker.produce('t', [{ key: null, value: enc.encode(JSON.stringify('x'.repeat(4000))), timestamp: 1, partition: 0 }], '1')
      await tick()
    }
    await until(() => healthy.records('a').length === 40)
    assert.equal(stalled.closed?.code, 4001)
    assert.match(stalled.closed!.reason, /slow consumer/)
    assert.equal(healthy.closed, undefined)
    assert.match(broker.metrics.render(), /edgelog_slow_consumer_disconnects_total\{transport="ws"\} 1/)
  })

  test('catch-up pauses at half the buffer limit and resumes on drain, never closing a reader that reads', async () => {
    for (let i = 0; i < 50; i++) await broker.produce('t', [{ key: null, value: enc.encode(JSON.stringify('y'.repeat(3000))), timestamp: 1, partition: 0 }], '1')
    const socket = new FakeSocket()
    socket.reading = false // buffer grows until the session waits for a drain
    const session = open(socket)
    session.onFrame(JSON.stringify({ op: 'sub', id: 'c', topic: 't', partitions: [0], from: 'earliest' }))
    await until(() => socket.records('c').length > 0)
    await new Promise((r) => setTimeout(r, 100))
    const paused = socket.records('c').length
    assert.ok(paused < 50, `catch-up paused (${paused} of 50 sent)`)
    assert.equal(socket.closed, undefined)
    socket.reading = true
    ;(socket as any).queued = 0
    session.onDrain()
    await until(() => socket.records('c').length === 50)
    assert.deepEqual(socket.records('c').map((r) => r.offset), Array.from({ length: 50 }, (_, i) => i))
  })

  test('retention that passes a cursor during its catch-up produces a gap, then continues at the log start', async () => {
    for (let i = 0; i < 20; i++) await produce('t', 10, 0, i * 10, 3000) // 30 KB batches: catch-up pauses after a few
    const socket = new FakeSocket()
    socket.reading = false
    const session = open(socket)
    session.onFrame(JSON.stringify({ op: 'sub', id: 'r', topic: 't', partitions: [0], from: 'earliest' }))
    await until(() => socket.records('r').length > 0)
    const before = socket.records('r')
    const next = before.at(-1)!.offset + 1
    broker.partition('t', 0).log.advanceLogStart(150)
    ;(socket as any).queued = 0
    socket.reading = true
    session.onDrain()
    await until(() => socket.frames().some((f) => f.op === 'gap'))
    await until(() => socket.records('r').at(-1)?.offset === 199)
    assert.deepEqual(socket.frames().find((f) => f.op === 'gap'), { op: 'gap', sub: 'r', partition: 0, from: next, to: 150 })
    const after = socket.records('r').slice(before.length)
    assert.deepEqual(after.map((r) => r.offset), Array.from({ length: 50 }, (_, i) => 150 + i))
  })

  test('a subscription from an offset above what has been fanned out waits, then delivers from there', async () => {
    await produce('t', 5)
    const socket = new FakeSocket()
    open(socket).onFrame(JSON.stringify({ op: 'sub', id: 'w', topic: 't', partitions: [0], from: { offsets: { '0': 5 } } }))
    await produce('t', 5, 0, 5)
    await until(() => socket.records('w').length === 5)
    assert.deepEqual(socket.records('w').map((r) => r.offset), [5, 6, 7, 8, 9])
  })

  test('a log start that passes what the live fan-out sent is a gap for live cursors, never silence (an edge cache starting over)', async () => {
    const socket = new FakeSocket()
    const session = open(socket)
    session.onFrame(JSON.stringify({ op: 'sub', id: 's', topic: 't', partitions: [0], from: 'latest' }))
    await until(() => socket.frames().some((f) => f.op === 'ok'))
    await produce('t', 3)
    await until(() => socket.records('s').length === 3)
    // The log starts again further on (PartitionLog.truncateFullyAndStartAt, as the relay cache does after an upstream gap).
    const p = broker.partition('t', 0)
    p.log.truncateFullyAndStartAt(10)
    p.setHighWatermark(10)
    await until(() => socket.frames().some((f) => f.op === 'gap'))
    assert.deepEqual(socket.frames().find((f) => f.op === 'gap'), { op: 'gap', sub: 's', partition: 0, from: 3, to: 10 })
    await produce('t', 2)
    await until(() => socket.records('s').length === 5)
    assert.deepEqual(socket.records('s').map((r) => r.offset), [0, 1, 2, 10, 11])
  })

  test('a node that drains closes sessions with 1001 and refuses new ones', async () => {
    const socket = new FakeSocket()
    open(socket)
    hub.shutdown()
    assert.deepEqual(socket.closed, { code: 1001, reason: 'shutting down' })
    const refused = hub.admit(new Request('http://127.0.0.1/v1/ws'), 'ws')
    assert.ok('response' in refused && refused.response.status === 503)
  })

  test('connection slots: admitted and released exactly once', async () => {
    const small = new FanoutHub(broker, { limits: { maxConnections: 2 } })
    const a = small.admit(new Request('http://x/v1/ws'), 'ws')
    const b = small.admit(new Request('http://x/v1/ws'), 'sse')
    const c = small.admit(new Request('http://x/v1/ws'), 'ws')
    assert.ok('slot' in a && 'slot' in b && 'response' in c)
    assert.equal(c.response.status, 429)
    a.slot.release()
    a.slot.release()
    const d = small.admit(new Request('http://x/v1/ws'), 'ws')
    const e = small.admit(new Request('http://x/v1/ws'), 'ws')
    assert.ok('slot' in d && 'response' in e, 'a double release does not free two slots')
  })
})

describe('partition high watermark listeners', () => {
  test('bounded, told about moves and about the partition going away', async () => {
    const d = tempDir()
    const b = Broker.open(bunStorage(d, 'off'), systemRuntime())
    try {
      b.createTopic({ name: 'l', partitions: 1 })
      const p = b.partition('l', 0)
      const seen: string[] = []
      const remove = p.listen({ onHighWatermark: (_p, hw) => seen.push(`hw ${hw}`), onClose: () => seen.push('close') })
      const others = Array.from({ length: MAX_HW_LISTENERS - 1 }, () => p.listen({ onHighWatermark() {}, onClose() {} }))
      assert.throws(() => p.listen({ onHighWatermark() {}, onClose() {} }), /more than/)
      others.forEach((r) => r())
      await b.produce('l', [{ key: null, value: enc.encode('1'), timestamp: 1 }], '1')
      b.deleteTopic('l')
      assert.deepEqual(seen, ['hw 1', 'close'])
      remove()
    } finally {
      b.close()
      removeDir(d)
    }
  })
})
