// A `sub` with a `group`: the socket is a member of the consumer group, and the server is its
// agent (KIP-848 member logic on the node, next to the coordinator). The agent joins, heartbeats
// while the socket is open, delivers records only from the partitions the group assigned to this
// member (one cursor per owned partition), and tells the client of every change with an
// `assign` frame. Closing the socket (or `unsub`) leaves the group.
//
// Revocation is safe as over HTTP: the revoked partition's cursor stops first (no record of it
// is sent after the `assign` frame that revokes it), and the partition stays this member's until
// the client commits it (its final position) or the rebalance timeout passes; only then does
// the next heartbeat report it gone, and only then may another member get it.
import type { Partition } from '../broker/partition.ts'
import { EdgelogError } from '../core/errors.ts'
import type { TimerHandle } from '../core/clock.ts'
import { localMembers, type MemberAnswerWithOffsets, type MemberCoordinator } from './node.ts'
import type { TopicPartitions } from '../groups/topic-partitions.ts'
import { Cursor, type CursorOwner, type LiveChannel } from './cursor.ts'
import { errFrame, gapFrame, recordsFrame, type EncodedRecords } from './encode.ts'
import type { WsSession } from './session.ts'

export interface GroupSubSpec {
  id: string
  topic: string
  group: string
  instanceId?: string
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  /** Where a partition without a committed offset starts. */
  reset: 'earliest' | 'latest'
}

