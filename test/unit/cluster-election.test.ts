// The controller's rules, one partition at a time (src/cluster/election.ts), and the metadata
// store's etcd semantics the controller and the leaders rely on: compare-and-swap on revisions,
// and leases whose keys vanish when they expire.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { assignReplicas, decidePartition } from '../../src/cluster/election.ts'
import { MemoryMetaStore } from '../../src/cluster/memory-store.ts'
import type { BrokerRegistration, PartitionState } from '../../src/cluster/state.ts'

const ref = (id: number, incarnation = 1) => ({ id, incarnation })
const state = (over: Partial<PartitionState> = {}): PartitionState => ({
  replicas: [1, 2, 3],
  leader: 1,
  leaderEpoch: 4,
  leaderIncarnation: 1,
  isr: [ref(1), ref(2), ref(3)],
  elr: [],
  uncleanElections: 0,
  ...over,
})
const brokers = (...regs: Array<[number, number, boolean?]>) =>
  new Map<number, BrokerRegistration>(regs.map(([id, incarnation, unclean]) => [id, { id, incarnation, url: `http://b${id}`, unclean: unclean ?? false }]))
const decide = (s: PartitionState, b: Map<number, BrokerRegistration>, min = 2, unclean = false) =>
  decidePartition({ state: s, brokers: b, minInsyncReplicas: min, uncleanLeaderElection: unclean })

describe('controller decisions', () => {
  test('a healthy partition is left alone', () => {
    assert.equal(decide(state(), brokers([1, 1], [2, 1], [3, 1])), undefined)
  })

  test('a dead leader is replaced from the ISR in replica order and the epoch moves on', () => {
    const d = decide(state(), brokers([2, 1], [3, 1]))!
    assert.equal(d.election, 'isr')
    assert.equal(d.next.leader, 2)
    assert.equal(d.next.leaderEpoch, 5)
    assert.deepEqual(d.next.isr, [ref(2), ref(3)])
    assert.deepEqual(d.next.elr, [], 'the ISR is still at min.insync.replicas: the dead leader is not eligible')
  })

  test('a leader that restarted (another incarnation) is re-elected with a new epoch, never kept', () => {
    const d = decide(state(), brokers([1, 2, false], [2, 1], [3, 1]))!
    assert.equal(d.next.leader, 1, 'a clean restart keeps its data: it may lead again')
    assert.equal(d.next.leaderEpoch, 5)
    assert.equal(d.next.leaderIncarnation, 2)
    assert.deepEqual(d.next.isr[0], ref(1, 2))
  })

  test('R5: a replica that restarted uncleanly leaves the ISR and the ELR, and does not lead', () => {
    const d = decide(state(), brokers([1, 2, true], [2, 1], [3, 1]))!
    assert.equal(d.next.leader, 2)
    assert.deepEqual(d.next.isr.map((r) => r.id), [2, 3])
    const follower = decide(state(), brokers([1, 1], [2, 1], [3, 7, true]))!
    assert.equal(follower.election, undefined, 'fencing a follower elects nobody')
    assert.deepEqual(follower.next.isr, [ref(1), ref(2)])
    assert.equal(follower.next.leaderEpoch, 4)
    const elr = decide(state({ leader: 1, isr: [ref(1)], elr: [ref(2), ref(3)] }), brokers([1, 1], [2, 2, true], [3, 1]))!
    assert.deepEqual(elr.next.elr, [ref(3)])
  })

  test('KIP-966: a dead replica leaving an ISR below min.insync.replicas becomes eligible, and leads when the ISR is gone', () => {
    const shrink = decide(state({ isr: [ref(1), ref(2)] }), brokers([1, 1], [3, 1]))!
    assert.deepEqual(shrink.next.isr, [ref(1)])
    assert.deepEqual(shrink.next.elr, [ref(2)])
    const fromElr = decide(shrink.next, brokers([2, 1], [3, 1]))!
    assert.equal(fromElr.election, 'elr')
    assert.equal(fromElr.next.leader, 2)
    assert.deepEqual(fromElr.next.isr, [ref(2)])
    assert.deepEqual(fromElr.next.elr, [ref(1)], 'the old leader, dead below min.insync.replicas, is eligible in turn')
  })

  test('last replica standing: no eligible replica → no leader, the epoch moves once; unclean election only when enabled', () => {
    const s = state({ isr: [ref(1)], elr: [] })
    const offline = decide(s, brokers([1, 2, true], [2, 1], [3, 1]))!
    assert.equal(offline.election, 'none')
    assert.equal(offline.next.leader, -1)
    assert.equal(offline.next.leaderEpoch, 5)
    assert.equal(decide(offline.next, brokers([1, 2, true], [2, 1], [3, 1])), undefined, 'nothing changes while nobody is eligible')
    const unclean = decide(offline.next, brokers([1, 2, true], [2, 1], [3, 1]), 2, true)!
    assert.equal(unclean.election, 'unclean')
    assert.equal(unclean.next.leader, 1, 'as Kafka: the first live replica in assignment order')
    assert.equal(unclean.next.leaderEpoch, 6)
    assert.equal(unclean.next.uncleanElections, 1)
    assert.deepEqual(unclean.next.isr, [ref(1, 2)])
  })

  test('a returning ISR member of an offline partition leads again', () => {
    const offline = state({ leader: -1, leaderIncarnation: -1, leaderEpoch: 9, isr: [], elr: [ref(3)] })
    assert.equal(decide(offline, brokers([1, 1], [2, 1])), undefined)
    const back = decide(offline, brokers([1, 1], [2, 1], [3, 2]))!
    assert.equal(back.next.leader, 3)
    assert.equal(back.next.leaderEpoch, 10)
  })
})

