// A partition as the broker serves it: its log, the group commit queue in front of it, the
// high watermark, and the long-poll waiters that wake when the high watermark moves.
import type { Runtime, TimerHandle } from '../core/clock.ts'
import { assert, EdgelogError } from '../core/errors.ts'
import type { AppendRequest, AppendResult, PartitionLog } from '../log/partition-log.ts'

/** At most this many bytes wait in one partition's group commit queue. */
export const MAX_QUEUED_BYTES = 64 * 1024 * 1024

interface Queued {
  request: AppendRequest
  resolve: (r: AppendResult) => void
}

/**
 * Told when a partition's high watermark moves (the fan-out hub's trigger) and when the
 * partition goes away (topic deleted, node shutting down). Called synchronously inside the
 * append; a listener defers its own work.
 */
export interface HighWatermarkListener {
  onHighWatermark(partition: Partition, highWatermark: number): void
  onClose(partition: Partition): void
}

/** Listeners per partition: one fan-out feed, replication, and room for a few more. */
export const MAX_HW_LISTENERS = 8

/** An append whose batch is still being prepared (compressed); it keeps its place in line. */
interface Pending {
  bytes: number
  resolve: (r: AppendResult) => void
  request?: AppendRequest
  error?: EdgelogError
}

interface Waiter {
  offset: number
  resolve: () => void
  timer: TimerHandle
}

interface CommitWaiter {
  endOffset: number
  resolve: () => void
  reject: (err: EdgelogError) => void
  timer: TimerHandle
}

/**
 * Replication's view of a partition (src/replication/). Absent on a single node, where the node
 * is the whole ISR and everything appended is committed at once.
 */
export interface ReplicaRole {
  /** True while this replica is the partition's leader (its lease aside). */
  readonly leads: boolean
  /** Throws NOT_LEADER_OR_FOLLOWER unless this replica leads the partition right now. */
  checkLeader(): void
  /** acks=all: throws NOT_ENOUGH_REPLICAS while the ISR is smaller than min.insync.replicas. */
  checkInSyncReplicas(): void
  /** The leader appended: the high watermark may move (an ISR of one). */
  onLeaderAppend(): void
  /** The high watermark to write with the next append, so a restart knows what was committed. */
  readonly highWatermarkCheckpoint: number
  describe(): { leader: number; leaderEpoch: number; replicas: number[]; isr: number[] }
  /** The disk refused an append (KAFKA_STORAGE_ERROR): a replicated leader steps down. */
  onStorageError(): void
}

export class Partition {
  leaderEpoch = 0
  private hw: number
  private queue: Queued[] = []
  private pending: Pending[] = []
  private queuedBytes = 0
  private closed = false
  private flushScheduled = false
  private waiters = new Set<Waiter>()
  private listeners: HighWatermarkListener[] = []
  private commitWaiters = new Set<CommitWaiter>()
  /** Set by replication when this partition has replicas on other brokers. */
  role: ReplicaRole | undefined
  /** Set when an append committed since the last fsync tick (the `batch` fsync policy). */
  dirty = false

  constructor(
    readonly topic: string,
    readonly index: number,
    readonly log: PartitionLog,
    private readonly runtime: Runtime,
    private readonly onAppend?: (p: Partition, records: number, bytes: number) => void,
  ) {
    // One replica: everything in the log is committed.
    this.hw = log.logEndOffset
  }

  get highWatermark(): number {
    return this.hw
  }

  get waiting(): number {
    return this.waiters.size
  }

  /**
   * Queues a batch for the next group commit: every append that arrives before the deferred
   * flush runs goes into one SQLite transaction. A batch may still be in preparation (a promise:
   * gzip compression is asynchronous); appends still commit in the order they arrived, so a batch
   * that compresses faster never overtakes an earlier one. `bytes` is what the batch holds
   * before compression (the queue bound counts it).
   */
  append(request: AppendRequest | Promise<AppendRequest>, bytes?: number): Promise<AppendResult> {
    const size = bytes ?? (request instanceof Promise ? 0 : request.batch.byteLength)
    if (this.closed) return Promise.resolve({ ok: false, error: new EdgelogError('SHUTTING_DOWN', 'the partition is closing') })
    if (this.role) {
      try {
        this.role.checkLeader()
      } catch (err) {
        return Promise.resolve({ ok: false, error: err as EdgelogError })
      }
    }
    if (this.queuedBytes + size > MAX_QUEUED_BYTES) {
      return Promise.resolve({ ok: false, error: new EdgelogError('THROTTLED', `partition ${this.topic}-${this.index} has too much queued`) })
    }
    if (!(request instanceof Promise) && this.pending.length === 0) return this.enqueue(request)
    return new Promise((resolve) => {
      const slot: Pending = { bytes: size, resolve }
      this.pending.push(slot)
      this.queuedBytes += size
      Promise.resolve(request).then(
        (r) => (slot.request = r),
        (err) => (slot.error = err instanceof EdgelogError ? err : new EdgelogError('INTERNAL', 'the batch could not be prepared')),
      ).then(() => this.drainPending())
    })
  }

  /** Moves prepared batches, in arrival order, from the head of the pending line to the queue. */
  private drainPending(): void {
    while (this.pending.length > 0) {
      const head = this.pending[0]!
      if (head.request === undefined && head.error === undefined) return
      this.pending.shift()
      this.queuedBytes -= head.bytes
      if (head.error !== undefined) head.resolve({ ok: false, error: head.error })
      else if (this.closed) head.resolve({ ok: false, error: new EdgelogError('SHUTTING_DOWN', 'the partition is closing') })
      else void this.enqueue(head.request!).then(head.resolve)
    }
  }

