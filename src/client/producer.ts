// A producer that works as Kafka's does: records are placed on a partition (murmur2 of the key,
// exactly as the server and the Java client; a sticky partition for keyless records), gathered
// per partition into batches that leave when full (batchBytes) or when the first record has
// waited lingerMs, and held in a bounded buffer (bufferBytes) whose exhaustion makes send()
// wait, up to maxBlockMs. Retriable failures are retried until deliveryTimeoutMs, and with the
// idempotent producer (the default) every retry carries the batch's original producer id, epoch
// and sequence, so the node answers a retry of a batch it already has with the original
// offsets: a retry never duplicates a record.
//
// One batch per partition is in flight at a time, so a retry can never overtake a later batch:
// per-partition order is the order of send() calls.
import { partitionForKey, StickyPartitioner } from '../codec/partitioner.ts'
import { decodeBase64 } from '../core/base64.ts'
import { EdgelogError, isEdgelogError } from './errors.ts'
import type { PubRecord } from './frames.ts'
import type { HttpClient } from './http.ts'
import type { TopicMetadata } from './metadata.ts'
import type { BatchResult, ProduceTransport } from './produce-transport.ts'
import { type Acks, ProduceRecord } from './schemas.ts'
import type { ConnectionUser } from './ws-connection.ts'

export interface ProducerOptions {
  /** `all` (default), `1` or `0`; see DESIGN.md "Durability levels". */
  acks?: Acks
  /** How long the first record of a batch waits for company (Kafka's linger.ms). */
  lingerMs?: number
  /** A batch leaves once it holds this many bytes of records (Kafka's batch.size). */
  batchBytes?: number
  /** Bytes of records held, sent or not, until acknowledged (Kafka's buffer.memory). */
  bufferBytes?: number
  /** How long send() waits for buffer space or topic metadata before failing (max.block.ms). */
  maxBlockMs?: number
  /** send() calls waiting for buffer space at once; beyond it send() fails at once. */
  maxQueuedSends?: number
  /** The largest record accepted (Kafka's max.request.size), in JSON bytes. */
  maxRecordBytes?: number
  /** A record not acknowledged this long after send() fails (delivery.timeout.ms). */
  deliveryTimeoutMs?: number
  /** One attempt's limit; a timed-out attempt is retried (request.timeout.ms). */
  requestTimeoutMs?: number
  retryBackoffMs?: number
  retryBackoffMaxMs?: number
  /** Producer id + sequence on every batch (enable.idempotence); ignored with acks=0. */
  idempotent?: boolean
}

export const producerDefaults = {
  acks: 'all' as Acks,
  lingerMs: 5,
  batchBytes: 16 * 1024,
  bufferBytes: 8 * 1024 * 1024,
  maxBlockMs: 60_000,
  maxQueuedSends: 10_000,
  maxRecordBytes: 1_000_000,
  deliveryTimeoutMs: 120_000,
  requestTimeoutMs: 30_000,
  retryBackoffMs: 100,
  retryBackoffMaxMs: 1_000,
  idempotent: true,
}

/** The server's cap on records in one `pub` batch (docs/ws-protocol.md). */
const maxRecordsPerBatch = 10_000
/** How often a producer looks again at a WebSocket that is down or whose buffer is full. */
const transportPollMs = 50

export interface RecordMetadata {
  topic: string
  partition: number
  /** null with acks=0: nobody waited for the offset. */
  offset: number | null
}

/** Failures after which the batch was certainly not appended, so its sequence can be reused. */
const notAppendedCodes: ReadonlySet<string> = new Set([
  'INVALID_RECORD',
  'INVALID_REQUEST',
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'CORRUPT_MESSAGE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'INVALID_TOPIC',
  'UNAUTHORIZED',
])

interface Pending {
  topic: string
  record: PubRecord
  explicitPartition: number | undefined
  keyBytes: Uint8Array | null
  bytes: number
  sentAt: number
  resolve(metadata: RecordMetadata): void
  reject(error: unknown): void
  settled: Promise<void>
}

interface Batch {
  topic: string
  partition: number
  items: Pending[]
  bytes: number
  createdAt: number
  /** Assigned at the first attempt and kept by every retry. */
  sequence: number | undefined
  epoch: number | undefined
  attempts: number
  retryAt: number
  lastError: EdgelogError | undefined
}

/**
 * A partition's batches. Kept for the producer's life even when empty: it holds the partition's
 * next sequence, which must not restart at 0 within an epoch. Bounded by the partitions written.
 */
