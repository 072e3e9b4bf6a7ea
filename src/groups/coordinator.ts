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
//
// This file holds the coordinator's state and the operations that change it; the rest is in
// files beside it: group-host.ts (what it needs from the broker), group-config.ts (limits),
// group-requests.ts (request shapes and their checks), session-timers.ts (session and
// rebalance timeouts), group-watchers.ts (wake-ups for in-process members), group-replay.ts
// (rebuilding groups from the log), offset-reset.ts and group-views.ts (lag, describe, list).
import { EdgelogError, fail } from '../core/errors.ts'
import type { GroupOptions } from './group-config.ts'
import type { GroupHost } from './group-host.ts'
import { replayGroups } from './group-replay.ts'
import { GroupWatchers } from './group-watchers.ts'
import {
  checkTopics,
  heartbeatIntervalMs,
  joinSpec,
  newMemberId,
  type CommitRequest,
  type JoinRequest,
  type MemberAnswer,
  type ResetRequest,
} from './group-requests.ts'
import { allCommittedOffsets, committedOffsets, describeGroup, groupLag, listGroups, partitionExists } from './group-views.ts'
import { ConsumerGroup } from './group.ts'
import { encodeOffsetsRecord, partitionForGroup, type OffsetsRecord, type OffsetValue } from './offsets-topic.ts'
import { resetOffset, resetTargets } from './offset-reset.ts'
import { SerialQueue } from './serial-queue.ts'
import { SessionTimers, type ExpiryReason } from './session-timers.ts'
import { fromTopicPartitions, parseTpKey, tpKey, type TopicPartitions, type TpKey } from './topic-partitions.ts'

// Importers know these by this module's name.
export { DEFAULT_GROUP_OPTIONS, MAX_SUBSCRIBED_TOPICS, type GroupOptions } from './group-config.ts'
export type { GroupHost, Positions } from './group-host.ts'
export type { CommitRequest, JoinRequest, MemberAnswer, ResetRequest, ResetTo } from './group-requests.ts'

export class GroupCoordinator {
  private readonly groups = new Map<string, ConsumerGroup>()
  private readonly queues = new Map<string, SerialQueue>()
  private readonly sessions: SessionTimers
  private readonly watchers: GroupWatchers
  private closed = false

  constructor(
    private readonly host: GroupHost,
    readonly options: GroupOptions,
    private readonly logError: (err: unknown) => void = (err) => console.error(err),
  ) {
    this.watchers = new GroupWatchers(host.runtime.timers, (err) => this.logError(err))
    this.sessions = new SessionTimers(host.runtime.timers, (groupId, memberId, why) => this.expire(groupId, memberId, why))
  }

  /** Replays every partition of the offsets topic this node leads (a single node: all of them). */
  load(): void {
    const n = this.host.offsetsTopicPartitions(false)
    if (n === undefined) return
    for (let p = 0; p < n; p++) {
      if (!this.host.isLeader(p)) continue
      for (const g of replayGroups(this.host, p)) this.adopt(g)
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
      for (const g of replayGroups(this.host, partition)) this.adopt(g)
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
      this.sessions.dropGroup(groupId)
      this.groups.delete(groupId)
      // Socket members heartbeat now and learn that the group moved.
      this.watchers.notify(groupId)
    }
  }

