// A consumer group's state on its coordinator: members, epochs, the target assignment, who
// owns which partition, and the committed offsets. Everything here is synchronous and
// deterministic; the coordinator (./coordinator.ts) runs one operation at a time per group,
// persists the changes an operation made (takeChanges) and only then answers.
//
// Safety: a partition is owned by at most one member at any time (the `owners` index), and a
// partition moves only after its old owner gave it up: revocation first (the old owner's
// heartbeat no longer lists it), or the old owner left, was fenced or timed out.
import { assert, EdgelogError, fail } from '../core/errors.ts'
import { assignPartitions } from './assignor.ts'
import { memberState, ownedSince, type Member } from './member.ts'
import type { MemberValue, OffsetsRecord, OffsetValue } from './offsets-topic.ts'
import { compareTpKeys, parseTpKey, toTopicPartitions, tpKey, type TopicPartitions, type TpKey } from './topic-partitions.ts'

export type GroupState = 'Empty' | 'Reconciling' | 'Stable'

/** Topic → partition count, for topics that exist. */
export type PartitionCounts = (topic: string) => number | undefined

export interface JoinSpec {
  topics: string[]
  instanceId: string | null
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
}

/** Member ids fenced by a static member's replacement, remembered so they hear why. */
const FENCED_REMEMBERED = 64

export class ConsumerGroup {
  groupEpoch = 0
  assignmentEpoch = 0
  readonly members = new Map<string, Member>()
  readonly offsets = new Map<TpKey, OffsetValue>()
  private readonly byInstance = new Map<string, string>()
  private readonly owners = new Map<TpKey, string>()
  private readonly fenced = new Map<string, string>()
  private readonly dirtyMembers = new Set<string>()
  private readonly dirtyOffsets = new Map<TpKey, OffsetValue | null>()
  private dirtyGroup = false
  /** True once a group record was written: removing the group then needs a tombstone. */
  private persistedGroup = false

  constructor(readonly groupId: string) {}

  // ---- membership ----

  /** A new member joins, or a static member's instance comes back (and takes over its member). */
  join(memberId: string, spec: JoinSpec, counts: PartitionCounts): Member {
    const topics = [...new Set(spec.topics)].sort()
    const previousId = spec.instanceId === null ? undefined : this.byInstance.get(spec.instanceId)
    if (previousId !== undefined) {
      // Static membership: the instance keeps its partitions and epoch under a new member id,
      // without a rebalance. The old member id is fenced; the new process owns nothing yet, so
      // whatever the old one was giving up is free now.
      const old = this.members.get(previousId)!
      this.members.delete(previousId)
      this.dirtyMembers.add(previousId)
      this.rememberFenced(previousId, spec.instanceId!)
      const m: Member = { ...old, memberId, left: false, sessionTimeoutMs: spec.sessionTimeoutMs, rebalanceTimeoutMs: spec.rebalanceTimeoutMs }
      for (const tp of m.assigned.keys()) this.owners.set(tp, memberId)
      for (const tp of m.pending.keys()) this.owners.set(tp, memberId)
      this.members.set(memberId, m)
      this.byInstance.set(spec.instanceId!, memberId)
      this.dirtyMembers.add(memberId)
      if (!sameList(m.topics, topics)) {
        m.topics = topics
        this.bumpAndAssign(counts)
      }
      this.reconcile(m, [])
      return m
    }
    const m: Member = {
      memberId,
      instanceId: spec.instanceId,
      topics,
      sessionTimeoutMs: spec.sessionTimeoutMs,
      rebalanceTimeoutMs: spec.rebalanceTimeoutMs,
      memberEpoch: 0,
      previousMemberEpoch: 0,
      left: false,
      assigned: new Map(),
      pending: new Map(),
      target: new Set(),
    }
    this.members.set(memberId, m)
    if (spec.instanceId !== null) this.byInstance.set(spec.instanceId, memberId)
    this.dirtyMembers.add(memberId)
    this.bumpAndAssign(counts)
    this.reconcile(m, [])
    return m
  }

