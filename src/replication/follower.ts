// A partition this broker follows in one leader epoch: first truncate by epoch (KIP-101 /
// KIP-279, OffsetsForLeaderEpoch — never to the local high watermark), then pull from the
// leader with the log end offset and last fetched epoch, one fetch in flight at a time.
import type { Partition } from '../broker/partition.ts'
import { readBatchHeader } from '../codec/record-batch.ts'
import type { TimerHandle } from '../core/clock.ts'
import type { PartitionReplica } from './replica.ts'

const LOG_EVERY_MS = 10_000
/** A follower with live subscribers and records above its high watermark asks this often (waitMs). */
const FOLLOWER_HW_POLL_MS = 20

export class PartitionFollower {
  private stopped = false
  private sleeping: { resolve: () => void; timer: TimerHandle } | undefined
  private lastFailure = ''
  private lastFailureLoggedAt = -Infinity

  constructor(
    private readonly replica: PartitionReplica,
    readonly leaderId: number,
    readonly epoch: number,
    /** Copies committed batches only, for this broker's live subscribers (protocol.ts); not a replica. */
    readonly observer = false,
  ) {}

  private get partition(): Partition {
    return this.replica.partition
  }

  start(): void {
    void this.run()
  }

  stop(): void {
    this.stopped = true
    this.wake()
  }

  private async run(): Promise<void> {
    let truncated = false
    while (!this.stopped) {
      try {
        // A corrupt batch (found by a read or the scrub; the replica left the ISR first): it and
        // everything after it go, and are fetched again from the leader.
        const corruptAt = this.partition.log.corruptAt
        if (corruptAt !== undefined) {
          this.truncateTo(corruptAt)
          truncated = false
        }
        if (!truncated) {
          truncated = await this.truncate()
          if (!truncated && !this.stopped) await this.sleep()
          continue
        }
        const outcome = await this.fetchOnce()
        if (outcome === 'diverged') truncated = false
        else if (outcome === 'retry') await this.sleep()
      } catch (err) {
        if (this.stopped) return
        this.logFailure(err as Error)
        await this.sleep()
      }
    }
  }

  /**
   * Asks the leader where our latest epoch ends on its log and truncates there (never below
   * what both logs share, never to our own high watermark), repeating with the next older
   * epoch until the leader knows our latest epoch. Returns false when the leader could not say.
   */
  private async truncate(): Promise<boolean> {
    const log = this.partition.log
    for (let rounds = 0; rounds < 1000 && !this.stopped; rounds++) {
      const latest = log.latestEpoch
      if (latest < 0) return true
      const resp = await this.replica.transport.offsetsForLeaderEpoch(this.leaderId, {
        replicaId: this.replica.cluster.nodeId,
        topic: this.replica.topic,
        topicId: this.replica.topicId,
        partition: this.replica.index,
        currentLeaderEpoch: this.epoch,
        leaderEpoch: latest,
      })
      if (this.stopped) return false
      if (resp.error) {
        this.onError(resp.error)
        return false
      }
      if (resp.epoch > latest) {
        this.replica.cluster.log(`${this.replica.name}: leader ${this.leaderId} answered epoch ${resp.epoch} for ${latest}`)
        return false
      }
      if (log.latestEpoch !== latest) continue // truncated meanwhile; ask again
      const before = log.logEndOffset
      if (resp.epoch === latest) {
        this.truncateTo(Math.min(resp.endOffset, before))
        return true
      }
      // The leader does not know our latest epoch: keep what both logs have of its epoch.
      const ours = resp.epoch < 0 ? resp.endOffset : Math.min(resp.endOffset, log.endOffsetForEpoch(resp.epoch).endOffset)
      this.truncateTo(Math.min(ours, before))
      if (log.latestEpoch === latest) return true // nothing older to compare (log start)
    }
    return false
  }

  private truncateTo(offset: number): void {
    const log = this.partition.log
    if (offset > log.logEndOffset) return
    const before = log.logEndOffset
    const end = log.truncateTo(offset)
    if (this.partition.highWatermark > end) this.partition.resetHighWatermark(end)
    if (end < before) this.replica.onTruncate(before, end)
  }

