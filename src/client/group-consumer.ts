// A consumer group member over HTTP (KIP-848: the server assigns, the member heartbeats).
// It polls each partition it owns, hands every record to the handler, and commits the next
// offset only after the handler succeeded: at-least-once. With `retry`, a failed record goes
// to the retry topic (and at last to the dead-letter topic) so one bad record never holds up
// its partition.
//
// Ownership rules, which keep a partition from being processed by two members at once:
// - a revoked partition's worker is stopped (after the record in hand) and its position
//   committed before the next heartbeat reports it gone; only then may another member get it;
// - when the member is fenced, or has heard nothing from the coordinator for most of its
//   session timeout (the coordinator may have removed it), it stops every worker at once,
//   commits nothing, and joins again.
// Errors that a retry can cure (the server restarting, a network cut) are retried: the member
// keeps its partitions and member id while its session lasts, so it survives a coordinator
// restart (membership is stored in `__consumer_offsets` and replayed).
//
// This file is the membership loop: join, heartbeat, take and give up assignments, commit,
// leave. Each owned partition is processed by its own worker (partition-worker.ts); the
// options and record types are in group-consumer-options.ts.
import { EdgelogError, isEdgelogError } from './errors.ts'
import type { GroupConsumerOptions, GroupConsumerStats, RecordHandler, TopicPartition } from './group-consumer-options.ts'
import { HttpClient } from './http.ts'
import { TopicMetadata } from './metadata.ts'
import { byTopicPartition, retryDelayMs, runWorker, toTopicPartitions, tpKey, type Worker, type WorkerContext } from './partition-worker.ts'
import { deadLetterTopicOf, retryTopicOf, type RetryOptions } from './retry.ts'
import type { MemberResponse, TopicPartitions } from './schemas.ts'
import { Slots } from './slots.ts'

// Importers know these by this module's name.
export type { ConsumedRecord, GroupConsumerOptions, GroupConsumerStats, RecordHandler, TopicPartition } from './group-consumer-options.ts'

/** Codes meaning the coordinator no longer counts this member in: give up everything, join again. */
const membershipLost: ReadonlySet<string> = new Set(['UNKNOWN_MEMBER_ID', 'FENCED_MEMBER_EPOCH'])

/** Codes that no retry cures: the options are wrong. */
const fatalJoin: ReadonlySet<string> = new Set([
  'INVALID_REQUEST',
  'INVALID_TOPIC',
  'INVALID_SESSION_TIMEOUT',
  'FENCED_INSTANCE_ID',
])

export class GroupConsumer {
  readonly stats: GroupConsumerStats = { processed: 0, failed: 0, retried: 0, deadLettered: 0, commitsRejected: 0 }
  readonly #client: HttpClient
  readonly #options: GroupConsumerOptions
  readonly #sessionTimeoutMs: number
  readonly #workers = new Map<string, Worker>()
  readonly #revoking = new Set<string>()
  readonly #slots: Slots
  readonly #stopping = new AbortController()
  /** The partition workers' view of this consumer. */
  readonly #worker: WorkerContext
  #handler: RecordHandler | undefined
  #memberId: string | undefined
  #memberEpoch = 0
  #heartbeatIntervalMs = 3000
  #wake: (() => void) | undefined
  /** A wake-up that came while the loop was not sleeping: the next sleep returns at once. */
  #wakePending = false
  #watchdog: ReturnType<typeof setTimeout> | undefined
  #commitTimer: ReturnType<typeof setInterval> | undefined
  #lastHeartbeatOk = 0
  #running: Promise<void> | undefined
  #aborted = false
  #subscription: string[] = []