  /**
   * A heartbeat: checks the epoch, takes a subscription change, and moves the member one step
   * towards its target. A fenced member is removed (its partitions go to others) and the error
   * is thrown after the removal, so the coordinator persists it.
   */
  heartbeat(memberId: string, memberEpoch: number, owned: Set<TpKey>, topics: string[] | undefined, counts: PartitionCounts): Member {
    const m = this.member(memberId)
    if (m.left) fail('UNKNOWN_MEMBER_ID', `member ${memberId} left group '${this.groupId}'; join again`)
    if (memberEpoch !== m.memberEpoch) {
      // A lost answer: the member did not hear of its new epoch and still holds only what it
      // was given in the previous one (KIP-848's tolerance of the previous epoch).
      const lostAnswer = memberEpoch === m.previousMemberEpoch && [...owned].every((tp) => ownedSince(m, tp) !== undefined)
      if (!lostAnswer) {
        this.remove(memberId, counts)
        fail('FENCED_MEMBER_EPOCH', `member ${memberId} sent epoch ${memberEpoch}; its epoch is ${m.memberEpoch}. It must give up its partitions and join again`)
      }
    }
    if (topics !== undefined) {
      const sorted = [...new Set(topics)].sort()
      if (!sameList(sorted, m.topics)) {
        m.topics = sorted
        this.dirtyMembers.add(memberId)
        this.bumpAndAssign(counts)
      }
    }
    this.reconcile(m, owned)
    return m
  }

  /** A dynamic member leaves at once; a static one leaves its partitions waiting for it. */
  leave(memberId: string, counts: PartitionCounts): void {
    const m = this.member(memberId)
    if (m.instanceId === null) return this.remove(memberId, counts)
    if (m.left) return
    m.left = true
    // It processes nothing any more, so what it was giving up is free now.
    for (const tp of m.pending.keys()) this.owners.delete(tp)
    m.pending.clear()
    this.dirtyMembers.add(memberId)
  }

  /** Removes a member (session timeout, rebalance timeout, fencing) and rebalances the rest. */
  remove(memberId: string, counts: PartitionCounts): void {
    const m = this.members.get(memberId)
    if (!m) return
    for (const tp of m.assigned.keys()) this.owners.delete(tp)
    for (const tp of m.pending.keys()) this.owners.delete(tp)
    this.members.delete(memberId)
    if (m.instanceId !== null && this.byInstance.get(m.instanceId) === memberId) this.byInstance.delete(m.instanceId)
    this.dirtyMembers.add(memberId)
    this.bumpAndAssign(counts)
  }

  /** Topics were created or deleted: drop what no longer exists and rebalance if it matters. */
  refreshMetadata(counts: PartitionCounts): void {
    const exists = (tp: TpKey) => {
      const { topic, partition } = parseTpKey(tp)
      const n = counts(topic)
      return n !== undefined && partition < n
    }
    for (const m of this.members.values()) {
      for (const map of [m.assigned, m.pending]) {
        for (const tp of [...map.keys()]) {
          if (exists(tp)) continue
          map.delete(tp)
          this.owners.delete(tp)
          this.dirtyMembers.add(m.memberId)
        }
      }
    }
    const next = this.computeTarget(counts)
    let changed = false
    for (const m of this.members.values()) if (!sameSet(next.get(m.memberId)!, m.target)) changed = true
    if (changed) this.bumpAndAssign(counts)
  }

  // ---- commits ----

