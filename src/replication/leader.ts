// A partition this broker leads in one leader epoch: it answers its followers' fetches, learns
// their progress from them, keeps the ISR (replica.lag.time.max.ms, monotonic clock) and moves
// the high watermark to the smallest log end offset in the ISR — only while the ISR has at least
// min.insync.replicas members (KIP-966), so every committed record is on every ISR member and
// on every eligible leader replica.
import type { Partition } from '../broker/partition.ts'
import type { Compare } from '../cluster/meta-store.ts'
import { brokerKey, type PartitionState, type ReplicaRef } from '../cluster/state.ts'
import type { TimerHandle } from '../core/clock.ts'
import { assert, EdgelogError } from '../core/errors.ts'
import type { ReplicaFetchRequest, ReplicaFetchResponse, ReplicaFetchResponseHeader } from './protocol.ts'
import type { PartitionReplica } from './replica.ts'

interface FollowerProgress {
  incarnation: number
  /** The follower's log end offset from its last valid fetch; -1 until it fetched in this epoch. */
  leo: number
  lastFetchMono: number
  /** The leader's log end offset when that fetch arrived. */
  lastFetchLeaderLeo: number
  /** The last time the follower had everything the leader had (Kafka's lastCaughtUpTimeMs). */
  lastCaughtUpMono: number
}

interface ParkedFetch {
  wake: () => void
  timer: TimerHandle
}

export class PartitionLeader {
  private readonly followers = new Map<number, FollowerProgress>()
  private readonly parked = new Map<number, ParkedFetch>()
  /** The ISR as committed in the store (the leader's CAS or the last metadata it read). */
  private committed: PartitionState
  private revision: number
  private proposing = false
  /** A follower being added by an in-flight CAS: counted for the high watermark already (Kafka's maximal ISR). */
  private pendingAdd: ReplicaRef | undefined
  private readonly epochStartOffset: number
  private readonly electedAtMono: number
  private isrTimer: TimerHandle | undefined
  private active = true

  constructor(
    private readonly replica: PartitionReplica,
    readonly epoch: number,
    state: PartitionState,
    revision: number,
  ) {
    this.committed = state
    this.revision = revision
    this.epochStartOffset = this.partition.log.logEndOffset
    this.electedAtMono = this.replica.runtime.clock.monotonic()
    this.scheduleIsrCheck()
    // Elected with an ISR of itself (the others died): what it holds beyond the old high
    // watermark is committed now (Kafka's makeLeader does the same). Without this, a producer
    // retrying the batch the old leader never confirmed is answered "duplicate" forever and
    // waits for a high watermark that only a new append would move.
    this.maybeAdvanceHighWatermark()
  }

  private get partition(): Partition {
    return this.replica.partition
  }

  get isr(): ReplicaRef[] {
    return this.committed.isr
  }

  /** A newer state of this epoch from the store (the controller fenced or removed a replica). */
  update(state: PartitionState, revision: number): void {
    assert(state.leaderEpoch === this.epoch, 'a leader only takes state of its own epoch')
    if (revision <= this.revision) return
    this.committed = state
    this.revision = revision
    this.afterIsrChange()
  }

  stop(reason: EdgelogError): void {
    if (!this.active) return
    this.active = false
    if (this.isrTimer) this.replica.runtime.timers.clearTimeout(this.isrTimer)
    for (const id of [...this.parked.keys()]) this.unpark(id)
    this.partition.failCommitWaiters(reason)
  }

  checkInSyncReplicas(): void {
    const min = this.replica.minInsyncReplicas
    if (this.committed.isr.length < min) {
      throw new EdgelogError(
        'NOT_ENOUGH_REPLICAS',
        `${this.replica.name} has ${this.committed.isr.length} in-sync replicas, min.insync.replicas is ${min}`,
      )
    }
  }

  onAppend(): void {
    for (const id of [...this.parked.keys()]) this.unpark(id)
    this.maybeAdvanceHighWatermark()
  }

