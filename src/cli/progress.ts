// Progress for work that takes time (produce, consume to the end, bench). Three ways to show it:
//   live   one line on a terminal, rewritten in place with "\r" at most every intervalMs (10
//          times a second by default), so a fast run does not spend its time repainting;
//   plain  a whole line every intervalMs (2 s by default) for logs and CI, no control characters;
//   off    nothing but the caller's final summary.
// `--progress auto` (the default) picks live when stderr is a terminal that is not also showing
// the command's own output, plain when stderr is not a terminal.

import type { FlagSpecs } from './args.ts'

export type ProgressMode = 'live' | 'plain' | 'off'

export const progressFlags = {
  progress: { type: 'string', choices: ['auto', 'live', 'plain', 'off'] },
  'progress-interval-ms': { type: 'integer', min: 50, max: 3_600_000 },
} as const satisfies FlagSpecs

export const liveIntervalMs = 100
export const plainIntervalMs = 2_000

/**
 * `auto`: live on a terminal, plain in a pipe or a file; off when the command prints its records
 * to the same terminal (the records are the progress, and a "\r" line would tear them).
 */
export function chooseMode(
  flag: string | undefined,
  terminal: { stderrIsTTY: boolean; stdoutIsTTY: boolean },
  printsToStdout: boolean,
): ProgressMode {
  if (flag === 'live' || flag === 'plain' || flag === 'off') return flag
  if (!terminal.stderrIsTTY) return 'plain'
  return printsToStdout && terminal.stdoutIsTTY ? 'off' : 'live'
}

export interface Totals {
  records: number
  bytes: number
}

export interface ProgressView extends Totals {
  recordsPerSec: number
  bytesPerSec: number
  elapsedMs: number
}

export interface ReporterOptions {
  mode: ProgressMode
  write: (text: string) => void
  /** The line, without "\r" or "\n". */
  render: (view: ProgressView, mode: 'live' | 'plain') => string
  intervalMs?: number
  now?: () => number
  /** Starts the repeating timer; returns its cancel. A seam for tests. */
  every?: (ms: number, run: () => void) => () => void
}

/** How far back the rate looks on a live line: recent enough to show a stall within a second. */
const rateWindowMs = 1_000
const samplesMax = 64
/** Erase from the cursor to the end of the line (ANSI EL). */
const clearToEnd = '\x1b[K'

const realEvery = (ms: number, run: () => void) => {
  const timer = setInterval(run, ms)
  return () => clearInterval(timer)
}

export class ProgressReporter {
  readonly #options: ReporterOptions
  readonly #now: () => number
  readonly #startedAt: number
  readonly #samples: Array<Totals & { at: number }>
  readonly #cancel: () => void
  #totals: Totals = { records: 0, bytes: 0 }
  #drawn = false
  #stopped = false

  constructor(options: ReporterOptions) {
    this.#options = options
    this.#now = options.now ?? (() => Date.now())
    this.#startedAt = this.#now()
    this.#samples = [{ at: this.#startedAt, records: 0, bytes: 0 }]
    const interval = options.intervalMs ?? (options.mode === 'plain' ? plainIntervalMs : liveIntervalMs)
    this.#cancel = options.mode === 'off' ? () => {} : (options.every ?? realEvery)(interval, () => this.tick())
  }

  /** Totals so far; cheap, call it as often as you like. */
  update(records: number, bytes: number): void {
    this.#totals = { records, bytes }
  }

  /** Draws the line now (the timer calls this). */
  tick(): void {
    if (this.#stopped || this.#options.mode === 'off') return
    const view = this.#view()
    const line = this.#options.render(view, this.#options.mode)
    if (this.#options.mode === 'live') {
      this.#options.write(`\r${line}${clearToEnd}`)
      this.#drawn = true
    } else {
      this.#options.write(`${line}\n`)
    }
  }

  /** Clears a live line. Call it exactly once, before printing anything else. */
  stop(): void {
    if (this.#stopped) return
    this.#stopped = true
    this.#cancel()
    if (this.#drawn) this.#options.write(`\r${clearToEnd}`)
  }

  #view(): ProgressView {
    const at = this.#now()
    const sample = { at, ...this.#totals }
    const samples = this.#samples
    samples.push(sample)
    // Live: the last second. Plain: since the previous line, which is one interval ago.
    const window = this.#options.mode === 'live' ? rateWindowMs : 0
    while (samples.length > samplesMax || (samples.length > 2 && at - samples[1]!.at >= window)) samples.shift()
    const from = samples[0]!
    const seconds = Math.max(at - from.at, 1) / 1000
    return {
      ...this.#totals,
      recordsPerSec: (sample.records - from.records) / seconds,
      bytesPerSec: (sample.bytes - from.bytes) / seconds,
      elapsedMs: at - this.#startedAt,
    }
  }
}

// ---- formatting ---------------------------------------------------------------------------

/** Seconds left at the current rate, or undefined while there is no rate to go by. */
export function etaSeconds(done: number, total: number, perSecond: number): number | undefined {
  if (!(perSecond > 0) || !(total > 0)) return undefined
  return Math.max(0, (total - done) / perSecond)
}

/** "0:04", "12:30", "1:02:03". */
export function formatDuration(seconds: number): string {
  const whole = Math.ceil(seconds)
  const h = Math.floor(whole / 3600)
  const m = Math.floor((whole % 3600) / 60)
  const s = whole % 60
  const two = (n: number) => String(n).padStart(2, '0')
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`
}

export function formatPercent(done: number, total: number): string {
  if (!(total > 0)) return '100%'
  return `${Math.min(100, Math.floor((done / total) * 100))}%`
}

/** The line printed at the end of a run, whatever happened. */
export function formatSummary(verb: string, records: number, bytes: number, elapsedMs: number): string {
  const seconds = Math.max(elapsedMs, 1) / 1000
  const rate = Math.round(records / seconds)
  const noun = records === 1 ? 'record' : 'records'
  return `${verb} ${formatCount(records)} ${noun} (${formatBytes(bytes)}) in ${seconds.toFixed(2)} s, ${formatCount(rate)} records/s\n`
}

export function formatCount(count: number): string {
  return Math.round(count).toLocaleString('en-US')
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(1)} ${units[unit]}`
}
