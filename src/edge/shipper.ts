// Ships one outbox partition to the region: in offset order, one batch in flight at a time,
// batches merged up to a bounded size, as the edge's idempotent producer. The batch in flight
// is written to edge.db before it is sent, so after a crash the very same records go again
// with the very same sequence numbers, and upstream's duplicate detection (the last 5 batches
// per producer per partition, R6) answers them with their original offsets: exactly once.
// Records leave the outbox only after upstream confirmed them with acks=all.
import { recordSizeBound } from '../broker/batching.ts'
import type { HighWatermarkListener } from '../broker/partition.ts'
import { BATCH_HEADER_SIZE, decodeBatch, readBatchHeader } from '../codec/record-batch.ts'
import { isEdgelogError } from '../client/errors.ts'
import type { ProduceRecord as WireRecord } from '../client/schemas.ts'
import type { Runtime, TimerHandle } from '../core/clock.ts'
import { assert, EdgelogError } from '../core/errors.ts'
import type { EdgeStore, InflightBatch, ShipState } from './edge-store.ts'
import type { EdgeOptions } from './options.ts'
import type { OutboxPartition } from './outbox.ts'
import { MAX_SEQUENCE, type EdgeProducer, type SequenceHolder } from './producer.ts'
import { topicConfig } from './router.ts'
import type { EdgeMetadata } from './metadata.ts'
import type { Upstream } from './upstream.ts'
import { codeOf } from './errors.ts'
import { toWire } from './wire-records.ts'

/** Records in one shipped batch, whatever their size (a broker takes 100,000 per request by default). */
export const MAX_SHIP_RECORDS = 50_000
/** Shipped records the outbox lets go of at once while more wait (it always does when none wait). */
const RELEASE_RECORDS = 1000
/** Confirmed ranges kept in memory per partition to answer acks=all waiters. */
const CONFIRMED_KEPT = 256
/** Arrival times kept per partition (merged when more, never making a wait look shorter). */
const ARRIVALS_KEPT = 256

/** Answers that mean the sequence bookkeeping of upstream and this edge disagree: data may be lost. */
const LOST_SEQUENCE: ReadonlySet<string> = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'INVALID_PRODUCER_EPOCH'])
/** Answers no retry of the same batch can change; shipping halts (and asks again now and then). */
const HALT: ReadonlySet<string> = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'INVALID_RECORD',
  'INVALID_REQUEST',
  'INVALID_TOPIC',
  'CORRUPT_MESSAGE',
  'UNSUPPORTED_COMPRESSION_TYPE',
  'UNSUPPORTED_MEDIA_TYPE',
  'RECORD_LIST_TOO_LARGE',
  // The region refuses the edge's credential (--upstream-token), or its grant for this topic:
  // the records wait in the outbox until it accepts them (src/edge/upstream-credential.ts).
  'UNAUTHORIZED',
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'FORBIDDEN',
  'NOT_FOUND',
  'INVALID_RESPONSE',
])

export interface ShipperHost {
  readonly runtime: Runtime
  readonly options: EdgeOptions
  readonly store: EdgeStore
  readonly upstream: Upstream
  readonly metadata: EdgeMetadata
  readonly producer: EdgeProducer
  readonly m: ShipperMetrics
  /** acks=all produces waiting, all partitions together (bounded). */
  ackWaiters: number
}

export interface ShipperMetrics {
  shipped(topic: string, records: number, bytes: number, duplicate: boolean): void
  error(topic: string, partition: number, code: string, lostSequence: boolean): void
}

interface AckWaiter {
  from: number
  to: number
  resolve(offsets: Array<number | null>): void
  reject(err: Error): void
  timer: TimerHandle
}

interface Prepared {
  batch: InflightBatch
  records: WireRecord[]
  bytes: number
  gzip: boolean
}


export class PartitionShipper implements HighWatermarkListener, SequenceHolder {
  /** Why shipping stopped, when it did (a lost-sequence or unshippable answer). */
  halted: { code: string; message: string; since: number } | undefined
  /** Monotonic ms of the last confirmed batch (or of start, before any). */
  lastShippedAt: number
  private running = false
  private wakeScheduled = false
  private closed = false
  private retryTimer: TimerHandle | undefined
  private attempts = 0
  /** After MESSAGE_TOO_LARGE: ship smaller batches than the topic allows (the region's limit shrank). */
  private shrunkBytes: number | undefined
  private prepared: Prepared | undefined
  /** The next batch's records, read while the one in flight travels. */
  private prefetched: { from: number; limit: number; read: Promise<Omit<Prepared, 'batch'>> } | undefined
  private readonly confirmed: Array<{ from: number; to: number; base: number }> = []
  private readonly arrivals: Array<{ end: number; at: number }> = []
  private readonly waiters = new Set<AckWaiter>()
  private readonly unlisten: () => void

