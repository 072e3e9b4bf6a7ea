// The group coordinator (KIP-848): membership, server-side assignment, fenced offset commits,
// lag and offset resets for every group whose partition of `__consumer_offsets` this node
// leads. Group state is materialized in memory from that topic: loaded by replaying the
// partitions at start (a single node) or when this broker becomes the leader of one (a
// cluster), and every change is appended there before it is answered, so a restart or a
// failover rebuilds the same groups, members, epochs and offsets. A broker that stops leading
// a partition drops its groups: their requests answer NOT_COORDINATOR from then on.
//
// One operation per group runs at a time (a bounded queue per group); commits do not wait in
// that queue: they are checked against the current state and appended in order.
import type { NewRecord } from '../codec/record-batch.ts'
import type { Runtime, TimerHandle } from '../core/clock.ts'
import { EdgelogError, fail } from '../core/errors.ts'
import { validateTopicName } from '../broker/names.ts'
import { ConsumerGroup, type GroupState, type JoinSpec } from './group.ts'
import { memberState, type Member } from './member.ts'
import {
  decodeOffsetsRecord,
  encodeOffsetsRecord,
  isInternalTopic,
  partitionForGroup,
  type OffsetsRecord,
  type OffsetValue,
} from './offsets-topic.ts'
import { SerialQueue } from './serial-queue.ts'
import { compareTpKeys, fromTopicPartitions, parseTpKey, toTopicPartitions, tpKey, type TopicPartitions, type TpKey } from './topic-partitions.ts'

/** What the coordinator needs from the broker it runs in. */
export interface GroupHost {
  runtime: Runtime
  /** Partitions of a user topic; undefined when it does not exist (or is internal). */
  partitionCount(topic: string): number | undefined
  topicId(topic: string): string | undefined
  /**
   * Positions of a partition of a user topic as its leader has them (in a cluster another
   * broker may lead it); throws UNKNOWN_TOPIC_OR_PARTITION.
   */
  positions(topic: string, partition: number): Promise<Positions>
  /**
   * A log end offset of the partition that is at least `offset` if one is known (a commit's
   * bound: the log end only moves forward, except for an unacknowledged suffix a failover
   * truncates), else the current one; throws UNKNOWN_TOPIC_OR_PARTITION.
   */
  logEndOffset(topic: string, partition: number, offset: number): Promise<number>
  offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number | null>
  /** Partitions of the offsets topic; creates the topic when asked to and it is missing. */
  offsetsTopicPartitions(create: boolean): number | undefined
  /** Does this node lead this partition of the offsets topic? */
  isLeader(partition: number): boolean
  /**
   * Appends records to a partition of the offsets topic as one batch (one transaction) and
   * resolves once they are committed (in a cluster: on every in-sync replica, as acks=all).
   */
  append(partition: number, records: NewRecord[]): Promise<void>
  /** Visits every record of a partition of the offsets topic in offset order. */
  replay(partition: number, visit: (key: Uint8Array | null, value: Uint8Array | null) => void): void
}

export interface Positions {
  logStartOffset: number
  highWatermark: number
  logEndOffset: number
}

export interface GroupOptions {
  /** Partitions of `__consumer_offsets` when this node creates it (Kafka's offsets.topic.num.partitions). */
  offsetsTopicPartitions: number
  /** Members in one group (Kafka's group.consumer.max.size). */
  maxGroupSize: number
  /** Groups a node creates; existing ones are always loaded. */
  maxGroups: number
  heartbeatIntervalMs: number
  minSessionTimeoutMs: number
  maxSessionTimeoutMs: number
  defaultSessionTimeoutMs: number
  defaultRebalanceTimeoutMs: number
  maxRebalanceTimeoutMs: number
  /** Operations (joins, heartbeats, leaves, resets) waiting per group. */
  maxQueuedPerGroup: number
}

export const DEFAULT_GROUP_OPTIONS: GroupOptions = {
  offsetsTopicPartitions: 8,
  maxGroupSize: 1000,
  maxGroups: 10_000,
  heartbeatIntervalMs: 3000,
  minSessionTimeoutMs: 1000,
  maxSessionTimeoutMs: 300_000,
  defaultSessionTimeoutMs: 45_000,
  defaultRebalanceTimeoutMs: 300_000,
  maxRebalanceTimeoutMs: 1_800_000,
  maxQueuedPerGroup: 1000,
}

