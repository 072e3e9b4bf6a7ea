// Time and timers come in through this port so that a seeded simulation can drive a whole
// cluster in one process (DESIGN decision 9). Nothing in src/ reads the real clock directly.

export interface Clock {
  /** Wall-clock epoch milliseconds: record timestamps, retention. May jump. */
  now(): number
  /** Monotonic milliseconds for timeouts and leases. Never goes back. */
  monotonic(): number
}

export type TimerHandle = { readonly id: number }

export interface Timers {
  setTimeout(fn: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
  /** Runs fn after the current macrotask, so work arriving in one tick can be grouped. */
  defer(fn: () => void): void
}

export interface Random {
  /** Uniform in [0, 1). */
  next(): number
}

export interface Runtime {
  clock: Clock
  timers: Timers
  random: Random
}

let nextTimerId = 1

/** The real runtime: web-standard timers and clocks, available on every runtime we target. */
export function systemRuntime(): Runtime {
  const handles = new Map<number, ReturnType<typeof globalThis.setTimeout>>()
  return {
    clock: {
      now: () => Date.now(), // allow-nondeterminism: this is the real clock port
      monotonic: () => performance.now(), // allow-nondeterminism: this is the real clock port
    },
    timers: {
      setTimeout(fn, ms) {
        const id = nextTimerId++
        handles.set(
          id,
          globalThis.setTimeout(() => { // allow-nondeterminism: this is the real timer port
            handles.delete(id)
            fn()
          }, ms),
        )
        return { id }
      },
      clearTimeout(handle) {
        const h = handles.get(handle.id)
        if (h !== undefined) {
          globalThis.clearTimeout(h)
          handles.delete(handle.id)
        }
      },
      // setImmediate runs after this loop turn's I/O (about 2 µs); setTimeout(0) is clamped to
      // 1–2 ms, which would put a floor under every produce's latency.
      defer: typeof globalThis.setImmediate === 'function'
        ? (fn) => void globalThis.setImmediate(fn)
        : (fn) => void globalThis.setTimeout(fn, 0), // allow-nondeterminism: this is the real timer port
    },
    random: { next: () => Math.random() }, // allow-nondeterminism: this is the real randomness port
  }
}