  constructor(
    readonly op: OutboxPartition,
    private readonly host: ShipperHost,
    readonly state: ShipState,
  ) {
    this.lastShippedAt = host.runtime.clock.monotonic()
    // Confirmed before a crash, released after it: the release is made now.
    if (state.nextOffset > op.log.logStartOffset && state.nextOffset <= op.log.logEndOffset) op.log.advanceLogStart(state.nextOffset)
    if (state.nextOffset < op.log.logStartOffset || state.nextOffset > op.log.logEndOffset) {
      // The outbox file and edge.db disagree (a file removed or restored by hand): ship what the file holds.
      host.options.logError(
        `edgelog edge: outbox ${op.topic}-${op.index} holds [${op.log.logStartOffset}, ${op.log.logEndOffset}) but its cursor is at ${state.nextOffset}; shipping from ${op.log.logStartOffset}`,
      )
      state.nextOffset = op.log.logStartOffset
      state.inflight = null
      host.store.putShipState(state)
    }
    if (this.depth > 0) {
      // Waiting since before this process: counted from the oldest record's own timestamp when it
      // is plausible, else from now (never as zero).
      const now = host.runtime.clock.now()
      const first = op.log.read(state.nextOffset, op.log.logEndOffset, 1)[0]
      const ts = first ? readBatchHeader(first.data).baseTimestamp : now
      this.arrivals.push({ end: op.log.logEndOffset, at: ts <= now && now - ts < 30 * 24 * 3600_000 ? ts : now })
    }
    this.unlisten = op.partition.listen(this)
  }

  // ---- what the metrics read ----

  /** Records accepted and not yet confirmed upstream. */
  get depth(): number {
    return this.op.end - this.state.nextOffset
  }

  get hasInflight(): boolean {
    return this.state.inflight !== null
  }

  /** Seconds the oldest unconfirmed record has waited; 0 only when none waits. */
  lagSeconds(): number {
    if (this.depth <= 0) return 0
    const next = this.state.nextOffset
    const arrival = this.arrivals.find((a) => a.end > next)
    const at = arrival?.at ?? this.arrivals[this.arrivals.length - 1]?.at ?? this.host.runtime.clock.now()
    return Math.max(0.001, (this.host.runtime.clock.now() - at) / 1000)
  }

  /** Epoch seconds since when records have waited with nothing shipping, or 0 when not stalled. */
  stalledSince(): number {
    if (this.depth <= 0) return 0
    const now = this.host.runtime.clock.monotonic()
    const next = this.state.nextOffset
    const arrival = this.arrivals.find((a) => a.end > next)
    // The later of: the last confirmation, and when the oldest waiting record arrived.
    const arrivedMono = arrival ? now - (this.host.runtime.clock.now() - arrival.at) : now
    const since = Math.max(this.lastShippedAt, arrivedMono)
    if (now - since < this.host.options.stallAfterMs) return 0
    return (this.host.runtime.clock.now() - (now - since)) / 1000
  }

  // ---- the outbox partition ----

  /** A group commit appended `records`: remember when, for lag in seconds. */
  committed(): void {
    const now = this.host.runtime.clock.now()
    this.arrivals.push({ end: this.op.end, at: now })
    if (this.arrivals.length > ARRIVALS_KEPT) {
      // Merge the two oldest: the later range takes the earlier time (its records look older, never younger).
      const [a, b] = this.arrivals.splice(0, 2) as [{ end: number; at: number }, { end: number; at: number }]
      this.arrivals.unshift({ end: b.end, at: a.at })
    }
  }

  onHighWatermark(): void {
    // After the current turn: the produce that committed answers its client first.
    if (!this.wakeScheduled) {
      this.wakeScheduled = true
      this.host.runtime.timers.defer(() => {
        this.wakeScheduled = false
        this.wake()
      })
    }
  }

  onClose(): void {
    this.close()
  }