  private async fetchOnce(): Promise<'ok' | 'diverged' | 'retry'> {
    const log = this.partition.log
    const fetchOffset = log.logEndOffset
    const cfg = this.replica.config
    const resp = await this.replica.transport.fetch(this.leaderId, {
      replicaId: this.replica.cluster.nodeId,
      incarnation: this.replica.cluster.incarnation,
      topic: this.replica.topic,
      topicId: this.replica.topicId,
      partition: this.replica.index,
      currentLeaderEpoch: this.epoch,
      fetchOffset,
      lastFetchedEpoch: log.latestEpoch,
      maxBytes: cfg.replicaFetchMaxBytes,
      maxWaitMs: this.waitMs(),
      ...(this.observer ? { observer: true as const } : {}),
      stateRevision: this.replica.stateRevision,
    })
    if (this.stopped || log.logEndOffset !== fetchOffset) return 'ok'
    if (resp.error === 'OFFSET_OUT_OF_RANGE' && fetchOffset < resp.logStartOffset) {
      // Retention on the leader removed what we need next: start over at its log start.
      const before = log.logEndOffset
      log.truncateFullyAndStartAt(resp.logStartOffset)
      this.partition.resetHighWatermark(resp.logStartOffset)
      this.replica.onTruncate(before, resp.logStartOffset)
      return 'ok'
    }
    if (resp.error) {
      this.onError(resp.error)
      return 'retry'
    }
    if (resp.divergingEpoch) return 'diverged'
    if (resp.batches.length > 0) {
      if (this.observer) {
        // An observer's copy may start inside the leader's first batch (protocol.ts): it starts
        // at that batch's base instead; what it held before is only a cache of committed records.
        const base = readBatchHeader(resp.batches[0]!).baseOffset
        if (base < fetchOffset) {
          log.truncateFullyAndStartAt(base)
          this.partition.resetHighWatermark(base)
        }
      }
      const { records, bytes } = log.appendAsFollower(resp.batches, resp.highWatermark)
      this.partition.dirty = true
      this.replica.onFollowerAppend(records, bytes)
    }
    const hw = Math.min(resp.highWatermark, log.logEndOffset)
    if (hw > this.partition.highWatermark) this.partition.setHighWatermark(hw)
    return 'ok'
  }

  /**
   * How long the leader may hold the next fetch. A follower learns the high watermark only from
   * fetch answers, and one caught up is held until the next append or maxWaitMs: while it serves
   * live subscribers (KIP-392) and holds records it does not yet know to be committed, it asks
   * again soon, so they see each record within FOLLOWER_HW_POLL_MS of its commit rather than
   * replica.fetch.wait.max.ms. Only then, so replication itself is untouched.
   */
  private waitMs(): number {
    const max = this.replica.config.replicaFetchWaitMaxMs
    if (this.observer || !this.partition.hasListeners || this.partition.log.logEndOffset <= this.partition.highWatermark) return max
    return Math.min(max, FOLLOWER_HW_POLL_MS)
  }

  /** One line per kind of failure, again at most every LOG_EVERY_MS while it lasts: a dead leader is not a log flood. */
  private logFailure(err: Error): void {
    const now = this.replica.runtime.clock.monotonic()
    if (err.message === this.lastFailure && now - this.lastFailureLoggedAt < LOG_EVERY_MS) return
    this.lastFailure = err.message
    this.lastFailureLoggedAt = now
    this.replica.cluster.log(`${this.replica.name}: replica fetch from ${this.leaderId} failed: ${err.message}`)
  }

  private onError(code: string): void {
    // Our metadata may be behind the leader's: fetch it before trying again.
    // A leader that answered CORRUPT_MESSAGE has stepped down: the next one is in the metadata.
    if (code === 'FENCED_LEADER_EPOCH' || code === 'NOT_LEADER_OR_FOLLOWER' || code === 'UNKNOWN_TOPIC_OR_PARTITION' || code === 'CORRUPT_MESSAGE') {
      this.replica.cluster.requestRefresh()
    }
  }

  private sleep(): Promise<void> {
    if (this.stopped) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = this.replica.runtime.timers.setTimeout(() => this.wake(), this.replica.config.replicaFetchBackoffMs)
      this.sleeping = { resolve, timer }
    })
  }

  private wake(): void {
    const s = this.sleeping
    if (!s) return
    this.sleeping = undefined
    this.replica.runtime.timers.clearTimeout(s.timer)
    s.resolve()
  }
}