  private enqueue(request: AppendRequest): Promise<AppendResult> {
    return new Promise((resolve) => {
      this.queue.push({ request, resolve })
      this.queuedBytes += request.batch.byteLength
      if (!this.flushScheduled) {
        this.flushScheduled = true
        this.runtime.timers.defer(() => this.flush())
      }
    })
  }

  /** Runs the group commit now (also called on shutdown). */
  flush(): void {
    this.flushScheduled = false
    if (this.queue.length === 0 || this.closed) return
    const queued = this.queue
    this.queue = []
    this.queuedBytes = 0
    if (this.role) {
      // Leadership can end between the queueing and this flush.
      try {
        this.role.checkLeader()
      } catch (err) {
        for (const q of queued) q.resolve({ ok: false, error: err as EdgelogError })
        return
      }
    }
    const results = this.log.appendAsLeader(
      queued.map((q) => q.request),
      this.leaderEpoch,
      this.runtime.clock.now(),
      this.role?.highWatermarkCheckpoint,
    )
    const first = results[0]
    if (first && !first.ok && first.error.code === 'KAFKA_STORAGE_ERROR') this.role?.onStorageError()
    let records = 0
    let bytes = 0
    for (let i = 0; i < queued.length; i++) {
      const r = results[i]!
      if (r.ok && !r.duplicate) {
        records += r.lastOffset - r.baseOffset + 1
        bytes += queued[i]!.request.batch.byteLength
      }
    }
    if (records > 0) {
      this.dirty = true
      if (this.role) this.role.onLeaderAppend()
      else this.setHighWatermark(this.log.logEndOffset)
      this.onAppend?.(this, records, bytes)
    }
    for (let i = 0; i < queued.length; i++) queued[i]!.resolve(results[i]!)
  }

  setHighWatermark(offset: number): void {
    assert(offset >= this.hw, `high watermark ${offset} moved back from ${this.hw}`)
    assert(offset <= this.log.logEndOffset, 'high watermark never passes the log end')
    if (offset === this.hw) return
    this.hw = offset
    for (const w of this.waiters) {
      if (offset > w.offset) this.wake(w)
    }
    for (const w of this.commitWaiters) {
      if (offset >= w.endOffset) this.settleCommit(w)
    }
    for (const l of this.listeners) l.onHighWatermark(this, offset)
  }

  /**
   * Replication moves the high watermark without the monotonic check: a follower's high
   * watermark after truncation, or a new leader's checkpoint. Never above the log end.
   */
  resetHighWatermark(offset: number): void {
    this.hw = Math.max(0, Math.min(offset, this.log.logEndOffset))
  }

  /**
   * acks=all: resolves once the high watermark reaches endOffset (every ISR member has the
   * records); rejects with REQUEST_TIMED_OUT after ms, or with whatever failCommitWaiters says.
   */
  awaitCommit(endOffset: number, ms: number): Promise<void> {
    if (this.hw >= endOffset) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const w: CommitWaiter = {
        endOffset,
        resolve,
        reject,
        timer: this.runtime.timers.setTimeout(
          () => this.settleCommit(w, new EdgelogError('REQUEST_TIMED_OUT', `the records were not replicated to the ISR within ${ms} ms`)),
          ms,
        ),
      }
      this.commitWaiters.add(w)
    })
  }

  /** Fails every acks=all produce waiting here (leadership lost, ISR below min.insync.replicas). */
  failCommitWaiters(err: EdgelogError): void {
    for (const w of [...this.commitWaiters]) this.settleCommit(w, err)
  }

  get commitWaiting(): number {
    return this.commitWaiters.size
  }

  private settleCommit(w: CommitWaiter, err?: EdgelogError): void {
    if (!this.commitWaiters.delete(w)) return
    this.runtime.timers.clearTimeout(w.timer)
    if (err) w.reject(err)
    else w.resolve()
  }

  /** Registers a listener; returns the function that removes it. */
  listen(listener: HighWatermarkListener): () => void {
    assert(!this.closed, `listen on closed partition ${this.topic}-${this.index}`)
    assert(this.listeners.length < MAX_HW_LISTENERS, `more than ${MAX_HW_LISTENERS} high watermark listeners on ${this.topic}-${this.index}`)
    assert(!this.listeners.includes(listener), 'a listener is registered once')
    this.listeners = [...this.listeners, listener]
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener)
    }
  }

  /** Something (a live fan-out feed) listens for high watermark moves. */
  get hasListeners(): boolean {
    return this.listeners.length > 0
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** Resolves when a record at or after `offset` is readable, or after `ms`. */
  waitFor(offset: number, ms: number): Promise<void> {
    if (this.hw > offset || ms <= 0) return Promise.resolve()
    return new Promise((resolve) => {
      const w: Waiter = { offset, resolve, timer: this.runtime.timers.setTimeout(() => this.wake(w), ms) }
      this.waiters.add(w)
    })
  }

  private wake(w: Waiter): void {
    if (!this.waiters.delete(w)) return
    this.runtime.timers.clearTimeout(w.timer)
    w.resolve()
  }

  /** Wakes every waiter (shutdown, topic deletion). */
  wakeAll(): void {
    for (const w of [...this.waiters]) this.wake(w)
    this.failCommitWaiters(new EdgelogError('NOT_LEADER_OR_FOLLOWER', `partition ${this.topic}-${this.index} is closing`))
  }

  /**
   * The partition is going away (topic deleted, node shutting down): what is queued is
   * committed, later appends are refused, waiters wake, and listeners hear it once and are
   * dropped. Called before the log closes.
   */
  close(): void {
    if (this.closed) return
    this.flush()
    this.closed = true
    this.wakeAll()
    const listeners = this.listeners
    this.listeners = []
    for (const l of listeners) l.onClose(this)
  }
}