  // ---- acks=all ----

  /**
   * Resolves with the regional offset of every outbox offset in [from, to) once upstream
   * confirmed them, or rejects with REQUEST_TIMED_OUT: the records stay in the outbox and are
   * still shipped, so only an idempotent retry is safe after it.
   */
  waitRegional(from: number, to: number, timeoutMs: number): Promise<Array<number | null>> {
    if (to <= this.state.nextOffset) return Promise.resolve(this.regionalOffsets(from, to))
    if (this.host.ackWaiters >= this.host.options.maxAckWaiters) {
      return Promise.reject(new EdgelogError('THROTTLED', `at most ${this.host.options.maxAckWaiters} acks=all produces wait at this edge`))
    }
    return new Promise((resolve, reject) => {
      const w: AckWaiter = {
        from,
        to,
        resolve,
        reject,
        timer: this.host.runtime.timers.setTimeout(() => {
          if (!this.dropWaiter(w)) return
          reject(
            new EdgelogError(
              'REQUEST_TIMED_OUT',
              `upstream did not confirm within ${timeoutMs} ms; the records are held in the edge's outbox and will still be shipped (retry only with an idempotent producer)`,
            ),
          )
        }, timeoutMs),
      }
      this.waiters.add(w)
      this.host.ackWaiters++
    })
  }

  private dropWaiter(w: AckWaiter): boolean {
    if (!this.waiters.delete(w)) return false
    this.host.ackWaiters--
    this.host.runtime.timers.clearTimeout(w.timer)
    return true
  }

  private regionalOffsets(from: number, to: number): Array<number | null> {
    const out: Array<number | null> = []
    for (let o = from; o < to; o++) {
      const c = this.confirmed.find((r) => r.from <= o && o < r.to)
      out.push(c ? c.base + (o - c.from) : (this.host.store.regionalOffset(this.op.topic, this.op.index, o) ?? null))
    }
    return out
  }

  // ---- shipping ----

  wake(): void {
    if (this.running || this.closed || this.retryTimer !== undefined) return
    void this.run()
  }

  resetSequences(): void {
    this.state.nextSequence = 0
    if (this.state.inflight) this.state.inflight.sequence = 0
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.prefetched = undefined
    this.unlisten()
    if (this.retryTimer) this.host.runtime.timers.clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    for (const w of [...this.waiters]) {
      this.dropWaiter(w)
      w.reject(new EdgelogError('SHUTTING_DOWN', 'the edge is shutting down; the records stay in its outbox and ship after it restarts'))
    }
  }

  private async run(): Promise<void> {
    this.running = true
    try {
      while (!this.closed && !this.halted) {
        if (this.state.inflight === null) {
          if (this.state.nextOffset >= this.op.end) break
          if (!this.host.producer.mayStartBatch) break // woken again after the epoch bump
        }
        let outcome: 'next' | 'retry' | 'halt'
        try {
          const identity = await this.host.producer.ensure()
          const generation = this.host.producer.generation
          if (this.closed) break
          const prepared = await this.prepare()
          if (prepared === undefined) continue // an epoch bump was asked for; loop ends above
          const sending = this.send(prepared, identity.producerId, identity.producerEpoch)
          this.readAhead(prepared.batch.to)
          const answer = await sending
          if (this.closed) break
          this.confirm(prepared, answer.base, answer.duplicate, generation)
          outcome = 'next'
        } catch (err) {
          outcome = this.failed(err)
        }
        if (outcome === 'retry') {
          this.attempts++
          this.retryLater(this.backoff())
          return
        }
        if (outcome === 'halt') return
        this.attempts = 0
      }
    } finally {
      this.running = false
    }
  }