interface PartitionQueue {
  topic: string
  partition: number
  batches: Batch[]
  inFlight: boolean
  nextSequence: number
}

export class Producer implements ConnectionUser {
  readonly options: Required<ProducerOptions>
  readonly #transport: ProduceTransport
  readonly #http: HttpClient
  readonly #metadata: TopicMetadata
  readonly #sticky = new StickyPartitioner({ next: Math.random })
  readonly #queues = new Map<string, PartitionQueue>()
  readonly #intake: Pending[] = []
  readonly #unsettled = new Set<Pending>()
  readonly #idempotent: boolean
  readonly #onClose: () => void
  #bufferedBytes = 0
  #intakeRunning = false
  #spaceWaiter: (() => void) | undefined
  #flushing = 0
  #closing = false
  #timer: ReturnType<typeof setTimeout> | undefined
  #timerAt = Infinity
  #producerId: number | undefined
  #epoch: number | undefined
  #initializing: Promise<void> | undefined
  #needsNewEpoch = false

  constructor(transport: ProduceTransport, http: HttpClient, metadata: TopicMetadata, options: ProducerOptions = {}, onClose: () => void = () => {}) {
    this.options = { ...producerDefaults, ...definedOnly(options) }
    const o = this.options
    for (const name of ['lingerMs', 'retryBackoffMs'] as const) checkInt(name, o[name], 0)
    for (const name of ['batchBytes', 'bufferBytes', 'maxBlockMs', 'maxQueuedSends', 'maxRecordBytes', 'deliveryTimeoutMs', 'requestTimeoutMs', 'retryBackoffMaxMs'] as const) {
      checkInt(name, o[name], 1)
    }
    if (o.bufferBytes < o.maxRecordBytes) throw new RangeError('bufferBytes must be at least maxRecordBytes')
    if (!['all', '1', '0'].includes(o.acks)) throw new RangeError(`acks must be "all", "1" or "0", got ${String(o.acks)}`)
    this.#transport = transport
    this.#http = http
    this.#metadata = metadata
    this.#idempotent = o.idempotent && o.acks !== '0'
    this.#onClose = onClose
    // Ask for the producer id now, as Kafka's producer does, so the first send does not wait
    // for it. A failure here is retried by the first batch.
    if (this.#idempotent) this.#ensureProducer().catch(() => {})
  }

  /** Bytes of records held: waiting to be sent, or sent and not yet acknowledged. */
  get bufferedBytes(): number {
    return this.#bufferedBytes
  }

  /** send() calls waiting for buffer space or metadata. */
  get queuedSends(): number {
    return this.#intake.length
  }

  /** The idempotent producer id and epoch in use, once the first batch has been sent. */
  get producerId(): { id: number; epoch: number } | undefined {
    return this.#producerId === undefined || this.#epoch === undefined ? undefined : { id: this.#producerId, epoch: this.#epoch }
  }

  /**
   * Queues a record and resolves with its partition and offset once the node acknowledged it
   * at the producer's acks level. Waits (up to maxBlockMs) while the buffer is full: awaiting
   * send() is the back-pressure. Rejects with an EdgelogError carrying the server's code.
   */
  send(topic: string, record: ProduceRecord): Promise<RecordMetadata> {
    if (this.#closing) return Promise.reject(new EdgelogError('CLIENT_CLOSED', 'the producer is closed'))
    let pending: Pending
    try {
      pending = this.#prepare(topic, record)
    } catch (error) {
      return Promise.reject(error)
    }
    if (this.#intake.length >= this.options.maxQueuedSends) {
      return Promise.reject(new EdgelogError('BUFFER_EXHAUSTED', `${this.options.maxQueuedSends} sends are already waiting for buffer space`))
    }
    const promise = new Promise<RecordMetadata>((resolve, reject) => {
      pending.resolve = resolve
      pending.reject = reject
    })
    pending.settled = promise.then(
      () => {},
      () => {},
    )
    this.#unsettled.add(pending)
    this.#intake.push(pending)
    void this.#runIntake()
    return promise
  }

  /** Sends everything buffered now, without waiting for lingerMs, and waits for the answers. */
  async flush(): Promise<void> {
    const waiting = [...this.#unsettled].map((p) => p.settled)
    if (waiting.length === 0) return
    this.#flushing++
    this.#pump()
    try {
      await Promise.all(waiting)
    } finally {
      this.#flushing--
    }
  }

  /** Refuses new records, delivers (or fails, after deliveryTimeoutMs) the buffered ones. */
  async close(): Promise<void> {
    if (this.#closing) return this.flush()
    this.#closing = true
    try {
      await this.flush()
    } finally {
      clearTimeout(this.#timer)
      this.#onClose()
    }
  }

  // ---- ConnectionUser (WebSocket transport) ----------------------------------------------

  onOpen(): void {
    this.#pump()
  }

  onDisconnect(): void {
    // Batches in flight fail with NETWORK_EXCEPTION and are retried; nothing else to do.
  }

  // ---- intake: buffer space and partition ------------------------------------------------

  #prepare(topic: string, record: ProduceRecord): Pending {
    if (typeof topic !== 'string' || topic === '') throw new EdgelogError('INVALID_TOPIC', 'send needs a topic name')
    const parsed = ProduceRecord.safeParse(record)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : ''
      throw new EdgelogError('INVALID_RECORD', `not a record${where}: ${issue?.message ?? 'invalid'}`)
    }
    const r = parsed.data
    if (r.value === undefined) throw new EdgelogError('INVALID_RECORD', 'a record needs a value (null for a tombstone)')
    let keyBytes: Uint8Array | null = null
    if (typeof r.key === 'string') keyBytes = new TextEncoder().encode(r.key)
    else if (r.key !== undefined && r.key !== null) {
      const decoded = decodeBase64(r.key.base64)
      if (decoded === undefined) throw new EdgelogError('INVALID_RECORD', 'key.base64 is not valid base64')
      keyBytes = decoded
    }
    const { partition, ...rest } = r
    const text = JSON.stringify(rest)
    if (text === undefined) throw new EdgelogError('INVALID_RECORD', 'the record is not JSON-serialisable')
    const bytes = utf8Length(text)
    if (bytes > this.options.maxRecordBytes) {
      throw new EdgelogError('MESSAGE_TOO_LARGE', `a record of ${bytes} bytes is over maxRecordBytes (${this.options.maxRecordBytes})`)
    }
    return {
      topic,
      record: rest as PubRecord,
      explicitPartition: partition,
      keyBytes,
      bytes,
      sentAt: Date.now(),
      resolve: () => {},
      reject: () => {},
      settled: Promise.resolve(),
    }
  }

  /** Admits send()s strictly in call order, so that per-partition order is send() order. */
  async #runIntake(): Promise<void> {
    if (this.#intakeRunning) return
    this.#intakeRunning = true
    try {
      while (this.#intake.length > 0) {
        const item = this.#intake[0]!
        const blockDeadline = item.sentAt + this.options.maxBlockMs
        if (this.#bufferedBytes + item.bytes > this.options.bufferBytes) {
          if (Date.now() >= blockDeadline) {
            this.#intake.shift()
            this.#settle(item, new EdgelogError('BUFFER_EXHAUSTED', `no buffer space for ${this.options.maxBlockMs} ms (bufferBytes ${this.options.bufferBytes})`))
            continue
          }
          await this.#waitForSpace(blockDeadline)
          continue
        }
        let partitions: number | undefined
        try {
          partitions = this.#metadata.cached(item.topic) ?? (await this.#partitionCount(item.topic, blockDeadline))
        } catch (error) {
          this.#intake.shift()
          this.#settle(item, toEdgelogError(error))
          continue
        }
        this.#intake.shift()
        if (item.explicitPartition !== undefined && item.explicitPartition >= partitions) {
          this.#settle(item, new EdgelogError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${item.topic} has no partition ${item.explicitPartition}`))
          continue
        }
        this.#append(item, partitions)
      }
    } finally {
      this.#intakeRunning = false
    }
  }

  async #partitionCount(topic: string, deadline: number): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#metadata.partitionCount(topic)
      } catch (error) {
        const e = toEdgelogError(error)
        const delay = this.#retryDelay(attempt + 1)
        if (!e.retriable || Date.now() + delay >= deadline) throw e
        await sleep(delay)
      }
    }
  }

