// A Runtime whose wall clock and timers move only when a test says so. `defer` stays real
// (setImmediate), so group commits and the cleaner's yields between steps still run.
import type { Runtime, TimerHandle } from '../../src/core/clock.ts'

export interface ManualRuntime extends Runtime {
  /** Moves the clock forward and fires every timer that came due, in due order. */
  advance(ms: number): void
  /** Sets the wall clock (epoch ms) without firing timers. */
  setNow(ms: number): void
  /** Timers scheduled and not yet fired or cleared. */
  pendingTimers(): number
  /** How many times `defer` was called (the cleaner yields through it between steps). */
  defers(): number
}

export function manualRuntime(startMs = 1_700_000_000_000, seed = 42): ManualRuntime {
  let now = startMs
  let mono = 0
  let nextId = 1
  let deferCount = 0
  const timers = new Map<number, { due: number; fn: () => void }>()
  let state = seed >>> 0
  return {
    clock: { now: () => now, monotonic: () => mono },
    timers: {
      setTimeout(fn, ms): TimerHandle {
        const id = nextId++
        timers.set(id, { due: mono + Math.max(0, ms), fn })
        return { id }
      },
      clearTimeout(handle) {
        timers.delete(handle.id)
      },
      defer(fn) {
        deferCount++
        setImmediate(fn)
      },
    },
    random: {
      next() {
        state = (state * 1664525 + 1013904223) >>> 0
        return state / 2 ** 32
      },
    },
    advance(ms) {
      const target = mono + ms
      for (;;) {
        let first: [number, { due: number; fn: () => void }] | undefined
        for (const entry of timers) if (entry[1].due <= target && (!first || entry[1].due < first[1].due)) first = entry
        if (!first) break
        timers.delete(first[0])
        now += first[1].due - mono
        mono = first[1].due
        first[1].fn()
      }
      now += target - mono
      mono = target
    },
    setNow(ms) {
      now = ms
    },
    pendingTimers: () => timers.size,
    defers: () => deferCount,
  }
}
