// Progress output of the CLI without a server: which mode a run picks, what a live line and a
// plain line look like (no control characters when stderr is not a terminal), the rates and
// ETAs they show, the produce / consume / bench lines, and latency percentiles in bounded memory.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { formatBenchResult, renderBenchProgress, type BenchResult } from '../../src/cli/bench.ts'
import { formatConsumeSummary, renderConsumeProgress, type PartitionPosition } from '../../src/cli/consume.ts'
import { LatencyHistogram } from '../../src/cli/latency.ts'
import { runCli, type CliIO } from '../../src/cli/main.ts'
import { renderProduceProgress } from '../../src/cli/produce.ts'
import {
  chooseMode,
  etaSeconds,
  formatDuration,
  formatPercent,
  ProgressReporter,
  type ProgressMode,
  type ProgressView,
} from '../../src/cli/progress.ts'

/** A reporter on a hand-driven clock and timer. */
function harness(mode: ProgressMode, render = (v: ProgressView) => `${v.records} records ${v.recordsPerSec}/s`) {
  const written: string[] = []
  let now = 0
  let timer: (() => void) | undefined
  let cancelled = false
  const reporter = new ProgressReporter({
    mode,
    write: (text) => written.push(text),
    render,
    now: () => now,
    every: (_ms, run) => {
      timer = run
      return () => (cancelled = true)
    },
  })
  return {
    reporter,
    written,
    advance(ms: number) {
      now += ms
      timer?.()
    },
    get timerStarted() {
      return timer !== undefined
    },
    get cancelled() {
      return cancelled
    },
  }
}

const view = (over: Partial<ProgressView> = {}): ProgressView => ({ records: 0, bytes: 0, recordsPerSec: 0, bytesPerSec: 0, elapsedMs: 0, ...over })

describe('progress mode', () => {
  test('auto: live on a terminal, plain lines when stderr is not one, off when records share the terminal', () => {
    const tty = { stderrIsTTY: true, stdoutIsTTY: true }
    const pipe = { stderrIsTTY: false, stdoutIsTTY: false }
    const toFile = { stderrIsTTY: true, stdoutIsTTY: false }
    assert.equal(chooseMode(undefined, tty, false), 'live')
    assert.equal(chooseMode('auto', pipe, false), 'plain')
    assert.equal(chooseMode(undefined, tty, true), 'off', 'consume printing to the terminal: the records are the progress')
    assert.equal(chooseMode(undefined, toFile, true), 'live', 'consume > file: a live line on the terminal')
    assert.equal(chooseMode(undefined, { stderrIsTTY: false, stdoutIsTTY: true }, true), 'plain')
    for (const forced of ['live', 'plain', 'off'] as const) assert.equal(chooseMode(forced, pipe, true), forced)
  })
})

describe('ProgressReporter', () => {
  test('live: one line rewritten in place with \\r and erase-to-end, cleared on stop', () => {
    const h = harness('live')
    h.reporter.update(500, 0)
    h.advance(500)
    h.reporter.update(1500, 0)
    h.advance(500)
    assert.deepEqual(h.written, ['\r500 records 1000/s\x1b[K', '\r1500 records 1500/s\x1b[K'])
    h.reporter.stop()
    assert.equal(h.written.at(-1), '\r\x1b[K')
    assert.equal(h.cancelled, true)
    h.advance(100)
    assert.equal(h.written.length, 3, 'nothing after stop')
  })

  test('live: the rate covers the last second, so a stall shows as 0 within a second', () => {
    const h = harness('live')
    for (let i = 1; i <= 10; i++) {
      h.reporter.update(i * 100, 0)
      h.advance(100)
    }
    assert.equal(h.written.at(-1), '\r1000 records 1000/s\x1b[K')
    for (let i = 0; i < 11; i++) h.advance(100)
    assert.equal(h.written.at(-1), '\r1000 records 0/s\x1b[K')
  })

  test('plain: whole lines, no \\r and no escape sequences, the rate since the previous line', () => {
    const h = harness('plain')
    h.reporter.update(4000, 0)
    h.advance(2000)
    h.reporter.update(5000, 0)
    h.advance(2000)
    h.reporter.stop()
    assert.deepEqual(h.written, ['4000 records 2000/s\n', '5000 records 500/s\n'])
    assert.ok(h.written.every((line) => !/[\r\x1b]/.test(line)))
  })

  test('off: no timer, no output', () => {
    const h = harness('off')
    h.reporter.update(1, 1)
    h.reporter.tick()
    h.reporter.stop()
    assert.equal(h.timerStarted, false)
    assert.deepEqual(h.written, [])
  })
})