  #waitForSpace(deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, deadline - Date.now()))
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.#spaceWaiter = done
    })
  }

  #append(item: Pending, partitions: number): void {
    let partition: number
    if (item.explicitPartition !== undefined) partition = item.explicitPartition
    else if (item.keyBytes !== null) partition = partitionForKey(item.keyBytes, partitions)
    else {
      partition = this.#sticky.partition(item.topic, partitions)
      // A keyless record that would open a new batch moves the sticky partition first, as
      // Kafka's StickyPartitionCache does, so keyless load spreads batch by batch.
      const q = this.#queues.get(queueKey(item.topic, partition))
      const last = q?.batches.at(-1)
      if (last !== undefined && !this.#fits(last, item)) partition = this.#sticky.onNewBatch(item.topic, partitions)
    }
    const q = this.#queue(item.topic, partition)
    let batch = q.batches.at(-1)
    if (batch === undefined || !this.#fits(batch, item)) {
      batch = {
        topic: item.topic,
        partition,
        items: [],
        bytes: 0,
        createdAt: Date.now(),
        sequence: undefined,
        epoch: undefined,
        attempts: 0,
        retryAt: 0,
        lastError: undefined,
      }
      q.batches.push(batch)
    }
    batch.items.push(item)
    batch.bytes += item.bytes
    this.#bufferedBytes += item.bytes
    this.#pump()
  }

  /** Whether a record may join a batch: the batch has not been sent, and has room. */
  #fits(batch: Batch, item: Pending): boolean {
    if (batch.sequence !== undefined || batch.attempts > 0) return false
    if (batch.items.length >= maxRecordsPerBatch) return false
    // A record larger than batchBytes travels alone, as in Kafka.
    return batch.bytes + item.bytes <= this.options.batchBytes
  }

  #queue(topic: string, partition: number): PartitionQueue {
    const key = queueKey(topic, partition)
    let q = this.#queues.get(key)
    if (q === undefined) {
      q = { topic, partition, batches: [], inFlight: false, nextSequence: 0 }
      this.#queues.set(key, q)
    }
    return q
  }

  // ---- sending ----------------------------------------------------------------------------

  /** Starts every batch that may leave now, and sets a timer for the next one that will. */
  #pump(): void {
    const now = Date.now()
    let wake = Infinity
    let anyInFlight = false
    let unsettledSequence = false
    for (const q of this.#queues.values()) {
      if (q.inFlight) {
        anyInFlight = true
        continue
      }
      while (q.batches.length > 0) {
        const b = q.batches[0]!
        const deadline = b.items[0]!.sentAt + this.options.deliveryTimeoutMs
        if (now >= deadline) {
          const error = b.lastError ?? new EdgelogError('REQUEST_TIMED_OUT', `not acknowledged within deliveryTimeoutMs (${this.options.deliveryTimeoutMs})`)
          this.#fail(q, b, new EdgelogError('REQUEST_TIMED_OUT', `delivery timed out after ${b.attempts} attempts: ${error.message}`, { cause: error }), false)
          continue
        }
        if (b.sequence !== undefined) unsettledSequence = true
        if (b.retryAt > now) {
          wake = Math.min(wake, b.retryAt)
          break
        }
        const full = q.batches.length > 1 || b.bytes >= this.options.batchBytes || b.items.length >= maxRecordsPerBatch
        const lingered = now - b.createdAt >= this.options.lingerMs
        if (!(full || lingered || this.#flushing > 0 || this.#closing || b.attempts > 0)) {
          wake = Math.min(wake, b.createdAt + this.options.lingerMs)
          break
        }
        if (this.#needsNewEpoch && b.sequence === undefined) {
          // New batches wait for the new epoch; retries under the old one may still go.
          wake = Math.min(wake, deadline)
          break
        }
        if (!this.#transport.ready) {
          // The WebSocket is down (onOpen pumps again) or its send buffer is full: look again soon.
          wake = Math.min(wake, deadline, now + transportPollMs)
          break
        }
        q.inFlight = true
        anyInFlight = true
        void this.#sendBatch(q, b)
        break
      }
    }
    if (this.#needsNewEpoch && !anyInFlight && !unsettledSequence && this.#initializing === undefined) {
      void this.#ensureProducer().then(() => this.#pump(), () => this.#pumpLater(this.#retryDelay(1)))
    }
    this.#setTimer(wake)
  }

  #pumpLater(ms: number): void {
    this.#setTimer(Date.now() + ms)
  }

  #setTimer(at: number): void {
    if (at === Infinity) return
    if (this.#timer !== undefined && this.#timerAt <= at) return
    clearTimeout(this.#timer)
    this.#timerAt = at
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#timerAt = Infinity
      this.#pump()
    }, Math.max(0, at - Date.now()))
  }

  async #sendBatch(q: PartitionQueue, b: Batch): Promise<void> {
    let result: BatchResult | undefined
    let failure: EdgelogError | undefined
    try {
      if (this.#idempotent && b.sequence === undefined) {
        await this.#ensureProducer()
        b.sequence = q.nextSequence
        b.epoch = this.#epoch
        q.nextSequence += b.items.length
      }
      b.attempts++
      result = await this.#transport.send({
        topic: b.topic,
        partition: b.partition,
        records: b.items.map((i) => i.record),
        acks: this.options.acks,
        timeoutMs: this.options.requestTimeoutMs,
        ...(b.sequence !== undefined ? { producer: { id: this.#producerId!, epoch: b.epoch!, sequence: b.sequence } } : {}),
      })
    } catch (error) {
      failure = toEdgelogError(error)
    }
    q.inFlight = false
    if (result !== undefined) this.#succeed(q, b, result)
    else this.#retryOrFail(q, b, failure!)
    this.#pump()
  }

  #succeed(q: PartitionQueue, b: Batch, result: BatchResult): void {
    q.batches.shift()
    this.#release(b.bytes)
    b.items.forEach((item, i) => {
      this.#unsettled.delete(item)
      item.resolve({ topic: b.topic, partition: b.partition, offset: result.offsets[i] ?? null })
    })
  }

  #retryOrFail(q: PartitionQueue, b: Batch, error: EdgelogError): void {
    b.lastError = error
    if (error.code === 'UNKNOWN_TOPIC_OR_PARTITION') this.#metadata.invalidate(b.topic)
    // acks=0 never retries: nobody waits to learn whether the first attempt landed.
    const retriable = error.retriable && this.options.acks !== '0'
    if (retriable) {
      b.retryAt = Date.now() + this.#retryDelay(b.attempts)
      return // the deadline is checked by #pump
    }
    this.#fail(q, b, error, notAppendedCodes.has(error.code))
  }

  /** Fails a batch. Unless it was certainly not appended, its sequence is burnt: new epoch. */
  #fail(q: PartitionQueue, b: Batch, error: EdgelogError, certainlyNotAppended: boolean): void {
    q.batches.shift()
    this.#release(b.bytes)
    if (b.sequence !== undefined) {
      if (certainlyNotAppended && q.nextSequence === b.sequence + b.items.length && b.epoch === this.#epoch) {
        q.nextSequence = b.sequence
      } else {
        // Whether the node has this batch is unknown, so the next sequence may be refused as
        // out of order, or accepted after a hole. Kafka's answer (KIP-360): bump the epoch.
        this.#needsNewEpoch = true
      }
    }
    for (const item of b.items) {
      this.#unsettled.delete(item)
      item.reject(error)
    }
  }

  /** Gets a producer id, or a new epoch for ours, and restarts every partition's sequence. */
  #ensureProducer(): Promise<void> {
    if (this.#producerId !== undefined && !this.#needsNewEpoch) return Promise.resolve()
    this.#initializing ??= this.#http
      .initProducer({
        timeoutMs: this.options.requestTimeoutMs,
        ...(this.#producerId === undefined ? {} : { producerId: this.#producerId }),
      })
      .then(
        (answer) => {
          this.#initializing = undefined
          this.#producerId = answer.producerId
          this.#epoch = answer.producerEpoch
          this.#needsNewEpoch = false
          for (const q of this.#queues.values()) q.nextSequence = 0
        },
        (error: unknown) => {
          this.#initializing = undefined
          throw error
        },
      )
    return this.#initializing
  }

  #release(bytes: number): void {
    this.#bufferedBytes -= bytes
    const waiter = this.#spaceWaiter
    this.#spaceWaiter = undefined
    waiter?.()
  }

  #settle(item: Pending, error: EdgelogError): void {
    this.#unsettled.delete(item)
    item.reject(error)
  }

  /** Kafka's retry backoff: exponential from retryBackoffMs to retryBackoffMaxMs, ±20% jitter. */
  #retryDelay(attempt: number): number {
    const base = Math.min(this.options.retryBackoffMaxMs, this.options.retryBackoffMs * 2 ** Math.min(attempt - 1, 30))
    return Math.round(base * (0.8 + 0.4 * Math.random()))
  }
}

function queueKey(topic: string, partition: number): string {
  return `${partition}\u0000${topic}`
}

function utf8Length(text: string): number {
  // Exact UTF-8 length without allocating the encoded bytes.
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) bytes += 1
    else if (c < 0x800) bytes += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      bytes += 4
      i++
    } else bytes += 3
  }
  return bytes
}

function checkInt(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`)
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function toEdgelogError(error: unknown): EdgelogError {
  if (isEdgelogError(error)) return error
  if (error instanceof RangeError || error instanceof TypeError) return new EdgelogError('INVALID_RECORD', error.message, { cause: error })
  return new EdgelogError('UNKNOWN_SERVER_ERROR', error instanceof Error ? error.message : String(error), { cause: error })
}
