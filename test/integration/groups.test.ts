// Consumer groups over HTTP against a real server process: membership, server-side assignment,
// fenced commits, lag, offset resets, internal topics, and what survives a restart.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { removeDir, startServer, tempDir, type TestServer } from '../helpers/server.ts'
import { waitUntil } from '../helpers/wait.ts'

let server: TestServer

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(server.url + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as any }
}

async function ok(method: string, path: string, body?: unknown) {
  const r = await call(method, path, body)
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`)
  return r.body
}

async function refused(method: string, path: string, body: unknown, status: number, code: string) {
  const r = await call(method, path, body)
  assert.equal(r.status, status, `${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`)
  assert.equal(r.body.error.code, code, JSON.stringify(r.body))
  return r.body
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function keys(list: Array<{ topic: string; partitions: number[] }>): Set<string> {
  return new Set(list.flatMap((t) => t.partitions.map((p) => `${t.topic}:${p}`)))
}

function asList(owned: Set<string>) {
  const by = new Map<string, number[]>()
  for (const k of owned) {
    const at = k.lastIndexOf(':')
    const t = k.slice(0, at)
    by.set(t, [...(by.get(t) ?? []), Number(k.slice(at + 1))])
  }
  return [...by].map(([topic, partitions]) => ({ topic, partitions }))
}

/** Partition 0 of __consumer_offsets: records written (its high watermark), records still there, stored bytes. */
async function offsetsLog(): Promise<{ written: number; kept: number; sizeBytes: number }> {
  const { highWatermark, sizeBytes } = (await ok('GET', '/v1/topics/__consumer_offsets')).partitions[0]
  let kept = 0
  for (let offset = 0; offset < highWatermark; ) {
    const r = await ok('GET', `/v1/topics/__consumer_offsets/partitions/0/records?offset=${offset}&maxRecords=10000`)
    kept += r.records.length
    assert.ok(r.nextOffset > offset, `a fetch from ${offset} moves forward`)
    offset = r.nextOffset
  }
  return { written: highWatermark, kept, sizeBytes }
}

/** A member driven by hand over HTTP: it owns exactly what the last answer gave it. */
class Member {
  owned = new Set<string>()
  constructor(
    readonly group: string,
    readonly id: string,
    public epoch: number,
    assignment: Array<{ topic: string; partitions: number[] }>,
  ) {
    this.owned = keys(assignment)
  }

  static async join(group: string, body: Record<string, unknown>) {
    const r = await ok('POST', `/v1/groups/${group}/members`, body)
    assert.equal(typeof r.memberId, 'string')
    assert.ok(r.heartbeatIntervalMs > 0)
    return new Member(group, r.memberId, r.memberEpoch, r.assignment)
  }

  async heartbeat() {
    const r = await ok('POST', `/v1/groups/${this.group}/members/${this.id}/heartbeat`, { memberEpoch: this.epoch, ownedPartitions: asList(this.owned) })
    this.epoch = r.memberEpoch
    this.owned = keys(r.assignment)
    return r
  }

  commit(offsets: Array<{ topic: string; partition: number; offset: number }>, epoch = this.epoch) {
    return call('POST', `/v1/groups/${this.group}/offsets`, { memberId: this.id, memberEpoch: epoch, offsets })
  }
}

/** Heartbeats every member until the group is Stable; checks one owner per partition throughout. */
async function settle(group: string, members: Member[]) {
  for (let round = 0; round < 10; round++) {
    for (const m of members) {
      await m.heartbeat()
      assertDisjoint(members)
    }
    const d = await ok('GET', `/v1/groups/${group}`)
    if (d.state === 'Stable') return d
  }
  assert.fail(`group ${group} did not settle`)
}

function assertDisjoint(members: Member[]) {
  const seen = new Map<string, string>()
  for (const m of members) {
    for (const tp of m.owned) {
      assert.ok(!seen.has(tp), `${tp} owned by ${seen.get(tp)} and ${m.id}`)
      seen.set(tp, m.id)
    }
  }
}

/** n records to one partition, or n to each of partitions 0..count-1. */
async function produce(topic: string, n: number, partition?: number, count = 6) {
  const partitions = partition === undefined ? Array.from({ length: count }, (_, i) => i) : [partition]
  const records = partitions.flatMap((p) => Array.from({ length: n }, (_, i) => ({ value: i, partition: p })))
  return (await ok('POST', `/v1/topics/${topic}/records`, { records })).offsets
}

describe('consumer groups over HTTP', () => {
  before(async () => {
    server = await startServer({ args: ['--offsets-topic-partitions', '4'] })
    await ok('POST', '/v1/topics', { name: 'orders', partitions: 6 })
    await ok('POST', '/v1/topics', { name: 'audit', partitions: 2 })
  })
  after(async () => {
    await server.stop()
    removeDir(server.dataDir)
  })

  test('3 members × 6 partitions: two each, disjoint, covering all; describe and list show it', async () => {
    const members: Member[] = []
    for (let i = 0; i < 3; i++) members.push(await Member.join('three', { topics: ['orders'], sessionTimeoutMs: 10_000 }))
    const d = await settle('three', members)
    assert.deepEqual(members.map((m) => m.owned.size), [2, 2, 2])
    assert.equal(new Set(members.flatMap((m) => [...m.owned])).size, 6)
    assert.equal(d.members.length, 3)
    for (const dm of d.members) {
      const m = members.find((x) => x.id === dm.memberId)!
      assert.deepEqual(keys(dm.assignment), m.owned)
      assert.equal(dm.memberEpoch, d.groupEpoch, 'every member caught up with the group epoch')
      assert.equal(dm.state, 'stable')
      assert.deepEqual(dm.pendingRevocation, [])
    }
    const list = await ok('GET', '/v1/groups')
    assert.deepEqual(list.groups.find((g: any) => g.group === 'three'), { group: 'three', state: 'Stable', members: 3, groupEpoch: d.groupEpoch })
    await ok('DELETE', `/v1/groups/three/members/${members[0]!.id}`)
    assert.equal((await ok('GET', '/v1/groups/three')).members.length, 2)
    for (const m of members.slice(1)) await ok('DELETE', `/v1/groups/three/members/${m.id}`)
    // No members and no offsets: nothing to remember, the group is gone (Kafka's Dead).
    await refused('GET', '/v1/groups/three', undefined, 404, 'GROUP_ID_NOT_FOUND')
  })

  test('a partition moves only after its old owner confirmed giving it up', async () => {
    const a = await Member.join('handover', { topics: ['orders'], sessionTimeoutMs: 10_000 })
    assert.equal(a.owned.size, 6)
    const b = await Member.join('handover', { topics: ['orders'], sessionTimeoutMs: 10_000 })
    assert.equal(b.owned.size, 0, 'nothing for b while a owns everything')
    // a has not heartbeated yet: b still gets nothing, however often it asks.
    await b.heartbeat()
    await b.heartbeat()
    assert.equal(b.owned.size, 0)
    const d = await ok('GET', '/v1/groups/handover')
    assert.equal(d.state, 'Reconciling')
    // a hears of the revocation, drops three partitions, and says so on its next heartbeat.
    await a.heartbeat()
    assert.equal(a.owned.size, 3)
    await b.heartbeat()
    assert.equal(b.owned.size, 0, 'the three are free only once a confirmed')
    const during = await ok('GET', '/v1/groups/handover')
    const am = during.members.find((m: any) => m.memberId === a.id)
    assert.equal(keys(am.pendingRevocation).size, 3, 'the coordinator counts them as a\'s until it confirms')
    await a.heartbeat()
    await b.heartbeat()
    assert.equal(b.owned.size, 3)
    assertDisjoint([a, b])
  })

  test('a member that stops heartbeating is removed after its session timeout and its partitions reassigned', async () => {
    const sessionTimeoutMs = 3000
    const live = await Member.join('timeout', { topics: ['orders'], sessionTimeoutMs: 20_000 })
    const dead = await Member.join('timeout', { topics: ['orders'], sessionTimeoutMs })
    await settle('timeout', [live, dead])
    const deadPartitions = new Set(dead.owned)
    assert.equal(deadPartitions.size, 3)
    const stoppedAt = Date.now()
    // Well inside its session the silent member still owns its partitions.
    await sleep(sessionTimeoutMs / 3)
    await live.heartbeat()
    assert.equal(live.owned.size, 3, 'not reassigned before the session timeout')
    // Then it is removed, and the live member gets everything.
    while (live.owned.size < 6) {
      assert.ok(Date.now() - stoppedAt < sessionTimeoutMs + 10_000, 'reassigned within the session timeout (plus slack)')
      await sleep(200)
      await live.heartbeat()
    }
    assert.ok(Date.now() - stoppedAt >= sessionTimeoutMs - 200, 'not before the session timeout')
    for (const tp of deadPartitions) assert.ok(live.owned.has(tp))
    // Its heartbeat, its commit and its leave are refused now: it is a zombie.
    await refused('POST', `/v1/groups/timeout/members/${dead.id}/heartbeat`, { memberEpoch: dead.epoch, ownedPartitions: asList(dead.owned) }, 404, 'UNKNOWN_MEMBER_ID')
  })

  test('a zombie member\'s late commit is rejected and the new owner\'s offset stands', async () => {
    await produce('orders', 5)
    const zombie = await Member.join('zombie', { topics: ['orders'], sessionTimeoutMs: 2000 })
    assert.equal(zombie.owned.size, 6)
    const okCommit = await zombie.commit([{ topic: 'orders', partition: 0, offset: 1 }])
    assert.equal(okCommit.status, 200)
    const heir = await Member.join('zombie', { topics: ['orders'], sessionTimeoutMs: 20_000 })
    // The zombie goes silent; after its session the heir owns partition 0 and commits there.
    const deadline = Date.now() + 15_000
    while (!heir.owned.has('orders:0')) {
      assert.ok(Date.now() < deadline, 'heir got partition 0')
      await sleep(200)
      await heir.heartbeat()
    }
    assert.equal((await heir.commit([{ topic: 'orders', partition: 0, offset: 3 }])).status, 200)
    const late = await zombie.commit([{ topic: 'orders', partition: 0, offset: 2 }])
    assert.equal(late.status, 404)
    assert.equal(late.body.error.code, 'UNKNOWN_MEMBER_ID')
    const committed = await ok('GET', '/v1/groups/zombie/offsets')
    assert.deepEqual(committed.offsets.find((o: any) => o.partition === 0), { topic: 'orders', partition: 0, offset: 3, metadata: '' })
  })

  test('commits are fenced: not owned, stale or future epochs, beyond the log end, plain commits to a group with members', async () => {
    const offsets = await produce('orders', 12)
    const a = await Member.join('fence', { topics: ['orders'], sessionTimeoutMs: 10_000 })
    const b = await Member.join('fence', { topics: ['orders'], sessionTimeoutMs: 10_000 })
    await settle('fence', [a, b])
    const aTp = [...a.owned][0]!.split(':')
    const bTp = [...b.owned][0]!.split(':')
    const bPartition = Number(bTp[1])
    const aPartition = Number(aTp[1])
    // a commits b's partition: refused.
    const notOwned = await a.commit([{ topic: 'orders', partition: bPartition, offset: 0 }])
    assert.equal(notOwned.status, 409)
    assert.equal(notOwned.body.error.code, 'STALE_MEMBER_EPOCH')
    // b got its partitions in its current epoch: an older epoch is stale for them.
    const stale = await b.commit([{ topic: 'orders', partition: bPartition, offset: 0 }], b.epoch - 1)
    assert.equal(stale.body.error.code, 'STALE_MEMBER_EPOCH')
    const future = await b.commit([{ topic: 'orders', partition: bPartition, offset: 0 }], b.epoch + 5)
    assert.equal(future.body.error.code, 'STALE_MEMBER_EPOCH')
    // A whole commit is refused if one partition is not the member's: nothing of it is stored.
    const mixed = await a.commit([{ topic: 'orders', partition: aPartition, offset: 0 }, { topic: 'orders', partition: bPartition, offset: 0 }])
    assert.equal(mixed.status, 409)
    assert.deepEqual((await ok('GET', '/v1/groups/fence/offsets')).offsets, [])
    // Within the log: any offset up to the log end, as in Kafka; beyond it, refused.
    const end = Math.max(...offsets.filter((o: any) => o.partition === aPartition).map((o: any) => o.offset), -1) + 1
    assert.equal((await a.commit([{ topic: 'orders', partition: aPartition, offset: end }])).status, 200)
    const beyond = await a.commit([{ topic: 'orders', partition: aPartition, offset: end + 1000 }])
    assert.equal(beyond.status, 416)
    assert.equal(beyond.body.error.code, 'OFFSET_OUT_OF_RANGE')
    // An unknown member, and a plain commit while the group has members.
    await refused('POST', '/v1/groups/fence/offsets', { memberId: 'nobody', memberEpoch: 1, offsets: [{ topic: 'orders', partition: 0, offset: 0 }] }, 404, 'UNKNOWN_MEMBER_ID')
    await refused('POST', '/v1/groups/fence/offsets', { offsets: [{ topic: 'orders', partition: 0, offset: 0 }] }, 404, 'UNKNOWN_MEMBER_ID')
    // A heartbeat with a wrong epoch fences the member: it must join again.
    await refused('POST', `/v1/groups/fence/members/${b.id}/heartbeat`, { memberEpoch: b.epoch + 3, ownedPartitions: asList(b.owned) }, 409, 'FENCED_MEMBER_EPOCH')
    await refused('POST', `/v1/groups/fence/members/${b.id}/heartbeat`, { memberEpoch: b.epoch, ownedPartitions: [] }, 404, 'UNKNOWN_MEMBER_ID')
    const d = await ok('GET', '/v1/groups/fence')
    assert.deepEqual(d.members.map((m: any) => m.memberId), [a.id])
    await ok('DELETE', `/v1/groups/fence/members/${a.id}`)
    // Empty now: a plain commit works again (the CLI's consume --group uses it).
    assert.equal((await call('POST', '/v1/groups/fence/offsets', { offsets: [{ topic: 'orders', partition: 0, offset: 0 }] })).status, 200)
  })

  test('lag counts assigned partitions without a commit, and committed ones', async () => {
    await produce('audit', 5, 0)
    await produce('audit', 7, 1)
    const m = await Member.join('lagging', { topics: ['audit'], sessionTimeoutMs: 10_000 })
    assert.equal((await m.commit([{ topic: 'audit', partition: 0, offset: 2 }])).status, 200)
    const lag = await ok('GET', '/v1/groups/lagging/lag')
    const p0 = lag.partitions.find((p: any) => p.partition === 0)
    const p1 = lag.partitions.find((p: any) => p.partition === 1)
    assert.equal(p0.committed, 2)
    assert.equal(p0.lag, p0.highWatermark - 2)
    assert.equal(p1.committed, null, 'assigned, never committed')
    assert.equal(p1.lag, p1.highWatermark - p1.logStartOffset)
    assert.equal(p0.owner, m.id)
    assert.equal(lag.totalLag, p0.lag + p1.lag)
    await ok('DELETE', `/v1/groups/lagging/members/${m.id}`)
  })

  test('offsets reset: only while empty; to earliest, latest, a timestamp or an offset; dry run stores nothing', async () => {
    await ok('POST', '/v1/topics', { name: 'resettable', partitions: 2 })
    const before = Date.now()
    await produce('resettable', 4, 0)
    await sleep(20)
    const middle = Date.now()
    await sleep(20)
    await produce('resettable', 4, 0)
    await produce('resettable', 3, 1)
    const m = await Member.join('reset', { topics: ['resettable'], sessionTimeoutMs: 10_000 })
    await refused('POST', '/v1/groups/reset/offsets/reset', { to: 'earliest', topics: [{ topic: 'resettable' }] }, 409, 'NON_EMPTY_GROUP')
    await ok('DELETE', `/v1/groups/reset/members/${m.id}`)
    const latest = await ok('POST', '/v1/groups/reset/offsets/reset', { to: 'latest', topics: [{ topic: 'resettable' }] })
    assert.deepEqual(latest.offsets, [
      { topic: 'resettable', partition: 0, previous: null, offset: 8 },
      { topic: 'resettable', partition: 1, previous: null, offset: 3 },
    ])
    const dry = await ok('POST', '/v1/groups/reset/offsets/reset', { to: 'earliest', dryRun: true })
    assert.deepEqual(dry.offsets.map((o: any) => [o.previous, o.offset]), [[8, 0], [3, 0]])
    assert.deepEqual((await ok('GET', '/v1/groups/reset/offsets')).offsets.map((o: any) => o.offset), [8, 3], 'a dry run stores nothing')
    const byTime = await ok('POST', '/v1/groups/reset/offsets/reset', { to: { timestamp: middle }, topics: [{ topic: 'resettable', partitions: [0] }] })
    assert.deepEqual(byTime.offsets, [{ topic: 'resettable', partition: 0, previous: 8, offset: 4 }])
    const early = await ok('POST', '/v1/groups/reset/offsets/reset', { to: { timestamp: before - 60_000 }, topics: [{ topic: 'resettable', partitions: [1] }] })
    assert.equal(early.offsets[0].offset, 0)
    const exact = await ok('POST', '/v1/groups/reset/offsets/reset', { to: { offset: 6 }, topics: [{ topic: 'resettable', partitions: [0] }] })
    assert.equal(exact.offsets[0].offset, 6)
    await refused('POST', '/v1/groups/reset/offsets/reset', { to: { offset: 9 }, topics: [{ topic: 'resettable', partitions: [0] }] }, 416, 'OFFSET_OUT_OF_RANGE')
    await refused('POST', '/v1/groups/reset/offsets/reset', { to: 'earliest', topics: [{ topic: 'no-such-topic' }] }, 404, 'UNKNOWN_TOPIC_OR_PARTITION')
    await refused('POST', '/v1/groups/reset/offsets/reset', { to: 'earliest', topics: [{ topic: 'resettable', partitions: [7] }] }, 404, 'UNKNOWN_TOPIC_OR_PARTITION')
    await refused('POST', '/v1/groups/never-committed/offsets/reset', { to: 'earliest' }, 400, 'INVALID_REQUEST')
    assert.deepEqual((await ok('GET', '/v1/groups/reset/offsets')).offsets.map((o: any) => o.offset), [6, 0])
    // A member that joins now starts where the reset put it.
    const lag = await ok('GET', '/v1/groups/reset/lag')
    assert.deepEqual(lag.partitions.map((p: any) => p.lag), [2, 3])
  })

  test('a static member that comes back within its session keeps its partitions without a rebalance', async () => {
    const a = await Member.join('static', { topics: ['orders'], instanceId: 'worker-a', sessionTimeoutMs: 10_000 })
    const b = await Member.join('static', { topics: ['orders'], instanceId: 'worker-b', sessionTimeoutMs: 10_000 })
    const d = await settle('static', [a, b])
    const had = new Set(b.owned)
    await ok('DELETE', `/v1/groups/static/members/${b.id}`)
    // While it is away its partitions wait for it; nobody else gets them.
    await a.heartbeat()
    assert.equal(a.owned.size, 3)
    const back = await Member.join('static', { topics: ['orders'], instanceId: 'worker-b', sessionTimeoutMs: 10_000 })
    assert.deepEqual(back.owned, had)
    const after = await ok('GET', '/v1/groups/static')
    assert.equal(after.groupEpoch, d.groupEpoch, 'no rebalance')
    // The same instance restarting without leaving (a crash) also takes over, and fences the old id.
    const again = await Member.join('static', { topics: ['orders'], instanceId: 'worker-b', sessionTimeoutMs: 10_000 })
    assert.deepEqual(again.owned, had)
    await refused('POST', `/v1/groups/static/members/${back.id}/heartbeat`, { memberEpoch: back.epoch, ownedPartitions: asList(back.owned) }, 409, 'FENCED_INSTANCE_ID')
    await refused('POST', '/v1/groups/static/offsets', { memberId: back.id, memberEpoch: back.epoch, offsets: [{ topic: 'orders', partition: 0, offset: 0 }] }, 409, 'FENCED_INSTANCE_ID')
    for (const m of [a, again]) await ok('DELETE', `/v1/groups/static/members/${m.id}`)
  })

  test('topics created and deleted under a subscription change the assignment', async () => {
    const m = await Member.join('later', { topics: ['later-topic', 'orders'], sessionTimeoutMs: 10_000 })
    assert.equal(m.owned.size, 6, 'a topic that does not exist yet gives nothing')
    await ok('POST', '/v1/topics', { name: 'later-topic', partitions: 2 })
    const deadline = Date.now() + 10_000
    while (m.owned.size < 8) {
      assert.ok(Date.now() < deadline)
      await sleep(50)
      await m.heartbeat()
    }
    assert.equal((await m.commit([{ topic: 'later-topic', partition: 1, offset: 0 }])).status, 200)
    await ok('DELETE', '/v1/topics/later-topic')
    while (m.owned.size > 6) {
      assert.ok(Date.now() < deadline)
      await sleep(50)
      await m.heartbeat()
    }
    assert.ok(![...m.owned].some((tp) => tp.startsWith('later-topic:')))
    // Its committed offset went with it: a re-created topic starts with no commit.
    await ok('POST', '/v1/topics', { name: 'later-topic', partitions: 2 })
    const committed = await ok('GET', '/v1/groups/later/offsets')
    assert.ok(!committed.offsets.some((o: any) => o.topic === 'later-topic'))
    await ok('DELETE', `/v1/groups/later/members/${m.id}`)
  })

  test('__consumer_offsets is internal: hidden from listings unless asked, never written, created or deleted by users, readable', async () => {
    await ok('POST', '/v1/groups/visible/offsets', { offsets: [{ topic: 'orders', partition: 0, offset: 0 }] })
    const list = await ok('GET', '/v1/topics')
    assert.ok(!list.topics.some((t: any) => t.name === '__consumer_offsets'))
    const all = await ok('GET', '/v1/topics?internal=true')
    assert.deepEqual(all.topics.find((t: any) => t.name === '__consumer_offsets'), { name: '__consumer_offsets', partitions: 4, internal: true })
    await refused('POST', '/v1/topics/__consumer_offsets/records', { records: [{ value: 1 }] }, 400, 'INVALID_TOPIC')
    await refused('POST', '/v1/topics/__consumer_offsets/partitions/0/records', { records: [{ value: 1 }] }, 400, 'INVALID_TOPIC')
    await refused('DELETE', '/v1/topics/__consumer_offsets', undefined, 400, 'INVALID_TOPIC')
    await refused('POST', '/v1/topics', { name: '__consumer_offsets', partitions: 1 }, 400, 'INVALID_TOPIC')
    await refused('POST', '/v1/groups/sneaky/members', { topics: ['__consumer_offsets'] }, 400, 'INVALID_TOPIC')
    const described = await ok('GET', '/v1/topics/__consumer_offsets')
    assert.equal(described.config['cleanup.policy'], 'compact')
    // The commit is a readable record in the group's partition.
    let found = false
    for (const p of described.partitions) {
      const r = await ok('GET', `/v1/topics/__consumer_offsets/partitions/${p.partition}/records?maxRecords=10000`)
      for (const rec of r.records) if (JSON.stringify(rec.key) === JSON.stringify('["offset","visible","orders",0]')) found = true
    }
    assert.ok(found, 'the commit is a record keyed ["offset", group, topic, partition]')
  })

  test('a group deleted while empty loses its offsets; a group with members cannot be deleted; unknown groups are 404', async () => {
    await ok('POST', '/v1/groups/doomed/offsets', { offsets: [{ topic: 'orders', partition: 1, offset: 0 }] })
    const m = await Member.join('doomed', { topics: ['orders'], sessionTimeoutMs: 10_000 })
    await refused('DELETE', '/v1/groups/doomed', undefined, 409, 'NON_EMPTY_GROUP')
    await ok('DELETE', `/v1/groups/doomed/members/${m.id}`)
    assert.deepEqual(await ok('DELETE', '/v1/groups/doomed'), { group: 'doomed', deleted: true, offsets: 1 })
    await refused('GET', '/v1/groups/doomed', undefined, 404, 'GROUP_ID_NOT_FOUND')
    await refused('DELETE', '/v1/groups/doomed', undefined, 404, 'GROUP_ID_NOT_FOUND')
    assert.ok(!(await ok('GET', '/v1/groups')).groups.some((g: any) => g.group === 'doomed'))
  })
})

describe('consumer groups across restarts', () => {
  test('offsets and membership survive a restart (SIGTERM, then SIGKILL): replayed from __consumer_offsets', async () => {
    const dataDir = tempDir()
    server = await startServer({ dataDir })
    try {
      await ok('POST', '/v1/topics', { name: 'durable', partitions: 4 })
      await produce('durable', 10, undefined, 4)
      const a = await Member.join('survivor', { topics: ['durable'], sessionTimeoutMs: 30_000 })
      const b = await Member.join('survivor', { topics: ['durable'], sessionTimeoutMs: 30_000 })
      await settle('survivor', [a, b])
      for (const m of [a, b]) {
        for (const tp of m.owned) {
          const partition = Number(tp.split(':')[1])
          assert.equal((await m.commit([{ topic: 'durable', partition, offset: partition + 1 }])).status, 200)
        }
      }
      await ok('POST', '/v1/groups/plain/offsets', { offsets: [{ topic: 'durable', partition: 3, offset: 7, metadata: 'kept' }] })
      const describedBefore = await ok('GET', '/v1/groups/survivor')
      const offsetsBefore = await ok('GET', '/v1/groups/survivor/offsets')

      for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
        await server.stop(signal)
        server = await startServer({ dataDir })
        assert.deepEqual(await ok('GET', '/v1/groups/survivor/offsets'), offsetsBefore, `offsets after ${signal}`)
        assert.deepEqual((await ok('GET', '/v1/groups/plain/offsets')).offsets, [{ topic: 'durable', partition: 3, offset: 7, metadata: 'kept' }])
        const describedAfter = await ok('GET', '/v1/groups/survivor')
        assert.deepEqual(describedAfter.members, describedBefore.members, `members, epochs and assignments after ${signal}`)
        // The members carry on with the same ids and epochs; their commits are still fenced.
        for (const m of [a, b]) {
          const r = await m.heartbeat()
          assert.equal(r.memberId, m.id)
        }
        assert.equal((await a.commit([{ topic: 'durable', partition: Number([...b.owned][0]!.split(':')[1]), offset: 0 }])).body.error.code, 'STALE_MEMBER_EPOCH')
      }
    } finally {
      await server.stop('SIGKILL')
      removeDir(dataDir)
    }
  })

  test('__consumer_offsets is compacted by the log cleaner, and a restart replays the same groups from what is left', async () => {
    const dataDir = tempDir()
    const args = ['--cleaner-interval-ms', '100', '--offsets-topic-partitions', '1']
    server = await startServer({ dataDir, args })
    try {
      await ok('POST', '/v1/topics', { name: 'busy', partitions: 2 })
      await produce('busy', 300, undefined, 2)
      const m = await Member.join('busy-group', { topics: ['busy'], sessionTimeoutMs: 60_000 })
      for (let i = 1; i <= 300; i++) {
        assert.equal((await m.commit([{ topic: 'busy', partition: i % 2, offset: i }])).status, 200)
      }
      await ok('POST', '/v1/groups/gone-group/offsets', { offsets: [{ topic: 'busy', partition: 0, offset: 1 }] })
      await ok('DELETE', '/v1/groups/gone-group')
      const committed = await ok('GET', '/v1/groups/busy-group/offsets')
      const described = await ok('GET', '/v1/groups/busy-group')
      // Compacted: a quarter or less of the records ever written (the high watermark) are left,
      // in a quarter or less of the bytes they took: every commit was a batch of its own, and a
      // RecordBatch header alone is 61 bytes. Measured against what was written, not against
      // the size read after the commits: the cleaner (every 100 ms) may have compacted most of
      // the log by then, under load, and a quarter of that was never reached.
      let log = { written: 0, kept: 0, sizeBytes: 0 }
      await waitUntil('__consumer_offsets to be compacted', async () => {
        log = await offsetsLog()
        return log.written >= 300 && log.kept <= log.written / 4 && log.sizeBytes <= (61 * log.written) / 4
      }).catch((err) => assert.fail(`${err.message}: ${JSON.stringify(log)}`))
      await server.stop('SIGKILL')
      server = await startServer({ dataDir, args })
      assert.deepEqual(await ok('GET', '/v1/groups/busy-group/offsets'), committed)
      assert.deepEqual((await ok('GET', '/v1/groups/busy-group')).members, described.members)
      await refused('GET', '/v1/groups/gone-group', undefined, 404, 'GROUP_ID_NOT_FOUND')
      assert.equal((await m.heartbeat()).memberId, m.id)
    } finally {
      await server.stop('SIGKILL')
      removeDir(dataDir)
    }
  })

  test('committed offsets an older node kept in meta.db are imported once into __consumer_offsets', async () => {
    const dataDir = tempDir()
    // An older node's data: start, create a topic, stop; then put rows where that node kept them.
    server = await startServer({ dataDir })
    await ok('POST', '/v1/topics', { name: 'legacy', partitions: 2 })
    await server.stop()
    const { Database } = await import('bun:sqlite')
    const db = new Database(`${dataDir}/meta.db`)
    db.exec(`CREATE TABLE consumer_offsets (group_id text NOT NULL, topic text NOT NULL, partition integer NOT NULL,
      committed_offset integer NOT NULL, metadata text DEFAULT '' NOT NULL, commit_timestamp integer NOT NULL,
      PRIMARY KEY(group_id, topic, partition))`)
    db.exec("DELETE FROM __drizzle_migrations WHERE created_at > (SELECT MIN(created_at) FROM __drizzle_migrations)")
    // The older node had only the first migration: undo what the later ones added too.
    db.exec('ALTER TABLE producer_ids DROP COLUMN principal')
    db.exec("INSERT INTO consumer_offsets VALUES ('old-group', 'legacy', 0, 0, 'm', 1), ('old-group', 'legacy', 1, 0, '', 1), ('old-group', 'gone-topic', 0, 5, '', 1)")
    db.close()
    try {
      server = await startServer({ dataDir })
      const expected = [
        { topic: 'legacy', partition: 0, offset: 0, metadata: 'm' },
        { topic: 'legacy', partition: 1, offset: 0, metadata: '' },
      ]
      assert.deepEqual((await ok('GET', '/v1/groups/old-group/offsets')).offsets, expected)
      await server.stop()
      const check = new Database(`${dataDir}/meta.db`)
      const table = check.prepare("SELECT name FROM sqlite_master WHERE name = 'consumer_offsets'").get()
      check.close()
      assert.equal(table, null, 'the old table is dropped after the import')
      server = await startServer({ dataDir })
      assert.deepEqual((await ok('GET', '/v1/groups/old-group/offsets')).offsets, expected, 'still there, from the topic')
    } finally {
      await server.stop('SIGKILL')
      removeDir(dataDir)
    }
  })
})