describe('progress lines', () => {
  test('durations, shares and ETAs', () => {
    assert.equal(formatDuration(4), '0:04')
    assert.equal(formatDuration(3.2), '0:04', 'rounded up: never promises less than is left')
    assert.equal(formatDuration(750), '12:30')
    assert.equal(formatDuration(3723), '1:02:03')
    assert.equal(formatPercent(45, 100), '45%')
    assert.equal(formatPercent(999, 1000), '99%', 'not 100% before it is done')
    assert.equal(formatPercent(0, 0), '100%')
    assert.equal(etaSeconds(25, 100, 25), 3)
    assert.equal(etaSeconds(25, 100, 0), undefined, 'no rate, no ETA')
    assert.equal(etaSeconds(25, 0, 10), undefined)
  })

  test('produce: with the input size known, the share and an ETA; without it, neither', () => {
    const v = view({ records: 12500, bytes: 1024 * 1024, recordsPerSec: 8100, bytesPerSec: 512 * 1024 })
    assert.equal(renderProduceProgress(v, 3 * 1024 * 1024, 'live'), '12,500 records  1.0 MiB / 3.0 MiB (33%)  8,100 records/s  512.0 KiB/s  ETA 0:04')
    assert.equal(renderProduceProgress(v, undefined, 'live'), '12,500 records  1.0 MiB  8,100 records/s  512.0 KiB/s')
    assert.equal(
      renderProduceProgress(v, 3 * 1024 * 1024, 'plain'),
      'producing: 12,500 records, 1.0 MiB / 3.0 MiB (33%), 8,100 records/s, 512.0 KiB/s, ETA 0:04',
    )
  })

  test('consume: each unfinished partition’s position against its end offset', () => {
    const positions: PartitionPosition[] = [
      { partition: 0, start: 0, end: 5000, position: 1200 },
      { partition: 1, start: 0, end: 5000, position: 5000 },
      { partition: 2, start: 100, end: 5100, position: 100 },
    ]
    const v = view({ records: 6100, recordsPerSec: 1000 })
    assert.equal(renderConsumeProgress(positions, v, 'live'), '6,200/15,000 (41%)  1,000 records/s  ETA 0:09  1/3 partitions done  p0 1,200/5,000  p2 100/5,100')
    assert.equal(
      renderConsumeProgress(positions, v, 'plain'),
      'consuming: 6,200/15,000 (41%), 1,000 records/s, ETA 0:09, 1/3 partitions done; p0 1,200/5,000, p2 100/5,100',
    )
    const many = Array.from({ length: 7 }, (_, p) => ({ partition: p, start: 0, end: 10, position: 0 }))
    assert.match(renderConsumeProgress(many, view(), 'live'), /p0 0\/10 {2}p1 0\/10 {2}p2 0\/10 {2}p3 0\/10 {2}\+3 more$/)
    assert.equal(formatConsumeSummary(15000, positions, 1200), 'consumed 15,000 records in 1.20 s (12,500 records/s); 1/3 partitions at their end offsets\n')
  })

  test('bench: records of the total, rates and ETA; the result table', () => {
    assert.equal(
      renderBenchProgress(view({ records: 45000, recordsPerSec: 50000, bytesPerSec: 5 * 1024 * 1024 }), 100000, 'live'),
      '45,000/100,000 records (45%)  50,000 records/s  5.0 MiB/s  ETA 0:02',
    )
    assert.match(renderBenchProgress(view({ records: 1 }), 10, 'plain'), /^bench: 1\/10 records \(10%\), 0 records\/s, 0 B\/s$/)
    const result: BenchResult = {
      topic: 't',
      records: 1000,
      recordSize: 100,
      batchSize: 100,
      maxInFlight: 2,
      acks: '1',
      throughput: undefined,
      seconds: 0.5,
      recordsPerSec: 2000,
      bytesPerSec: 200000,
      requests: 10,
      latencyMs: { mean: 2, p50: 1.5, p95: 3.25, p99: 12.5, p999: 150, max: 151 },
    }
    assert.equal(
      formatBenchResult(result),
      [
        '1,000 records of 100 B to t (acks=1, 100 per request, 2 in flight, unthrottled)',
        'throughput  2,000 records/s  195.3 KiB/s  in 0.50 s',
        'latency ms  p50 1.50  p95 3.25  p99 12.5  p99.9 150  max 151  (10 requests)',
        '',
      ].join('\n'),
    )
  })
})

