// A live progress line for long runs. Only on a terminal: rewritten in place with "\r" at
// most every intervalMs (10 times a second by default) so that a fast producer does not
// spend its time repainting; in a pipe or a log file it prints nothing, and the caller's
// final summary is the only record of the run.

export interface ProgressOptions {
  write: (text: string) => void
  isTTY: boolean
  now?: () => number
  intervalMs?: number
}

export interface Progress {
  /** Totals so far; cheap, call it as often as you like. */
  update(records: number, bytes: number): void
  /** Clears the line. Call it exactly once, before printing anything else. */
  stop(): void
}

/** How far back the "records/s" figure looks: recent enough to show a stall within a second. */
const rateWindowMs = 1_000
const samplesMax = 64
/** Erase from the cursor to the end of the line (ANSI EL). */
const clearToEnd = '\x1b[K'

export function startProgress(options: ProgressOptions): Progress {
  if (!options.isTTY) return { update() {}, stop() {} }
  const now = options.now ?? (() => Date.now())
  const samples: Sample[] = [{ at: now(), records: 0, bytes: 0 }]
  let records = 0
  let bytes = 0
  let drawn = false
  const timer = setInterval(() => {
    const sample = { at: now(), records, bytes }
    samples.push(sample)
    while (samples.length > samplesMax || (samples.length > 2 && sample.at - samples[1]!.at >= rateWindowMs)) samples.shift()
    options.write(`\r${renderProgressLine(samples[0]!, sample)}${clearToEnd}`)
    drawn = true
  }, options.intervalMs ?? 100)
  return {
    update(recordsTotal, bytesTotal) {
      records = recordsTotal
      bytes = bytesTotal
    },
    stop() {
      clearInterval(timer)
      if (drawn) options.write(`\r${clearToEnd}`)
    },
  }
}

export interface Sample {
  at: number
  records: number
  bytes: number
}

/** "12,500 records  1.2 MiB  8,100 records/s", the rate measured between two samples. */
export function renderProgressLine(from: Sample, to: Sample): string {
  const seconds = Math.max(to.at - from.at, 1) / 1000
  const rate = Math.round((to.records - from.records) / seconds)
  return `${formatCount(to.records)} records  ${formatBytes(to.bytes)}  ${formatCount(rate)} records/s`
}

/** The line printed at the end of a run, whatever happened. */
export function formatSummary(verb: string, records: number, bytes: number, elapsedMs: number): string {
  const seconds = Math.max(elapsedMs, 1) / 1000
  const rate = Math.round(records / seconds)
  const noun = records === 1 ? 'record' : 'records'
  return `${verb} ${formatCount(records)} ${noun} (${formatBytes(bytes)}) in ${seconds.toFixed(2)} s, ${formatCount(rate)} records/s\n`
}

export function formatCount(count: number): string {
  return count.toLocaleString('en-US')
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(1)} ${units[unit]}`
}
