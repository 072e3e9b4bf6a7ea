// Consumer group membership over /v1/ws against a real server: a `sub` with `group` makes the
// socket a member; `assign` frames carry its partitions; records come only from partitions it
// owns (checked frame by frame, in the order the socket got them); a revoked partition sends
// nothing after the `assign` that revokes it and moves on once the member commits it; `commit`
// frames are fenced member commits; closing the socket leaves the group at once.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { removeDir, startServer, type TestServer } from '../helpers/server.ts'
import { postJson, WsClient, WsClients, type Frame } from '../helpers/ws.ts'
import { waitUntil } from '../helpers/wait.ts'

let server: TestServer
const clients = new WsClients(() => server.url)
const client = () => clients.open()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Replays a socket's frames for subscription `sub`: the partitions it owns after each `assign`,
 * and every record checked against what it owned when the record arrived.
 */
function replay(c: WsClient, sub: string) {
  let owned = new Set<number>()
  const records: Array<{ partition: number; offset: number }> = []
  const violations: string[] = []
  let lastAssign: Frame | undefined
  for (const f of c.frames) {
    if (f.sub !== sub) continue
    if (f.op === 'assign') {
      owned = new Set(f.partitions)
      for (const p of f.revoked ?? []) if (owned.has(p)) violations.push(`assign revokes ${p} and lists it`)
      lastAssign = f
    } else if (f.op === 'msg' || f.op === 'msgs') {
      const list = f.op === 'msg' ? [f] : f.records
      for (const r of list) {
        if (!owned.has(f.partition)) violations.push(`record ${f.partition}@${r.offset} from a partition not owned (${[...owned]})`)
        records.push({ partition: f.partition, offset: r.offset })
      }
    }
  }
  return { owned, records, violations, lastAssign }
}

async function produce(topic: string, perPartition: number, partitions: number, from = 0) {
  const records = []
  for (let p = 0; p < partitions; p++) for (let i = 0; i < perPartition; i++) records.push({ value: { p, i: from + i }, partition: p })
  await postJson(`${server.url}/v1/topics/${topic}/records`, { records })
}

async function describe_(group: string): Promise<any> {
  return (await fetch(`${server.url}/v1/groups/${group}`)).json()
}