describe('replica assignment', () => {
  test('replicas are distinct, leaders are spread, and followers shift between rounds', () => {
    const a = assignReplicas([3, 1, 2, 4], 8, 3, 1)
    for (const r of a) assert.equal(new Set(r).size, 3)
    const leaders = a.map((r) => r[0])
    for (const id of [1, 2, 3, 4]) assert.equal(leaders.filter((l) => l === id).length, 2)
    assert.notDeepEqual(a[0], a[4], 'partition p and p+n have different followers')
    assert.deepEqual(assignReplicas([7], 2, 1, 0), [[7], [7]])
  })
})

describe('in-memory metadata store (etcd semantics)', () => {
  test('compare-and-swap on mod revisions; a failed transaction changes nothing', async () => {
    const s = new MemoryMetaStore({ now: () => 0, monotonic: () => 0 })
    const r1 = await s.txn([{ key: 'a', modRevision: 0 }], [{ op: 'put', key: 'a', value: '1' }])
    assert.ok(r1.succeeded)
    const again = await s.txn([{ key: 'a', modRevision: 0 }], [{ op: 'put', key: 'a', value: '2' }, { op: 'put', key: 'b', value: 'x' }])
    assert.equal(again.succeeded, false)
    assert.equal((await s.get('b')), undefined)
    const kv = (await s.get('a'))!
    assert.equal(kv.modRevision, r1.revision)
    assert.ok((await s.txn([{ key: 'a', modRevision: kv.modRevision }], [{ op: 'put', key: 'a', value: '3' }])).succeeded)
    assert.equal((await s.get('a'))!.value, '3')
    await s.txn([], [{ op: 'put', key: 'p/1', value: '' }, { op: 'put', key: 'p/2', value: '' }, { op: 'put', key: 'q', value: '' }])
    assert.deepEqual((await s.range('p/')).kvs.map((k) => k.key), ['p/1', 'p/2'])
    await s.txn([], [{ op: 'deletePrefix', prefix: 'p/' }])
    assert.deepEqual((await s.range('p/')).kvs, [])
  })

  test('keys die with their lease; keepalive extends it; a put with an unknown lease fails whole', async () => {
    let now = 0
    const s = new MemoryMetaStore({ now: () => now, monotonic: () => now })
    const lease = await s.grantLease(2)
    await s.txn([], [{ op: 'put', key: 'broker', value: 'x', lease }])
    now = 1500
    assert.equal(await s.keepAlive(lease), 2)
    now = 3000
    assert.ok(await s.get('broker'), 'kept alive')
    now = 3600
    assert.equal(await s.get('broker'), undefined, 'expired 2 s after the last keepalive')
    assert.equal(await s.keepAlive(lease), 0)
    await assert.rejects(s.txn([], [{ op: 'put', key: 'k', value: 'v' }, { op: 'put', key: 'z', value: 'v', lease }]))
    assert.equal(await s.get('k'), undefined)
  })
})