  /** The batch in flight (after a restart: exactly the one persisted), or a new one planned and persisted. */
  private async prepare(): Promise<Prepared | undefined> {
    const inflight = this.state.inflight
    if (inflight !== null) {
      if (this.prepared?.batch === inflight) return this.prepared
      const records = await this.readRange(inflight.from, inflight.to, Infinity)
      assert(records.records.length === inflight.to - inflight.from, `${this.describe()}: the in-flight batch [${inflight.from}, ${inflight.to}) is whole in the outbox`)
      this.prepared = { batch: inflight, ...records }
      return this.prepared
    }
    const limit = this.batchLimit()
    const from = this.state.nextOffset
    const ahead = this.prefetched
    this.prefetched = undefined
    let read = ahead && ahead.from === from && ahead.limit === limit ? await ahead.read.catch(() => undefined) : undefined
    if (!read || read.records.length === 0) read = await this.readRange(from, this.op.end, limit)
    const count = read.records.length
    assert(count > 0, `${this.describe()}: a batch holds at least one record`)
    if (this.state.nextSequence + count - 1 > MAX_SEQUENCE) {
      this.host.producer.requestEpochBump()
      return undefined
    }
    const batch: InflightBatch = { from: this.state.nextOffset, to: this.state.nextOffset + count, sequence: this.state.nextSequence }
    this.state.inflight = batch
    this.host.store.putShipState(this.state) // before it is sent: a restart sends exactly this again
    this.prepared = { batch, ...read }
    return this.prepared
  }

  /** The largest batch to ship now: --ship-batch-bytes, the topic's max.message.bytes, or less after MESSAGE_TOO_LARGE. */
  private batchLimit(): number {
    const topic = this.host.metadata.get(this.op.topic)
    const topicMax = Number(topic ? topicConfig(topic)['max.message.bytes'] : Infinity)
    return Math.min(this.host.options.shipBatchBytes, topicMax, this.shrunkBytes ?? Infinity)
  }

  /**
   * Reads (and renders) the batch after `from` while the one before it travels, so the edge's
   * work overlaps the region's; nothing is persisted or sent until that one is confirmed.
   */
  private readAhead(from: number): void {
    if (from >= this.op.end) return
    const limit = this.batchLimit()
    const read = this.readRange(from, this.op.end, limit)
    read.catch(() => {}) // read again, for real, when it is needed
    this.prefetched = { from, limit, read }
  }

  /**
   * Outbox records from `from`, in order, that fit one upstream batch of `limitBytes` (by the
   * bound the broker checks) and share one compression; up to `to`.
   */
  private async readRange(from: number, to: number, limitBytes: number): Promise<Omit<Prepared, 'batch'>> {
    const records: WireRecord[] = []
    let bound = BATCH_HEADER_SIZE
    let bytes = 0
    let gzip: boolean | undefined
    let next = from
    reading: while (next < to) {
      const stored = this.op.log.read(next, to, Math.max(64 * 1024, limitBytes === Infinity ? 4 * 1024 * 1024 : limitBytes))
      if (stored.length === 0) break
      for (const s of stored) {
        const codec = readBatchHeader(s.data).compression !== 0
        if (gzip === undefined) gzip = codec
        else if (gzip !== codec && limitBytes !== Infinity) break reading
        for (const r of await decodeBatch(s.data, { maxDecompressedBytes: 256 * 1024 * 1024 })) {
          if (r.offset < next) continue
          if (r.offset >= to) break reading
          assert(r.offset === next, `${this.describe()}: outbox offsets are dense (${r.offset} after ${next - 1})`)
          const size = recordSizeBound(r)
          if (records.length > 0 && (bound + size > limitBytes || records.length >= MAX_SHIP_RECORDS)) break reading
          bound += size
          bytes += (r.key?.byteLength ?? 0) + (r.value?.byteLength ?? 0)
          records.push(toWire(r))
          next++
        }
      }
    }
    return { records, bytes, gzip: gzip ?? false }
  }

  private async send(p: Prepared, producerId: number, producerEpoch: number): Promise<{ base: number; duplicate: boolean }> {
    const { batch } = p
    const answer = await this.host.upstream.call(
      (http) =>
        http.produceToPartition(this.op.topic, this.op.index, p.records, {
          acks: 'all',
          ...(p.gzip ? { compression: 'gzip' as const } : {}),
          producer: { id: producerId, epoch: producerEpoch, sequence: batch.sequence },
          timeoutMs: this.host.options.upstreamTimeoutMs,
        }),
      { idempotent: true },
    )
    const count = batch.to - batch.from
    const offsets = answer.offsets
    const base = offsets[0]?.offset
    if (offsets.length !== count || base === null || base === undefined || offsets.some((o, i) => o.partition !== this.op.index || o.offset !== base + i)) {
      throw new EdgelogError('INTERNAL', `${this.describe()}: upstream confirmed ${count} records with unusable offsets ${JSON.stringify(offsets.slice(0, 3))}`)
    }
    return { base, duplicate: (answer as { duplicate?: unknown }).duplicate === true }
  }

