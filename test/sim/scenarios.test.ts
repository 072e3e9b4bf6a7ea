// The classic replication failures, scripted on the simulated cluster (RF=3,
// min.insync.replicas=2 unless said otherwise). Each test names the failure it guards against;
// each ends with the checker of the random runs (G1–G9) over everything it produced.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { brokerName } from './cluster.ts'
import { Scenario } from './harness.ts'
import { settle, TOPIC } from './run.ts'
import { EdgelogError } from '../../src/core/errors.ts'
import { OFFSETS_TOPIC, partitionForGroup } from '../../src/groups/offsets-topic.ts'

const LEASE_MS = 2000

describe('replication scenarios (simulated)', () => {
  test('zombie leader after a pause: it cannot acknowledge anything and truncates its divergent suffix when it returns', async () => {
    const s = new Scenario({ seed: 101 })
    await s.boot()
    for (let i = 0; i < 5; i++) assert.ok((await s.produce(`a${i}`)).ok)
    const zombie = s.leader
    const [f1, f2] = s.followers as [number, number]
    // A suffix only the leader has: followers cannot fetch it, acks=1 answers anyway.
    s.cluster.net.cutBoth(brokerName(zombie), brokerName(f1!))
    s.cluster.net.cutBoth(brokerName(zombie), brokerName(f2!))
    const suffix = await s.produce('zombie-suffix', { acks: '1' })
    assert.ok(suffix.ok)
    const zombieEnd = s.log(zombie).logEndOffset
    s.cluster.pause(zombie)
    s.cluster.net.healAll()
    await s.untilLeader((id) => id !== zombie, 5 * LEASE_MS, 'a new leader is elected while the old one is paused')
    const epoch = s.state.leaderEpoch
    for (let i = 0; i < 3; i++) assert.ok((await s.produce(`b${i}`)).ok, 'the new leader acknowledges acks=all')
    // Requests reach the zombie while it is paused; it answers them when it wakes up.
    const atZombie = [s.produce('to-zombie-all', { to: zombie }), s.produce('to-zombie-1', { to: zombie, acks: '1' })]
    await s.wait(100)
    s.cluster.resume(zombie)
    for (const r of await Promise.all(atZombie)) {
      assert.equal(r.ok, false, 'the zombie acknowledges nothing, not even acks=1')
      if (!r.ok) assert.equal(r.code, 'NOT_LEADER_OR_FOLLOWER')
    }
    await s.until(() => s.cluster.truncations.some((t) => t.node === zombie), 10_000, 'the old leader truncates')
    const t = s.cluster.truncations.find((x) => x.node === zombie)!
    assert.equal(t.from, zombieEnd)
    assert.ok(t.to < zombieEnd, 'its unreplicated suffix is gone')
    assert.ok(!s.cluster.roles.some((r) => r.node === zombie && r.role === 'leader' && r.epoch >= epoch), 'it never led the new epoch')
    await s.until(() => s.isr().includes(zombie), 10_000, 'the old leader rejoins the ISR as a follower')
    await s.finish()
    const values = s.log(zombie).records.map((r) => r.value)
    assert.ok(!values.includes('zombie-suffix') && !values.includes('to-zombie-1') && !values.includes('to-zombie-all'))
  })

  test('double failover with a lagging follower: truncation follows leader epochs, no acknowledged record is lost', async () => {
    const s = new Scenario({ seed: 202 })
    await s.boot()
    const a = s.leader
    const [b, c] = s.followers as [number, number]
    for (let i = 0; i < 4; i++) assert.ok((await s.produce(`x${i}`)).ok)
    // c lags: cut from everyone, it drops out of the ISR; acks=all goes on with {a, b}. Its
    // high watermark is behind its log end (it never heard that its last fetch committed).
    s.cluster.net.isolate(brokerName(c), [brokerName(a), brokerName(b)])
    assert.ok(s.log(c).highWatermark < s.log(c).logEndOffset, 'the lagging follower has records above its high watermark')
    for (let i = 0; i < 4; i++) assert.ok((await s.produce(`y${i}`)).ok)
    await s.until(() => !s.isr().includes(c), 10_000, 'the lagging follower leaves the ISR')
    // a gets a suffix b never sees (acks=1), then a pauses: b leads epoch 1.
    s.cluster.net.cutBoth(brokerName(a), brokerName(b))
    assert.ok((await s.produce('a-only-1', { acks: '1' })).ok)
    assert.ok((await s.produce('a-only-2', { acks: '1' })).ok)
    s.cluster.pause(a)
    s.cluster.net.uncut(brokerName(a), brokerName(b))
    s.cluster.net.uncut(brokerName(b), brokerName(a))
    await s.untilLeader((id) => id === b, 5 * LEASE_MS, 'b takes over')
    const epochB = s.state.leaderEpoch
    // b alone is below min.insync.replicas: acks=all is refused, fast, until c catches up from b.
    const refused = await s.produce('refused')
    assert.deepEqual(refused, { ok: false, code: 'NOT_ENOUGH_REPLICAS' })
    s.cluster.net.healAll()
    // The store has c in the ISR before the leader hears its CAS succeeded: wait for the leader.
    const leaderIsr = () => s.cluster.nodes.get(s.leader)?.broker.partition(TOPIC, 0).role?.describe().isr ?? []
    await s.until(() => s.isr().includes(c) && leaderIsr().includes(c), 10_000, 'c catches up from b and rejoins')
    for (let i = 0; i < 3; i++) assert.ok((await s.produce(`z${i}`)).ok)
    // Second failover, fast: b pauses; a is still paused, so c (in sync now) leads epoch 2.
    s.cluster.pause(b)
    await s.untilLeader((id) => id === c, 5 * LEASE_MS, 'c takes over')
    assert.ok(s.state.leaderEpoch > epochB)
    s.cluster.resume(a)
    s.cluster.resume(b)
    for (let i = 0; i < 3; i++) {
      const r = await s.produce(`w${i}`)
      assert.ok(r.ok || r.code === 'NOT_ENOUGH_REPLICAS', `produce after the second failover: ${JSON.stringify(r)}`)
    }
    await s.until(() => s.cluster.truncations.some((t) => t.node === a), 10_000, 'a truncates its suffix of epoch 0')
    // a's suffix started where b's log of epoch 0 ended: a truncated there, not to its own
    // high watermark (which was lower: the suffix was never committed).
    const ta = s.cluster.truncations.find((t) => t.node === a)!
    const epochs = s.log(c).epochs
    const epoch1Start = epochs.find((e) => e.epoch === epochB)?.startOffset
    assert.equal(ta.to, epoch1Start, `a truncates to the start of epoch ${epochB} (${JSON.stringify(epochs)})`)
    // c's log was a prefix of every later leader's: truncating by epoch keeps all of it, where
    // truncating to its high watermark would have thrown committed records away (KIP-101).
    assert.ok(!s.cluster.truncations.some((t) => t.node === c), 'the lagging follower keeps its records above its high watermark')
    await s.finish()
    const values = s.log(a).records.map((r) => r.value)
    assert.ok(!values.includes('a-only-1') && !values.includes('a-only-2'))
  })

  test('last replica standing: the ISR of one restarts uncleanly, is not elected, and an eligible replica keeps every committed record', async () => {
    const s = new Scenario({ seed: 303, fsync: 'batch', broker: { fsyncIntervalMs: 60_000, requestTimeoutMs: 2000 } })
    await s.boot()
    const l = s.leader
    const [f1, f2] = s.followers as [number, number]
    for (let i = 0; i < 5; i++) assert.ok((await s.produce(`c${i}`)).ok)
    const committed = s.log(l).highWatermark
    s.cluster.net.isolate(brokerName(l), s.followers.map(brokerName))
    await s.until(() => s.isr().length === 1, 10_000, 'the ISR shrinks to the leader')
    assert.deepEqual(s.isr(), [l])
    assert.deepEqual(s.state.elr.map((r) => r.id).sort(), [f1, f2].sort(), 'the followers are eligible leader replicas (KIP-966)')
    // Below min.insync.replicas: acks=all fails fast, and the high watermark does not move.
    assert.deepEqual(await s.produce('refused'), { ok: false, code: 'NOT_ENOUGH_REPLICAS' })
    assert.ok((await s.produce('uncommitted', { acks: '1' })).ok)
    assert.equal(s.log(l).highWatermark, committed, 'the high watermark stays while the ISR is below min.insync.replicas')
    // The sole ISR member loses power: everything after its last fsync is gone.
    s.cluster.crash(l, true)
    s.cluster.startBroker(l)
    await s.until(() => s.cluster.status.get(l) === 'up', 5000)
    await s.untilLeader((id) => id !== l, 5 * LEASE_MS, 'an eligible replica is elected')
    assert.ok([f1, f2].includes(s.leader))
    assert.ok(!s.cluster.roles.some((r) => r.node === l && r.role === 'leader' && r.epoch > 0), 'the uncleanly restarted replica never leads')
    assert.equal(s.cluster.elections.at(-1)?.kind, 'elr', s.trace())
    await s.finish()
  })

  test('last replica standing with no eligible replica: the partition stays offline rather than lose data, until unclean election is enabled', async () => {
    const s = new Scenario({ seed: 404, fsync: 'batch', broker: { fsyncIntervalMs: 60_000, requestTimeoutMs: 2000 } })
    await s.boot({ 'min.insync.replicas': '2', 'unclean.leader.election.enable': 'false' })
    const l = s.leader
    const [f1, f2] = s.followers as [number, number]
    for (let i = 0; i < 3; i++) assert.ok((await s.produce(`c${i}`)).ok)
    // Both followers go down uncleanly (they lose their eligibility), then the leader does.
    for (const f of [f1, f2]) s.cluster.crash(f, true)
    for (const f of [f1, f2]) s.cluster.startBroker(f)
    await s.until(() => s.isr().length === 1 && s.state.elr.length === 0, 10_000, 'only the leader is in sync, no replica is eligible')
    s.cluster.crash(l, true)
    s.cluster.startBroker(l)
    await s.until(() => s.state.leader === -1, 5 * LEASE_MS, 'the partition goes offline')
    await s.wait(3 * LEASE_MS)
    assert.equal(s.state.leader, -1, 'no uncleanly restarted replica is elected')
    assert.equal(s.cluster.elections.filter((e) => e.kind === 'unclean').length, 0)
    // The operator opts in to data loss: the controller elects a live replica and counts it.
    const topicKey = '/edgelog/topics/t'
    const kv = s.cluster.store.getSync(topicKey)!
    const record = JSON.parse(kv.value)
    record.config['unclean.leader.election.enable'] = 'true'
    s.cluster.store.txnSync([{ key: topicKey, modRevision: kv.modRevision }], [{ op: 'put', key: topicKey, value: JSON.stringify(record) }])
    await s.untilLeader(() => true, 5 * LEASE_MS, 'an unclean election')
    assert.equal(s.state.uncleanElections, 1)
    assert.equal(s.cluster.elections.at(-1)!.kind, 'unclean')
    const controller = [...s.cluster.nodes.values()].find((n) => n.controller.isActive)!
    assert.match(controller.broker.metrics.render(), /edgelog_unclean_leader_elections_total\{topic="t"\} 1/)
    await s.finish()
  })

  test('follower restart with a lost suffix rejoins the ISR only after catching up (R5)', async () => {
    const s = new Scenario({
      seed: 505,
      fsync: 'batch',
      broker: { fsyncIntervalMs: 60_000, requestTimeoutMs: 2000 },
      // Small fetches: catching up takes many round trips, so "in the ISR too early" would show.
      replication: { replicaFetchMaxBytes: 1 },
    })
    await s.boot()
    const l = s.leader
    const f = s.followers[0]!
    for (let i = 0; i < 60; i++) assert.ok((await s.produce(`r${i}`)).ok)
    const before = s.log(f).logEndOffset
    s.cluster.crash(f, true)
    s.cluster.startBroker(f)
    await s.until(() => s.cluster.status.get(f) === 'up', 5000)
    const incarnation = s.cluster.nodes.get(f)!.incarnation
    assert.ok(s.log(f).logEndOffset < before, `the power loss took the follower's unsynced suffix (${s.log(f).logEndOffset} < ${before})`)
    // Watch every event: whenever the new incarnation is in the ISR, it has everything committed.
    let joinedAt: { leo: number; hw: number } | undefined
    let sawFenced = false
    const inIsr = () => s.state.isr.some((r) => r.id === f && r.incarnation === incarnation)
    await s.until(
      () => {
        if (!s.state.isr.some((r) => r.id === f) && s.log(f).logEndOffset < s.log(l).highWatermark) sawFenced = true
        if (inIsr() && !joinedAt) joinedAt = { leo: s.log(f).logEndOffset, hw: s.log(l).highWatermark }
        return joinedAt !== undefined
      },
      20_000,
      'the restarted follower rejoins the ISR',
    )
    assert.ok(joinedAt!.leo >= joinedAt!.hw, `it joined with log end ${joinedAt!.leo}, the high watermark was ${joinedAt!.hw}`)
    // It was out of the ISR while it caught up (fenced by the controller, R5), not just quick.
    assert.ok(s.cluster.roles.some((r) => r.node === f && r.incarnation === incarnation), 'the restarted follower followed')
    assert.ok(sawFenced, 'the restarted follower was out of the ISR before it caught up')
    await s.until(
      () => s.cluster.nodes.get(l)!.broker.metrics.render().includes('edgelog_under_replicated_partitions 0'),
      10_000,
      'no partition is under-replicated',
    )
    await s.finish()
  })

  test('an idempotent retry after failover is answered as a duplicate by the new leader (producer state replicates)', async () => {
    const s = new Scenario({ seed: 606 })
    await s.boot()
    await s.initProducer()
    for (let i = 0; i < 3; i++) assert.ok((await s.produce(`i${i}`, { idempotent: true })).ok)
    const old = s.leader
    // The answer to the next batch is lost: the producer cannot know it was written.
    s.cluster.net.cut(brokerName(old), 'admin')
    const lost = await s.produce('i3', { idempotent: true, sequence: 3, record: false })
    assert.equal(lost.ok, false)
    await s.until(() => s.log(old).highWatermark === s.log(old).logEndOffset, 5000, 'the batch is committed')
    const offset = s.log(old).logEndOffset - 1
    s.cluster.crash(old)
    await s.untilLeader((id) => id !== old, 5 * LEASE_MS, 'failover')
    s.cluster.net.healAll()
    const retry = await s.produce('i3', { idempotent: true, sequence: 3 })
    assert.deepEqual(retry, { ok: true, offset, duplicate: true })
    assert.ok((await s.produce('i4', { idempotent: true, sequence: 4 })).ok)
    const gap = await s.produce('i6', { idempotent: true, sequence: 6, record: false })
    assert.deepEqual(gap, { ok: false, code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' })
    await s.finish()
  })

  test('an acknowledged offset commit survives a power loss of the group coordinator (offsets replicate with acks=all)', async () => {
    const s = new Scenario({ seed: 707 })
    await s.boot()
    for (let i = 0; i < 6; i++) assert.ok((await s.produce(`g${i}`)).ok)
    const group = 'sim-group'
    const commit = (to: number, offset: number) =>
      settle(s.cluster, s.client.call(brokerName(to), 'client.commit', { group, offsets: [{ topic: TOPIC, partition: 0, offset }] }), 20_000)
    const committed = (to: number) => settle(s.cluster, s.client.call<Array<{ offset: number }>>(brokerName(to), 'client.committed', { group }), 5_000)
    // The first commit creates __consumer_offsets; only the coordinator accepts it.
    const coordinator = async (): Promise<number> => {
      for (let attempt = 0; attempt < 50; attempt++) {
        const state = s.cluster.partitionState(OFFSETS_TOPIC, partitionForGroup(group, 8))
        const leader = state?.leader ?? -1
        if (leader > 0 && s.cluster.nodes.get(leader)?.broker.groups.leadsPartition(partitionForGroup(group, 8))) return leader
        await s.wait(100)
      }
      assert.fail('the group has a coordinator')
    }
    let first: number | undefined
    for (const id of s.cluster.brokerIds) {
      try {
        await commit(id, 2)
        first = id
        break
      } catch (err) {
        assert.ok(err instanceof EdgelogError && err.code === 'NOT_COORDINATOR', String(err))
      }
    }
    assert.equal(first, await coordinator(), 'the broker that took the commit leads the group\'s offsets partition')
    const state = s.cluster.partitionState(OFFSETS_TOPIC, partitionForGroup(group, 8))!
    assert.equal(state.replicas.length, 3, 'the offsets partition has three replicas')
    await commit(first!, 5)
    // Power loss right after the answer: only what reached the other replicas can survive.
    s.cluster.crash(first!, true)
    await s.until(() => {
      const st = s.cluster.partitionState(OFFSETS_TOPIC, partitionForGroup(group, 8))
      return st !== undefined && st.leader > 0 && st.leader !== first && s.cluster.nodes.get(st.leader)?.broker.groups.leadsPartition(partitionForGroup(group, 8)) === true
    }, 5 * LEASE_MS, 'a new coordinator')
    const next = await coordinator()
    assert.deepEqual((await committed(next)).map((o) => o.offset), [5], 'the new coordinator has the acknowledged commit')
    await s.finish()
  })

  test('zombie group coordinator after a pause: it acknowledges no commit, and the group moves with its members and offsets', async () => {
    const s = new Scenario({ seed: 808 })
    await s.boot()
    for (let i = 0; i < 6; i++) assert.ok((await s.produce(`z${i}`)).ok)
    const group = 'zombie-group'
    const p = partitionForGroup(group, 8)
    const call = <T>(to: number, method: string, payload: unknown) => settle(s.cluster, s.client.call<T>(brokerName(to), method, payload), 20_000)
    let member: { memberId: string; memberEpoch: number } | undefined
    const commit = (to: number, offset: number) => call(to, 'client.commit', { group, offsets: [{ topic: TOPIC, partition: 0, offset }], ...member })
    const leads = (id: number) => s.cluster.nodes.get(id)?.broker.groups.leadsPartition(p) === true
    // Any broker creates __consumer_offsets on the first commit; then find its leader.
    await commit(s.leader, 1).catch(() => undefined)
    await s.until(() => { const st = s.cluster.partitionState(OFFSETS_TOPIC, p); return st !== undefined && st.leader > 0 && leads(st.leader) }, 10_000, 'the group has a coordinator')
    const old = s.cluster.partitionState(OFFSETS_TOPIC, p)!.leader
    const joined = await call<{ memberId: string; memberEpoch: number }>(old, 'client.join', { group, topics: [TOPIC], sessionTimeoutMs: 60_000 })
    member = { memberId: joined.memberId, memberEpoch: joined.memberEpoch }
    await commit(old, 3)
    s.cluster.pause(old)
    await s.until(() => { const st = s.cluster.partitionState(OFFSETS_TOPIC, p); return st !== undefined && st.leader > 0 && st.leader !== old && leads(st.leader) }, 5 * LEASE_MS, 'a new coordinator while the old one is paused')
    const next = s.cluster.partitionState(OFFSETS_TOPIC, p)!.leader
    await commit(next, 4)
    // A commit reaches the paused coordinator; it answers once it wakes up, past its lease.
    const atZombie = commit(old, 6).then(() => 'ok', (err) => (err instanceof EdgelogError ? err.code : String(err)))
    await s.wait(100)
    s.cluster.resume(old)
    assert.notEqual(await atZombie, 'ok', 'the zombie coordinator acknowledged a commit')
    const described = await call<{ members: Array<{ memberId: string; memberEpoch: number }> }>(next, 'client.describeGroup', { group })
    assert.deepEqual(described.members.map((m) => [m.memberId, m.memberEpoch]), [[joined.memberId, joined.memberEpoch]], 'the member moved with the group')
    await s.until(() => !leads(old), 10_000, 'the old coordinator dropped the group')
    assert.deepEqual((await call<Array<{ offset: number }>>(next, 'client.committed', { group })).map((o) => o.offset), [4])
    await s.finish()
  })

  // ---- storage faults (RELIABILITY.md F16, F17, F19) ----

  test('a bit-flipped batch on a follower is never served and is repaired from the leader: the follower leaves the ISR before it truncates', async () => {
    const s = new Scenario({ seed: 909 })
    await s.boot()
    for (let i = 0; i < 12; i++) assert.ok((await s.produce(`f${i}`)).ok)
    const f = s.followers[0]!
    const leaderBatch = s.log(s.leader).batches.find((b) => b.baseOffset === 5)!
    assert.ok(s.cluster.flipBit(f, TOPIC, undefined, 5), 'a batch was flipped')
    // Whenever the follower is counted in the ISR, it holds every committed record, whole.
    let inIsrWhileShort = false
    let leftIsr = false
    const watch = () => {
      const log = s.cluster.nodes.get(f)?.broker.partition(TOPIC, 0).log
      const inIsr = s.isr().includes(f)
      if (!inIsr) leftIsr = true
      if (inIsr && log && log.logEndOffset < s.log(s.leader).highWatermark) inIsrWhileShort = true
      return false
    }
    await s.until(() => (watch(), s.cluster.corruptionsFound.some((c) => c.node === f)), 5000, 'the scrub finds the flipped batch')
    assert.equal(s.cluster.corruptionsFound.find((c) => c.node === f)!.baseOffset, 5)
    await s.until(() => (watch(), leftIsr && s.isr().includes(f) && s.cluster.disks.get(f)!.outstandingCorruptions().length === 0), 10_000, 'the follower is repaired and back in the ISR')
    assert.ok(leftIsr, 'the corrupt follower left the ISR')
    assert.ok(!inIsrWhileShort, 'it was never in the ISR with less than the committed log')
    assert.ok(s.cluster.truncations.some((t) => t.node === f && t.to === 5), 'it truncated at the corrupt batch')
    const repaired = s.log(f).batches.find((b) => b.baseOffset === 5)!
    assert.deepEqual(repaired.data, leaderBatch.data, 'the batch is the leader\'s again, byte for byte')
    assert.match(s.cluster.nodes.get(f)!.broker.metrics.render(), /edgelog_corrupt_batches_total\{topic="t"\} 1/)
    await s.finish()
  })

  test('a corrupt follower with a stale view of the ISR truncates only after its own CAS proved it out of the ISR (found by seed 508)', async () => {
    const s = new Scenario({ seed: 913 })
    await s.boot()
    for (let i = 0; i < 12; i++) assert.ok((await s.produce(`s${i}`)).ok)
    const f = s.followers[0]!
    const fLog = () => s.cluster.nodes.get(f)!.broker.partition(TOPIC, 0).log
    // A first flip: f leaves the ISR by its own CAS, truncates and fetches again.
    assert.ok(s.cluster.flipBit(f, TOPIC, undefined, 4))
    await s.until(() => s.cluster.truncations.some((t) => t.node === f), 5000, 'f truncates at the first flip')
    // From now on f cannot reach the store: its last view is the state its own CAS wrote (out of
    // the ISR). The leader adds it back when it has caught up; f never hears of that.
    s.cluster.net.isolate(brokerName(f), ['etcd'])
    await s.until(() => s.isr().includes(f) && fLog().logEndOffset === s.log(s.leader).logEndOffset, 10_000, 'the leader adds f back to the ISR')
    assert.ok((await s.produce('after-rejoin')).ok)
    const truncationsBefore = s.cluster.truncations.filter((t) => t.node === f).length
    assert.ok(s.cluster.flipBit(f, TOPIC, undefined, 8))
    let truncatedInIsr = false
    await s.until(
      () => {
        if (s.cluster.truncations.filter((t) => t.node === f).length > truncationsBefore && s.isr().includes(f)) truncatedInIsr = true
        return s.cluster.corruptionsFound.filter((c) => c.node === f).length >= 2
      },
      5000,
      'the scrub finds the second flip',
    )
    await s.wait(1000)
    if (s.cluster.truncations.filter((t) => t.node === f).length > truncationsBefore && s.isr().includes(f)) truncatedInIsr = true
    assert.ok(!truncatedInIsr, 'f truncated while the store still counted it in the ISR')
    s.cluster.net.healAll()
    await s.until(() => s.cluster.disks.get(f)!.outstandingCorruptions().length === 0 && s.isr().includes(f), 10_000, 'f repairs once it reaches the store')
    await s.finish()
  })

  test('a bit-flipped batch on the leader: a consumer is sent to another leader, never given the bytes, and the corrupt replica is not elected until repaired', async () => {
    // No scrub: the consumer's read is what finds the flip.
    const s = new Scenario({ seed: 910, replication: { logScrubIntervalMs: 0 } })
    await s.boot()
    for (let i = 0; i < 8; i++) assert.ok((await s.produce(`l${i}`)).ok)
    const old = s.leader
    const epoch = s.state.leaderEpoch
    assert.ok(s.cluster.flipBit(old, TOPIC, undefined, 3))
    const fetch = (offset: number) =>
      settle(s.cluster, s.client.call<{ records: Array<{ value: string }> }>(brokerName(old), 'client.fetch', { topic: TOPIC, partition: 0, offset, maxRecords: 100 }), 5000).then(
        (r) => r.records.map((x) => x.value),
        (err) => (err instanceof EdgelogError ? err.code : String(err)),
      )
    assert.deepEqual(await fetch(3), 'NOT_LEADER_OR_FOLLOWER', 'the consumer is told to find the leader again, not given a corrupt batch')
    const prefix = await fetch(0)
    assert.ok(prefix === 'NOT_LEADER_OR_FOLLOWER' || (Array.isArray(prefix) && prefix.join() === 'l0,l1,l2'), `a read from before it gets at most the whole batches before it: ${prefix}`)
    await s.untilLeader((id) => id !== old, 5 * LEASE_MS, 'another in-sync replica leads')
    assert.ok(!s.cluster.roles.some((r) => r.node === old && r.role === 'leader' && r.epoch > epoch), 'the corrupt replica did not lead again')
    for (let i = 0; i < 3; i++) assert.ok((await s.produce(`m${i}`)).ok, 'the new leader acknowledges acks=all')
    await s.until(() => s.isr().includes(old) && s.cluster.disks.get(old)!.outstandingCorruptions().length === 0, 10_000, 'the old leader repairs from the new one and rejoins')
    await s.finish()
  })

  test('a torn log tail found at restart (even after a clean shutdown) is cut to the last whole batch, and makes the replica ineligible until it caught up', async () => {
    const s = new Scenario({ seed: 911 })
    await s.boot()
    const l = s.leader
    const [f1, f2] = s.followers as [number, number]
    // f2 falls out of the ISR; {l, f1} commit what follows.
    s.cluster.net.isolate(brokerName(f2), [brokerName(l), brokerName(f1)])
    await s.until(() => !s.isr().includes(f2), 10_000, 'f2 leaves the ISR')
    for (let i = 0; i < 10; i++) assert.ok((await s.produce(`t${i}`)).ok)
    await s.until(() => s.log(f1).logEndOffset === s.log(l).logEndOffset, 5000, 'f1 has everything')
    const before = s.log(f1).logEndOffset
    // f1 stops cleanly: the ISR falls below min.insync.replicas, so f1 is an eligible leader replica (KIP-966).
    await settle(s.cluster, s.cluster.stopCleanly(f1), 5000)
    await s.until(() => s.state.elr.some((r) => r.id === f1), 5000, 'f1 is in the ELR')
    // While it is down its file is cut: the last (committed) batch row is short.
    assert.ok(s.cluster.tearTail(f1, TOPIC, s.cluster.rng.fork('tear'), 'cut'))
    s.cluster.startBroker(f1)
    await s.until(() => s.cluster.status.get(f1) === 'up', 5000)
    const node = s.cluster.nodes.get(f1)!
    const log = node.broker.partition(TOPIC, 0).log
    assert.equal(log.recovered.batches, 1, 'recovery removed the torn batch')
    assert.equal(log.recovered.truncatedFrom, before - 1)
    assert.equal(node.agent.registrationValue.unclean, true, 'a boot whose recovery truncated is unclean, whatever the marker says')
    await s.until(() => !s.state.elr.some((r) => r.id === f1), 5000, 'f1 is no longer eligible')
    // The leader stops too: only a replica with every committed record may take over — the
    // leader itself when it returns, not f1 with its shortened log.
    await settle(s.cluster, s.cluster.stopCleanly(l), 5000)
    await s.wait(3 * LEASE_MS)
    assert.ok(!s.cluster.roles.some((r) => r.node === f1 && r.role === 'leader'), 'the replica that lost its tail is not elected')
    s.cluster.startBroker(l)
    await s.untilLeader((id) => id === l, 5 * LEASE_MS, 'the old leader, eligible, leads again')
    await s.until(() => s.isr().includes(f1), 10_000, 'f1 catches up and rejoins the ISR')
    await s.finish()
  })

  test('a broker restored from an old copy of its disk is not taken for the in-sync replica it was (F18: a stale incarnation)', async () => {
    const s = new Scenario({ seed: 914 })
    await s.boot()
    for (let i = 0; i < 3; i++) assert.ok((await s.produce(`o${i}`)).ok)
    const f = s.followers[0]!
    const copy = s.cluster.backup(f)
    // f restarts once (incarnation 2) and is in sync again with its new incarnation.
    s.cluster.crash(f)
    s.cluster.startBroker(f)
    await s.until(() => s.state.isr.some((r) => r.id === f && r.incarnation === 2), 10_000, 'f is in sync as incarnation 2')
    for (let i = 0; i < 10; i++) assert.ok((await s.produce(`n${i}`)).ok)
    // Its disk is put back to the copy: the node database says incarnation 1, the log has 3 records.
    s.cluster.crashRestore(f, copy)
    s.cluster.startBroker(f)
    await s.until(() => s.cluster.status.get(f) === 'up', 5000)
    const node = s.cluster.nodes.get(f)!
    assert.ok(node.incarnation > 2, `the restored broker takes an incarnation the cluster never saw (${node.incarnation})`)
    assert.equal(node.agent.registrationValue.unclean, true)
    let inIsrWhileShort = false
    await s.until(
      () => {
        // Counted in the ISR as the live process (its incarnation: what elections go by) while short.
        const l = s.cluster.nodes.get(f)?.broker.partition(TOPIC, 0).log
        const counted = s.state.isr.some((r) => r.id === f && r.incarnation === node.incarnation)
        if (counted && l && l.logEndOffset < s.log(s.leader).highWatermark) inIsrWhileShort = true
        return counted
      },
      10_000,
      'the restored broker catches up and rejoins',
    )
    assert.ok(!inIsrWhileShort, 'the stale replica was counted in the ISR without the committed records')
    await s.finish()
  })

  test('a leader whose disk is full answers KAFKA_STORAGE_ERROR, makes nothing visible, steps down, and rejoins once the disk has room', async () => {
    const s = new Scenario({ seed: 912 })
    await s.boot()
    for (let i = 0; i < 5; i++) assert.ok((await s.produce(`d${i}`)).ok)
    const old = s.leader
    const end = s.log(old).logEndOffset
    s.cluster.failWrites(old, 'SQLITE_FULL')
    assert.deepEqual(await s.produce('refused-by-disk', { to: old }), { ok: false, code: 'KAFKA_STORAGE_ERROR' })
    assert.equal(s.log(old).logEndOffset, end, 'no partial batch')
    await s.untilLeader((id) => id !== old, 5 * LEASE_MS, 'another replica leads while the disk is full')
    for (let i = 0; i < 3; i++) assert.ok((await s.produce(`e${i}`)).ok, 'the new leader acknowledges acks=all')
    s.cluster.failWrites(old, false)
    await s.until(() => s.isr().includes(old), 10_000, 'the old leader catches up and rejoins the ISR')
    await s.finish()
    assert.ok(!s.log(old).records.some((r) => r.value === 'refused-by-disk'))
  })
})