describe('consumer groups over WebSocket', () => {
  before(async () => {
    server = await startServer({ args: ['--group-heartbeat-interval-ms', '500'] })
  })
  after(async () => {
    clients.closeAll()
    await server.stop()
    removeDir(server.dataDir)
  })

  test('two sockets share four partitions: disjoint, complete, records only from owned partitions, every record once', async () => {
    await postJson(`${server.url}/v1/topics`, { name: 'wsg', partitions: 4 })
    await produce('wsg', 25, 4)
    const a = await client()
    const okA = await a.call({ op: 'sub', id: 's', topic: 'wsg', group: 'ws-readers', from: 'earliest' })
    assert.equal(okA.op, 'ok')
    assert.equal(typeof okA.memberId, 'string')
    const first = await a.next((f) => f.op === 'assign' && f.sub === 's')
    assert.deepEqual(first.partitions, [0, 1, 2, 3])
    assert.deepEqual(first.offsets, { '0': 0, '1': 0, '2': 0, '3': 0 })
    const b = await client()
    await b.call({ op: 'sub', id: 's', topic: 'wsg', group: 'ws-readers', from: 'earliest' })
    // b's partitions come once a has given them up: a's revocation, then b's assign.
    await waitUntil('two partitions each', () => replay(a, 's').owned.size === 2 && replay(b, 's').owned.size === 2, 15_000)
    const ra = replay(a, 's')
    const rb = replay(b, 's')
    assert.deepEqual([...ra.owned, ...rb.owned].sort(), [0, 1, 2, 3])
    await produce('wsg', 25, 4, 25)
    const total = () => new Set([...replay(a, 's').records, ...replay(b, 's').records].map((r) => `${r.partition}:${r.offset}`)).size
    await waitUntil('all 200 records delivered', () => total() === 200, 15_000)
    assert.deepEqual(replay(a, 's').violations, [])
    assert.deepEqual(replay(b, 's').violations, [])
    const d = await describe_('ws-readers')
    assert.equal(d.members.length, 2)
    assert.equal(d.state, 'Stable')
    a.close()
    b.close()
  })

  test('revocation: nothing of a revoked partition after its assign frame; it moves as soon as the member commits it', async () => {
    await postJson(`${server.url}/v1/topics`, { name: 'wsr', partitions: 2 })
    await produce('wsr', 10, 2)
    const a = await client()
    await a.call({ op: 'sub', id: 'x', topic: 'wsr', group: 'ws-revoke', from: 'earliest', rebalanceTimeoutMs: 60_000 })
    await a.waitRecords('x', 20)
    const b = await client()
    await b.call({ op: 'sub', id: 'y', topic: 'wsr', group: 'ws-revoke', from: 'earliest' })
    const revoke = await a.next((f) => f.op === 'assign' && f.sub === 'x' && Array.isArray(f.revoked))
    assert.equal(revoke.revoked.length, 1)
    const p = revoke.revoked[0]
    const at = a.frames.indexOf(revoke)
    // Records produced now go to the revoked partition; a must not see them.
    await produce('wsr', 5, 2, 10)
    await sleep(300)
    assert.ok(!a.frames.slice(at).some((f) => (f.op === 'msg' || f.op === 'msgs') && f.partition === p), 'no record of the revoked partition after its assign')
    // Not moved yet: the rebalance timeout is long and a has not committed it.
    assert.ok(!replay(b, 'y').owned.has(p))
    // a commits its position on the revoked partition (it read 10): now it moves, to start there.
    const ok = await a.call({ op: 'commit', id: 'c1', group: 'ws-revoke', offsets: [{ topic: 'wsr', partition: p, offset: 10 }] })
    assert.equal(ok.op, 'ok')
    const got = await b.next((f) => f.op === 'assign' && f.sub === 'y' && f.partitions.includes(p), 10_000)
    assert.equal(got.offsets[String(p)], 10)
    const recs = await b.waitRecords('y', 5)
    assert.deepEqual(recs.map((r) => [r.partition, r.offset]), [10, 11, 12, 13, 14].map((o) => [p, o]))
    // The commit frames are member commits: b cannot commit a's partition, a can no longer commit p.
    const other = 1 - p
    const bad = await b.call({ op: 'commit', id: 'c2', group: 'ws-revoke', offsets: [{ topic: 'wsr', partition: other, offset: 1 }] })
    assert.equal(bad.code, 'STALE_MEMBER_EPOCH')
    const late = await a.call({ op: 'commit', id: 'c3', group: 'ws-revoke', offsets: [{ topic: 'wsr', partition: p, offset: 11 }] })
    assert.equal(late.code, 'STALE_MEMBER_EPOCH')
    assert.equal((await b.call({ op: 'commit', id: 'c4', group: 'ws-revoke', offsets: [{ topic: 'wsr', partition: p, offset: 15 }] })).op, 'ok')
    assert.deepEqual(replay(a, 'x').violations, [])
    assert.deepEqual(replay(b, 'y').violations, [])
    a.close()
    b.close()
  })

  test('closing the socket leaves the group: the other member gets everything at once, not after a session timeout', async () => {
    await postJson(`${server.url}/v1/topics`, { name: 'wsl', partitions: 2 })
    const a = await client()
    await a.call({ op: 'sub', id: 'l', topic: 'wsl', group: 'ws-leave', sessionTimeoutMs: 60_000 })
    const b = await client()
    await b.call({ op: 'sub', id: 'l', topic: 'wsl', group: 'ws-leave', sessionTimeoutMs: 60_000 })
    await waitUntil('one partition each', () => replay(a, 'l').owned.size === 1 && replay(b, 'l').owned.size === 1, 15_000)
    const closedAt = Date.now()
    a.close()
    await waitUntil('b owns both', () => replay(b, 'l').owned.size === 2, 10_000)
    assert.ok(Date.now() - closedAt < 30_000, 'well before the 60 s session timeout')
    const d = await describe_('ws-leave')
    assert.equal(d.members.length, 1)
    // unsub leaves too.
    assert.equal((await b.call({ op: 'unsub', id: 'l' })).op, 'ok')
    await waitUntil('the group has no members', async () => (await describe_('ws-leave')).members?.length === 0 || (await describe_('ws-leave')).error?.code === 'GROUP_ID_NOT_FOUND', 10_000)
    b.close()
  })

  test('a socket member and an HTTP member share a group', async () => {
    await postJson(`${server.url}/v1/topics`, { name: 'wsm', partitions: 4 })
    const http = await (await fetch(`${server.url}/v1/groups/mixed/members`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ topics: ['wsm'], sessionTimeoutMs: 60_000 }),
    })).json() as any
    assert.equal(http.assignment[0].partitions.length, 4)
    const w = await client()
    await w.call({ op: 'sub', id: 'm', topic: 'wsm', group: 'mixed' })
    // The HTTP member heartbeats: gives up two, which then go to the socket.
    let owned = http.assignment
    let epoch = http.memberEpoch
    await waitUntil('the socket owns two', async () => {
      const r = await (await fetch(`${server.url}/v1/groups/mixed/members/${http.memberId}/heartbeat`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ memberEpoch: epoch, ownedPartitions: owned }),
      })).json() as any
      owned = r.assignment
      epoch = r.memberEpoch
      return replay(w, 'm').owned.size === 2
    }, 15_000)
    const httpOwned = new Set(owned[0].partitions as number[])
    for (const p of replay(w, 'm').owned) assert.ok(!httpOwned.has(p), `partition ${p} owned by both`)
    w.close()
  })

  test('bad group subscriptions are refused with an err frame', async () => {
    await postJson(`${server.url}/v1/topics`, { name: 'wsb', partitions: 1 })
    const c = await client()
    const cases: Array<[Frame, string]> = [
      [{ op: 'sub', id: 'b1', topic: 'wsb', group: 'g', partitions: [0] }, 'INVALID_REQUEST'],
      [{ op: 'sub', id: 'b2', topic: 'wsb', group: 'g', from: { offsets: { '0': 0 } } }, 'INVALID_REQUEST'],
      [{ op: 'sub', id: 'b3', topic: 'wsb', group: 'g', from: { timestamp: 1 } }, 'INVALID_REQUEST'],
      [{ op: 'sub', id: 'b4', topic: 'wsb', instanceId: 'i' }, 'INVALID_REQUEST'],
      [{ op: 'sub', id: 'b5', topic: 'wsb', sessionTimeoutMs: 5000 }, 'INVALID_REQUEST'],
      [{ op: 'sub', id: 'b6', topic: 'wsb', group: 'bad group' }, 'INVALID_REQUEST'],
      [{ op: 'sub', id: 'b7', topic: 'no-such-topic', group: 'g' }, 'UNKNOWN_TOPIC_OR_PARTITION'],
      [{ op: 'sub', id: 'b8', topic: 'wsb', group: 'g', sessionTimeoutMs: 10 }, 'INVALID_SESSION_TIMEOUT'],
      [{ op: 'sub', id: 'b9', topic: '__consumer_offsets', group: 'g' }, 'INVALID_TOPIC'],
      [{ op: 'sub', id: 'b10', topic: 'wsb', group: 'g', sessionTimeoutMs: -1 }, 'INVALID_REQUEST'],
    ]
    for (const [frame, code] of cases) {
      const r = await c.call(frame)
      assert.equal(r.op, 'err', JSON.stringify(frame))
      assert.equal(r.code, code, `${JSON.stringify(frame)}: ${r.message}`)
    }
    // One membership per group per socket.
    assert.equal((await c.call({ op: 'sub', id: 'g1', topic: 'wsb', group: 'once' })).op, 'ok')
    const twice = await c.call({ op: 'sub', id: 'g2', topic: 'wsb', group: 'once' })
    assert.equal(twice.code, 'INVALID_REQUEST')
    // A plain commit to a group that has members (this socket is not the one committing as member).
    const d = await client()
    const plain = await d.call({ op: 'commit', id: 'pc', group: 'once', offsets: [{ topic: 'wsb', partition: 0, offset: 0 }] })
    assert.equal(plain.code, 'UNKNOWN_MEMBER_ID')
    // The socket still works.
    assert.equal((await c.call({ op: 'commit', id: 'mc', group: 'once', offsets: [{ topic: 'wsb', partition: 0, offset: 0 }] })).op, 'ok')
    c.close()
    d.close()
  })
})

describe('socket members across a graceful shutdown', () => {
  test('SIGTERM closes member sockets and stores their leaves: after the restart the group has no members', async () => {
    const s = await startServer()
    try {
      await postJson(`${s.url}/v1/topics`, { name: 'wsd', partitions: 2 })
      const c = await WsClient.open(s.url)
      assert.equal((await c.call({ op: 'sub', id: 'd', topic: 'wsd', group: 'drained', sessionTimeoutMs: 60_000 })).op, 'ok')
      await c.call({ op: 'commit', id: 'dc', group: 'drained', offsets: [{ topic: 'wsd', partition: 0, offset: 0 }] })
      const dataDir = s.dataDir
      await s.stop('SIGTERM')
      assert.equal((await c.waitClose()).code, 1001)
      const again = await startServer({ dataDir })
      try {
        const d = (await (await fetch(`${again.url}/v1/groups/drained`)).json()) as any
        assert.deepEqual(d.members, [], 'the socket member left before the node stopped')
      } finally {
        await again.stop()
      }
    } finally {
      await s.stop('SIGKILL')
      removeDir(s.dataDir)
    }
  })
})
