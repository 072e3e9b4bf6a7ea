// The CLI's long-running commands against a real node, as real processes (node bin/edgelog.mjs →
// bun edge/bun/cli.ts), with stderr a pipe: `bench` sends exactly what it reports and prints
// latency percentiles; `consume --to-end` prints every record up to the end offsets seen at start
// and shows each partition's position against its end on plain lines; `produce` from a file
// (--file, or stdin redirected from a regular file) shows its share done and an ETA.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { closeSync, openSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, removeDir, startServer, tempDir, type TestServer } from '../helpers/server.ts'

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

let server: TestServer
let dataDir: string
let scratch: string

interface RunOptions {
  /** A file descriptor to use as stdin (a regular file: its size is known). */
  stdinFd?: number
  /** Stop reading stdout for this long once it starts, so the command blocks on a full pipe. */
  holdStdoutMs?: number
}

function edgelog(args: string[], options: RunOptions = {}): Promise<Run> {
  const child = spawn('node', [join(ROOT, 'bin/edgelog.mjs'), ...args], {
    cwd: ROOT,
    env: { ...process.env, EDGELOG_URL: server.url },
    stdio: [options.stdinFd ?? 'ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  let held = false
  child.stdout!.on('data', (chunk) => {
    stdout += chunk
    if (options.holdStdoutMs !== undefined && !held) {
      held = true
      child.stdout!.pause()
      setTimeout(() => child.stdout!.resume(), options.holdStdoutMs)
    }
  })
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  const deadline = setTimeout(() => child.kill('SIGKILL'), 60_000)
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(deadline)
      resolve({ code, stdout, stderr })
    }),
  )
}

