// Consumer groups on a real three-broker cluster (etcd, `edgelog serve --etcd`): offsets are
// records of the replicated topic `__consumer_offsets`, the coordinator of a group is the
// leader of the group's partition of it, and any broker forwards group requests there. The
// coordinator is SIGKILLed: committed offsets survive on the other brokers, and consumers
// carry on from them with no record lost and no committed record handled again.
import { describe, test, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { GroupConsumer } from '../../src/client/group-consumer.ts'
import { partitionForGroup } from '../../src/groups/offsets-topic.ts'
import { WsClient } from '../helpers/ws.ts'
import { claims, hs256 } from '../helpers/jwt.ts'
import { api, describe as describeTopic, eventually, sleep, startCluster, type ClusterBroker, type TestCluster } from './helpers.ts'

let cluster: TestCluster | undefined
const consumers: GroupConsumer[] = []
afterEach(async (t) => {
  for (const c of consumers.splice(0)) await c.abort().catch(() => {})
  // A broker that died on its own is a bug worth its last words.
  for (const b of cluster?.brokers ?? []) {
    const proc = b.server?.proc
    if (proc && (proc.exitCode !== null || proc.signalCode !== null)) {
      console.error(`broker ${b.id} exited (${proc.exitCode ?? proc.signalCode}) during "${(t as { name?: string }).name}":\n${b.server!.output().slice(-4000)}`)
    }
  }
  await cluster?.stop()
  cluster = undefined
})

const OFFSETS = '__consumer_offsets'
const PARTITIONS = 3

async function createTopic(c: TestCluster, name: string) {
  const r = await api(c.any(), '/v1/topics', { method: 'POST', json: { name, partitions: PARTITIONS, replicationFactor: 3, config: { 'min.insync.replicas': '2' } } })
  assert.equal(r.status, 201, JSON.stringify(r.body))
  for (const b of c.brokers.filter((x) => x.server)) {
    await eventually(`broker ${b.id} sees ${name} led and fully in sync`, () => describeTopic(b.url(), name), (ps) => ps.every((p) => p.leader > 0 && p.isr.length === 3))
  }
}

/** Produces `values` round-robin over the partitions, acks=all, through any live broker. */
async function produce(c: TestCluster, topic: string, values: string[]) {
  for (let i = 0; i < values.length; i++) {
    const r = await api(c.any(), `/v1/topics/${topic}/records?acks=all`, { method: 'POST', json: { records: [{ value: values[i], partition: i % PARTITIONS }] } })
    assert.equal(r.status, 200, JSON.stringify(r.body))
  }
}

/** The broker that coordinates `group`: the leader of its partition of `__consumer_offsets`. */
async function coordinatorOf(c: TestCluster, group: string, via = c.any()): Promise<ClusterBroker> {
  const ps = await eventually(`${OFFSETS} has leaders`, () => describeTopic(via, OFFSETS), (ps) => ps.length > 0 && ps.every((p) => p.leader > 0))
  return c.brokers[ps[partitionForGroup(group, ps.length)]!.leader - 1]!
}

async function committed(url: string, group: string): Promise<Record<string, number>> {
  const r = await api(url, `/v1/groups/${group}/offsets`)
  assert.equal(r.status, 200, JSON.stringify(r.body))
  return Object.fromEntries(r.body.offsets.map((o: { topic: string; partition: number; offset: number }) => [`${o.topic}-${o.partition}`, o.offset]))
}

const total = (offsets: Record<string, number>) => Object.values(offsets).reduce((s, n) => s + n, 0)

interface Handled {
  value: string
  partition: number
  offset: number
}

function consumer(url: string, group: string, topic: string, handled: Handled[]): GroupConsumer {
  const gc = new GroupConsumer({ url, group, topics: [topic], sessionTimeoutMs: 10_000, maxWaitMs: 200 })
  consumers.push(gc)
  void gc.run(async (r) => {
    handled.push({ value: String(r.value), partition: r.partition, offset: r.offset })
  })
  return gc
}

describe('consumer groups on real processes (three brokers, etcd)', () => {
  test('committed offsets survive SIGKILL of the coordinator broker; consumers resume from them: nothing lost, nothing committed handled again', async () => {
    cluster = await startCluster()
    const c = cluster
    await createTopic(c, 'jobs')
    const group = 'workers'

    // The first group request creates the replicated offsets topic (RF 3 on three brokers).
    const first = await api(c.any(), `/v1/groups/${group}/offsets`, { method: 'POST', json: { offsets: [{ topic: 'jobs', partition: 0, offset: 0 }] } })
    assert.equal(first.status, 200, JSON.stringify(first.body))
    const offsetsTopic = await describeTopic(c.any(), OFFSETS)
    for (const p of offsetsTopic) assert.equal(p.replicas.length, 3, `${OFFSETS}-${p.partition} has three replicas`)
    const coordinator = await coordinatorOf(c, group)
    const others = c.brokers.filter((b) => b !== coordinator)

    // Phase 1: a member commits through the coordinator itself.
    const phase1 = Array.from({ length: 30 }, (_, i) => `p1-${i}`)
    await produce(c, 'jobs', phase1)
    const handled1: Handled[] = []
    const gc1 = consumer(coordinator.url(), group, 'jobs', handled1)
    await eventually('phase 1 handled and committed', () => committed(coordinator.url(), group), (o) => total(o) === phase1.length, 60_000)
    const before = await committed(coordinator.url(), group)
    await gc1.abort() // a crash: no final commit, no leave; its membership stays until its session times out
    assert.deepEqual(handled1.map((h) => h.value).sort(), [...phase1].sort())

    // The coordinator dies.
    coordinator.server!.proc.kill('SIGKILL')
    await coordinator.server!.stop()
    coordinator.server = undefined
    const next = await eventually('a new coordinator', () => coordinatorOf(c, group).then((b) => b.id), (id) => id !== coordinator.id, 30_000)
    assert.ok(others.some((b) => b.id === next))

    // Every surviving broker answers with the offsets committed before the kill.
    for (const b of others) assert.deepEqual(await committed(b.url(), group), before, `broker ${b.id} reads the committed offsets`)

    // Phase 2: a new consumer through a surviving broker picks up exactly where the commits were.
    const phase2 = Array.from({ length: 30 }, (_, i) => `p2-${i}`)
    await produce(c, 'jobs', phase2)
    const handled2: Handled[] = []
    consumer(others[0]!.url(), group, 'jobs', handled2)
    await eventually('phase 2 handled', async () => handled2.length, (n) => n >= phase2.length, 60_000)
    await eventually('phase 2 committed', () => committed(others[1]!.url(), group), (o) => total(o) === phase1.length + phase2.length, 30_000)
    await sleep(500)
    const values2 = handled2.map((h) => h.value)
    assert.deepEqual([...values2].sort(), [...phase2].sort(), 'phase 2 exactly: no committed record again, none missing')
    for (const h of handled2) assert.ok(h.offset >= before[`jobs-${h.partition}`]!, `${h.value} is at or after the committed offset`)
  })

  test('a member survives the coordinator SIGKILL: its heartbeats reach the new coordinator through its broker, and it keeps consuming', async () => {
    cluster = await startCluster()
    const c = cluster
    await createTopic(c, 'tasks')
    const group = 'stayers'
    const created = await api(c.any(), `/v1/groups/${group}/offsets`, { method: 'POST', json: { offsets: [{ topic: 'tasks', partition: 0, offset: 0 }] } })
    assert.equal(created.status, 200, JSON.stringify(created.body))
    const coordinator = await coordinatorOf(c, group)
    // The member talks to a broker that is not the coordinator: its group requests are forwarded.
    const bootstrap = c.brokers.find((b) => b !== coordinator)!
    const handled: Handled[] = []
    const gc = consumer(bootstrap.url(), group, 'tasks', handled)
    const phase1 = Array.from({ length: 15 }, (_, i) => `a-${i}`)
    await produce(c, 'tasks', phase1)
    await eventually('phase 1 committed', () => committed(bootstrap.url(), group), (o) => total(o) === phase1.length, 60_000)
    const memberId = gc.memberId
    assert.ok(memberId)

    coordinator.server!.proc.kill('SIGKILL')
    await coordinator.server!.stop()
    coordinator.server = undefined
    await eventually('a new coordinator', () => coordinatorOf(c, group).then((b) => b.id), (id) => id !== coordinator.id, 30_000)

    const phase2 = Array.from({ length: 15 }, (_, i) => `b-${i}`)
    await produce(c, 'tasks', phase2)
    await eventually('phase 2 committed', () => committed(bootstrap.url(), group), (o) => total(o) === phase1.length + phase2.length, 60_000)
    const values = handled.map((h) => h.value)
    assert.deepEqual([...values].sort(), [...phase1, ...phase2].sort(), 'every record once')
    assert.equal(gc.memberId, memberId, 'the same member: the new coordinator loaded it from the replicated log')
    const described = await api(bootstrap.url(), `/v1/groups/${group}`)
    assert.equal(described.status, 200, JSON.stringify(described.body))
    assert.deepEqual(described.body.members.map((m: { memberId: string }) => m.memberId), [memberId])
  })

  test('any broker serves any group: requests to non-coordinators are forwarded, WebSocket commit frames reach the coordinator, bad input keeps its clear error', async () => {
    cluster = await startCluster()
    const c = cluster
    await createTopic(c, 'events')
    await produce(c, 'events', ['e0', 'e1', 'e2', 'e3', 'e4', 'e5'])
    const group = 'anywhere'
    const join = await api(c.brokers[0]!.url(), `/v1/groups/${group}/members`, { method: 'POST', json: { topics: ['events'], sessionTimeoutMs: 30_000 } })
    assert.equal(join.status, 200, JSON.stringify(join.body))
    const coordinator = await coordinatorOf(c, group)
    const [b1, b2] = c.brokers.filter((b) => b !== coordinator) as [ClusterBroker, ClusterBroker]

    // Heartbeat through one non-coordinator, commit through the other: one member, one group.
    const { memberId } = join.body
    let epoch = join.body.memberEpoch
    const hb = await fetch(`${b1.url()}/v1/groups/${group}/members/${memberId}/heartbeat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ memberEpoch: epoch, ownedPartitions: join.body.assignment }),
    })
    assert.equal(hb.status, 200)
    assert.equal(hb.headers.get('x-edgelog-forwarded-by'), String(b1.id), 'answered by the coordinator, through b1')
    epoch = ((await hb.json()) as { memberEpoch: number }).memberEpoch
    const commit = await api(b2.url(), `/v1/groups/${group}/offsets`, { method: 'POST', json: { memberId, memberEpoch: epoch, offsets: [{ topic: 'events', partition: 0, offset: 2 }] } })
    assert.equal(commit.status, 200, JSON.stringify(commit.body))
    for (const b of c.brokers) {
      const d = await api(b.url(), `/v1/groups/${group}`)
      assert.equal(d.status, 200, JSON.stringify(d.body))
      assert.deepEqual(d.body.members.map((m: { memberId: string }) => m.memberId), [memberId], `broker ${b.id} describes the same group`)
      assert.deepEqual(await committed(b.url(), group), { 'events-0': 2 })
      const lag = await api(b.url(), `/v1/groups/${group}/lag`)
      assert.equal(lag.status, 200, JSON.stringify(lag.body))
      assert.equal(lag.body.totalLag, 6 - 2, 'lag from the leaders\' high watermarks')
      const listed = await api(b.url(), '/v1/groups')
      assert.deepEqual(listed.body.groups.map((g: { group: string }) => g.group), [group], `broker ${b.id} lists the group`)
      assert.equal(listed.body.unavailableBrokers, undefined)
    }

    // The offsets topic's min.insync.replicas is Kafka's default (1); an operator may raise it.
    const altered = await api(b1.url(), `/v1/topics/${OFFSETS}/config`, { method: 'PATCH', json: { set: { 'min.insync.replicas': '2' } } })
    assert.equal(altered.status, 200, JSON.stringify(altered.body))
    await eventually('every broker has the new config', async () => Promise.all(c.brokers.map((b) => api(b.url(), `/v1/topics/${OFFSETS}`).then((r) => r.body.config['min.insync.replicas']))), (v) => v.every((x) => x === '2'))
    const afterAlter = await api(b2.url(), `/v1/groups/${group}/offsets`, { method: 'POST', json: { memberId, memberEpoch: epoch, offsets: [{ topic: 'events', partition: 0, offset: 1 }] } })
    assert.equal(afterAlter.status, 200, JSON.stringify(afterAlter.body))
    assert.deepEqual(await committed(b1.url(), group), { 'events-0': 1 })

    // A group subscribed to a topic that does not exist yet gets its partitions once it is created.
    const waiting = await api(b1.url(), '/v1/groups/waiting/members', { method: 'POST', json: { topics: ['later'], sessionTimeoutMs: 30_000 } })
    assert.equal(waiting.status, 200, JSON.stringify(waiting.body))
    assert.deepEqual(waiting.body.assignment, [])
    await createTopic(c, 'later')
    let w = { memberEpoch: waiting.body.memberEpoch as number, assignment: waiting.body.assignment as unknown[] }
    await eventually('the waiting member is assigned the new topic', async () => {
      const r = await api(b2.url(), `/v1/groups/waiting/members/${waiting.body.memberId}/heartbeat`, { method: 'POST', json: { memberEpoch: w.memberEpoch, ownedPartitions: w.assignment } })
      assert.equal(r.status, 200, JSON.stringify(r.body))
      w = r.body
      return w.assignment
    }, (a) => JSON.stringify(a) === JSON.stringify([{ topic: 'later', partitions: [0, 1, 2] }]), 20_000)

    // A WebSocket commit frame at a non-coordinator broker is handed to the coordinator.
    const ws = await WsClient.open(b1.url())
    try {
      const ok = await ws.call({ op: 'commit', id: 'c1', group: 'socket-group', offsets: [{ topic: 'events', partition: 1, offset: 1 }] })
      assert.equal(ok.op, 'ok', JSON.stringify(ok))
      const beyond = await ws.call({ op: 'commit', id: 'c2', group: 'socket-group', offsets: [{ topic: 'events', partition: 1, offset: 999 }] })
      assert.equal(beyond.op, 'err')
      assert.equal(beyond.code, 'OFFSET_OUT_OF_RANGE')
    } finally {
      ws.ws.close()
    }
    for (const b of c.brokers) assert.deepEqual(await committed(b.url(), 'socket-group'), { 'events-1': 1 })

    // Bad input, at a broker that is not the coordinator: the same clear errors as on one node.
    const bad = async (path: string, init: Parameters<typeof api>[2], status: number, code: string) => {
      const r = await api(b2.url(), path, init)
      assert.equal(r.status, status, `${path}: ${JSON.stringify(r.body)}`)
      assert.equal(r.body.error.code, code, path)
    }
    await bad('/v1/groups/bad%20group/members', { method: 'POST', json: { topics: ['events'] } }, 400, 'INVALID_REQUEST')
    await bad(`/v1/groups/${group}/members`, { method: 'POST', json: { topics: [] } }, 400, 'INVALID_REQUEST')
    await bad(`/v1/groups/${group}/members`, { method: 'POST', json: { topics: ['events'], extra: 1 } }, 400, 'INVALID_REQUEST')
    await bad(`/v1/groups/${group}/members`, { method: 'POST', json: { topics: [OFFSETS] } }, 400, 'INVALID_TOPIC')
    await bad(`/v1/groups/${group}/members/not*an*id/heartbeat`, { method: 'POST', json: { memberEpoch: 1, ownedPartitions: [] } }, 400, 'INVALID_REQUEST')
    await bad(`/v1/groups/${group}/offsets`, { method: 'POST', json: { memberId: 'AAAAAAAAAAAAAAAAAAAAAA', memberEpoch: 1, offsets: [{ topic: 'events', partition: 0, offset: 1 }] } }, 404, 'UNKNOWN_MEMBER_ID')
    await bad(`/v1/groups/${group}/offsets`, { method: 'POST', json: { offsets: [{ topic: 'events', partition: 2, offset: 999 }] } }, 416, 'OFFSET_OUT_OF_RANGE')
    await bad('/v1/groups/never-used-group', { method: 'GET' }, 404, 'GROUP_ID_NOT_FOUND')
    await bad('/v1/topics', { method: 'POST', json: { name: OFFSETS, partitions: 1 } }, 400, 'INVALID_TOPIC')
    await bad(`/v1/topics/${OFFSETS}`, { method: 'DELETE' }, 400, 'INVALID_TOPIC')
    await bad(`/v1/topics/${OFFSETS}/records`, { method: 'POST', json: { records: [{ value: 1 }] } }, 400, 'INVALID_TOPIC')
    // The coordinator's broker-to-broker routes validate what they get too.
    await bad('/internal/v1/groups/positions', { method: 'POST', json: { topic: 'events', partition: -1 } }, 400, 'INVALID_REQUEST')
    await bad('/internal/v1/groups/positions', { method: 'POST', json: { topic: 'events', partition: 0, extra: true } }, 400, 'INVALID_REQUEST')
    await bad('/internal/v1/groups/positions', { method: 'POST', json: { topic: 'nope', partition: 0 } }, 404, 'UNKNOWN_TOPIC_OR_PARTITION')
    await bad('/internal/v1/groups/commit', { method: 'POST', json: { group: 'x', offsets: [] } }, 400, 'INVALID_REQUEST')
    await bad('/internal/v1/groups/commit', { method: 'POST', json: { group: 'bad group', offsets: [{ topic: 'events', partition: 0, offset: 0 }] } }, 400, 'INVALID_REQUEST')
    await bad('/internal/v1/groups/member', { method: 'POST', json: { op: 'dance', group: 'x' } }, 400, 'INVALID_REQUEST')
    await bad('/internal/v1/groups/member', { method: 'POST', json: { op: 'heartbeat', group: 'x', memberId: 'not*an*id', heartbeat: { memberEpoch: 1, ownedPartitions: [] } } }, 400, 'INVALID_REQUEST')
    await bad('/internal/v1/groups/member', { method: 'POST', json: { op: 'join', group: 'x', join: { topics: ['events'], extra: 1 } } }, 400, 'INVALID_REQUEST')
    // At the coordinator, a relayed request gets the coordinator's own answer.
    const unknown = await api(coordinator.url(), '/internal/v1/groups/member', { method: 'POST', json: { op: 'leave', group, memberId: 'AAAAAAAAAAAAAAAAAAAAAA' } })
    assert.equal(unknown.body.error?.code, 'UNKNOWN_MEMBER_ID', JSON.stringify(unknown.body))
  })

  test('a socket member at a broker that is not the coordinator: its membership is relayed to the coordinator, its partitions served where it is, its commits fenced; a second member at a third broker shares the partitions', async () => {
    cluster = await startCluster()
    const c = cluster
    await createTopic(c, 'relayed')
    const group = 'relayed-sockets'
    const created = await api(c.any(), `/v1/groups/${group}/offsets`, { method: 'POST', json: { offsets: [{ topic: 'relayed', partition: 0, offset: 0 }] } })
    assert.equal(created.status, 200, JSON.stringify(created.body))
    const coordinator = await coordinatorOf(c, group)
    const [elsewhere, third] = c.brokers.filter((b) => b !== coordinator)
    await produce(c, 'relayed', ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'])
    const a = await WsClient.open(elsewhere!.url())
    const b = await WsClient.open(third!.url())
    try {
      const ok = await a.call({ op: 'sub', id: 's1', topic: 'relayed', group, from: 'earliest' })
      assert.equal(ok.op, 'ok', JSON.stringify(ok))
      await a.next((f) => f.op === 'assign' && f.sub === 's1' && f.partitions.length === PARTITIONS)
      assert.deepEqual((await a.waitRecords('s1', 6)).map((r) => r.value).sort(), ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'])
      // The coordinator knows the member the relaying broker joined for the socket.
      const described = await api(coordinator.url(), `/v1/groups/${group}`)
      assert.deepEqual(described.body.members.map((m: { memberId: string }) => m.memberId), [ok.memberId])
      // Member commits through the relay: fenced like the member's own (a partition it owns is fine).
      const epoch = (a.frames.filter((f) => f.op === 'assign').at(-1) as { memberEpoch: number }).memberEpoch
      assert.ok(epoch > 0)
      const commit = await a.call({ op: 'commit', id: 'c1', group, offsets: [{ topic: 'relayed', partition: 0, offset: 2 }] })
      assert.equal(commit.op, 'ok', JSON.stringify(commit))
      assert.equal((await committed(coordinator.url(), group))['relayed-0'], 2)

      // A second member at the third broker: the partitions are shared, never owned twice.
      const ok2 = await b.call({ op: 'sub', id: 's2', topic: 'relayed', group, from: 'earliest' })
      assert.equal(ok2.op, 'ok', JSON.stringify(ok2))
      const revoke = await a.next((f) => f.op === 'assign' && f.sub === 's1' && Array.isArray(f.revoked) && f.revoked.length > 0, 30_000)
      for (const p of revoke.revoked) {
        const done = await a.call({ op: 'commit', id: `rc${p}`, group, offsets: [{ topic: 'relayed', partition: p, offset: 2 }] })
        assert.equal(done.op, 'ok', JSON.stringify(done))
      }
      const got = await b.next((f) => f.op === 'assign' && f.sub === 's2' && f.partitions.length > 0, 30_000)
      const mine = (a.frames.filter((f) => f.op === 'assign' && f.sub === 's1').at(-1) as { partitions: number[] }).partitions
      for (const p of got.partitions) assert.ok(!mine.includes(p), `partition ${p} has one owner`)
      // A commit of a partition the member gave up is fenced at the coordinator, through the relay.
      const stale = await a.call({ op: 'commit', id: 'stale', group, offsets: [{ topic: 'relayed', partition: got.partitions[0], offset: 1 }] })
      assert.equal(stale.code, 'STALE_MEMBER_EPOCH', JSON.stringify(stale))
      // The new owner starts at the committed offset.
      for (const p of got.partitions) assert.equal(got.offsets[String(p)], 2)
    } finally {
      a.ws.close()
      b.ws.close()
    }
  })

  test('a socket member whose coordinator moves (paused past its lease) keeps its member id and partitions through the new coordinator, and keeps delivering', async () => {
    cluster = await startCluster()
    const c = cluster
    await createTopic(c, 'live')
    const group = 'sockets'
    const created = await api(c.any(), `/v1/groups/${group}/offsets`, { method: 'POST', json: { offsets: [{ topic: 'live', partition: 0, offset: 0 }] } })
    assert.equal(created.status, 200, JSON.stringify(created.body))
    const coordinator = await coordinatorOf(c, group)
    // The socket at another broker, so it is alive while the coordinator is paused.
    const at = c.brokers.find((b) => b !== coordinator)!
    const ws = await WsClient.open(at.url())
    try {
      const ok = await ws.call({ op: 'sub', id: 's1', topic: 'live', group, from: 'earliest', sessionTimeoutMs: 20_000 })
      assert.equal(ok.op, 'ok', JSON.stringify(ok))
      await ws.next((f) => f.op === 'assign' && f.sub === 's1' && f.partitions.length === PARTITIONS)
      coordinator.server!.proc.kill('SIGSTOP')
      const moved = await eventually('a new coordinator while the old one is paused', () => coordinatorOf(c, group, at.url()).then((b) => b.id), (id) => id !== coordinator.id, 30_000)
      const from = ws.frames.length
      const live = c.brokers.find((b) => b !== coordinator)!.url()
      await eventually('every partition led by a live broker', () => describeTopic(live, 'live'), (ps) => ps.every((p) => p.leader > 0 && p.leader !== coordinator.id), 30_000)
      for (const [i, value] of ['after-0', 'after-1', 'after-2'].entries()) {
        const r = await api(live, '/v1/topics/live/records?acks=all', { method: 'POST', json: { records: [{ value, partition: i }] } })
        assert.equal(r.status, 200, JSON.stringify(r.body))
      }
      const got = await eventually('the records produced after the move', async () => ws.records('s1').map((r) => r.value), (v) => ['after-0', 'after-1', 'after-2'].every((x) => v.includes(x)), 30_000)
      assert.equal(got.length, 3)
      assert.deepEqual(ws.frames.slice(from).filter((f) => f.op === 'err' || (f.op === 'assign' && f.partitions.length < PARTITIONS)), [], 'no error, nothing revoked')
      const described = await eventually('the new coordinator has the member', () => api(c.brokers[moved - 1]!.url(), `/v1/groups/${group}`), (r) => r.status === 200)
      assert.deepEqual(described.body.members.map((m: { memberId: string }) => m.memberId), [ok.memberId], 'the same member id')
      coordinator.server!.proc.kill('SIGCONT')
    } finally {
      ws.ws.close()
    }
  })

  test('with authentication: a forwarded group request is checked by the coordinator with the caller\'s token; commit frames and positions travel with the peer token', async () => {
    const secret = 'groups-cluster-secret-0123456789'
    const peer = 'peer-token-0123456789abcdef'
    cluster = await startCluster(3, ['--jwt-secret', secret, '--peer-token', peer])
    const c = cluster
    const admin = { authorization: `Bearer ${await hs256(secret, claims({ sub: 'admin', acl: { admin: true } }))}` }
    const worker = { authorization: `Bearer ${await hs256(secret, claims({ sub: 'worker', acl: { consume: ['secured'], groups: ['team-*'] } }))}` }
    const created = await api(c.any(), '/v1/topics', { method: 'POST', headers: admin, json: { name: 'secured', partitions: PARTITIONS, replicationFactor: 3 } })
    assert.equal(created.status, 201, JSON.stringify(created.body))
    await eventually('a full ISR', () => api(c.any(), '/v1/topics/secured', { headers: admin }).then((r) => r.body.partitions as Array<{ isr: number[]; leader: number }>), (ps) => ps.every((p) => p.leader > 0 && p.isr.length === 3))
    // Every broker has read the topic's metadata (c.any() above may have been the only one).
    for (const broker of c.brokers) {
      await eventually(`broker ${broker.id} knows the topic`, () => api(broker.url(), '/v1/topics/secured', { headers: admin }).then((r) => r.status), (status) => status === 200)
    }
    // A topic-wide produce by a produce-only principal, at one broker: the partitions other
    // brokers lead are handed on as peer requests (the token was checked here).
    const producer = { authorization: `Bearer ${await hs256(secret, claims({ sub: 'producer', acl: { produce: ['secured'] } }))}` }
    const wide = await api(c.brokers[0]!.url(), '/v1/topics/secured/records?acks=all', {
      method: 'POST',
      headers: producer,
      json: { records: Array.from({ length: PARTITIONS }, (_, i) => ({ value: i, partition: i, headers: { h: `v${i}` } })) },
    })
    assert.equal(wide.status, 200, JSON.stringify(wide.body))
    assert.deepEqual(wide.body.offsets, Array.from({ length: PARTITIONS }, (_, i) => ({ partition: i, offset: 0 })))
    const pubSocket = await WsClient.open(c.brokers[0]!.url(), producer)
    try {
      for (let i = 0; i < PARTITIONS; i++) {
        const ack = await pubSocket.call({ op: 'pub', id: `p${i}`, topic: 'secured', partition: i, value: `ws${i}`, acks: 'all' })
        assert.deepEqual([ack.op, ack.partition, ack.offset], ['ack', i, 1], JSON.stringify(ack))
      }
    } finally {
      pubSocket.ws.close()
    }
    for (let i = 0; i < PARTITIONS; i++) {
      const read = await api(c.any(), `/v1/topics/secured/partitions/${i}/records?offset=0`, { headers: admin })
      assert.deepEqual(
        read.body.records.map((r: { value: unknown; headers: Record<string, string> }) => [r.value, r.headers]),
        [[i, { h: `v${i}` }], [`ws${i}`, {}]],
      )
    }
    // A produce without the grant is refused where it arrives, and the peer route wants the peer token.
    const refused = await api(c.brokers[0]!.url(), '/v1/topics/secured/records', { method: 'POST', headers: worker, json: { records: [{ value: 1 }] } })
    assert.equal(refused.status, 403, JSON.stringify(refused.body))
    const peerProduce = await api(c.brokers[0]!.url(), '/internal/v1/produce', {
      method: 'POST',
      headers: producer,
      json: { topic: 'secured', partition: 0, acks: '1', records: [{ key: null, value: null, headers: [], timestamp: 0 }] },
    })
    assert.equal(peerProduce.status, 401, JSON.stringify(peerProduce.body))
    const join = await api(c.brokers[0]!.url(), '/v1/groups/team-a/members', { method: 'POST', headers: worker, json: { topics: ['secured'] } })
    assert.equal(join.status, 200, JSON.stringify(join.body))
    const offsets = await eventually(`${OFFSETS} has leaders`, () => api(c.any(), `/v1/topics/${OFFSETS}`, { headers: admin }).then((r) => r.body.partitions as Array<{ leader: number }>), (ps) => ps.every((p) => p.leader > 0))
    const coordinatorId = offsets[partitionForGroup('team-a', offsets.length)]!.leader
    const b = c.brokers.find((x) => x.id !== coordinatorId)!

    const hb = await fetch(`${b.url()}/v1/groups/team-a/members/${join.body.memberId}/heartbeat`, {
      method: 'POST',
      headers: { ...worker, 'content-type': 'application/json' },
      body: JSON.stringify({ memberEpoch: join.body.memberEpoch, ownedPartitions: join.body.assignment }),
    })
    assert.equal(hb.status, 200, await hb.clone().text())
    assert.equal(hb.headers.get('x-edgelog-forwarded-by'), String(b.id))
    const epoch = ((await hb.json()) as { memberEpoch: number }).memberEpoch
    const commit = (headers: Record<string, string>, group = 'team-a') =>
      api(b.url(), `/v1/groups/${group}/offsets`, { method: 'POST', headers, json: { memberId: join.body.memberId, memberEpoch: epoch, offsets: [{ topic: 'secured', partition: 0, offset: 1 }] } })
    assert.equal((await commit(worker)).status, 200)
    const anonymous = await commit({})
    assert.equal(anonymous.status, 401, JSON.stringify(anonymous.body))
    const otherGroup = await commit(worker, 'other')
    assert.equal(otherGroup.status, 403, JSON.stringify(otherGroup.body))
    assert.equal(otherGroup.body.error.code, 'GROUP_AUTHORIZATION_FAILED')

    const ws = await WsClient.open(b.url(), worker)
    try {
      const ok = await ws.call({ op: 'commit', id: 'c1', group: 'team-b', offsets: [{ topic: 'secured', partition: 1, offset: 1 }] })
      assert.equal(ok.op, 'ok', JSON.stringify(ok))
    } finally {
      ws.ws.close()
    }
    const read = await api(coordinatorId === 1 ? c.brokers[1]!.url() : c.brokers[0]!.url(), '/v1/groups/team-b/offsets', { headers: worker })
    assert.deepEqual(read.body.offsets.map((o: { partition: number; offset: number }) => [o.partition, o.offset]), [[1, 1]])
    const listed = await api(b.url(), '/v1/groups', { headers: worker })
    assert.deepEqual(listed.body.groups.map((g: { group: string }) => g.group), ['team-a', 'team-b'])

    // Broker-to-broker group routes want the peer token, not a client's.
    const positions = await api(b.url(), '/internal/v1/groups/positions', { method: 'POST', headers: worker, json: { topic: 'secured', partition: 0 } })
    assert.equal(positions.status, 401, JSON.stringify(positions.body))
    const peerCommit = await api(b.url(), '/internal/v1/groups/commit', { method: 'POST', json: { group: 'team-c', offsets: [{ topic: 'secured', partition: 0, offset: 1 }] } })
    assert.equal(peerCommit.status, 401, JSON.stringify(peerCommit.body))
    const peerMember = await api(b.url(), '/internal/v1/groups/member', { method: 'POST', headers: worker, json: { op: 'join', group: 'team-a', join: { topics: ['secured'] } } })
    assert.equal(peerMember.status, 401, JSON.stringify(peerMember.body))
    // A socket member at a broker that is not the coordinator: the join travels with the peer token.
    const member = await WsClient.open(b.url(), worker)
    try {
      const ok = await member.call({ op: 'sub', id: 'm', topic: 'secured', group: 'team-d', from: 'earliest' })
      assert.equal(ok.op, 'ok', JSON.stringify(ok))
      await member.next((f) => f.op === 'assign' && f.sub === 'm' && f.partitions.length === PARTITIONS)
      const denied = await member.call({ op: 'sub', id: 'x', topic: 'secured', group: 'other-group' })
      assert.equal(denied.code, 'GROUP_AUTHORIZATION_FAILED', JSON.stringify(denied))
    } finally {
      member.ws.close()
    }
  })
})