  /** Checks that a member may commit these partitions with this epoch (R8, KIP-1251). */
  validateMemberCommit(memberId: string, memberEpoch: number, tps: TpKey[]): void {
    const m = this.member(memberId)
    if (m.left) fail('UNKNOWN_MEMBER_ID', `member ${memberId} left group '${this.groupId}'`)
    if (memberEpoch > m.memberEpoch) {
      fail('STALE_MEMBER_EPOCH', `member ${memberId} committed with epoch ${memberEpoch}, ahead of its epoch ${m.memberEpoch}`)
    }
    for (const tp of tps) {
      const since = ownedSince(m, tp)
      const { topic, partition } = parseTpKey(tp)
      if (since === undefined) {
        fail('STALE_MEMBER_EPOCH', `member ${memberId} (epoch ${m.memberEpoch}) does not own ${topic}-${partition}`)
      }
      if (memberEpoch < since) {
        fail('STALE_MEMBER_EPOCH', `member ${memberId} committed ${topic}-${partition} with epoch ${memberEpoch}; it owns it since epoch ${since}`)
      }
    }
  }

  /** A commit without a member id is for groups nobody is consuming with (Kafka's "simple" commit). */
  validatePlainCommit(): void {
    if (this.members.size > 0) {
      fail('UNKNOWN_MEMBER_ID', `group '${this.groupId}' has members; a commit must carry the committing member's memberId and memberEpoch`)
    }
  }

  /** A commit that is already in the log. */
  applyCommitted(tp: TpKey, value: OffsetValue): void {
    this.offsets.set(tp, value)
  }

  /** An offset change (reset, delete) that takeChanges will write; null deletes it. */
  changeOffset(tp: TpKey, value: OffsetValue | null): void {
    if (value === null) this.offsets.delete(tp)
    else this.offsets.set(tp, value)
    this.dirtyOffsets.set(tp, value)
  }

  // ---- reading ----

  get state(): GroupState {
    if (this.members.size === 0) return 'Empty'
    for (const m of this.members.values()) if (memberState(m, this.assignmentEpoch) !== 'stable' && !m.left) return 'Reconciling'
    return 'Stable'
  }

  get isEmpty(): boolean {
    return this.members.size === 0
  }

  /** Nothing left to remember: no members and no offsets. */
  get isDead(): boolean {
    return this.members.size === 0 && this.offsets.size === 0
  }

  ownerOf(tp: TpKey): string | undefined {
    return this.owners.get(tp)
  }

  /** What a member may process: its assignment, without what it is giving up. */
  assignmentOf(m: Member): TopicPartitions[] {
    return toTopicPartitions(m.assigned.keys())
  }

  isFenced(memberId: string): boolean {
    return this.fenced.has(memberId)
  }

  /** Every partition some member owns or is meant to own. */
  memberPartitions(): Set<TpKey> {
    const out = new Set<TpKey>(this.owners.keys())
    for (const m of this.members.values()) for (const tp of m.target) out.add(tp)
    return out
  }

  /** One owner per partition, and the owners index agrees with the members. */
  checkInvariants(): void {
    const seen = new Map<TpKey, string>()
    for (const m of this.members.values()) {
      for (const tp of [...m.assigned.keys(), ...m.pending.keys()]) {
        assert(!seen.has(tp), `${tp} is owned by both ${seen.get(tp)} and ${m.memberId} in group ${this.groupId}`)
        seen.set(tp, m.memberId)
        assert(this.owners.get(tp) === m.memberId, `owners index disagrees on ${tp} in group ${this.groupId}`)
      }
      assert(m.memberEpoch <= this.groupEpoch, 'a member epoch never passes the group epoch')
    }
    assert(seen.size === this.owners.size, `owners index has stale entries in group ${this.groupId}`)
  }

  // ---- persistence ----

  /** The records that make the log agree with this state; clears the change tracking. */
  takeChanges(): OffsetsRecord[] {
    const out: OffsetsRecord[] = []
    if (this.dirtyGroup) {
      out.push({ type: 'group', group: this.groupId, value: { v: 1, groupEpoch: this.groupEpoch, assignmentEpoch: this.assignmentEpoch } })
      this.persistedGroup = true
    }
    for (const id of [...this.dirtyMembers].sort()) {
      const m = this.members.get(id)
      out.push({ type: 'member', group: this.groupId, memberId: id, value: m ? memberValue(m) : null })
    }
    for (const [tp, value] of [...this.dirtyOffsets].sort(([a], [b]) => compareTpKeys(a, b))) {
      const { topic, partition } = parseTpKey(tp)
      out.push({ type: 'offset', group: this.groupId, topic, partition, value })
    }
    this.dirtyGroup = false
    this.dirtyMembers.clear()
    this.dirtyOffsets.clear()
    return out
  }