  // ---- follower fetches ----

  async handleFetch(req: ReplicaFetchRequest): Promise<ReplicaFetchResponse> {
    const log = this.partition.log
    const header = (): ReplicaFetchResponseHeader => ({
      highWatermark: this.partition.highWatermark,
      logStartOffset: log.logStartOffset,
      logEndOffset: log.logEndOffset,
    })
    const known = this.followers.get(req.replicaId)
    if (known && req.incarnation < known.incarnation) return { ...header(), error: 'STALE_BROKER_EPOCH', batches: [] }
    // The follower's log must continue ours: the epoch of its last batch must end, here, at or
    // after its log end (KIP-595's check; OffsetsForLeaderEpoch does the truncation itself).
    if (req.lastFetchedEpoch >= 0 || req.fetchOffset > log.logEndOffset) {
      const mine = log.endOffsetForEpoch(req.lastFetchedEpoch)
      if (mine.epoch !== req.lastFetchedEpoch || mine.endOffset < req.fetchOffset) {
        return { ...header(), divergingEpoch: mine, batches: [] }
      }
    }
    if (req.fetchOffset < log.logStartOffset) return { ...header(), error: 'OFFSET_OUT_OF_RANGE', batches: [] }
    this.recordProgress(req)

    let batches = this.read(req)
    if (batches === undefined) return { ...header(), error: 'CORRUPT_MESSAGE', batches: [] }
    if (batches.length === 0 && req.maxWaitMs > 0) {
      await this.park(req.replicaId, req.maxWaitMs)
      if (!this.active) return { ...header(), error: 'NOT_LEADER_OR_FOLLOWER', batches: [] }
      batches = this.read(req)
      if (batches === undefined) return { ...header(), error: 'CORRUPT_MESSAGE', batches: [] }
    }
    return { ...header(), batches }
  }

  /**
   * An observer's fetch (protocol.ts): the same divergence and log-start checks as a follower's,
   * then only batches wholly below the high watermark, and a wait for the high watermark to pass
   * the fetch offset. Its progress is nobody's business: no ISR, no high watermark.
   */
  async handleObserverFetch(req: ReplicaFetchRequest): Promise<ReplicaFetchResponse> {
    const log = this.partition.log
    const header = (): ReplicaFetchResponseHeader => ({
      highWatermark: this.partition.highWatermark,
      logStartOffset: log.logStartOffset,
      logEndOffset: log.logEndOffset,
    })
    if (req.lastFetchedEpoch >= 0 || req.fetchOffset > log.logEndOffset) {
      const mine = log.endOffsetForEpoch(req.lastFetchedEpoch)
      if (mine.epoch !== req.lastFetchedEpoch || mine.endOffset < req.fetchOffset) {
        return { ...header(), divergingEpoch: mine, batches: [] }
      }
    }
    if (req.fetchOffset < log.logStartOffset) return { ...header(), error: 'OFFSET_OUT_OF_RANGE', batches: [] }
    let batches = this.readCommitted(req)
    if (batches === undefined) return { ...header(), error: 'CORRUPT_MESSAGE', batches: [] }
    if (batches.length === 0 && req.maxWaitMs > 0) {
      // A new leader's high watermark may start below what the observer has: it waits the same way.
      await this.partition.waitFor(req.fetchOffset, req.maxWaitMs)
      if (!this.active) return { ...header(), error: 'NOT_LEADER_OR_FOLLOWER', batches: [] }
      batches = this.readCommitted(req)
      if (batches === undefined) return { ...header(), error: 'CORRUPT_MESSAGE', batches: [] }
    }
    return { ...header(), batches }
  }

