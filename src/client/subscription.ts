// A subscription to a topic over `/v1/ws` that survives disconnects and server restarts
// without losing or repeating a record. The rule that makes it exact: the client keeps, per
// partition, the next offset it has not yet accepted, and every resubscribe asks for exactly
// those offsets. The server's `ok` names the resolved start of every partition (so even a
// `latest` subscription that has seen nothing yet resumes from a known offset). Anything the
// server sends below a position is a duplicate and is dropped; anything no longer retained is
// reported by the server as a `gap` and passed on, never skipped silently.
import { Backoff, type BackoffOptions } from './backoff.ts'
import { EdgelogError, isEdgelogError } from './errors.ts'
import type { ErrFrame, GapFrame, MsgFrame, MsgsFrame, OkFrame, StartPosition, WireRecord } from './frames.ts'
import type { FetchedHeaders, RecordKey } from './schemas.ts'
import type { ConnectionUser, WsConnection } from './ws-connection.ts'

export interface ConsumedRecord {
  topic: string
  partition: number
  offset: number
  key: RecordKey
  value: unknown
  headers: FetchedHeaders
  timestamp: number
}

/** Offsets [from, to) of a partition were not retained and will never be delivered. */
export interface Gap {
  topic: string
  partition: number
  from: number
  to: number
}

export type SubscribeFrom =
  | 'earliest'
  | 'latest'
  /** The next offset to deliver, per partition. */
  | { offsets: Record<number | string, number> }
  /** The first record at or after this epoch-ms timestamp, per partition. */
  | { timestamp: number }

export type SubscriptionStatus = 'starting' | 'subscribing' | 'live' | 'reconnecting' | 'closed'

export type RecordHandler = (record: ConsumedRecord) => void | Promise<void>

export interface SubscribeOptions {
  /** Default `latest`. */
  from?: SubscribeFrom
  /** Default: all partitions of the topic. With `from.offsets`, listed partitions missing from the map start at their log start. */
  partitions?: number[]
  onGap?: (gap: Gap) => void
  /** Every error: transient ones (the subscription retries) and the one that ends it. */
  onError?: (error: EdgelogError) => void
  onStatus?: (status: SubscriptionStatus) => void
  /**
   * Records accepted but not yet handled, when the handler returns promises slower than records
   * arrive. Over this the subscription stops its server feed (unsub) and resumes it from the
   * next offset once the handler has caught up, so memory stays bounded and nothing is lost.
   */
  maxQueuedRecords?: number
  /** Retry pacing after a retriable `err` answer to a subscribe. */
  backoff?: BackoffOptions
  signal?: AbortSignal
}

export const maxQueuedRecordsDefault = 10_000

/** Subscribe answers that a later retry can fix; anything else ends the subscription. */
const retriableSubscribeCodes: ReadonlySet<string> = new Set([
  'NOT_LEADER_OR_FOLLOWER',
  'REQUEST_TIMED_OUT',
  'NOT_ENOUGH_REPLICAS',
  'THROTTLED',
  'NETWORK_EXCEPTION',
  'SHUTTING_DOWN',
  'KAFKA_STORAGE_ERROR',
  'INTERNAL',
])

type QueueItem = { kind: 'record'; record: ConsumedRecord } | { kind: 'gap'; gap: Gap }

let subscriptionCounter = 0

export class Subscription implements ConnectionUser {
  readonly topic: string
  /** Resolves when close() is called; rejects with the error that ended the subscription. */
  readonly done: Promise<void>
  readonly #connection: WsConnection
  readonly #handler: RecordHandler
  readonly #options: SubscribeOptions
  readonly #maxQueued: number
  readonly #backoff: Backoff
  readonly #baseId: string
  /** Next offset to accept, per partition; set by the first `ok`. */
  #next: Map<number, number> | undefined
  #generation = 0
  #activeId: string | undefined
  #status: SubscriptionStatus = 'starting'
  /** Accepted, not yet handed over: items from #head on (a head index, not shift(): O(1)). */
  #queue: QueueItem[] = []
  #head = 0
  #draining = false
  #paused = false
  #retryTimer: ReturnType<typeof setTimeout> | undefined
  #resolveDone!: () => void
  #rejectDone!: (error: EdgelogError) => void
  readonly #abort: () => void

