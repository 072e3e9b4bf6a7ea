// `GET /v1/topics/{topic}/sse`: the live subscription for clients that cannot hold a
// WebSocket. Every event's id is the stream's position after that event on every partition
// (`0:18,1:40`), so a plain EventSource that reconnects with Last-Event-ID resumes exactly.
import type { TimerHandle } from '../core/clock.ts'
import { EdgelogError, fail } from '../core/errors.ts'
import { Cursor, type CursorOwner } from './cursor.ts'
import type { EncodedRecords } from './encode.ts'
import type { ConnectionSlot, FanoutHub } from './hub.ts'
import type { StartPlan } from './plan.ts'
import type { StartPosition } from './protocol.ts'

const POSITION = /^(0|[1-9][0-9]{0,6}):(0|[1-9][0-9]{0,15})(,(0|[1-9][0-9]{0,6}):(0|[1-9][0-9]{0,15}))*$/
const encoder = new TextEncoder()

/** Parses a position `0:12,1:40` (an event id, or `from`) into per-partition next offsets. */
export function parsePosition(text: string, what: string): StartPosition {
  if (!POSITION.test(text)) fail('INVALID_REQUEST', `${what} must look like 0:12,1:40 (partition:next offset), got '${text.slice(0, 100)}'`)
  const offsets: Record<string, number> = {}
  for (const pair of text.split(',')) {
    const [p, o] = pair.split(':') as [string, string]
    const offset = Number(o)
    if (!Number.isSafeInteger(offset)) fail('INVALID_REQUEST', `${what}: offset ${o} is too large`)
    if (p in offsets) fail('INVALID_REQUEST', `${what} names partition ${p} twice`)
    offsets[p] = offset
  }
  return { offsets }
}

function parseFrom(raw: string | null): StartPosition {
  if (raw === null || raw === '' || raw === 'latest') return 'latest'
  if (raw === 'earliest') return 'earliest'
  const ts = /^timestamp:(0|[1-9][0-9]{0,15})$/.exec(raw)
  if (ts) {
    const timestamp = Number(ts[1])
    if (!Number.isSafeInteger(timestamp)) fail('INVALID_REQUEST', 'from: the timestamp is too large')
    return { timestamp }
  }
  return parsePosition(raw, 'from')
}

function parsePartitions(raw: string | null): number[] | undefined {
  if (raw === null || raw === '') return undefined
  if (!/^(0|[1-9][0-9]{0,6})(,(0|[1-9][0-9]{0,6}))*$/.test(raw)) fail('INVALID_REQUEST', `partitions must look like 0,1,2, got '${raw.slice(0, 100)}'`)
  const list = raw.split(',').map(Number)
  if (list.length > 1024) fail('INVALID_REQUEST', 'partitions lists at most 1024 partitions')
  return list
}

/**
 * Answers an SSE request: a refusal (origin, limit, draining) or the event stream. Bad query
 * parameters and unknown topics throw (the API turns them into JSON errors) before the stream
 * starts, because an EventSource does not retry after a non-200 answer.
 */
export async function sseResponse(hub: FanoutHub, req: Request, topic: string, onEnd?: () => void): Promise<Response> {
  const admission = hub.admit(req, 'sse')
  if ('response' in admission) {
    onEnd?.()
    return admission.response
  }
  // `onEnd` (the caller's per-principal slots) is let go exactly when the hub's slot is.
  const slot = admission.slot
  const admitted = onEnd ? { slot: { transport: slot.transport, release: () => (slot.release(), onEnd()) } } : admission
  try {
    const url = new URL(req.url)
    const lastEventId = req.headers.get('last-event-id') || url.searchParams.get('lastEventId')
    const from = lastEventId ? parsePosition(lastEventId, 'Last-Event-ID') : parseFrom(url.searchParams.get('from'))
    const plan = await hub.node.plan(topic, parsePartitions(url.searchParams.get('partitions')), from)
    return new SseStream(hub, admitted.slot, plan, req.signal).response()
  } catch (err) {
    admitted.slot.release()
    throw err
  }
}

class SseStream implements CursorOwner {
  ended = false
  private readonly cursors: Cursor[]
  private readonly positions = new Map<number, number>()
  private readonly order: number[]
  private readonly topicJson: string
  private readonly controller: ReadableStreamDefaultController<Uint8Array>
  private readonly stream: ReadableStream<Uint8Array>
  private readonly highWaterMark: number
  private drainWaiters: Array<() => void> = []
  private keepAlive: TimerHandle | undefined
  private readonly untrack: () => void