  private readCommitted(req: ReplicaFetchRequest): Uint8Array[] | undefined {
    const hw = this.partition.highWatermark
    const log = this.partition.log
    // An observer may start inside a batch (a subscription from an offset, a timestamp): it gets
    // the batch holding its fetch offset whole and starts its copy at the batch's base.
    let stored
    try {
      stored = log.read(req.fetchOffset, hw, req.maxBytes)
    } catch (err) {
      // As for a follower (read()): a corrupt batch is never sent; the observer asks again.
      if (err instanceof EdgelogError && err.code === 'CORRUPT_MESSAGE') return undefined
      throw err
    }
    // The high watermark is a follower's log end, so a batch boundary; a straddling batch waits anyway.
    const committed = stored.filter((b) => b.lastOffset < hw)
    return committed.map((b) => b.data)
  }

  private read(req: ReplicaFetchRequest): Uint8Array[] | undefined {
    const log = this.partition.log
    let stored
    try {
      stored = log.read(req.fetchOffset, log.logEndOffset, req.maxBytes)
    } catch (err) {
      // A corrupt batch is never sent: this leader steps down (replica.ts) and the follower
      // asks again, of the next leader.
      if (err instanceof EdgelogError && err.code === 'CORRUPT_MESSAGE') return undefined
      throw err
    }
    // A valid fetch offset is a batch boundary here: the common prefix holds the same batches
    // (the next batch may start later, where compaction removed whole batches).
    if (stored.length > 0 && stored[0]!.baseOffset < req.fetchOffset) return undefined
    return stored.map((b) => b.data)
  }

  private recordProgress(req: ReplicaFetchRequest): void {
    const now = this.replica.runtime.clock.monotonic()
    const leaderLeo = this.partition.log.logEndOffset
    let f = this.followers.get(req.replicaId)
    if (!f || f.incarnation !== req.incarnation) {
      const inIsr = this.committed.isr.some((r) => r.id === req.replicaId)
      f = {
        incarnation: req.incarnation,
        leo: -1,
        lastFetchMono: now,
        lastFetchLeaderLeo: leaderLeo,
        lastCaughtUpMono: f?.lastCaughtUpMono ?? (inIsr ? this.electedAtMono : -Infinity),
      }
      this.followers.set(req.replicaId, f)
    }
    if (req.fetchOffset >= leaderLeo) f.lastCaughtUpMono = now
    else if (req.fetchOffset >= f.lastFetchLeaderLeo) f.lastCaughtUpMono = Math.max(f.lastCaughtUpMono, f.lastFetchMono)
    f.lastFetchLeaderLeo = leaderLeo
    f.lastFetchMono = now
    f.leo = req.fetchOffset
    // A fetch sent before the follower saw the state this leader acts on may describe a log the
    // follower has truncated since (a corrupt batch): it moves the high watermark of nothing
    // and adds nobody to the ISR.
    if (req.stateRevision === undefined || req.stateRevision >= this.revision) this.maybeExpandIsr(req.replicaId, f)
    this.maybeAdvanceHighWatermark()
  }

  /** Holds a fetch until the leader appends, or ms pass. One parked fetch per follower. */
  private park(followerId: number, ms: number): Promise<void> {
    this.unpark(followerId)
    return new Promise((resolve) => {
      const timer = this.replica.runtime.timers.setTimeout(() => this.unpark(followerId), ms)
      this.parked.set(followerId, { wake: resolve, timer })
    })
  }

  private unpark(followerId: number): void {
    const p = this.parked.get(followerId)
    if (!p) return
    this.parked.delete(followerId)
    this.replica.runtime.timers.clearTimeout(p.timer)
    p.wake()
  }

  // ---- high watermark ----

  private maybeAdvanceHighWatermark(): void {
    if (!this.active) return
    const isr = this.committed.isr
    if (isr.length < this.replica.minInsyncReplicas) return
    const me = this.replica.cluster.nodeId
    let min = this.partition.log.logEndOffset
    const members = this.pendingAdd ? [...isr, this.pendingAdd] : isr
    for (const r of members) {
      if (r.id === me) continue
      const f = this.followers.get(r.id)
      if (!f || f.leo < 0) return
      min = Math.min(min, f.leo)
    }
    if (min > this.partition.highWatermark) this.partition.setHighWatermark(min)
  }

