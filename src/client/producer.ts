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
//
// This file is the sender: admitting send()s into the buffer in call order, and deciding when
// each partition's next batch leaves, retrying it or failing it. Beside it: producer-options.ts
// (settings), producer-record.ts (checking and measuring a record), producer-routing.ts (which
// partition), producer-batch.ts (the per-partition batches), producer-retry.ts (backoff and
// error classification).
import { StickyPartitioner } from '../codec/partitioner.ts'
import { EdgelogError } from './errors.ts'
import type { HttpClient } from './http.ts'
import type { TopicMetadata } from './metadata.ts'
import type { BatchResult, ProduceTransport } from './produce-transport.ts'
import { fitsBatch, maxRecordsPerBatch, newBatch, queueKey, type Batch, type PartitionQueue } from './producer-batch.ts'
import { resolveProducerOptions, type ProducerOptions } from './producer-options.ts'
import { prepareRecord, type Pending, type RecordMetadata } from './producer-record.ts'
import { notAppendedCodes, retryDelay, sleep, toEdgelogError } from './producer-retry.ts'
import { choosePartition } from './producer-routing.ts'
import type { ProduceRecord } from './schemas.ts'
import type { ConnectionUser } from './ws-connection.ts'

// Importers know these by this module's name.
export { producerDefaults, type ProducerOptions } from './producer-options.ts'
export type { RecordMetadata } from './producer-record.ts'

/** How often a producer looks again at a WebSocket that is down or whose buffer is full. */
const transportPollMs = 50

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
    this.options = resolveProducerOptions(options)
    const o = this.options
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
      pending = prepareRecord(topic, record, this.options.maxRecordBytes)
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
    const partition = choosePartition(
      item,
      partitions,
      this.#sticky,
      (p) => this.#queues.get(queueKey(item.topic, p))?.batches.at(-1),
      (batch, it) => this.#fits(batch, it),
    )
    const q = this.#queue(item.topic, partition)
    let batch = q.batches.at(-1)
    if (batch === undefined || !this.#fits(batch, item)) {
      batch = newBatch(item.topic, partition)
      q.batches.push(batch)
    }
    batch.items.push(item)
    batch.bytes += item.bytes
    this.#bufferedBytes += item.bytes
    this.#pump()
  }

  #fits(batch: Batch, item: Pending): boolean {
    return fitsBatch(batch, item, this.options.batchBytes)
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


  #retryDelay(attempt: number): number {
    return retryDelay(this.options, attempt)
  }
}