  private confirm(p: Prepared, base: number, duplicate: boolean, generation: number): void {
    const { batch } = p
    const count = batch.to - batch.from
    const next: ShipState = {
      ...this.state,
      nextOffset: batch.to,
      // Sent under an older producer id or epoch: this partition's sequence under the new one is untouched.
      nextSequence: generation === this.host.producer.generation ? batch.sequence + count : this.state.nextSequence,
      inflight: null,
    }
    this.host.store.shipped(next, batch, base)
    Object.assign(this.state, next)
    this.prepared = undefined
    // edge.db says it shipped; now the outbox lets go (a crash in between is redone at start).
    // Small batches are let go together, a write fewer per batch; the cursor is what counts.
    if (batch.to - this.op.log.logStartOffset >= RELEASE_RECORDS || this.state.nextOffset >= this.op.end) this.op.log.advanceLogStart(batch.to)
    this.confirmed.push({ from: batch.from, to: batch.to, base })
    if (this.confirmed.length > CONFIRMED_KEPT) this.confirmed.shift()
    while (this.arrivals.length > 0 && this.arrivals[0]!.end <= batch.to) this.arrivals.shift()
    this.lastShippedAt = this.host.runtime.clock.monotonic()
    this.shrunkBytes = undefined
    this.host.m.shipped(this.op.topic, count, p.bytes, duplicate)
    for (const w of [...this.waiters]) {
      if (w.to > batch.to) continue
      this.dropWaiter(w)
      w.resolve(this.regionalOffsets(w.from, w.to))
    }
    this.host.producer.settled()
  }

  /** Decides what an error means for the batch in flight. Nothing is ever skipped. */
  private failed(err: unknown): 'retry' | 'halt' {
    const code = codeOf(err)
    const message = String((err as Error)?.message ?? err)
    const lost = LOST_SEQUENCE.has(code)
    this.host.m.error(this.op.topic, this.op.index, code, lost)
    if (code === 'NOT_LEADER_OR_FOLLOWER') void this.host.metadata.describe(this.op.topic).catch(() => {})
    if (code === 'UNKNOWN_PRODUCER_ID') {
      const id = this.host.producer.current?.producerId
      if (id !== undefined) this.host.producer.lost(id)
      return 'retry'
    }
    if (code === 'MESSAGE_TOO_LARGE' && this.state.inflight && this.state.inflight.to - this.state.inflight.from > 1) {
      // Refused whole, so not appended: plan it again smaller, with the same sequence.
      this.shrunkBytes = Math.max(1024, Math.floor((this.prepared?.bytes ?? this.host.options.shipBatchBytes) / 2))
      this.state.inflight = null
      this.prepared = undefined
      this.host.store.putShipState(this.state)
      this.host.producer.settled()
      return 'retry'
    }
    if (lost || HALT.has(code) || code === 'MESSAGE_TOO_LARGE' || !isEdgelogError(err)) {
      this.halt(code, message)
      return 'halt'
    }
    if (this.attempts % 20 === 19) this.host.options.logError(`edgelog edge: shipping ${this.describe()} keeps failing (${code}: ${message}); retrying`)
    return 'retry'
  }

  private halt(code: string, message: string): void {
    this.halted = { code, message, since: this.host.runtime.clock.now() }
    this.host.options.logError(
      `edgelog edge: shipping ${this.describe()} halted at outbox offset ${this.state.nextOffset}: ${code}: ${message}. ` +
        `Nothing is skipped; the same batch is offered again every ${this.host.options.haltedRetryMs} ms.`,
    )
    this.retryLater(this.host.options.haltedRetryMs, () => (this.halted = undefined))
  }

  private retryLater(ms: number, before?: () => void): void {
    if (this.closed) return
    this.retryTimer = this.host.runtime.timers.setTimeout(() => {
      this.retryTimer = undefined
      before?.()
      this.wake()
    }, ms)
  }

  private backoff(): number {
    const { retryBackoffMs, retryBackoffMaxMs } = this.host.options
    const base = Math.min(retryBackoffMaxMs, retryBackoffMs * 2 ** Math.min(this.attempts - 1, 20))
    return Math.round(base * (0.5 + this.host.runtime.random.next() / 2))
  }

  private describe(): string {
    return `${this.op.topic}-${this.op.index}`
  }
}