  /** Tombstones for a group nobody remembers any more (no members, no offsets). */
  deathRecords(): OffsetsRecord[] {
    if (!this.persistedGroup) return []
    this.persistedGroup = false
    return [{ type: 'group', group: this.groupId, value: null }]
  }

  /** Replay: applies one record of this group from the offsets topic. */
  replay(r: OffsetsRecord, topicId: (topic: string) => string | undefined): void {
    switch (r.type) {
      case 'group':
        if (r.value) {
          this.groupEpoch = r.value.groupEpoch
          this.assignmentEpoch = r.value.assignmentEpoch
          this.persistedGroup = true
        } else {
          this.groupEpoch = 0
          this.assignmentEpoch = 0
          this.persistedGroup = false
        }
        return
      case 'offset': {
        const tp = tpKey(r.topic, r.partition)
        // An offset of a topic that was deleted (and maybe re-created) since is not this topic's.
        if (r.value && r.value.topicId === topicId(r.topic)) this.offsets.set(tp, r.value)
        else this.offsets.delete(tp)
        return
      }
      case 'member':
        if (r.value) this.members.set(r.memberId, memberFromValue(r.memberId, r.value))
        else this.members.delete(r.memberId)
        return
    }
  }

  /** After replay: rebuilds the indexes. Ownership claims that collide (never written by us) keep the first. */
  finishReplay(): void {
    this.owners.clear()
    this.byInstance.clear()
    for (const m of [...this.members.values()].sort((a, b) => (a.memberId < b.memberId ? -1 : 1))) {
      if (m.instanceId !== null) this.byInstance.set(m.instanceId, m.memberId)
      for (const map of [m.assigned, m.pending]) {
        for (const tp of [...map.keys()]) {
          if (this.owners.has(tp)) {
            map.delete(tp)
            this.dirtyMembers.add(m.memberId)
          } else this.owners.set(tp, m.memberId)
        }
      }
    }
    this.checkInvariants()
  }

  // ---- internals ----

  private member(memberId: string): Member {
    const m = this.members.get(memberId)
    if (m) return m
    if (this.fenced.has(memberId)) {
      fail('FENCED_INSTANCE_ID', `member ${memberId} was replaced by a new member with instance id '${this.fenced.get(memberId)}'`)
    }
    throw new EdgelogError('UNKNOWN_MEMBER_ID', `member ${memberId} is not in group '${this.groupId}' (it left, timed out or was fenced); join again`)
  }

  private rememberFenced(memberId: string, instanceId: string): void {
    this.fenced.set(memberId, instanceId)
    if (this.fenced.size > FENCED_REMEMBERED) this.fenced.delete(this.fenced.keys().next().value!)
  }

  /** A membership or subscription change: new group epoch, new target assignment. */
  private bumpAndAssign(counts: PartitionCounts): void {
    this.groupEpoch++
    const next = this.computeTarget(counts)
    for (const m of this.members.values()) {
      const t = next.get(m.memberId)!
      if (!sameSet(t, m.target)) {
        m.target = t
        this.dirtyMembers.add(m.memberId)
      }
    }
    this.assignmentEpoch = this.groupEpoch
    this.dirtyGroup = true
    // A static member that left cannot give anything back: what it loses is free at once.
    for (const m of this.members.values()) {
      if (!m.left) continue
      for (const tp of [...m.assigned.keys()]) {
        if (m.target.has(tp)) continue
        m.assigned.delete(tp)
        this.owners.delete(tp)
        this.dirtyMembers.add(m.memberId)
      }
    }
  }