  constructor(
    private readonly hub: FanoutHub,
    private readonly slot: ConnectionSlot,
    private readonly plan: StartPlan,
    signal: AbortSignal,
  ) {
    this.topicJson = JSON.stringify(plan.topic)
    // The stream's queue is the send buffer: the runtime pulls as the socket takes bytes, so
    // what is queued here is what the client has not read yet. pull() is the drain event.
    this.highWaterMark = hub.limits.maxBufferedBytes / 2
    let controller!: ReadableStreamDefaultController<Uint8Array>
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (c) => void (controller = c),
        pull: () => this.resumeDrainWaiters(),
        cancel: () => this.end(),
      },
      { highWaterMark: this.highWaterMark, size: (chunk) => chunk?.byteLength ?? 0 },
    )
    this.controller = controller
    this.untrack = hub.track({ shutdown: () => this.finish() })
    signal.addEventListener('abort', () => this.end(), { once: true })
    for (const s of plan.starts) this.positions.set(s.partition.index, s.next)
    this.order = [...this.positions.keys()].sort((a, b) => a - b)
    this.cursors = plan.starts.map((s) => new Cursor(hub.feedFor(s.partition), this, s.next))
    hub.subscriptionOpened(plan.topic)
    const offsets = Object.fromEntries(this.order.map((p) => [String(p), this.positions.get(p)!]))
    this.enqueue(`retry: 2000\n\nevent: ok\nid: ${this.positionId()}\ndata: ${JSON.stringify({ topic: plan.topic, offsets })}\n\n`)
    this.scheduleKeepAlive()
    for (const c of this.cursors) if (!this.ended) c.start()
    // The client left, or the node began draining, while the start was being resolved.
    if (signal.aborted) this.end()
    else if (hub.isDraining) this.finish()
  }

  response(): Response {
    return new Response(this.stream, {
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        // Reverse proxies (nginx) would otherwise buffer the stream.
        'x-accel-buffering': 'no',
      },
    })
  }

  private positionId(): string {
    let id = ''
    for (const p of this.order) id += `${id ? ',' : ''}${p}:${this.positions.get(p)}`
    return id
  }

  // ---- CursorOwner ----

  deliver(_cursor: Cursor, records: EncodedRecords): void {
    const prefix = `data: {"topic":${this.topicJson},"partition":${records.partition},`
    let text = ''
    for (let i = 0; i < records.bodies.length; i++) {
      this.positions.set(records.partition, records.offsets[i]! + 1)
      text += `id: ${this.positionId()}\n${prefix}${records.bodies[i]}\n\n`
    }
    this.enqueue(text)
  }

  gap(cursor: Cursor, from: number, to: number): void {
    this.positions.set(cursor.partition, to)
    this.enqueue(`event: gap\nid: ${this.positionId()}\ndata: ${JSON.stringify({ partition: cursor.partition, from, to })}\n\n`)
  }

  fail(_cursor: Cursor, error: EdgelogError): void {
    if (this.ended) return
    this.enqueue(`event: err\ndata: ${JSON.stringify({ code: error.code, message: error.message })}\n\n`)
    this.finish()
  }

  sendBlocked(): boolean {
    return (this.controller.desiredSize ?? 0) <= 0
  }

  waitForDrain(resume: () => void): void {
    if (!this.ended) this.drainWaiters.push(resume)
  }

  // ---- the stream ----

  private enqueue(text: string): void {
    if (this.ended) return
    const bytes = encoder.encode(text)
    try {
      this.controller.enqueue(bytes)
    } catch {
      // The runtime closed or errored the stream (client gone) without cancelling it.
      this.end()
      return
    }
    const queued = this.highWaterMark - (this.controller.desiredSize ?? 0)
    const limit = this.hub.limits.maxBufferedBytes
    if (queued - bytes.byteLength > limit) {
      // A reader that stopped: drop what is queued and cut the stream; its EventSource
      // reconnects with the id of the last event it did read.
      this.hub.countSlowConsumer('sse')
      this.controller.error(new EdgelogError('THROTTLED', 'slow consumer'))
      this.end()
    }
  }

  private resumeDrainWaiters(): void {
    const waiters = this.drainWaiters
    this.drainWaiters = []
    for (const resume of waiters) resume()
  }

  private scheduleKeepAlive(): void {
    this.keepAlive = this.hub.runtime.timers.setTimeout(() => {
      if (this.ended) return
      this.enqueue(': keep-alive\n\n')
      this.scheduleKeepAlive()
    }, this.hub.limits.sseKeepAliveMs)
  }

  /** Ends the stream after what is queued (an err event, or the node draining). */
  private finish(): void {
    if (this.ended) return
    this.end()
    try {
      this.controller.close()
    } catch {
      // already closed or errored by the runtime
    }
  }

  private end(): void {
    if (this.ended) return
    this.ended = true
    for (const c of this.cursors) c.stop()
    this.drainWaiters = []
    if (this.keepAlive) this.hub.runtime.timers.clearTimeout(this.keepAlive)
    this.untrack()
    this.slot.release()
    this.hub.subscriptionClosed(this.plan.topic)
  }
}