  constructor(connection: WsConnection, topic: string, options: SubscribeOptions, handler: RecordHandler) {
    if (typeof topic !== 'string' || topic === '') throw new TypeError('subscribe needs a topic name')
    if (typeof handler !== 'function') throw new TypeError('subscribe needs a record handler')
    this.topic = topic
    this.#connection = connection
    this.#handler = handler
    this.#options = options
    this.#maxQueued = options.maxQueuedRecords ?? maxQueuedRecordsDefault
    if (!(Number.isInteger(this.#maxQueued) && this.#maxQueued >= 1)) throw new RangeError('maxQueuedRecords must be an integer >= 1')
    this.#backoff = new Backoff(options.backoff)
    this.#baseId = `s${++subscriptionCounter}`
    this.done = new Promise<void>((resolve, reject) => {
      this.#resolveDone = resolve
      this.#rejectDone = reject
    })
    // Nobody has to await done; an unobserved fatal error is reported through onError.
    this.done.catch(() => {})
    this.#abort = () => this.close()
    if (options.signal?.aborted) {
      this.#status = 'closed'
      this.#resolveDone()
      return
    }
    options.signal?.addEventListener('abort', this.#abort, { once: true })
    this.#setStatus('subscribing')
    connection.attach(this)
  }

  get status(): SubscriptionStatus {
    return this.#status
  }

  /** The next offset this subscription will deliver, per partition (empty until resolved). */
  positions(): Record<number, number> {
    const out: Record<number, number> = {}
    for (const [partition, offset] of this.#next ?? []) out[partition] = offset
    return out
  }

  /** Records accepted but not yet handed to the handler. */
  get queued(): number {
    return this.#queue.length - this.#head
  }

  close(): void {
    this.#end(undefined)
  }

  // ---- ConnectionUser -------------------------------------------------------------------

  onOpen(): void {
    if (this.#status === 'closed' || this.#paused) return
    this.#subscribe()
  }

  onDisconnect(error: EdgelogError): void {
    if (this.#status === 'closed') return
    this.#retire()
    this.#report(error)
    this.#setStatus('reconnecting')
  }

  // ---- the server feed ------------------------------------------------------------------

  #subscribe(): void {
    this.#retire()
    const id = `${this.#baseId}.${++this.#generation}`
    this.#activeId = id
    this.#connection.addSink(id, (frame) => this.#onFrame(id, frame))
    this.#setStatus('subscribing')
    let partitions: number[] | undefined
    let from: StartPosition | undefined
    if (this.#next === undefined) {
      // Never subscribed yet: the caller's request, verbatim.
      partitions = this.#options.partitions
      from = normaliseFrom(this.#options.from)
    } else {
      const offsets: Record<string, number> = {}
      for (const [partition, offset] of this.#next) offsets[String(partition)] = offset
      partitions = [...this.#next.keys()]
      from = { offsets }
    }
    try {
      this.#connection.send({ op: 'sub', id, topic: this.topic, ...(partitions ? { partitions } : {}), ...(from ? { from } : {}) })
    } catch (error) {
      const e = toEdgelogError(error)
      if (e.code === 'NETWORK_EXCEPTION') return // the reopen resubscribes
      this.#end(e)
    }
  }

  /** Takes the resolved start positions from the first `ok`; a resubscribe's `ok` echoes ours. */
  #takeStart(answer: OkFrame): boolean {
    if (this.#next !== undefined) return true
    if (answer.offsets === undefined) {
      this.#end(new EdgelogError('INVALID_RESPONSE', 'the server answered a subscribe without start offsets (a server older than this client)'))
      return false
    }
    const next = new Map<number, number>()
    for (const [partition, offset] of Object.entries(answer.offsets)) next.set(Number(partition), offset)
    if (next.size === 0) {
      this.#end(new EdgelogError('INVALID_RESPONSE', 'the server answered a subscribe with no partitions'))
      return false
    }
    this.#next = next
    return true
  }

  #retryLater(error: EdgelogError): void {
    this.#report(error)
    this.#retire()
    clearTimeout(this.#retryTimer)
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      if (this.#connection.isOpen) this.onOpen()
    }, this.#backoff.next())
  }

  /** Stops listening to the current server subscription (its late frames are dropped). */
  #retire(): void {
    if (this.#activeId === undefined) return
    this.#connection.removeSink(this.#activeId)
    this.#activeId = undefined
  }

  #onFrame(id: string, frame: MsgFrame | MsgsFrame | GapFrame | ErrFrame | OkFrame): void {
    if (this.#activeId !== id || this.#paused) return
    if (frame.op === 'ok') {
      if (!this.#takeStart(frame)) return
      this.#backoff.reset()
      this.#setStatus('live')
      return
    }
    if (frame.op === 'err') {
      // A refused subscribe, or the server ended this subscription (topic deleted, log
      // unreadable). Transient causes are retried from the current positions.
      const error = new EdgelogError(frame.code, frame.message)
      if (retriableSubscribeCodes.has(frame.code)) this.#retryLater(error)
      else this.#end(error)
      return
    }
    const next = this.#next
    if (next === undefined) {
      // Records before the ok break the protocol; end rather than guess a position.
      this.#end(new EdgelogError('INVALID_RESPONSE', `a ${frame.op} frame arrived before the subscription was confirmed`))
      return
    }
    const expected = next.get(frame.partition)
    if (expected === undefined) return // a partition this subscription did not ask for
    if (frame.op === 'gap') {
      if (frame.to <= expected) return // already past it: a repeat after a resubscribe
      next.set(frame.partition, frame.to)
      this.#enqueue({ kind: 'gap', gap: { topic: this.topic, partition: frame.partition, from: Math.max(frame.from, expected), to: frame.to } })
      return
    }
    const records: WireRecord[] = frame.op === 'msg' ? [frame] : frame.records
    for (const r of records) {
      if (this.#paused) return
      const want = next.get(frame.partition)!
      // Below the position: already delivered (a resubscribe overlapping the old feed).
      // Above it: offsets a compacted log no longer holds; Kafka consumers skip those too.
      if (r.offset < want) continue
      next.set(frame.partition, r.offset + 1)
      this.#enqueue({
        kind: 'record',
        record: {
          topic: this.topic,
          partition: frame.partition,
          offset: r.offset,
          key: r.key,
          value: r.value,
          headers: r.headers,
          timestamp: r.timestamp,
        },
      })
    }
  }

  #enqueue(item: QueueItem): void {
    this.#queue.push(item)
    if (this.queued >= this.#maxQueued && !this.#paused) this.#pause()
    if (!this.#draining) void this.#drain()
  }

  /**
   * The handler is behind by maxQueuedRecords: stop the server feed. Positions already point
   * past the queued records, so resuming later asks for exactly what comes after them.
   */
  #pause(): void {
    this.#paused = true
    const id = this.#activeId
    this.#retire()
    if (id !== undefined && this.#connection.isOpen) {
      try {
        this.#connection.send({ op: 'unsub', id })
      } catch {
        // The socket just went; there is nothing to unsubscribe from.
      }
    }
  }

  async #drain(): Promise<void> {
    this.#draining = true
    try {
      while (this.queued > 0 && this.#status !== 'closed') {
        const item = this.#queue[this.#head]!
        this.#queue[this.#head++] = undefined as never
        if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
          this.#queue = this.#queue.slice(this.#head)
          this.#head = 0
        }
        if (item.kind === 'gap') {
          this.#callSafely(() => this.#options.onGap?.(item.gap))
        } else {
          try {
            const result = this.#handler(item.record)
            if (result !== undefined && typeof (result as Promise<void>).then === 'function') await result
          } catch (error) {
            this.#report(handlerError(error, item.record))
          }
        }
        if (this.#paused && this.queued <= this.#maxQueued / 2) this.#resume()
      }
    } finally {
      this.#draining = false
      if (this.queued === 0) {
        this.#queue = []
        this.#head = 0
      }
    }
    if (this.#paused) this.#resume()
  }

  #resume(): void {
    if (!this.#paused || this.#status === 'closed') return
    this.#paused = false
    if (this.#connection.isOpen) this.#subscribe()
  }

  // ---- ending ---------------------------------------------------------------------------

  #end(error: EdgelogError | undefined): void {
    if (this.#status === 'closed') return
    const id = this.#activeId
    this.#retire()
    clearTimeout(this.#retryTimer)
    this.#queue = []
    this.#head = 0
    this.#options.signal?.removeEventListener('abort', this.#abort)
    if (id !== undefined && this.#connection.isOpen) {
      try {
        this.#connection.send({ op: 'unsub', id })
      } catch {
        // The socket is going anyway.
      }
    }
    this.#connection.detach(this)
    this.#setStatus('closed')
    if (error === undefined) this.#resolveDone()
    else {
      this.#report(error)
      this.#rejectDone(error)
    }
  }

  #setStatus(status: SubscriptionStatus): void {
    if (this.#status === status) return
    if (this.#status === 'closed') return
    this.#status = status
    this.#callSafely(() => this.#options.onStatus?.(status))
  }

  #report(error: EdgelogError): void {
    this.#callSafely(() => this.#options.onError?.(error))
  }

  #callSafely(fn: () => void): void {
    try {
      fn()
    } catch {
      // A throwing callback must not stop delivery; there is nobody left to tell.
    }
  }
}

function normaliseFrom(from: SubscribeFrom | undefined): StartPosition | undefined {
  if (from === undefined || typeof from === 'string' || 'timestamp' in from) return from
  const offsets: Record<string, number> = {}
  for (const [partition, offset] of Object.entries(from.offsets)) offsets[String(partition)] = offset
  return { offsets }
}

function toEdgelogError(error: unknown): EdgelogError {
  if (isEdgelogError(error)) return error
  if (error instanceof RangeError || error instanceof TypeError) {
    return new EdgelogError('INVALID_REQUEST', error.message, { cause: error })
  }
  return new EdgelogError('UNKNOWN_SERVER_ERROR', error instanceof Error ? error.message : String(error), { cause: error })
}

function handlerError(error: unknown, record: ConsumedRecord): EdgelogError {
  const message = error instanceof Error ? error.message : String(error)
  return new EdgelogError('HANDLER_ERROR', `the handler failed on ${record.topic}/${record.partition}@${record.offset}: ${message}`, {
    cause: error,
  })
}
