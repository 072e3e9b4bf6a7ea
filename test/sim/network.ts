// A simulated network between nodes: request/response RPC with per-message delay (and so
// reordering), drop, duplication, and cut links (symmetric or one-way). Payloads are deep
// copied on delivery, so no two nodes ever share an object, as no two processes do.
import { EdgelogError, type ErrorCode } from '../../src/core/errors.ts'
import type { Prng } from './prng.ts'
import type { Simulator } from './simulator.ts'

export type Handler = (method: string, payload: unknown, from: string) => unknown | Promise<unknown>

export interface NetworkFaults {
  minDelayMs: number
  maxDelayMs: number
  /** Probability that a message is lost. */
  dropRate: number
  /** Probability that a message is delivered twice (at two different delays). */
  duplicateRate: number
}

export const CALM: NetworkFaults = { minDelayMs: 1, maxDelayMs: 4, dropRate: 0, duplicateRate: 0 }

/** A request that got no answer: the caller cannot know whether it was processed. */
export class NetworkError extends Error {
  constructor(
    message: string,
    /** True when no copy of the request was ever sent on (every copy was dropped or cut): certainly not processed. */
    readonly neverDelivered: boolean,
  ) {
    super(message)
  }
}

interface Pending {
  from: string
  resolve: (v: unknown) => void
  reject: (e: Error) => void
  timer: ReturnType<Simulator['schedule']>
  sent: boolean
}

export class SimNetwork {
  faults: NetworkFaults = { ...CALM }
  readonly stats = { sent: 0, dropped: 0, duplicated: 0, delivered: 0 }
  /** Handler errors that were not EdgelogErrors: bugs in the code under test. */
  readonly unexpected: string[] = []
  private readonly handlers = new Map<string, Handler>()
  private readonly cuts = new Set<string>()
  private readonly pending = new Map<number, Pending>()
  private nextId = 1

  constructor(
    private readonly sim: Simulator,
    private readonly rng: Prng,
  ) {}

  listen(node: string, handler: Handler): void {
    this.handlers.set(node, handler)
  }

  /** Messages from `from` to `to` are lost (one way). */
  cut(from: string, to: string): void {
    this.cuts.add(`${from}>${to}`)
  }

  uncut(from: string, to: string): void {
    this.cuts.delete(`${from}>${to}`)
  }

  cutBoth(a: string, b: string): void {
    this.cut(a, b)
    this.cut(b, a)
  }

  /** Isolates `node` from every other node in `others`. */
  isolate(node: string, others: string[]): void {
    for (const o of others) if (o !== node) this.cutBoth(node, o)
  }

  healAll(): void {
    this.cuts.clear()
  }

  isCut(from: string, to: string): boolean {
    return this.cuts.has(`${from}>${to}`)
  }

  /** The node's process died: its outstanding requests will never be answered to it. */
  forget(node: string): void {
    for (const [id, p] of this.pending) {
      if (p.from !== node) continue
      this.sim.cancel(p.timer)
      this.pending.delete(id)
    }
  }

  /**
   * Sends a request; the answer comes back over the same faulty network. `duplicates: false`
   * for a client's requests: a client speaks HTTP, and TCP never hands a server one request twice.
   */
  request<T>(from: string, to: string, method: string, payload: unknown, timeoutMs: number, duplicates = true): Promise<T> {
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      const p: Pending = {
        from,
        resolve: resolve as (v: unknown) => void,
        reject,
        sent: false,
        timer: this.sim.schedule(timeoutMs, from, () => {
          if (!this.pending.delete(id)) return
          reject(new NetworkError(`${method} from ${from} to ${to} timed out after ${timeoutMs} ms`, !p.sent))
        }),
      }
      this.pending.set(id, p)
      const data = structuredClone(payload)
      p.sent = this.send(from, to, () => this.deliverRequest(id, from, to, method, structuredClone(data)), duplicates)
    })
  }

  /** Schedules delivery of one message; false when every copy was lost. */
  private send(from: string, to: string, deliver: () => void, duplicates = true): boolean {
    this.stats.sent++
    if (this.cuts.has(`${from}>${to}`) || this.rng.chance(this.faults.dropRate)) {
      this.stats.dropped++
      return false
    }
    const copies = duplicates && this.rng.chance(this.faults.duplicateRate) ? 2 : 1
    if (copies === 2) this.stats.duplicated++
    for (let i = 0; i < copies; i++) {
      const delay = this.rng.int(this.faults.minDelayMs, this.faults.maxDelayMs)
      // A link cut while the message is in flight loses it too.
      this.sim.schedule(delay, to, () => {
        if (this.cuts.has(`${from}>${to}`)) return
        this.stats.delivered++
        deliver()
      })
    }
    return true
  }

  private deliverRequest(id: number, from: string, to: string, method: string, payload: unknown): void {
    const handler = this.handlers.get(to)
    if (!handler) return
    const reply = (body: { ok: unknown } | { error: { code: string; message: string } }) => {
      const data = structuredClone(body)
      this.send(to, from, () => this.deliverResponse(id, structuredClone(data)))
    }
    let result: unknown
    try {
      result = handler(method, payload, from)
    } catch (err) {
      reply({ error: this.toWire(err) })
      return
    }
    Promise.resolve(result).then(
      (ok) => reply({ ok }),
      (err) => reply({ error: this.toWire(err) }),
    )
  }

  private deliverResponse(id: number, body: { ok?: unknown; error?: { code: string; message: string } }): void {
    const p = this.pending.get(id)
    if (!p) return // a duplicate, or the caller gave up
    this.pending.delete(id)
    this.sim.cancel(p.timer)
    if (body.error) p.reject(new EdgelogError(body.error.code as ErrorCode, body.error.message))
    else p.resolve(body.ok)
  }

  private toWire(err: unknown): { code: string; message: string } {
    if (err instanceof EdgelogError) return { code: err.code, message: err.message }
    this.unexpected.push(`t=${this.sim.now}: ${(err as Error)?.stack ?? String(err)}`)
    return { code: 'INTERNAL', message: String((err as Error)?.message ?? err) }
  }
}