/** Membership errors after which the agent joins again (the client sees an `assign`). */
const REJOIN: ReadonlySet<string> = new Set(['UNKNOWN_MEMBER_ID', 'FENCED_MEMBER_EPOCH'])
/** In a cluster: the group's coordinator moved, is being elected, or did not answer. The agent tries again. */
const COORDINATOR_MOVING: ReadonlySet<string> = new Set(['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'REQUEST_TIMED_OUT', 'NETWORK_EXCEPTION'])
/** How soon the agent asks again when the coordinator moved. */
const COORDINATOR_RETRY_MS = 250

export class GroupSubscription implements CursorOwner {
  ended = false
  readonly channel: LiveChannel
  private memberId: string | undefined
  private memberEpoch = 0
  private heartbeatIntervalMs = 1000
  private readonly cursors = new Map<number, Cursor>()
  /** Revoked partitions still this member's until committed or the rebalance timeout. */
  private readonly revoking = new Map<number, TimerHandle>()
  private heartbeatTimer: TimerHandle | undefined
  private inFlight = false
  private again = false
  private unwatch: (() => void) | undefined
  private readonly topicJson: string
  /** When the coordinator last answered a join or heartbeat (monotonic). */
  private answeredAt = 0
  private rejoinTimer: TimerHandle | undefined
  /** Answers are applied one after another (resolving starts may await). */
  private applying: Promise<void> = Promise.resolve()

  constructor(
    private readonly session: WsSession,
    readonly spec: GroupSubSpec,
  ) {
    this.topicJson = JSON.stringify(spec.topic)
    this.channel = { key: spec.id, subJson: JSON.stringify(spec.id), socket: session.socket, send: (text) => session.send(text) }
    session.hub.subscriptionOpened(spec.topic)
  }

  get id(): string {
    return this.spec.id
  }

  get group(): string {
    return this.spec.group
  }

  /** Joins; answers the `sub` with ok (member id and epoch), then the first `assign`. */
  async start(rejoin = false): Promise<void> {
    const answer = await this.coordinator.join(this.spec.group, {
      topics: [this.spec.topic],
      sessionTimeoutMs: this.spec.sessionTimeoutMs,
      rebalanceTimeoutMs: this.spec.rebalanceTimeoutMs,
      ...(this.spec.instanceId === undefined ? {} : { instanceId: this.spec.instanceId }),
    })
    if (this.ended) {
      void this.coordinator.leave(this.spec.group, answer.memberId).catch(() => {})
      return
    }
    this.memberId = answer.memberId
    this.answeredAt = this.session.hub.runtime.clock.monotonic()
    if (!rejoin) this.session.send(JSON.stringify({ op: 'ok', id: this.spec.id, memberId: answer.memberId, memberEpoch: answer.memberEpoch }))
    this.unwatch = this.coordinator.watch(this.spec.group, () => this.heartbeatSoon())
    await this.apply(answer)
  }

  /** A `commit` frame for this group from this socket: a member commit, fenced by the coordinator. */
  async commit(offsets: Array<{ topic: string; partition: number; offset: number; metadata?: string }>): Promise<void> {
    if (this.memberId === undefined) throw new EdgelogError('UNKNOWN_MEMBER_ID', `this socket is still joining group '${this.spec.group}'`)
    await this.coordinator.commit(this.spec.group, { memberId: this.memberId, memberEpoch: this.memberEpoch, offsets })
    // Committing a revoked partition is the client saying it is done with it.
    let released = false
    for (const o of offsets) {
      if (o.topic !== this.spec.topic) continue
      const timer = this.revoking.get(o.partition)
      if (timer === undefined) continue
      this.session.hub.runtime.timers.clearTimeout(timer)
      this.revoking.delete(o.partition)
      released = true
    }
    if (released) this.heartbeatSoon()
  }

  /** `unsub` or the socket closed: stop delivering and leave the group. */
  stop(): void {
    if (this.ended) return
    this.ended = true
    for (const c of this.cursors.values()) c.stop()
    this.cursors.clear()
    const timers = this.session.hub.runtime.timers
    for (const t of this.revoking.values()) timers.clearTimeout(t)
    this.revoking.clear()
    if (this.heartbeatTimer) timers.clearTimeout(this.heartbeatTimer)
    if (this.rejoinTimer) timers.clearTimeout(this.rejoinTimer)
    this.unwatch?.()
    this.session.hub.subscriptionClosed(this.spec.topic)
    const memberId = this.memberId
    this.memberId = undefined
    if (memberId !== undefined) {
      this.coordinator.leave(this.spec.group, memberId).catch((err) => {
        if (!(err instanceof EdgelogError && (err.code === 'UNKNOWN_MEMBER_ID' || err.code === 'SHUTTING_DOWN' || err.code === 'NOT_COORDINATOR'))) this.session.hub.logError(err)
      })
    }
  }

  // ---- membership ----

  private get coordinator(): MemberCoordinator {
    return this.session.hub.node.members ?? localMembers(this.session.hub.broker.groups)
  }

  /** Takes an answer: revokes what is gone, starts what is new, tells the client. */
  private apply(answer: MemberAnswerWithOffsets): Promise<void> {
    const run = this.applying.then(() => this.applyNow(answer))
    this.applying = run.catch(() => {})
    return run
  }

  /**
   * Where each newly assigned partition starts: the group's committed offset, else the reset
   * position as the node resolves it (in a cluster, at the partition's leader when this broker
   * holds no replica of it); the node makes the partition readable from there. Nothing changes
   * before this is known, so a failure leaves the member as it was (the next heartbeat retries).
   */
  private async startsOf(partitions: number[], committed: Map<number, number>): Promise<Map<number, { partition: Partition; next: number }>> {
    const out = new Map<number, { partition: Partition; next: number }>()
    const node = this.session.hub.node
    const fresh = partitions.filter((p) => !committed.has(p))
    if (fresh.length > 0) {
      const plan = await node.plan(this.spec.topic, fresh, this.spec.reset)
      for (const s of plan.starts) out.set(s.partition.index, s)
    }
    for (const p of partitions) {
      const next = committed.get(p)
      if (next === undefined) continue
      const partition = this.session.hub.broker.partition(this.spec.topic, p)
      node.prepare?.(partition, next)
      out.set(p, { partition, next })
    }
    return out
  }

  private async applyNow(answer: MemberAnswerWithOffsets): Promise<void> {
    if (this.ended) return
    const assigned = new Set<number>()
    for (const t of answer.assignment) if (t.topic === this.spec.topic) for (const p of t.partitions) assigned.add(p)
    const committed = new Map(answer.committed.filter((o) => o.topic === this.spec.topic).map((o) => [o.partition, o.offset]))
    const starts = await this.startsOf([...assigned].filter((p) => !this.cursors.has(p) && !this.revoking.has(p)), committed)
    if (this.ended) return
    const epochChanged = answer.memberEpoch !== this.memberEpoch
    this.memberEpoch = answer.memberEpoch
    this.heartbeatIntervalMs = answer.heartbeatIntervalMs
    const next = assigned
    const revoked: number[] = []
    for (const [p, cursor] of this.cursors) {
      if (next.has(p)) continue
      cursor.stop()
      this.cursors.delete(p)
      revoked.push(p)
      // Half the rebalance timeout: the coordinator removes a member that holds on to revoked
      // partitions for the whole of it, and this one is only waiting for a commit.
      const timer = this.session.hub.runtime.timers.setTimeout(() => {
        this.revoking.delete(p)
        this.heartbeatSoon()
      }, Math.floor(this.spec.rebalanceTimeoutMs / 2))
      this.revoking.set(p, timer)
    }
    const added: Array<{ partition: number; next: number; at: Partition }> = []
    for (const p of [...next].sort((a, b) => a - b)) {
      if (this.cursors.has(p) || this.revoking.has(p)) continue
      const start = starts.get(p)
      if (!start) continue // freed while the starts were resolved: the next answer brings it
      added.push({ partition: p, next: start.next, at: start.partition })
    }
    if (added.length > 0 || revoked.length > 0 || epochChanged) {
      const offsets: Record<string, number> = {}
      for (const a of added) offsets[String(a.partition)] = a.next
      this.session.send(JSON.stringify({
        op: 'assign',
        sub: this.spec.id,
        topic: this.spec.topic,
        memberEpoch: this.memberEpoch,
        partitions: [...this.cursors.keys(), ...added.map((a) => a.partition)].sort((a, b) => a - b),
        ...(revoked.length > 0 ? { revoked: revoked.sort((a, b) => a - b) } : {}),
        ...(added.length > 0 ? { offsets } : {}),
      }))
    }
    // Cursors start after the `assign` frame: the client hears of a partition before its records.
    for (const a of added) {
      const cursor = new Cursor(this.session.hub.feedFor(a.at), this, a.next)
      this.cursors.set(a.partition, cursor)
      cursor.start()
    }
    this.scheduleHeartbeat(revoked.length > 0 ? 0 : this.heartbeatIntervalMs)
  }

  private owned(): TopicPartitions[] {
    const partitions = [...this.cursors.keys(), ...this.revoking.keys()].sort((a, b) => a - b)
    return partitions.length === 0 ? [] : [{ topic: this.spec.topic, partitions }]
  }

  private heartbeatSoon(): void {
    this.scheduleHeartbeat(0)
  }

  private scheduleHeartbeat(ms: number): void {
    if (this.ended) return
    const timers = this.session.hub.runtime.timers
    if (this.heartbeatTimer) timers.clearTimeout(this.heartbeatTimer)
    this.heartbeatTimer = timers.setTimeout(() => {
      this.heartbeatTimer = undefined
      void this.heartbeat()
    }, ms)
  }

  private async heartbeat(): Promise<void> {
    if (this.ended || this.memberId === undefined) return
    if (this.inFlight) {
      this.again = true
      return
    }
    this.inFlight = true
    try {
      const answer = await this.coordinator.heartbeat(this.spec.group, this.memberId, { memberEpoch: this.memberEpoch, ownedPartitions: this.owned() })
      this.answeredAt = this.session.hub.runtime.clock.monotonic()
      await this.apply(answer)
    } catch (err) {
      this.onHeartbeatError(err)
    } finally {
      this.inFlight = false
      if (this.again) {
        this.again = false
        this.heartbeatSoon()
      }
    }
  }

  private onHeartbeatError(err: unknown): void {
    if (this.ended) return
    const code = err instanceof EdgelogError ? err.code : 'INTERNAL'
    if (REJOIN.has(code)) return this.rejoin()
    if (code === 'FENCED_INSTANCE_ID') return this.end(err)
    if (COORDINATOR_MOVING.has(code)) {
      // In a cluster the group's coordinator moved or cannot be reached now: every request
      // finds it afresh, so the next heartbeat goes to the new one. A member that heard nothing
      // for its session timeout must assume the group removed it: it stops delivering and joins again.
      const silentMs = this.session.hub.runtime.clock.monotonic() - this.answeredAt
      if (silentMs >= this.spec.sessionTimeoutMs) return this.rejoin()
      this.scheduleHeartbeat(Math.min(this.heartbeatIntervalMs, COORDINATOR_RETRY_MS))
      return
    }
    // Anything else (the node draining, a storage error) is tried again at the next interval.
    if (code !== 'SHUTTING_DOWN') this.session.hub.logError(err)
    this.scheduleHeartbeat(this.heartbeatIntervalMs)
  }

  /** The coordinator no longer counts this member: give everything up and join again. */
  private rejoin(): void {
    if (this.ended) return
    this.dropAll()
    this.memberId = undefined
    this.memberEpoch = 0
    this.unwatch?.()
    this.unwatch = undefined
    this.start(true).catch((e) => {
      const code = e instanceof EdgelogError ? e.code : 'INTERNAL'
      if (!COORDINATOR_MOVING.has(code) || this.ended) return this.end(e)
      // No coordinator to join right now (a failover): try again shortly, the socket stays a subscriber.
      const timers = this.session.hub.runtime.timers
      if (this.rejoinTimer) timers.clearTimeout(this.rejoinTimer)
      this.rejoinTimer = timers.setTimeout(() => {
        this.rejoinTimer = undefined
        if (!this.ended && this.memberId === undefined) this.rejoin()
      }, COORDINATOR_RETRY_MS)
    })
  }

  /** Stops every partition at once (membership lost) and tells the client. */
  private dropAll(): void {
    const revoked = [...this.cursors.keys(), ...this.revoking.keys()].sort((a, b) => a - b)
    for (const c of this.cursors.values()) c.stop()
    this.cursors.clear()
    for (const t of this.revoking.values()) this.session.hub.runtime.timers.clearTimeout(t)
    this.revoking.clear()
    if (revoked.length > 0) {
      this.session.send(JSON.stringify({ op: 'assign', sub: this.spec.id, topic: this.spec.topic, memberEpoch: 0, partitions: [], revoked }))
    }
  }

  /** Ends the subscription with an `err` (it stays ended; the client may `sub` again). */
  private end(err: unknown): void {
    if (this.ended) return
    const error = err instanceof EdgelogError ? err : new EdgelogError('INTERNAL', 'internal error')
    if (!(err instanceof EdgelogError)) this.session.hub.logError(err)
    this.session.endSubscription(this)
    this.session.send(errFrame(this.spec.id, error))
  }

  // ---- CursorOwner ----

  deliver(_cursor: Cursor, records: EncodedRecords): void {
    this.session.send(recordsFrame(this.channel.subJson, this.topicJson, records))
  }

  gap(cursor: Cursor, from: number, to: number): void {
    this.session.send(gapFrame(this.spec.id, cursor.partition, from, to))
  }

  fail(_cursor: Cursor, error: EdgelogError): void {
    this.end(error)
  }

  sendBlocked(): boolean {
    return this.session.blocked()
  }

  waitForDrain(resume: () => void): void {
    this.session.waitForDrain(resume)
  }
}