  constructor(options: GroupConsumerOptions) {
    if (!options.client && !options.url) throw new TypeError('GroupConsumer needs a client or a url')
    if (options.topics.length === 0) throw new TypeError('GroupConsumer needs at least one topic')
    if (options.retry && !(Number.isInteger(options.retry.maxAttempts) && options.retry.maxAttempts >= 1)) {
      throw new RangeError('retry.maxAttempts must be an integer of at least 1')
    }
    if (options.client) this.#client = options.client
    else {
      // Its own client: fetches go straight to each partition's leader (group requests to `url`).
      this.#client = new HttpClient({ url: options.url! })
      this.#client.useRouter(new TopicMetadata(this.#client))
    }
    this.#options = options
    this.#sessionTimeoutMs = options.sessionTimeoutMs ?? 30_000
    this.#slots = new Slots(options.maxInFlightFetches ?? 16)
    this.#worker = {
      client: this.#client,
      options,
      stats: this.stats,
      slots: this.#slots,
      workerCount: () => this.#workers.size,
      handle: (record) => this.#handler!(record),
      commit: (workers) => this.#commit(workers),
      sleep: (ms, signal) => this.#sleep(ms, signal),
      report: (error) => this.#report(error),
    }
  }

  get memberId(): string | undefined {
    return this.#memberId
  }

  get memberEpoch(): number {
    return this.#memberEpoch
  }

  /** The partitions this member owns now (being processed or being given up). */
  assignment(): TopicPartition[] {
    return [...this.#workers.values()].map((w) => w.tp).sort(byTopicPartition)
  }

  /**
   * Joins the group and processes records with `handler` until stop() or abort(); resolves
   * then. Rejects on an error no retry cures (invalid options, a fenced static instance).
   */
  run(handler: RecordHandler): Promise<void> {
    if (this.#running) throw new Error('this GroupConsumer is already running')
    this.#handler = handler
    this.#running = this.#main()
    return this.#running
  }

  /** Stops gracefully: workers finish their record, positions are committed, the member leaves. */
  async stop(): Promise<void> {
    this.#stopping.abort()
    this.#wakeUp()
    await this.#running?.catch(() => {})
  }

  /**
   * Stops at once, as a crash would: no commit and no leave; the coordinator reassigns the
   * partitions when the session times out. The record in hand still finishes.
   */
  async abort(): Promise<void> {
    this.#aborted = true
    await this.stop()
  }

  // ---- membership ----

  async #main(): Promise<void> {
    const retry = this.#options.retry
    this.#subscription = [...this.#options.topics]
    if (retry) {
      for (const t of this.#options.topics) this.#subscription.push(retryTopicOf(retry, t))
      if (this.#options.createRetryTopics ?? true) await this.#createRetryTopics(retry)
    }
    if (this.#options.autoCommitIntervalMs !== undefined) {
      this.#commitTimer = setInterval(() => void this.#commit([...this.#workers.values()]), this.#options.autoCommitIntervalMs)
    }
    try {
      while (!this.#stopping.signal.aborted) {
        const delay = this.#memberId === undefined ? await this.#join() : await this.#heartbeat()
        await this.#sleep(delay)
      }
    } finally {
      if (this.#commitTimer) clearInterval(this.#commitTimer)
      this.#clearWatchdog()
      await this.#shutdown()
    }
  }

  async #join(): Promise<number> {
    const sentAt = Date.now()
    let answer: MemberResponse
    try {
      answer = await this.#client.joinGroup(this.#options.group, {
        topics: this.#subscription,
        ...(this.#options.instanceId === undefined ? {} : { instanceId: this.#options.instanceId }),
        sessionTimeoutMs: this.#sessionTimeoutMs,
        ...(this.#options.rebalanceTimeoutMs === undefined ? {} : { rebalanceTimeoutMs: this.#options.rebalanceTimeoutMs }),
      }, { signal: this.#stopping.signal, timeoutMs: this.#requestTimeoutMs() })
    } catch (error) {
      if (this.#stopping.signal.aborted) return 0
      if (isEdgelogError(error) && fatalJoin.has(error.code)) throw error
      this.#report(error)
      return retryDelayMs
    }
    this.#memberId = answer.memberId
    this.#memberEpoch = answer.memberEpoch
    this.#heartbeatIntervalMs = answer.heartbeatIntervalMs
    this.#heartbeatOk(sentAt)
    await this.#apply(answer.assignment)
    return this.#heartbeatIntervalMs
  }

  async #heartbeat(): Promise<number> {
    const memberId = this.#memberId!
    const sentAt = Date.now()
    let answer: MemberResponse
    try {
      answer = await this.#client.heartbeat(this.#options.group, memberId, {
        memberEpoch: this.#memberEpoch,
        ownedPartitions: toTopicPartitions(this.#workers.values()),
      }, { signal: this.#stopping.signal, timeoutMs: this.#requestTimeoutMs() })
    } catch (error) {
      if (this.#stopping.signal.aborted) return 0
      if (isEdgelogError(error) && membershipLost.has(error.code)) {
        this.#report(error)
        await this.#loseAll()
        return 0
      }
      if (isEdgelogError(error) && error.code === 'FENCED_INSTANCE_ID') {
        await this.#loseAll()
        throw error
      }
      this.#report(error)
      return Math.min(retryDelayMs, this.#heartbeatIntervalMs)
    }
    if (this.#memberId !== memberId) return 0 // lost meanwhile (the watchdog fired)
    this.#memberEpoch = answer.memberEpoch
    this.#heartbeatIntervalMs = answer.heartbeatIntervalMs
    this.#heartbeatOk(sentAt)
    await this.#apply(answer.assignment)
    return this.#heartbeatIntervalMs
  }

  /** Takes an assignment: revokes what is gone (in the background), starts what is new. */
  async #apply(assignment: TopicPartitions): Promise<void> {
    const next = new Map<string, TopicPartition>()
    for (const t of assignment) for (const partition of t.partitions) next.set(tpKey(t.topic, partition), { topic: t.topic, partition })
    const revoked = [...this.#workers.values()].filter((w) => !next.has(w.key) && !this.#revoking.has(w.key))
    if (revoked.length > 0) void this.#revoke(revoked)
    const added = [...next].filter(([key]) => !this.#workers.has(key)).map(([, tp]) => tp)
    if (added.length === 0) return
    const committed = await this.#committedOffsets(added)
    const reset = this.#options.autoOffsetReset ?? 'earliest'
    const started: TopicPartition[] = []
    for (const tp of added) {
      const key = tpKey(tp.topic, tp.partition)
      if (this.#workers.has(key)) continue
      const start = committed.get(key)
      const w: Worker = { tp, key, stop: new AbortController(), position: start ?? reset, committed: start, done: Promise.resolve() }
      this.#workers.set(key, w)
      started.push(tp)
    }
    if (started.length === 0) return
    this.#options.onAssign?.(started)
    for (const tp of started) {
      const w = this.#workers.get(tpKey(tp.topic, tp.partition))!
      w.done = runWorker(this.#worker, w)
    }
  }

  async #committedOffsets(tps: TopicPartition[]): Promise<Map<string, number>> {
    for (;;) {
      try {
        const answer = await this.#client.committedOffsets(this.#options.group, { signal: this.#stopping.signal, timeoutMs: this.#requestTimeoutMs() })
        const wanted = new Set(tps.map((tp) => tpKey(tp.topic, tp.partition)))
        return new Map(answer.offsets.filter((o) => wanted.has(tpKey(o.topic, o.partition))).map((o) => [tpKey(o.topic, o.partition), o.offset]))
      } catch (error) {
        if (this.#stopping.signal.aborted) return new Map()
        this.#report(error)
        await this.#sleep(retryDelayMs)
      }
    }
  }

  /** Gives partitions up: stop their workers, commit their positions, report them gone. */
  async #revoke(workers: Worker[]): Promise<void> {
    for (const w of workers) {
      this.#revoking.add(w.key)
      w.stop.abort()
    }
    await Promise.all(workers.map((w) => w.done))
    await this.#commit(workers)
    for (const w of workers) {
      this.#workers.delete(w.key)
      this.#revoking.delete(w.key)
    }
    this.#options.onRevoke?.(workers.map((w) => w.tp).sort(byTopicPartition), false)
    // Tell the coordinator now: the partitions' next owner is waiting for this.
    this.#wakeUp()
  }

  /** The coordinator no longer counts this member: stop everything, commit nothing, join again. */
  async #loseAll(): Promise<void> {
    this.#memberId = undefined
    this.#memberEpoch = 0
    this.#clearWatchdog()
    const workers = [...this.#workers.values()]
    for (const w of workers) w.stop.abort()
    await Promise.all(workers.map((w) => w.done))
    for (const w of workers) {
      this.#workers.delete(w.key)
      this.#revoking.delete(w.key)
    }
    if (workers.length > 0) this.#options.onRevoke?.(workers.map((w) => w.tp).sort(byTopicPartition), true)
  }

  async #shutdown(): Promise<void> {
    const workers = [...this.#workers.values()]
    if (this.#aborted) {
      for (const w of workers) w.stop.abort()
      await Promise.all(workers.map((w) => w.done))
      this.#workers.clear()
      if (workers.length > 0) this.#options.onRevoke?.(workers.map((w) => w.tp).sort(byTopicPartition), true)
      return
    }
    if (workers.length > 0) await this.#revoke(workers)
    const memberId = this.#memberId
    this.#memberId = undefined
    if (memberId !== undefined) {
      try {
        await this.#client.leaveGroup(this.#options.group, memberId, { timeoutMs: this.#requestTimeoutMs() })
      } catch (error) {
        this.#report(error) // the session timeout removes it anyway
      }
    }
  }

  /**
   * Heard from the coordinator: it will not remove this member before sentAt + session timeout.
   * If nothing more is heard by shortly before then, assume removal and stop processing first,
   * so the partitions' next owner never runs alongside this one.
   */
  #heartbeatOk(sentAt: number): void {
    this.#lastHeartbeatOk = sentAt
    this.#clearWatchdog()
    const margin = Math.min(this.#heartbeatIntervalMs, Math.floor(this.#sessionTimeoutMs / 5))
    const delay = sentAt + this.#sessionTimeoutMs - margin - Date.now()
    const memberId = this.#memberId
    this.#watchdog = setTimeout(() => {
      if (this.#memberId !== memberId || this.#lastHeartbeatOk !== sentAt) return
      this.#report(new EdgelogError('REQUEST_TIMED_OUT', `no heartbeat answered for ${this.#sessionTimeoutMs - margin} ms; giving up the partitions and joining again`))
      void this.#loseAll().then(() => this.#wakeUp())
    }, Math.max(0, delay))
  }

  #clearWatchdog(): void {
    if (this.#watchdog) clearTimeout(this.#watchdog)
    this.#watchdog = undefined
  }

  #requestTimeoutMs(): number {
    return Math.max(500, Math.floor(this.#sessionTimeoutMs / 3))
  }


  async #commit(workers: Worker[]): Promise<void> {
    const memberId = this.#memberId
    if (memberId === undefined) return
    const due = workers.filter((w) => typeof w.position === 'number' && w.position !== w.committed)
    if (due.length === 0) return
    const offsets = due.map((w) => ({ topic: w.tp.topic, partition: w.tp.partition, offset: w.position as number }))
    try {
      await this.#client.commitOffsets(this.#options.group, offsets, {
        member: { memberId, memberEpoch: this.#memberEpoch },
        timeoutMs: this.#requestTimeoutMs(),
      })
      due.forEach((w, i) => (w.committed = offsets[i]!.offset))
    } catch (error) {
      this.#report(error)
      if (isEdgelogError(error) && (membershipLost.has(error.code) || error.code === 'STALE_MEMBER_EPOCH' || error.code === 'FENCED_INSTANCE_ID')) {
        this.stats.commitsRejected++
      }
    }
  }

  // ---- plumbing ----

  async #createRetryTopics(retry: RetryOptions): Promise<void> {
    for (const topic of this.#options.topics) {
      const main = await this.#client.describeTopic(topic)
      for (const name of [retryTopicOf(retry, topic), deadLetterTopicOf(retry, topic)]) {
        try {
          await this.#client.createTopic({ name, partitions: main.partitions.length })
        } catch (error) {
          if (!(isEdgelogError(error) && error.code === 'TOPIC_ALREADY_EXISTS')) throw error
        }
      }
    }
  }

  #wakeUp(): void {
    if (this.#wake) this.#wake()
    else this.#wakePending = true
  }

  /** Sleeps, cut short by a signal, stop() or (the heartbeat loop's sleep) a wake-up. */
  #sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (!signal && this.#wakePending) {
      this.#wakePending = false
      return Promise.resolve()
    }
    if (ms <= 0 || this.#stopping.signal.aborted || signal?.aborted) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        this.#stopping.signal.removeEventListener('abort', done)
        if (this.#wake === done) this.#wake = undefined
        resolve()
      }
      const timer = setTimeout(done, ms)
      signal?.addEventListener('abort', done, { once: true })
      this.#stopping.signal.addEventListener('abort', done, { once: true })
      if (!signal) this.#wake = done
    })
  }

  #report(error: unknown): void {
    this.#options.onError?.(error)
  }
}
