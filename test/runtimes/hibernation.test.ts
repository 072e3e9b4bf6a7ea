// The Durable Object hibernates with its subscribers connected, and wakes with them: real
// workerd (Miniflare), real evictions. workerd evicts an object that has only hibernatable
// sockets and nothing else to do after about 10 s (measured: still in memory at 8 s, evicted by
// 11 s); the tests wait EVICTION_WAIT_MS without sending anything, then prove the eviction
// happened from the node's start time (`edgelog_node_start_time_seconds`, one per instance).
// Three quiet periods in all, so the file takes about 55 s.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Miniflare } from 'miniflare'
import { bundleWorker } from '../../edge/cloudflare/bundle.ts'
import { encodeAttachment } from '../../edge/cloudflare/hibernation.ts'
import { startMiniflare } from '../../edge/cloudflare/miniflare.ts'
import { EdgelogClient } from '../../src/client/index.ts'
import { assertContiguous, postJson, produceMany, WsClient } from '../helpers/ws.ts'

/** workerd evicts after ~10 s of quiet; a wide margin for a loaded machine. */
const EVICTION_WAIT_MS = 16_000
const CLEANER_INTERVAL_MS = 1_000

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function metrics(base: string): Promise<string> {
  const res = await fetch(`${base}/metrics`)
  assert.equal(res.status, 200)
  return res.text()
}

function metric(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}} ` : `${name} `))
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1))
}

async function startTime(base: string): Promise<number> {
  const v = metric(await metrics(base), 'edgelog_node_start_time_seconds')
  assert.ok(v !== undefined && v > 0, 'the node reports its start time')
  return v
}

async function createTopic(base: string, name: string, partitions: number, config?: Record<string, string>) {
  const r = await postJson(`${base}/v1/topics`, { name, partitions, ...(config ? { config } : {}) })
  assert.equal(r.status, 201, JSON.stringify(r.body))
}

async function describeTopic(base: string, name: string): Promise<any> {
  const res = await fetch(`${base}/v1/topics/${name}`)
  assert.equal(res.status, 200)
  return res.json()
}

async function plant(base: string, match: string, value: string | null): Promise<void> {
  const q = new URLSearchParams({ match, ...(value === null ? {} : { value }) })
  const res = await fetch(`${base}/__test/attachment?${q}`)
  assert.deepEqual(await res.json(), { replaced: 1 }, `one socket's attachment contains ${match}`)
}

/** Records of two partitions, produced with explicit partitions so each gets `n`. */
async function produceTo(base: string, topic: string, perPartition: number, from: number): Promise<void> {
  const records = []
  for (let i = 0; i < perPartition; i++) for (const partition of [0, 1]) records.push({ partition, value: { i: from + i, partition } })
  const r = await postJson(`${base}/v1/topics/${topic}/records`, { records })
  assert.equal(r.status, 200, JSON.stringify(r.body))
}