  // ---- ISR ----

  private scheduleIsrCheck(): void {
    const { timers } = this.replica.runtime
    this.isrTimer = timers.setTimeout(() => {
      if (!this.active) return
      this.maybeShrinkIsr()
      this.scheduleIsrCheck()
    }, this.replica.config.isrCheckIntervalMs)
  }

  private maybeShrinkIsr(): void {
    if (this.proposing || !this.replica.cluster.canLead()) return
    const now = this.replica.runtime.clock.monotonic()
    const me = this.replica.cluster.nodeId
    const lagMax = this.replica.config.replicaLagTimeMaxMs
    const isr = this.committed.isr
    const keep = isr.filter((r) => {
      if (r.id === me) return true
      const caughtUp = this.followers.get(r.id)?.lastCaughtUpMono ?? this.electedAtMono
      return now - caughtUp <= lagMax
    })
    if (keep.length === isr.length) return
    void this.propose(keep, [], undefined)
  }

  private maybeExpandIsr(id: number, f: FollowerProgress): void {
    if (this.proposing || !this.replica.cluster.canLead()) return
    if (this.committed.isr.some((r) => r.id === id)) return
    if (!this.committed.replicas.includes(id)) return
    // Caught up to the high watermark in this epoch (R5: a replica that restarted uncleanly
    // comes back this way only).
    if (f.leo < Math.max(this.partition.highWatermark, this.epochStartOffset)) return
    const reg = this.replica.cluster.registration(id)
    // The broker must still be the incarnation that fetched, and the CAS checks it stays so.
    if (!reg || reg.value.incarnation !== f.incarnation) return
    const added = { id, incarnation: f.incarnation }
    void this.propose([...this.committed.isr, added], [{ key: brokerKey(id), modRevision: reg.modRevision }], added)
  }

  private async propose(isr: ReplicaRef[], compares: Compare[], added: ReplicaRef | undefined): Promise<void> {
    const s = this.committed
    const min = this.replica.minInsyncReplicas
    const removed = s.isr.filter((r) => !isr.some((i) => i.id === r.id))
    let elr = s.elr.filter((r) => !isr.some((i) => i.id === r.id))
    // KIP-966: replicas leaving an ISR that is below min.insync.replicas keep every committed
    // record (the high watermark cannot move), so they stay eligible; an ISR at or above
    // min.insync.replicas commits without them, so the ELR empties.
    if (isr.length < min) elr = [...elr, ...removed.filter((r) => !elr.some((e) => e.id === r.id))]
    else elr = []
    const next: PartitionState = { ...s, isr, elr }
    this.proposing = true
    this.pendingAdd = added
    let result: { ok: true; revision: number } | { ok: false }
    try {
      result = await this.replica.cluster.alterPartition(this.replica.topic, this.replica.index, this.revision, next, compares)
    } catch (err) {
      this.replica.cluster.log(`${this.replica.name}: ISR change failed: ${(err as Error).message}`)
      result = { ok: false }
    }
    this.proposing = false
    this.pendingAdd = undefined
    if (!this.active) return
    if (!result.ok) {
      this.replica.cluster.requestRefresh()
      return
    }
    this.committed = next
    this.revision = result.revision
    this.replica.onIsrChange(added ? 'expand' : 'shrink', next, result.revision)
    this.afterIsrChange()
  }

  private afterIsrChange(): void {
    if (this.committed.isr.length < this.replica.minInsyncReplicas) {
      this.partition.failCommitWaiters(
        new EdgelogError('NOT_ENOUGH_REPLICAS_AFTER_APPEND', `${this.replica.name} fell below min.insync.replicas while the records waited`),
      )
    }
    this.maybeAdvanceHighWatermark()
  }
}
