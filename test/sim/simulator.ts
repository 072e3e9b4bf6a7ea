// The simulator owns the only event loop: every timer, network delivery and fault is an event
// at a simulated time. Between two events it yields one real macrotask, so every promise
// continuation of the last event runs before the next one — the same order on every run.
// Events belong to a node: a paused node's events wait until it resumes (its clock still moves,
// as a SIGSTOPped process's does), and a killed node's events are dropped.
import type { Runtime, TimerHandle } from '../../src/core/clock.ts'
import type { Prng } from './prng.ts'

interface SimEvent {
  time: number
  seq: number
  node: string | null
  gen: number
  fn: () => void
  cancelled: boolean
}

/** Wall clock at simulated time 0: record timestamps look like real ones. */
const EPOCH_MS = 1_700_000_000_000

export class Simulator {
  now = 0
  eventsRun = 0
  /** Errors thrown by event handlers: always a bug in the code under test. */
  readonly crashes: string[] = []
  private heap: SimEvent[] = []
  private seq = 0
  private readonly gens = new Map<string, number>()
  private readonly paused = new Map<string, SimEvent[]>()
  private readonly timers = new Map<number, SimEvent>()
  private nextTimer = 1
  /** Wall-clock offset per node (clock jumps, F10); monotonic time never jumps. */
  private readonly skew = new Map<string, number>()

  gen(node: string): number {
    return this.gens.get(node) ?? 0
  }

  schedule(delayMs: number, node: string | null, fn: () => void): SimEvent {
    const e: SimEvent = { time: this.now + Math.max(0, Math.round(delayMs)), seq: this.seq++, node, gen: node ? this.gen(node) : 0, fn, cancelled: false }
    this.push(e)
    return e
  }

  cancel(e: SimEvent): void {
    e.cancelled = true
  }

  isPaused(node: string): boolean {
    return this.paused.has(node)
  }

  pause(node: string): void {
    if (!this.paused.has(node)) this.paused.set(node, [])
  }

  resume(node: string): void {
    const held = this.paused.get(node)
    if (!held) return
    this.paused.delete(node)
    // What waited runs now, in its original order.
    for (const e of held) {
      e.time = this.now
      e.seq = this.seq++
      this.push(e)
    }
  }

  /** The node's process is gone: none of its pending events will run. */
  kill(node: string): void {
    this.gens.set(node, this.gen(node) + 1)
    this.paused.delete(node)
  }

  jumpClock(node: string, deltaMs: number): void {
    this.skew.set(node, (this.skew.get(node) ?? 0) + deltaMs)
  }

  /** A Runtime for code running on `node`: its timers are that node's events. */
  runtime(node: string, rng: Prng): Runtime {
    return {
      clock: {
        now: () => EPOCH_MS + this.now + (this.skew.get(node) ?? 0),
        monotonic: () => this.now,
      },
      timers: {
        setTimeout: (fn, ms) => {
          const id = this.nextTimer++
          const e = this.schedule(ms, node, () => {
            this.timers.delete(id)
            fn()
          })
          this.timers.set(id, e)
          return { id }
        },
        clearTimeout: (h: TimerHandle) => {
          const e = this.timers.get(h.id)
          if (e) {
            e.cancelled = true
            this.timers.delete(h.id)
          }
        },
        defer: (fn) => void this.schedule(0, node, fn),
      },
      random: { next: () => rng.next() },
    }
  }

  /** Runs events until `until` (simulated ms) or until stop() says so, checked after each event. */
  async run(until: number, stop?: () => boolean): Promise<void> {
    while (this.heap.length > 0 && this.heap[0]!.time <= until) {
      const e = this.pop()!
      if (e.cancelled) continue
      if (e.node !== null) {
        if (e.gen !== this.gen(e.node)) continue
        const held = this.paused.get(e.node)
        if (held) {
          held.push(e)
          continue
        }
      }
      this.now = e.time
      this.eventsRun++
      try {
        e.fn()
      } catch (err) {
        this.crashes.push(`t=${this.now} ${e.node ?? 'sim'}: ${(err as Error).stack ?? err}`)
      }
      // One real macrotask: every microtask the event started has run when it returns.
      await new Promise<void>((r) => setImmediate(r))
      if (stop?.()) return
    }
    if (this.now < until && (this.heap.length === 0 || this.heap[0]!.time > until)) this.now = until
  }

  private push(e: SimEvent): void {
    const h = this.heap
    h.push(e)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(h[i]!, h[parent]!)) break
      ;[h[i], h[parent]] = [h[parent]!, h[i]!]
      i = parent
    }
  }

  private pop(): SimEvent | undefined {
    const h = this.heap
    if (h.length === 0) return undefined
    const top = h[0]!
    const last = h.pop()!
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && before(h[l]!, h[m]!)) m = l
        if (r < h.length && before(h[r]!, h[m]!)) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m]!, h[i]!]
        i = m
      }
    }
    return top
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq)
}