/** Topics one member may subscribe to. */
export const MAX_SUBSCRIBED_TOPICS = 100

export interface JoinRequest {
  topics: string[]
  instanceId?: string
  sessionTimeoutMs?: number
  rebalanceTimeoutMs?: number
}

export interface MemberAnswer {
  memberId: string
  memberEpoch: number
  assignment: TopicPartitions[]
  heartbeatIntervalMs: number
}

export interface CommitRequest {
  memberId?: string
  memberEpoch?: number
  offsets: Array<{ topic: string; partition: number; offset: number; metadata?: string }>
}

export type ResetTo = 'earliest' | 'latest' | { timestamp: number } | { offset: number }

export interface ResetRequest {
  /** Partitions to reset; all partitions of the group's committed topics when omitted. */
  topics?: Array<{ topic: string; partitions?: number[] }>
  to: ResetTo
  dryRun?: boolean
}

interface MemberTimers {
  session?: TimerHandle
  rebalance?: TimerHandle
}

export class GroupCoordinator {
  private readonly groups = new Map<string, ConsumerGroup>()
  private readonly queues = new Map<string, SerialQueue>()
  private readonly timers = new Map<string, Map<string, MemberTimers>>()
  private readonly watchers = new Map<string, Set<() => void>>()
  private closed = false

  constructor(
    private readonly host: GroupHost,
    readonly options: GroupOptions,
    private readonly logError: (err: unknown) => void = (err) => console.error(err),
  ) {}

  /** Replays every partition of the offsets topic this node leads (a single node: all of them). */
  load(): void {
    const n = this.host.offsetsTopicPartitions(false)
    if (n === undefined) return
    for (let p = 0; p < n; p++) {
      if (!this.host.isLeader(p)) continue
      for (const g of this.replayPartition(p)) this.adopt(g)
    }
  }

  /**
   * A cluster changed who leads a partition of the offsets topic. Becoming its leader loads the
   * partition's groups from the replicated log (members keep their epochs and get a fresh
   * session timeout to find this coordinator); losing it drops them, so their members are
   * answered NOT_COORDINATOR and go to the new coordinator.
   */
  onLeadershipChange(partition: number, leads: boolean): void {
    if (this.closed) return
    this.unloadPartition(partition)
    if (!leads) return
    try {
      for (const g of this.replayPartition(partition)) this.adopt(g)
    } catch (err) {
      this.logError(err)
    }
  }

  /** Does this node coordinate the groups of this partition of the offsets topic now? */
  leadsPartition(partition: number): boolean {
    return this.host.isLeader(partition)
  }

  private unloadPartition(partition: number): void {
    const n = this.host.offsetsTopicPartitions(false)
    if (n === undefined) return
    for (const groupId of [...this.groups.keys()]) {
      if (partitionForGroup(groupId, n) !== partition) continue
      const members = this.timers.get(groupId)
      if (members) for (const t of members.values()) this.clearTimers(t)
      this.timers.delete(groupId)
      this.groups.delete(groupId)
      // Socket members heartbeat now and learn that the group moved.
      this.notify(groupId)
    }
  }