function assertExit(run: Run, code: number): void {
  assert.equal(run.code, code, `exit ${run.code}\nstdout: ${run.stdout.slice(0, 2000)}\nstderr: ${run.stderr}`)
}

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  })
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.clone().text()}`)
  return (await res.json()) as T
}

interface Described {
  partitions: Array<{ partition: number; highWatermark: number; sizeBytes: number }>
}

/** Plain progress lines: no carriage returns or escape sequences anywhere in the output. */
function assertPlain(stderr: string): void {
  assert.doesNotMatch(stderr, /[\r\x1b]/, 'stderr is not a terminal: plain lines only')
}

describe('CLI progress against a real node', () => {
  before(async () => {
    dataDir = tempDir()
    scratch = tempDir('edgelog-cli-progress-')
    server = await startServer({ dataDir })
  })

  after(async () => {
    await server?.stop('SIGKILL')
    if (dataDir) removeDir(dataDir)
    if (scratch) removeDir(scratch)
  })

  test('bench sends exactly N records of S bytes, reports them with latency percentiles, and shows plain progress', { timeout: 60_000 }, async () => {
    // Paced at 2,000 records/s, the run lasts about a second: long enough for progress lines.
    const run = await edgelog([
      'bench', 'bench-a', '--records', '2000', '--record-size', '64', '--batch-size', '10', '--max-in-flight', '2',
      '--partitions', '3', '--throughput', '2000', '--json', '--progress', 'plain', '--progress-interval-ms', '100',
    ])
    assertExit(run, 0)
    const result = JSON.parse(run.stdout) as {
      records: number
      recordSize: number
      requests: number
      recordsPerSec: number
      seconds: number
      latencyMs: { p50: number; p95: number; p99: number; p999: number; max: number }
    }
    assert.equal(result.records, 2000)
    assert.equal(result.recordSize, 64)
    assert.equal(result.requests, 200)
    assert.ok(result.seconds >= 0.9, `paced: ${result.seconds} s for 2,000 records at 2,000/s`)
    assert.ok(result.recordsPerSec > 0 && result.recordsPerSec <= 2400, `paced rate ${result.recordsPerSec}`)
    const { p50, p95, p99, p999, max } = result.latencyMs
    assert.ok(p50 > 0 && p50 <= p95 && p95 <= p99 && p99 <= p999 && p999 <= max, JSON.stringify(result.latencyMs))

    assert.match(run.stderr, /^created topic bench-a with 3 partitions$/m)
    const lines = run.stderr.split('\n').filter((l) => l.startsWith('bench: '))
    assert.ok(lines.length >= 2, `progress lines:\n${run.stderr}`)
    for (const line of lines) assert.match(line, /^bench: [\d,]+\/2,000 records \(\d+%\), [\d,]+ records\/s, [\d.]+ \S+\/s(, ETA \d+:\d\d)?$/)
    assertPlain(run.stderr)

    // The node holds exactly what bench reported: 2,000 records of 64 value bytes.
    const topic = await api<Described>('GET', '/v1/topics/bench-a')
    assert.equal(topic.partitions.reduce((sum, p) => sum + p.highWatermark, 0), 2000)
    assert.ok(topic.partitions.reduce((sum, p) => sum + p.sizeBytes, 0) > 2000 * 64)
    const fetched = await api<{ records: Array<{ value: { base64: string } }> }>('GET', '/v1/topics/bench-a/partitions/0/records?maxRecords=5')
    for (const r of fetched.records) assert.equal(Buffer.from(r.value.base64, 'base64').length, 64)

    // The table form, against the now existing topic (nothing created this time).
    const table = await edgelog(['bench', 'bench-a', '--records', '300', '--record-size', '10', '--progress', 'off'])
    assertExit(table, 0)
    assert.match(table.stdout, /^300 records of 10 B to bench-a \(acks=1, 100 per request, 4 in flight, unthrottled\)$/m)
    assert.match(table.stdout, /^throughput {2}[\d,]+ records\/s {2}.+ in [\d.]+ s$/m)
    assert.match(table.stdout, /^latency ms {2}p50 [\d.]+ {2}p95 [\d.]+ {2}p99 [\d.]+ {2}p99\.9 [\d.]+ {2}max [\d.]+ {2}\(3 requests\)$/m)
    assert.equal(table.stderr, '', 'no progress, no topic creation message')
    assert.equal((await api<Described>('GET', '/v1/topics/bench-a')).partitions.reduce((s, p) => s + p.highWatermark, 0), 2300)
  })

  test('bench refuses a topic it cannot write to, with the node’s error', async () => {
    const run = await edgelog(['bench', 'bad topic name', '--records', '10', '--progress', 'off'])
    assertExit(run, 1)
    assert.match(run.stderr, /^error: INVALID_TOPIC: /m)
  })

  test('consume --to-end prints every record up to the end offsets seen at start, with each partition’s position on plain lines', { timeout: 60_000 }, async () => {
    // 3 partitions of 3,000, 2,000 and 0 records: enough NDJSON to fill a pipe many times over.
    await api('POST', '/v1/topics', { name: 'to-end', partitions: 3 })
    for (const [partition, n] of [[0, 3000], [1, 2000]] as const) {
      await api('POST', '/v1/topics/to-end/records', { records: Array.from({ length: n }, (_, i) => ({ partition, value: { i, pad: 'x'.repeat(40) } })) })
    }
    // The test stops reading stdout for a moment, so the consumer blocks on a full pipe mid-run
    // and its progress lines show positions short of the end.
    const run = await edgelog(['consume', 'to-end', '--to-end', '--progress', 'plain', '--progress-interval-ms', '50'], { holdStdoutMs: 1500 })
    assertExit(run, 0)
    const records = run.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { partition: number; offset: number })
    assert.equal(records.length, 5000)
    for (const [partition, n] of [[0, 3000], [1, 2000]] as const) {
      assert.deepEqual(records.filter((r) => r.partition === partition).map((r) => r.offset), Array.from({ length: n }, (_, i) => i))
    }
    const lines = run.stderr.split('\n').filter((l) => l.startsWith('consuming: '))
    assert.ok(lines.length >= 2, `progress lines:\n${run.stderr}`)
    for (const line of lines) {
      assert.match(line, /^consuming: [\d,]+\/5,000 \(\d+%\), [\d,]+ records\/s(, ETA \d+:\d\d)?, [0-3]\/3 partitions done(; (p\d [\d,]+\/[\d,]+(, )?)+)?$/)
    }
    assert.ok(lines.some((l) => /p0 [\d,]+\/3,000/.test(l) && !/^consuming: 5,000\//.test(l)), 'a line shows partition 0 short of its end')
    assert.match(run.stderr, /^consumed 5,000 records in [\d.]+ s \([\d,]+ records\/s\); 3\/3 partitions at their end offsets$/m)
    assertPlain(run.stderr)

    // Records produced after the start are not waited for, and --follow cannot be combined.
    const both = await edgelog(['consume', 'to-end', '--to-end', '--follow'])
    assertExit(both, 2)
    const quiet = await edgelog(['consume', 'to-end', '--to-end', '--partition', '1', '--progress', 'off', '--format', 'value'])
    assertExit(quiet, 0)
    assert.equal(quiet.stdout.split('\n').filter((l) => l !== '').length, 2000)
    assert.equal(quiet.stderr, '')
  })

  test('produce --file and produce < file know the input size: plain lines with the share done and an ETA', { timeout: 60_000 }, async () => {
    await api('POST', '/v1/topics', { name: 'from-file', partitions: 1 })
    const path = join(scratch, 'lines.txt')
    const text = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'y'.repeat(20)}`).join('\n') + '\n'
    writeFileSync(path, text)
    const size = Buffer.byteLength(text)
    const sizeText = `${(size / 1024).toFixed(1)} KiB`

    // 400 requests of 50 records, one at a time: many 50 ms progress intervals.
    const flags = ['--batch-size', '50', '--progress', 'plain', '--progress-interval-ms', '50']
    const viaFlag = await edgelog(['produce', 'from-file', '--file', path, ...flags])
    assertExit(viaFlag, 0)
    const fd = openSync(path, 'r')
    let viaStdin: Run
    try {
      viaStdin = await edgelog(['produce', 'from-file', ...flags], { stdinFd: fd })
    } finally {
      closeSync(fd)
    }
    assertExit(viaStdin, 0)
    for (const run of [viaFlag, viaStdin]) {
      const lines = run.stderr.split('\n').filter((l) => l.startsWith('producing: '))
      assert.ok(lines.length >= 2, `progress lines:\n${run.stderr}`)
      for (const line of lines) {
        assert.match(line, new RegExp(`^producing: [\\d,]+ records, [\\d.]+ \\S+ / ${sizeText.replace('.', '\\.')} \\(\\d+%\\), [\\d,]+ records/s, [\\d.]+ \\S+/s(, ETA \\d+:\\d\\d)?$`))
      }
      assert.ok(lines.some((l) => /ETA \d+:\d\d$/.test(l)), 'an ETA while records flow')
      assert.match(run.stderr, /^produced 20,000 records \([\d.]+ KiB\) in [\d.]+ s, [\d,]+ records\/s$/m)
      assertPlain(run.stderr)
    }
    const topic = await api<Described>('GET', '/v1/topics/from-file')
    assert.equal(topic.partitions[0]!.highWatermark, 40_000)

    const missing = await edgelog(['produce', 'from-file', '--file', join(scratch, 'nope.txt')])
    assertExit(missing, 1)
    assert.match(missing.stderr, /^error: cannot read .*nope\.txt: no such file$/m)
    const directory = await edgelog(['produce', 'from-file', '--file', scratch])
    assertExit(directory, 1)
    assert.match(directory.stderr, /it is a directory/)
  })
})