  private computeTarget(counts: PartitionCounts): Map<string, Set<TpKey>> {
    const partitionCounts = new Map<string, number>()
    for (const m of this.members.values()) {
      for (const t of m.topics) {
        const n = counts(t)
        if (n !== undefined) partitionCounts.set(t, n)
      }
    }
    return assignPartitions(
      [...this.members.values()].map((m) => ({ memberId: m.memberId, topics: m.topics, previous: m.target })),
      partitionCounts,
    )
  }

  /**
   * One reconciliation step (KIP-848): first the member gives up what is no longer its target
   * (its epoch stays until it confirms); once it has, it moves to the assignment epoch and gets
   * every target partition nobody else still owns; the rest follow on later heartbeats.
   */
  private reconcile(m: Member, owned: Iterable<TpKey>): void {
    if (m.left) return
    if (m.pending.size > 0) {
      const still = new Set(owned)
      if (![...m.pending.keys()].some((tp) => still.has(tp))) {
        for (const tp of m.pending.keys()) this.owners.delete(tp)
        m.pending.clear()
        this.dirtyMembers.add(m.memberId)
      }
    }
    if (m.pending.size > 0) return
    const revoke = [...m.assigned.keys()].filter((tp) => !m.target.has(tp))
    if (revoke.length > 0) {
      for (const tp of revoke) {
        m.pending.set(tp, m.assigned.get(tp)!)
        m.assigned.delete(tp)
      }
      this.dirtyMembers.add(m.memberId)
      return
    }
    if (m.memberEpoch !== this.assignmentEpoch) {
      m.previousMemberEpoch = m.memberEpoch
      m.memberEpoch = this.assignmentEpoch
      this.dirtyMembers.add(m.memberId)
    }
    for (const tp of [...m.target].sort(compareTpKeys)) {
      if (m.assigned.has(tp) || this.owners.has(tp)) continue
      m.assigned.set(tp, m.memberEpoch)
      this.owners.set(tp, m.memberId)
      this.dirtyMembers.add(m.memberId)
    }
  }
}

function memberValue(m: Member): MemberValue {
  const owned = (map: Map<TpKey, number>) =>
    [...map].sort(([a], [b]) => compareTpKeys(a, b)).map(([tp, since]) => {
      const { topic, partition } = parseTpKey(tp)
      return [topic, partition, since] as [string, number, number]
    })
  return {
    v: 1,
    instanceId: m.instanceId,
    topics: m.topics,
    sessionTimeoutMs: m.sessionTimeoutMs,
    rebalanceTimeoutMs: m.rebalanceTimeoutMs,
    memberEpoch: m.memberEpoch,
    previousMemberEpoch: m.previousMemberEpoch,
    left: m.left,
    assigned: owned(m.assigned),
    pending: owned(m.pending),
    target: [...m.target].sort(compareTpKeys).map((tp) => {
      const { topic, partition } = parseTpKey(tp)
      return [topic, partition] as [string, number]
    }),
  }
}

function memberFromValue(memberId: string, v: MemberValue): Member {
  return {
    memberId,
    instanceId: v.instanceId,
    topics: v.topics,
    sessionTimeoutMs: v.sessionTimeoutMs,
    rebalanceTimeoutMs: v.rebalanceTimeoutMs,
    memberEpoch: v.memberEpoch,
    previousMemberEpoch: v.previousMemberEpoch,
    left: v.left,
    assigned: new Map(v.assigned.map(([t, p, since]) => [tpKey(t, p), since])),
    pending: new Map(v.pending.map(([t, p, since]) => [tpKey(t, p), since])),
    target: new Set(v.target.map(([t, p]) => tpKey(t, p))),
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

function sameSet<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): boolean {
  if (a.size !== b.size) return false
  for (const x of a) if (!b.has(x)) return false
  return true
}