  /** Resolves once every group operation queued so far has finished (a drain before close). */
  async idle(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.run(() => undefined).catch(() => undefined)))
  }

  close(): void {
    this.closed = true
    for (const members of this.timers.values()) {
      for (const t of members.values()) this.clearTimers(t)
    }
    this.timers.clear()
  }

  // ---- membership ----

  async join(groupId: string, req: JoinRequest): Promise<MemberAnswer> {
    const spec = this.joinSpec(req)
    return this.operate(groupId, true, (g) => {
      if (spec.instanceId === null || !this.hasInstance(g, spec.instanceId)) {
        if (g.members.size >= this.options.maxGroupSize) {
          fail('GROUP_MAX_SIZE_REACHED', `group '${groupId}' has ${g.members.size} members, the most it may have`)
        }
      }
      const m = g.join(this.newMemberId(), spec, this.counts)
      this.armSession(g, m)
      return () => this.answer(g, m.memberId)
    })
  }

  async heartbeat(
    groupId: string,
    memberId: string,
    req: { memberEpoch: number; ownedPartitions: TopicPartitions[]; topics?: string[] },
  ): Promise<MemberAnswer> {
    const topics = req.topics === undefined ? undefined : this.checkTopics(req.topics)
    const owned = fromTopicPartitions(req.ownedPartitions)
    return this.operate(groupId, false, (g) => {
      const m = g.heartbeat(memberId, req.memberEpoch, owned, topics, this.counts)
      this.armSession(g, m)
      return () => this.answer(g, memberId)
    })
  }

  async leave(groupId: string, memberId: string): Promise<{ memberId: string; memberEpoch: number }> {
    return this.operate(groupId, false, (g) => {
      const m = g.members.get(memberId)
      g.leave(memberId, this.counts)
      // A static member's partitions wait one session timeout for its instance to return.
      if (m && m.left) this.armSession(g, m)
      return () => ({ memberId, memberEpoch: m?.left ? -2 : -1 })
    })
  }

  /**
   * Calls `fn` (after the current turn) whenever the group's state changed: members that live
   * in this process (WebSocket members) heartbeat then instead of waiting for their interval,
   * so a freed partition reaches its next owner at once. Returns the unsubscribe function.
   */
  watch(groupId: string, fn: () => void): () => void {
    let set = this.watchers.get(groupId)
    if (!set) this.watchers.set(groupId, (set = new Set()))
    set.add(fn)
    return () => {
      set!.delete(fn)
      if (set!.size === 0 && this.watchers.get(groupId) === set) this.watchers.delete(groupId)
    }
  }

  private notify(groupId: string): void {
    const set = this.watchers.get(groupId)
    if (!set || set.size === 0) return
    this.host.runtime.timers.defer(() => {
      for (const fn of [...(this.watchers.get(groupId) ?? [])]) {
        try {
          fn()
        } catch (err) {
          this.logError(err)
        }
      }
    })
  }

  // ---- offsets ----

  async commit(groupId: string, req: CommitRequest) {
    this.checkOpen()
    const now = this.host.runtime.clock.now()
    const values: Array<{ tp: TpKey; value: OffsetValue }> = []
    // The coordinator first: a commit sent to the wrong broker fails before any lookup.
    this.coordinatorPartition(groupId, false)
    for (const o of req.offsets) {
      const end = await this.host.logEndOffset(o.topic, o.partition, o.offset)
      if (o.offset > end) {
        fail('OFFSET_OUT_OF_RANGE', `offset ${o.offset} is beyond the end (${end}) of ${o.topic}-${o.partition}`)
      }
      values.push({
        tp: tpKey(o.topic, o.partition),
        value: {
          v: 1,
          offset: o.offset,
          metadata: o.metadata ?? '',
          commitTimestamp: now,
          memberEpoch: req.memberEpoch ?? -1,
          topicId: this.host.topicId(o.topic)!,
        },
      })
    }
    const partition = this.coordinatorPartition(groupId, true)!
    if (req.memberId !== undefined) {
      const g = this.groups.get(groupId)
      if (!g) fail('UNKNOWN_MEMBER_ID', `member ${req.memberId} is not in group '${groupId}' (it has no members); join again`)
      g.validateMemberCommit(req.memberId, req.memberEpoch!, values.map((v) => v.tp))
    } else {
      this.groups.get(groupId)?.validatePlainCommit()
      if (!this.groups.has(groupId)) this.checkGroupLimit(groupId)
    }
    await this.write(
      partition,
      values.map(({ tp, value }) => {
        const { topic, partition: p } = parseTpKey(tp)
        return { type: 'offset', group: groupId, topic, partition: p, value } satisfies OffsetsRecord
      }),
    )
    const g = this.groupFor(groupId)
    for (const { tp, value } of values) g.applyCommitted(tp, value)
    return { group: groupId, offsets: req.offsets.map(({ topic, partition, offset, metadata }) => ({ topic, partition, offset, metadata: metadata ?? '' })) }
  }

  committed(groupId: string): Array<{ topic: string; partition: number; offset: number; metadata: string; commitTimestamp: number }> {
    const g = this.existing(groupId)
    if (!g) return []
    return [...g.offsets]
      .filter(([tp]) => this.exists(tp))
      .sort(([a], [b]) => compareTpKeys(a, b))
      .map(([tp, v]) => ({ ...parseTpKey(tp), offset: v.offset, metadata: v.metadata, commitTimestamp: v.commitTimestamp }))
  }

  /** Lag of every partition with a commit or an owner: unread records below the high watermark. */
  async lag(groupId: string) {
    const g = this.existing(groupId)
    const tps = new Set<TpKey>()
    if (g) {
      for (const tp of g.offsets.keys()) tps.add(tp)
      for (const tp of g.memberPartitions()) tps.add(tp)
    }
    const partitions = await Promise.all([...tps]
      .filter((tp) => this.exists(tp))
      .sort(compareTpKeys)
      .map(async (tp) => {
        const { topic, partition } = parseTpKey(tp)
        const pos = await this.host.positions(topic, partition)
        const committed = g!.offsets.get(tp)?.offset ?? null
        // With no commit a member starts at the log start (or later): everything there is unread.
        const from = committed ?? pos.logStartOffset
        return {
          topic,
          partition,
          committed,
          logStartOffset: pos.logStartOffset,
          highWatermark: pos.highWatermark,
          lag: Math.max(0, pos.highWatermark - from),
          owner: g!.ownerOf(tp) ?? null,
        }
      }))
    return { group: groupId, state: g?.state ?? 'Empty', partitions, totalLag: partitions.reduce((s, p) => s + p.lag, 0) }
  }

  /** Moves an empty group's committed offsets (Kafka's kafka-consumer-groups --reset-offsets). */
  async reset(groupId: string, req: ResetRequest) {
    return this.operate(groupId, true, async (g) => {
      if (!g.isEmpty) fail('NON_EMPTY_GROUP', `group '${groupId}' has ${g.members.size} member(s); offsets can only be reset while it has none`)
      const now = this.host.runtime.clock.now()
      const plan: Array<{ tp: TpKey; topic: string; partition: number; previous: number | null; offset: number }> = []
      for (const tp of this.resetTargets(g, req)) {
        const { topic, partition } = parseTpKey(tp)
        plan.push({ tp, topic, partition, previous: g.offsets.get(tp)?.offset ?? null, offset: await this.resetOffset(topic, partition, req.to) })
      }
      // Looked up while this operation held the group: a member cannot have joined meanwhile.
      if (!g.isEmpty) fail('NON_EMPTY_GROUP', `group '${groupId}' has members now; offsets can only be reset while it has none`)
      if (!req.dryRun) {
        for (const p of plan) {
          g.changeOffset(p.tp, { v: 1, offset: p.offset, metadata: '', commitTimestamp: now, memberEpoch: -1, topicId: this.host.topicId(p.topic)! })
        }
      }
      return () => ({
        group: groupId,
        dryRun: req.dryRun ?? false,
        offsets: plan.map(({ topic, partition, previous, offset }) => ({ topic, partition, previous, offset })),
      })
    })
  }

  /** Deletes an empty group: its committed offsets and its record. */
  async deleteGroup(groupId: string) {
    if (!this.existing(groupId)) fail('GROUP_ID_NOT_FOUND', `group '${groupId}' does not exist`)
    return this.operate(groupId, false, (g) => {
      if (!g.isEmpty) fail('NON_EMPTY_GROUP', `group '${groupId}' has ${g.members.size} member(s); only an empty group can be deleted`)
      const tps = [...g.offsets.keys()]
      for (const tp of tps) g.changeOffset(tp, null)
      return () => ({ group: groupId, deleted: true, offsets: tps.length })
    })
  }

  // ---- reading ----

  /** Committed offsets of every group (for metrics), at most `limit`, in group, topic, partition order. */
  allCommittedOffsets(limit: number): { offsets: Array<{ group: string; topic: string; partition: number; offset: number }>; total: number } {
    const offsets: Array<{ group: string; topic: string; partition: number; offset: number }> = []
    let total = 0
    for (const g of [...this.groups.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : 1))) {
      const live = [...g.offsets].filter(([tp]) => this.exists(tp))
      total += live.length
      if (offsets.length >= limit) continue
      for (const [tp, v] of live.sort(([a], [b]) => compareTpKeys(a, b))) {
        if (offsets.length >= limit) break
        offsets.push({ group: g.groupId, ...parseTpKey(tp), offset: v.offset })
      }
    }
    return { offsets, total }
  }

  list() {
    return [...this.groups.values()]
      .sort((a, b) => (a.groupId < b.groupId ? -1 : 1))
      .map((g) => ({ group: g.groupId, state: g.state, members: g.members.size, groupEpoch: g.groupEpoch }))
  }

  describe(groupId: string) {
    const g = this.existing(groupId)
    if (!g) fail('GROUP_ID_NOT_FOUND', `group '${groupId}' does not exist`)
    const members = [...g.members.values()]
      .sort((a, b) => (a.memberId < b.memberId ? -1 : 1))
      .map((m) => ({
        memberId: m.memberId,
        instanceId: m.instanceId,
        memberEpoch: m.memberEpoch,
        state: memberState(m, g.assignmentEpoch),
        topics: m.topics,
        assignment: toTopicPartitions(m.assigned.keys()),
        pendingRevocation: toTopicPartitions(m.pending.keys()),
        targetAssignment: toTopicPartitions(m.target),
        sessionTimeoutMs: m.sessionTimeoutMs,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      }))
    return {
      group: groupId,
      state: g.state as GroupState,
      protocol: 'consumer',
      assignor: 'uniform',
      groupEpoch: g.groupEpoch,
      assignmentEpoch: g.assignmentEpoch,
      coordinator: this.coordinatorPartition(groupId, false) ?? null,
      members,
    }
  }

  // ---- topic changes ----

  /** A topic was created: groups subscribed to it get its partitions. */
  onTopicCreated(topic: string): void {
    for (const g of this.groups.values()) {
      if (![...g.members.values()].some((m) => m.topics.includes(topic))) continue
      void this.operate(g.groupId, false, (grp) => {
        grp.refreshMetadata(this.counts)
        return () => undefined
      }).catch((err) => this.backgroundError(err))
    }
  }

  /** A topic was deleted: its partitions leave every assignment, its offsets are tombstoned. */
  onTopicDeleted(topic: string): void {
    for (const g of [...this.groups.values()]) {
      const stale = [...g.offsets.keys()].filter((tp) => parseTpKey(tp).topic === topic)
      const subscribed = [...g.members.values()].some((m) => m.topics.includes(topic) || [...m.assigned.keys(), ...m.pending.keys()].some((tp) => parseTpKey(tp).topic === topic))
      if (stale.length === 0 && !subscribed) continue
      void this.operate(g.groupId, false, (grp) => {
        for (const tp of stale) grp.changeOffset(tp, null)
        grp.refreshMetadata(this.counts)
        return () => undefined
      }).catch((err) => this.backgroundError(err))
    }
  }

  // ---- internals ----

  private readonly counts = (topic: string) => this.host.partitionCount(topic)

  /**
   * Runs `fn` as the group's next operation, then appends what it changed (member, group and
   * offset records) in one batch, and only then answers. If the append fails,
   * the group is rebuilt from the log, so memory never runs ahead of what is stored.
   */
  private operate<T>(groupId: string, create: boolean, fn: (g: ConsumerGroup) => (() => T) | Promise<() => T>): Promise<T> {
    this.checkOpen()
    const partition = this.coordinatorPartition(groupId, create)
    if (partition === undefined) {
      return Promise.reject(new EdgelogError('UNKNOWN_MEMBER_ID', `group '${groupId}' has no members`))
    }
    let queue = this.queues.get(groupId)
    if (!queue) {
      queue = new SerialQueue(this.options.maxQueuedPerGroup, () => this.queues.delete(groupId))
      this.queues.set(groupId, queue)
    }
    return queue.run(async () => {
      this.checkOpen()
      // Leadership may have moved while this waited in the queue.
      this.coordinatorPartition(groupId, false)
      let g = this.groups.get(groupId)
      if (!g) {
        if (!create) fail('UNKNOWN_MEMBER_ID', `group '${groupId}' has no members; join first`)
        this.checkGroupLimit(groupId)
        g = new ConsumerGroup(groupId)
        this.groups.set(groupId, g)
      }
      let answer: (() => T) | undefined
      let error: unknown
      try {
        answer = await fn(g)
      } catch (err) {
        error = err
      }
      const records = g.takeChanges()
      if (g.isDead) {
        records.push(...g.deathRecords())
        this.groups.delete(groupId)
      }
      g.checkInvariants()
      this.syncTimers(g)
      if (records.length > 0) {
        try {
          await this.write(partition, records)
        } catch (err) {
          this.reloadGroup(groupId, partition)
          throw err
        }
        if (records.some((r) => r.type !== 'offset')) this.notify(groupId)
      }
      if (error !== undefined) throw error
      return answer!()
    })
  }

  private async write(partition: number, records: OffsetsRecord[]): Promise<void> {
    const now = this.host.runtime.clock.now()
    try {
      await this.host.append(partition, records.map((r) => encodeOffsetsRecord(r, now)))
    } catch (err) {
      // The offsets partition's leadership moved mid-write: to a member that is the coordinator.
      if (err instanceof EdgelogError && (err.code === 'NOT_LEADER_OR_FOLLOWER' || err.code === 'FENCED_LEADER_EPOCH')) {
        throw new EdgelogError('NOT_COORDINATOR', `this broker stopped coordinating the group's partition ${partition} of the offsets topic; ask again`)
      }
      throw err
    }
  }

  private resetTargets(g: ConsumerGroup, req: ResetRequest): TpKey[] {
    const out = new Set<TpKey>()
    if (req.topics === undefined) {
      for (const tp of g.offsets.keys()) if (this.exists(tp)) out.add(tp)
      if (out.size === 0) fail('INVALID_REQUEST', `group '${g.groupId}' has no committed offsets; name the topics to reset`)
    } else {
      for (const t of req.topics) {
        const n = this.host.partitionCount(t.topic)
        if (n === undefined) fail('UNKNOWN_TOPIC_OR_PARTITION', `topic '${t.topic}' does not exist`)
        const partitions = t.partitions ?? Array.from({ length: n }, (_, i) => i)
        for (const p of partitions) {
          if (p >= n) fail('UNKNOWN_TOPIC_OR_PARTITION', `topic '${t.topic}' has no partition ${p}`)
          out.add(tpKey(t.topic, p))
        }
      }
    }
    return [...out].sort(compareTpKeys)
  }

  private async resetOffset(topic: string, partition: number, to: ResetTo): Promise<number> {
    const pos = await this.host.positions(topic, partition)
    if (to === 'earliest') return pos.logStartOffset
    if (to === 'latest') return pos.highWatermark
    if ('timestamp' in to) return (await this.host.offsetForTimestamp(topic, partition, to.timestamp)) ?? (await this.host.positions(topic, partition)).highWatermark
    if (to.offset < pos.logStartOffset || to.offset > pos.logEndOffset) {
      fail('OFFSET_OUT_OF_RANGE', `offset ${to.offset} is outside ${topic}-${partition}: log start ${pos.logStartOffset}, log end ${pos.logEndOffset}`)
    }
    return to.offset
  }

  private answer(g: ConsumerGroup, memberId: string): MemberAnswer {
    const m = g.members.get(memberId)!
    return {
      memberId,
      memberEpoch: m.memberEpoch,
      assignment: g.assignmentOf(m),
      heartbeatIntervalMs: this.heartbeatIntervalMs(m),
    }
  }

  private heartbeatIntervalMs(m: Member): number {
    return Math.max(100, Math.min(this.options.heartbeatIntervalMs, Math.floor(m.sessionTimeoutMs / 3)))
  }

  private joinSpec(req: JoinRequest): JoinSpec {
    const o = this.options
    const sessionTimeoutMs = req.sessionTimeoutMs ?? Math.min(Math.max(o.defaultSessionTimeoutMs, o.minSessionTimeoutMs), o.maxSessionTimeoutMs)
    if (sessionTimeoutMs < this.options.minSessionTimeoutMs || sessionTimeoutMs > this.options.maxSessionTimeoutMs) {
      fail('INVALID_SESSION_TIMEOUT', `sessionTimeoutMs must be from ${this.options.minSessionTimeoutMs} to ${this.options.maxSessionTimeoutMs}, got ${sessionTimeoutMs}`)
    }
    const rebalanceTimeoutMs = req.rebalanceTimeoutMs ?? Math.min(Math.max(o.defaultRebalanceTimeoutMs, o.minSessionTimeoutMs), o.maxRebalanceTimeoutMs)
    if (rebalanceTimeoutMs < this.options.minSessionTimeoutMs || rebalanceTimeoutMs > this.options.maxRebalanceTimeoutMs) {
      fail('INVALID_SESSION_TIMEOUT', `rebalanceTimeoutMs must be from ${this.options.minSessionTimeoutMs} to ${this.options.maxRebalanceTimeoutMs}, got ${rebalanceTimeoutMs}`)
    }
    return { topics: this.checkTopics(req.topics), instanceId: req.instanceId ?? null, sessionTimeoutMs, rebalanceTimeoutMs }
  }

  private checkTopics(topics: string[]): string[] {
    if (topics.length === 0) fail('INVALID_REQUEST', 'topics: subscribe to at least one topic')
    if (topics.length > MAX_SUBSCRIBED_TOPICS) fail('INVALID_REQUEST', `topics: at most ${MAX_SUBSCRIBED_TOPICS} topics per member`)
    for (const t of topics) {
      validateTopicName(t)
      if (isInternalTopic(t)) fail('INVALID_TOPIC', `'${t}' is an internal topic; groups cannot subscribe to it`)
    }
    return topics
  }

  private hasInstance(g: ConsumerGroup, instanceId: string): boolean {
    for (const m of g.members.values()) if (m.instanceId === instanceId) return true
    return false
  }

  /** The group's partition of the offsets topic, if this node leads it (NOT_COORDINATOR otherwise). */
  private coordinatorPartition(groupId: string, create: boolean): number | undefined {
    const n = this.host.offsetsTopicPartitions(create)
    if (n === undefined) return undefined
    const p = partitionForGroup(groupId, n)
    if (!this.host.isLeader(p)) fail('NOT_COORDINATOR', `this node does not coordinate group '${groupId}'`)
    return p
  }

  private existing(groupId: string): ConsumerGroup | undefined {
    if (this.coordinatorPartition(groupId, false) === undefined) return undefined
    return this.groups.get(groupId)
  }

  private groupFor(groupId: string): ConsumerGroup {
    let g = this.groups.get(groupId)
    if (!g) {
      g = new ConsumerGroup(groupId)
      this.groups.set(groupId, g)
    }
    return g
  }

  private checkGroupLimit(groupId: string): void {
    if (this.groups.size >= this.options.maxGroups) {
      fail('THROTTLED', `this node holds ${this.groups.size} groups, the most it may; group '${groupId}' cannot be created`)
    }
  }

  private exists(tp: TpKey): boolean {
    const { topic, partition } = parseTpKey(tp)
    const n = this.host.partitionCount(topic)
    return n !== undefined && partition < n
  }

  private newMemberId(): string {
    // 128 random bits, base64url: Kafka's member ids are UUIDs.
    const bytes = new Uint8Array(16)
    for (let i = 0; i < 16; i++) bytes[i] = Math.floor(this.host.runtime.random.next() * 256)
    let bin = ''
    for (const b of bytes) bin += String.fromCharCode(b)
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
  }

  private replayPartition(partition: number, only?: string): ConsumerGroup[] {
    const groups = new Map<string, ConsumerGroup>()
    const topicId = (t: string) => this.host.topicId(t)
    this.host.replay(partition, (key, value) => {
      const r = decodeOffsetsRecord(key, value)
      if (!r || (only !== undefined && r.group !== only)) return
      let g = groups.get(r.group)
      if (!g) groups.set(r.group, (g = new ConsumerGroup(r.group)))
      g.replay(r, topicId)
    })
    for (const g of groups.values()) g.finishReplay()
    return [...groups.values()]
  }

  /** Takes a replayed group into service: fresh session timers, and anything gone since dropped. */
  private adopt(g: ConsumerGroup): void {
    if (g.isDead) return
    this.groups.set(g.groupId, g)
    for (const m of g.members.values()) this.armSession(g, m)
    // Topics may have been deleted or created while the node was down: reconcile with them.
    void this.operate(g.groupId, false, (grp) => {
      grp.refreshMetadata(this.counts)
      return () => undefined
    }).catch((err) => this.backgroundError(err))
  }

  private reloadGroup(groupId: string, partition: number): void {
    const members = this.timers.get(groupId)
    if (members) for (const t of members.values()) this.clearTimers(t)
    this.timers.delete(groupId)
    this.groups.delete(groupId)
    try {
      const [g] = this.replayPartition(partition, groupId)
      if (g && !g.isDead) {
        this.groups.set(groupId, g)
        for (const m of g.members.values()) this.armSession(g, m)
      }
    } catch (err) {
      this.logError(err)
    }
  }

  // ---- timers: session and rebalance timeouts ----

  private memberTimers(groupId: string, memberId: string): MemberTimers {
    let members = this.timers.get(groupId)
    if (!members) this.timers.set(groupId, (members = new Map()))
    let t = members.get(memberId)
    if (!t) members.set(memberId, (t = {}))
    return t
  }

  /** (Re)starts the member's session: it is removed if nothing is heard from it for sessionTimeoutMs. */
  private armSession(g: ConsumerGroup, m: Member): void {
    if (this.closed) return
    const t = this.memberTimers(g.groupId, m.memberId)
    if (t.session) this.host.runtime.timers.clearTimeout(t.session)
    const handle = this.host.runtime.timers.setTimeout(() => {
      if (t.session !== handle) return
      t.session = undefined
      this.expire(g.groupId, m.memberId, 'session')
    }, m.sessionTimeoutMs)
    t.session = handle
  }

  /** Rebalance timers follow the members: running while a member has partitions to give up. */
  private syncTimers(g: ConsumerGroup): void {
    const members = this.timers.get(g.groupId)
    if (members) {
      for (const [id, t] of members) {
        if (g.members.has(id) && this.groups.get(g.groupId) === g) continue
        this.clearTimers(t)
        members.delete(id)
      }
      if (members.size === 0) this.timers.delete(g.groupId)
    }
    if (this.closed || this.groups.get(g.groupId) !== g) return
    for (const m of g.members.values()) {
      const t = this.memberTimers(g.groupId, m.memberId)
      if (m.pending.size > 0 && !t.rebalance) {
        const handle = this.host.runtime.timers.setTimeout(() => {
          if (t.rebalance !== handle) return
          t.rebalance = undefined
          this.expire(g.groupId, m.memberId, 'rebalance')
        }, m.rebalanceTimeoutMs)
        t.rebalance = handle
      } else if (m.pending.size === 0 && t.rebalance) {
        this.host.runtime.timers.clearTimeout(t.rebalance)
        t.rebalance = undefined
      }
    }
  }

  private expire(groupId: string, memberId: string, why: 'session' | 'rebalance'): void {
    if (this.closed) return
    void this.operate(groupId, false, (g) => {
      const m = g.members.get(memberId)
      if (!m) return () => undefined
      // The timer may have fired while a heartbeat that restarted it waited in the queue.
      const t = this.timers.get(groupId)?.get(memberId)
      if (why === 'session' && t?.session) return () => undefined
      if (why === 'rebalance' && m.pending.size === 0) return () => undefined
      g.remove(memberId, this.counts)
      return () => undefined
    }).catch((err) => {
      if (!(err instanceof EdgelogError && err.code === 'UNKNOWN_MEMBER_ID')) this.backgroundError(err)
    })
  }

  private clearTimers(t: MemberTimers): void {
    if (t.session) this.host.runtime.timers.clearTimeout(t.session)
    if (t.rebalance) this.host.runtime.timers.clearTimeout(t.rebalance)
    t.session = undefined
    t.rebalance = undefined
  }

  /** A background operation failed: worth a log line, unless the node is just stopping. */
  private backgroundError(err: unknown): void {
    // Stopping, or the group moved to another coordinator (which runs its own timers).
    if (err instanceof EdgelogError && (err.code === 'SHUTTING_DOWN' || err.code === 'NOT_COORDINATOR')) return
    this.logError(err)
  }

  private checkOpen(): void {
    if (this.closed) throw new EdgelogError('SHUTTING_DOWN', 'the node is shutting down')
  }
}