describe('LatencyHistogram', () => {
  test('percentiles within 1% of the exact ones, in bounded memory', () => {
    const h = new LatencyHistogram()
    const values = Array.from({ length: 10_000 }, (_, i) => (i + 1) / 10) // 0.1 … 1000 ms
    for (const v of values) h.record(v)
    for (const [p, exact] of [[50, 500], [95, 950], [99, 990], [99.9, 999]] as const) {
      const got = h.percentile(p)
      assert.ok(Math.abs(got - exact) / exact <= 0.01, `p${p}: ${got} vs ${exact}`)
    }
    assert.equal(h.percentile(100), 1000)
    assert.equal(h.max, 1000)
    assert.ok(Math.abs(h.mean - 500.05) < 1e-6)
  })

  test('no samples, one sample, junk', () => {
    const h = new LatencyHistogram()
    assert.equal(h.percentile(50), 0)
    h.record(Number.NaN)
    h.record(-1)
    assert.equal(h.count, 0)
    h.record(3)
    assert.equal(h.percentile(50), 3, 'clamped to the samples seen, not a bucket edge')
    assert.equal(h.percentile(99.9), 3)
  })
})

describe('progress usage errors (no server needed)', () => {
  function io(extra: Partial<CliIO> = {}) {
    const err: string[] = []
    const value: CliIO = {
      stdin: new ReadableStream({ start: (c) => c.close() }),
      stdout: () => {},
      stderr: (text) => void err.push(text),
      isTTY: false,
      env: { EDGELOG_URL: 'http://127.0.0.1:9' },
      ...extra,
    }
    return { io: value, stderr: () => err.join('') }
  }

  test('bad flags exit 2 before any request', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['consume', 't', '--follow', '--to-end'], /--follow and --to-end cannot be used together/],
      [['consume', 't', '--progress', 'fancy'], /--progress must be one of auto, live, plain, off/],
      [['produce', 't', '--progress-interval-ms', '10'], /--progress-interval-ms must be an integer from 50/],
      [['bench', '--batch-size', '10000', '--record-size', '1000000'], /per request; keep it under 8.0 MiB/],
      [['bench', '--records', '0'], /--records must be an integer from 1/],
      [['bench', 'a', 'b'], /unexpected argument: b/],
    ]
    for (const [argv, pattern] of cases) {
      const c = io()
      assert.equal(await runCli(argv, c.io), 2, argv.join(' '))
      assert.match(c.stderr(), pattern)
    }
  })

  test('--file needs a runtime that can open files', async () => {
    const c = io()
    assert.equal(await runCli(['produce', 't', '--file', 'data.txt'], c.io), 2)
    assert.match(c.stderr(), /--file is not available on this runtime/)
  })
})