  /** Resolves once every group operation queued so far has finished (a drain before close). */
  async idle(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.run(() => undefined).catch(() => undefined)))
  }

  close(): void {
    this.closed = true
    this.sessions.close()
  }

  // ---- membership ----

  async join(groupId: string, req: JoinRequest): Promise<MemberAnswer> {
    const spec = joinSpec(this.options, req)
    return this.operate(groupId, true, (g) => {
      if (spec.instanceId === null || !this.hasInstance(g, spec.instanceId)) {
        if (g.members.size >= this.options.maxGroupSize) {
          fail('GROUP_MAX_SIZE_REACHED', `group '${groupId}' has ${g.members.size} members, the most it may have`)
        }
      }
      const m = g.join(newMemberId(this.host.runtime.random), spec, this.counts)
      this.sessions.armSession(g, m)
      return () => this.answer(g, m.memberId)
    })
  }

  async heartbeat(
    groupId: string,
    memberId: string,
    req: { memberEpoch: number; ownedPartitions: TopicPartitions[]; topics?: string[] },
  ): Promise<MemberAnswer> {
    const topics = req.topics === undefined ? undefined : checkTopics(req.topics)
    const owned = fromTopicPartitions(req.ownedPartitions)
    return this.operate(groupId, false, (g) => {
      const m = g.heartbeat(memberId, req.memberEpoch, owned, topics, this.counts)
      this.sessions.armSession(g, m)
      return () => this.answer(g, memberId)
    })
  }

  async leave(groupId: string, memberId: string): Promise<{ memberId: string; memberEpoch: number }> {
    return this.operate(groupId, false, (g) => {
      const m = g.members.get(memberId)
      g.leave(memberId, this.counts)
      // A static member's partitions wait one session timeout for its instance to return.
      if (m && m.left) this.sessions.armSession(g, m)
      return () => ({ memberId, memberEpoch: m?.left ? -2 : -1 })
    })
  }

  /**
   * Calls `fn` (after the current turn) whenever the group's state changed: members that live
   * in this process (WebSocket members) heartbeat then instead of waiting for their interval,
   * so a freed partition reaches its next owner at once. Returns the unsubscribe function.
   */
  watch(groupId: string, fn: () => void): () => void {
    return this.watchers.watch(groupId, fn)
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
    return committedOffsets(g, this.exists)
  }

  /** Lag of every partition with a commit or an owner: unread records below the high watermark. */
  async lag(groupId: string) {
    return groupLag(this.host, groupId, this.existing(groupId), this.exists)
  }

  /** Moves an empty group's committed offsets (Kafka's kafka-consumer-groups --reset-offsets). */
  async reset(groupId: string, req: ResetRequest) {
    return this.operate(groupId, true, async (g) => {
      if (!g.isEmpty) fail('NON_EMPTY_GROUP', `group '${groupId}' has ${g.members.size} member(s); offsets can only be reset while it has none`)
      const now = this.host.runtime.clock.now()
      const plan: Array<{ tp: TpKey; topic: string; partition: number; previous: number | null; offset: number }> = []
      for (const tp of resetTargets(this.host, g, req, this.exists)) {
        const { topic, partition } = parseTpKey(tp)
        plan.push({ tp, topic, partition, previous: g.offsets.get(tp)?.offset ?? null, offset: await resetOffset(this.host, topic, partition, req.to) })
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
    return allCommittedOffsets(this.groups.values(), limit, this.exists)
  }

  list() {
    return listGroups(this.groups.values())
  }

  describe(groupId: string) {
    const g = this.existing(groupId)
    if (!g) fail('GROUP_ID_NOT_FOUND', `group '${groupId}' does not exist`)
    return describeGroup(groupId, g, this.coordinatorPartition(groupId, false) ?? null)
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
  private readonly exists = (tp: TpKey) => partitionExists(this.host, tp)

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
      this.sessions.sync(g, this.groups.get(g.groupId) === g)
      if (records.length > 0) {
        try {
          await this.write(partition, records)
        } catch (err) {
          this.reloadGroup(groupId, partition)
          throw err
        }
        if (records.some((r) => r.type !== 'offset')) this.watchers.notify(groupId)
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

  private answer(g: ConsumerGroup, memberId: string): MemberAnswer {
    const m = g.members.get(memberId)!
    return {
      memberId,
      memberEpoch: m.memberEpoch,
      assignment: g.assignmentOf(m),
      heartbeatIntervalMs: heartbeatIntervalMs(this.options, m),
    }
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

  /** Takes a replayed group into service: fresh session timers, and anything gone since dropped. */
  private adopt(g: ConsumerGroup): void {
    if (g.isDead) return
    this.groups.set(g.groupId, g)
    for (const m of g.members.values()) this.sessions.armSession(g, m)
    // Topics may have been deleted or created while the node was down: reconcile with them.
    void this.operate(g.groupId, false, (grp) => {
      grp.refreshMetadata(this.counts)
      return () => undefined
    }).catch((err) => this.backgroundError(err))
  }

  private reloadGroup(groupId: string, partition: number): void {
    this.sessions.dropGroup(groupId)
    this.groups.delete(groupId)
    try {
      const [g] = replayGroups(this.host, partition, groupId)
      if (g && !g.isDead) {
        this.groups.set(groupId, g)
        for (const m of g.members.values()) this.sessions.armSession(g, m)
      }
    } catch (err) {
      this.logError(err)
    }
  }

  /** A session or rebalance timeout fired: remove the member, unless it was heard from since. */
  private expire(groupId: string, memberId: string, why: ExpiryReason): void {
    if (this.closed) return
    void this.operate(groupId, false, (g) => {
      const m = g.members.get(memberId)
      if (!m) return () => undefined
      // The timer may have fired while a heartbeat that restarted it waited in the queue.
      if (why === 'session' && this.sessions.hasSession(groupId, memberId)) return () => undefined
      if (why === 'rebalance' && m.pending.size === 0) return () => undefined
      g.remove(memberId, this.counts)
      return () => undefined
    }).catch((err) => {
      if (!(err instanceof EdgelogError && err.code === 'UNKNOWN_MEMBER_ID')) this.backgroundError(err)
    })
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