describe('Cloudflare Durable Object hibernation (workerd via Miniflare)', () => {
  const work = mkdtempSync(join(tmpdir(), 'edgelog-hibernation-'))
  let mf: Miniflare
  let base: string
  const sockets: WsClient[] = []
  const open = async () => {
    const ws = await WsClient.open(base)
    sockets.push(ws)
    return ws
  }
  // Shared between the cases of the first quiet period.
  let startBefore = 0
  let startAfter = 0
  let a: WsClient
  let b: WsClient
  let group: WsClient
  let unreadable: WsClient
  let beyond: WsClient
  let client: EdgelogClient
  const resumed: Array<{ partition: number; offset: number }> = []

  before(async () => {
    const script = join(work, 'worker.js')
    await bundleWorker(join(import.meta.dirname, 'hibernation.worker.ts'), script)
    ;({ mf } = await startMiniflare({
      scriptPath: script,
      durableObjects: { EDGELOG_NODE: 'TestEdgelogNode' },
      bindings: { EDGELOG_CLEANER_INTERVAL_MS: String(CLEANER_INTERVAL_MS) },
    }).then(async (r) => ({ mf: r.mf, url: (base = r.url.origin) })))

    // Everything the first quiet period needs, then nothing at all until it is over.
    await createTopic(base, 'live', 2)
    await createTopic(base, 'resume', 2)
    await createTopic(base, 'plant', 1)
    await createTopic(base, 'short', 1, { 'retention.ms': '500' })
    await produceTo(base, 'live', 3, 0)
    await produceTo(base, 'resume', 3, 0)
    await produceMany(base, 'short', 5, { perRequest: 5 })

    a = await open()
    assert.equal((await a.call({ op: 'sub', id: 'a', topic: 'live', from: 'earliest' })).op, 'ok')
    await a.waitRecords('a', 6)
    b = await open()
    group = await open()
    assert.equal((await group.call({ op: 'sub', id: 'c1', topic: 'plant' })).op, 'ok')
    unreadable = await open()
    assert.equal((await unreadable.call({ op: 'sub', id: 'd1', topic: 'plant' })).op, 'ok')
    beyond = await open()
    assert.equal((await beyond.call({ op: 'sub', id: 'e1', topic: 'plant' })).op, 'ok')
    client = new EdgelogClient({ url: base, reconnect: { baseMs: 50, maxMs: 500 } })
    client.subscribe('resume', { from: 'earliest' }, (r) => void resumed.push({ partition: r.partition, offset: r.offset }))
    const deadline = Date.now() + 15_000
    while (resumed.length < 6 && Date.now() < deadline) await sleep(20)
    assert.equal(resumed.length, 6, 'the client library subscription caught up')

    // What cannot arise by itself before an eviction (hibernation.worker.ts): a socket holding a
    // consumer-group membership, and a socket whose attachment cannot be read.
    await plant(base, '"i":"c1"', encodeAttachment([{ id: 'g1', topic: 'plant', group: 'hibernating' }]))
    await plant(base, '"i":"d1"', 'not json {')
    // The client library's socket: no attachment at all.
    await plant(base, '"t":"resume"', null)
    // b (no subscriptions yet): a subscription to a topic that is gone by the wake-up (the same
    // name with another topic id: deleted and created again), and one still catching up (on
    // workerd a cursor never pauses, so an idle object's cursors are live: planted here to
    // restore a catch-up position for real).
    const liveTopicId = (await describeTopic(base, 'live')).topicId
    assert.match(liveTopicId, /^[0-9a-f]{16}$/)
    // A position beyond the log end: the log is not the one the socket was reading.
    await plant(base, '"i":"e1"', encodeAttachment([{ id: 'far', topic: 'live', topicId: liveTopicId, cursors: [{ partition: 0, next: 1000, live: false }] }]))
    await plant(
      base,
      '"s":[]',
      encodeAttachment([
        { id: 'ghost', topic: 'plant', topicId: '0000000000000000', cursors: [{ partition: 0, next: 0, live: true }] },
        { id: 'mid', topic: 'live', topicId: liveTopicId, cursors: [{ partition: 0, next: 1, live: false }] },
      ]),
    )

    const short = await describeTopic(base, 'short')
    assert.equal(short.partitions[0].logStartOffset, 0, 'the retention topic holds its records before the quiet period')
    assert.equal(short.partitions[0].logEndOffset, 5)
    const m = await metrics(base)
    startBefore = metric(m, 'edgelog_node_start_time_seconds')!
    assert.equal(metric(m, 'edgelog_ws_connections'), 6)

    await sleep(EVICTION_WAIT_MS) // no request, no frame: the object is evicted
    // The first event after the quiet period: a produce. It wakes the object.
    await produceTo(base, 'live', 2, 3)
    startAfter = await startTime(base)
  })

  after(async () => {
    for (const s of sockets) s.ws.close()
    client?.close()
    await mf?.dispose()
    rmSync(work, { recursive: true, force: true })
  })

  test('a hibernated Durable Object still delivers to its subscribers: the new records, once each, in order, on the same socket', async () => {
    assert.notEqual(startAfter, startBefore, `the object was evicted during ${EVICTION_WAIT_MS} ms of quiet and started again`)
    const got = await a.waitRecords('a', 10)
    await sleep(300) // nothing more may arrive
    assert.equal(a.records('a').length, 10, 'no duplicate after the wake-up')
    assert.deepEqual(Object.fromEntries(assertContiguous(got, { 0: 0, 1: 0 })), { 0: 5, 1: 5 }, 'offsets 0-4 of each partition, each once, in order')
    assert.equal(a.closed, undefined)
    const m = await metrics(base)
    assert.equal(metric(m, 'edgelog_hibernation_restored_sockets', 'outcome="restored"'), 2, 'two sockets came back with their subscriptions (a and b)')
    assert.equal(metric(m, 'edgelog_hibernation_restored_sockets', 'outcome="closed"'), 4, 'four could not be (group, unreadable, missing, beyond the log end)')
  })

  test('retention ran from the alarm while the object was idle, not from the request that woke it', async () => {
    const short = await describeTopic(base, 'short')
    assert.equal(short.partitions[0].logStartOffset, 5, 'the expired records are gone')
    assert.equal(short.partitions[0].logEndOffset, 5)
    const res = await fetch(`${base}/v1/topics/short/partitions/0/records?offset=0`)
    assert.equal(res.status, 416, 'offset 0 is below the log start now')
    // This instance (started by the produce above) has not run the cleaner: no request runs it,
    // so the deletion happened in the evicted instance during the quiet period, from alarm().
    const m = await metrics(base)
    assert.equal(metric(m, 'edgelog_cleaner_runs_total') ?? 0, 0, 'the instance that woke up has not run the cleaner')
  })

  test('sockets whose state cannot be restored (a group, unreadable, missing, beyond the log end) are closed with 1012, and the client library resumes without a gap or a duplicate', async () => {
    const g = await group.waitClose()
    assert.equal(g.code, 1012)
    assert.match(g.reason, /consumer-group/)
    const u = await unreadable.waitClose()
    assert.equal(u.code, 1012)
    const e = await beyond.waitClose()
    assert.equal(e.code, 1012)
    assert.match(e.reason, /could not restore the positions/)
    assert.equal(beyond.records('far').length, 0)
    // The client library reconnects on 1012 and resubscribes from its own positions.
    await produceTo(base, 'resume', 2, 3)
    const deadline = Date.now() + 15_000
    while (resumed.length < 10 && Date.now() < deadline) await sleep(20)
    await sleep(300)
    assert.equal(resumed.length, 10, JSON.stringify(resumed))
    assertContiguous(
      [...resumed].sort((x, y) => x.partition - y.partition),
      { 0: 0, 1: 0 },
    )
    client.close()
  })

  test('bad and oversize frames after a wake-up still get their err, and a subscription whose topic is gone gets its err', async () => {
    const ghost = await b.next((f) => f.id === 'ghost')
    assert.equal(ghost.op, 'err')
    assert.equal(ghost.code, 'UNKNOWN_TOPIC_OR_PARTITION')
    // The restored catch-up position: offsets 1-4 of partition 0 (two produced after the wake-up), once each.
    const mid = await b.waitRecords('mid', 4)
    assert.deepEqual(Object.fromEntries(assertContiguous(mid, { 0: 1 })), { 0: 5 })
    const bad = await b.call({ op: 'nope', id: 'x1' })
    assert.equal(bad.op, 'err')
    assert.equal(bad.code, 'INVALID_REQUEST')
    const from = b.frames.length
    b.send('{not json')
    const notJson = await b.next((f) => f.op === 'err', 10_000, from)
    assert.equal(notJson.code, 'INVALID_REQUEST')
    const gone = await b.call({ op: 'sub', id: 'x2', topic: 'no-such-topic' })
    assert.equal(gone.code, 'UNKNOWN_TOPIC_OR_PARTITION')
    // The attachment bound: a socket's subscriptions must fit its 16 KiB attachment.
    const long = 'l'.repeat(249)
    await createTopic(base, long, 1)
    let refused: any
    for (let i = 0; i < 100 && !refused; i++) {
      const answer = await b.call({ op: 'sub', id: `${'s'.repeat(120)}${i}`, topic: long })
      if (answer.op === 'err') refused = answer
    }
    assert.ok(refused, 'a socket cannot hold more subscriptions than its attachment keeps')
    assert.equal(refused.code, 'TOO_MANY_SUBSCRIPTIONS')
    assert.match(refused.message, /16384-byte hibernation attachment/)
    // An oversize frame closes the socket (1009), as everywhere.
    b.send(JSON.stringify({ op: 'pub', id: 'big', topic: 'live', value: 'x'.repeat(1024 * 1024 + 10) }))
    const closed = await b.waitClose()
    assert.equal(closed.code, 1009)
  })

  test('a socket closed while the object hibernates is cleaned up when it wakes, and subscribers live through a second hibernation', async () => {
    const f = await open()
    assert.equal((await f.call({ op: 'sub', id: 'f', topic: 'plant' })).op, 'ok')
    const before2 = await startTime(base)
    assert.equal(metric(await metrics(base), 'edgelog_ws_connections'), 2, 'a and f')
    await sleep(EVICTION_WAIT_MS)
    f.ws.close(1000) // wakes the object to tell it
    await f.waitClose()
    await sleep(500)
    const m = await metrics(base)
    assert.notEqual(metric(m, 'edgelog_node_start_time_seconds'), before2, 'evicted again')
    assert.equal(metric(m, 'edgelog_ws_connections'), 1, 'only a is left')
    await produceTo(base, 'live', 1, 5)
    const got = await a.waitRecords('a', 12)
    await sleep(300)
    assert.equal(a.records('a').length, 12)
    assertContiguous(got, { 0: 0, 1: 0 })
    a.ws.close(1000)
    await a.waitClose()
    await sleep(300)
    assert.equal(metric(await metrics(base), 'edgelog_ws_connections'), 0)
  })

  test('a socket in a consumer group keeps the object in memory (its membership heartbeats there), and keeps its partitions', async () => {
    const member = await open()
    const joined = await member.call({ op: 'sub', id: 'g', topic: 'live', group: 'awake', from: 'earliest' })
    assert.equal(joined.op, 'ok', JSON.stringify(joined))
    await member.next((f) => f.op === 'assign' && f.sub === 'g')
    await member.waitRecords('g', 12)
    const start = await startTime(base)
    await sleep(EVICTION_WAIT_MS)
    assert.equal(await startTime(base), start, 'not evicted while a socket is a group member')
    await produceTo(base, 'live', 1, 6)
    const got = await member.waitRecords('g', 14)
    assertContiguous(got, { 0: 0, 1: 0 })
    assert.equal(member.closed, undefined)
  })
})
