// The `edgelog` command line against a real server: each command runs as a real process
// through the package's bin (node bin/edgelog.mjs -> bun edge/bun/cli.ts) with stdin piped,
// exactly as a user's shell would run it.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { ROOT, removeDir, startServer, type TestServer } from '../helpers/server.ts'
import { waitUntil } from '../helpers/wait.ts'

interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

interface RunOptions {
  stdin?: string
  /** Called once the process is running, e.g. to produce while a --follow consumer waits. */
  whileRunning?: (child: ReturnType<typeof spawn>) => Promise<void>
  timeoutMs?: number
}

let server: TestServer

/** Each test starts several processes (node, then bun) one after another. */
const slow = { timeout: 30_000 }

function edgelog(args: string[], options: RunOptions = {}): Promise<Run> {
  const child = spawn('node', [join(ROOT, 'bin/edgelog.mjs'), ...args], {
    cwd: ROOT,
    env: { ...process.env, EDGELOG_URL: server.url },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  // 'close', not 'exit': it comes once the process has ended and its output is fully read.
  const closed = new Promise<Run>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  )
  const deadline = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000)
  void closed.then(() => clearTimeout(deadline))
  if (options.whileRunning) {
    void options.whileRunning(child).finally(() => child.stdin.end())
  } else {
    child.stdin.end(options.stdin ?? '')
  }
  return closed
}

function assertExit(run: Run, code: number): void {
  assert.equal(run.code, code, `exit ${run.code} (signal ${run.signal})\nstdout: ${run.stdout.slice(0, 2000)}\nstderr: ${run.stderr}`)
}

interface Printed {
  topic: string
  partition: number
  offset: number
  key: string | null
  value: unknown
  headers: Record<string, string>
  timestamp: number
}

function parseRecords(stdout: string): Printed[] {
  return stdout.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Printed)
}

/** Checks that offsets rise by one within each partition, and returns the records by partition. */
function byPartition(records: Printed[]): Map<number, Printed[]> {
  const partitions = new Map<number, Printed[]>()
  for (const record of records) {
    const list = partitions.get(record.partition) ?? []
    const previous = list.at(-1)
    if (previous) assert.equal(record.offset, previous.offset + 1, `partition ${record.partition} offsets are not consecutive`)
    list.push(record)
    partitions.set(record.partition, list)
  }
  return partitions
}

const numberedLines = (count: number, from = 1) =>
  Array.from({ length: count }, (_, index) => `line-${from + index}`).join('\n') + '\n'

const lineNumber = (value: unknown) => Number(String(value).slice('line-'.length))

before(async () => {
  server = await startServer()
})

after(async () => {
  await server?.stop()
  if (server) removeDir(server.dataDir)
})

describe('edgelog topics', () => {
  test('create, list, describe and delete', slow, async () => {
    const created = await edgelog(['topics', 'create', 'cli-admin', '--partitions', '3', '--config', 'retention.ms=60000'])
    assertExit(created, 0)
    assert.match(created.stdout, /created topic cli-admin with 3 partition/)

    const listed = await edgelog(['topics', 'list'])
    assertExit(listed, 0)
    assert.match(listed.stdout, /^TOPIC\s+PARTITIONS$/m)
    assert.match(listed.stdout, /^cli-admin\s+3$/m)

    const described = await edgelog(['topics', 'describe', 'cli-admin'])
    assertExit(described, 0)
    assert.match(described.stdout, /Topic: cli-admin\s+Partitions: 3\s+Config: .*retention\.ms=60000/)
    assert.match(described.stdout, /^PARTITION\s+LEADER\s+EPOCH\s+REPLICAS\s+ISR\s+LOG-START\s+HIGH-WATERMARK\s+LOG-END$/m)
    for (const partition of [0, 1, 2]) assert.match(described.stdout, new RegExp(`^${partition}\\s+\\S+\\s+0\\s+`, 'm'))

    const asJson = await edgelog(['topics', 'describe', 'cli-admin', '--json'])
    assertExit(asJson, 0)
    const description = JSON.parse(asJson.stdout)
    assert.equal(description.name, 'cli-admin')
    assert.equal(description.config['retention.ms'], '60000')
    assert.equal(description.partitions.length, 3)

    const altered = await edgelog(['topics', 'alter', 'cli-admin', '--config', 'retention.ms=1000', '--config', 'cleanup.policy=compact,delete', '--json'])
    assertExit(altered, 0)
    assert.equal(JSON.parse(altered.stdout).config['cleanup.policy'], 'compact,delete')
    const reverted = await edgelog(['topics', 'alter', 'cli-admin', '--delete-config', 'retention.ms'])
    assertExit(reverted, 0)
    assert.match(reverted.stdout, /retention\.ms=604800000/)
    const badAlter = await edgelog(['topics', 'alter', 'cli-admin', '--config', 'retention.ms=soon'])
    assertExit(badAlter, 1)
    assert.match(badAlter.stderr, /^error: INVALID_CONFIG: /m)
    assertExit(await edgelog(['topics', 'alter', 'cli-admin']), 2)

    const again = await edgelog(['topics', 'create', 'cli-admin'])
    assertExit(again, 1)
    assert.match(again.stderr, /^error: TOPIC_ALREADY_EXISTS: /m)

    const deleted = await edgelog(['topics', 'delete', 'cli-admin'])
    assertExit(deleted, 0)
    assert.match(deleted.stdout, /deleted topic cli-admin/)
    const gone = await edgelog(['topics', 'describe', 'cli-admin'])
    assertExit(gone, 1)
    assert.match(gone.stderr, /^error: UNKNOWN_TOPIC_OR_PARTITION: /m)
  })

  test("a bad topic name exits 1 with the server's error code", slow, async () => {
    const run = await edgelog(['topics', 'create', 'bad name!'])
    assertExit(run, 1)
    assert.match(run.stderr, /^error: INVALID_TOPIC: .+/m)
  })

  test('a usage error exits 2 without contacting the server', slow, async () => {
    const run = await edgelog(['topics', 'create', 'x', '--partitons', '2'])
    assertExit(run, 2)
    assert.match(run.stderr, /unknown flag --partitons \(did you mean --partitions\?\)/)
  })
})

describe('edgelog produce and consume', () => {
  const count = 2500

  test('2,500 piped lines come back complete and in order per partition', slow, async () => {
    assertExit(await edgelog(['topics', 'create', 'cli-lines', '--partitions', '3']), 0)
    // Small batches so the run spreads over several requests (and the sticky partitioner
    // over several partitions), with several batches read while one is in flight.
    const produced = await edgelog(['produce', 'cli-lines', '--batch-size', '300'], { stdin: numberedLines(count) })
    assertExit(produced, 0)
    assert.match(produced.stderr, /produced 2,500 records \(\d[\d.]* \S+\) in [\d.]+ s, [\d,]+ records\/s/)

    const consumed = await edgelog(['consume', 'cli-lines', '--from', 'earliest'])
    assertExit(consumed, 0)
    const records = parseRecords(consumed.stdout)
    assert.equal(records.length, count)
    const partitions = byPartition(records)
    for (const [partition, list] of partitions) {
      assert.equal(list[0]!.offset, 0, `partition ${partition} starts at 0`)
      const numbers = list.map((record) => lineNumber(record.value))
      assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b), `partition ${partition} is in input order`)
    }
    const all = records.map((record) => lineNumber(record.value)).sort((a, b) => a - b)
    assert.deepEqual(all, Array.from({ length: count }, (_, index) => index + 1))
    for (const record of records) {
      assert.equal(record.topic, 'cli-lines')
      assert.equal(record.key, null)
      assert.deepEqual(record.headers, {})
      assert.equal(typeof record.timestamp, 'number')
    }

    const values = await edgelog(['consume', 'cli-lines', '--partition', String(records[0]!.partition), '--format', 'value', '--max-records', '5'])
    assertExit(values, 0)
    const firstFive = partitions.get(records[0]!.partition)!.slice(0, 5).map((record) => `${record.value}\n`).join('')
    assert.equal(values.stdout, firstFive)
  })

  test('--key sends every record to one partition, in order', slow, async () => {
    assertExit(await edgelog(['topics', 'create', 'cli-keyed', '--partitions', '4']), 0)
    const produced = await edgelog(['produce', 'cli-keyed', '--key', 'user-42', '--acks', 'all'], { stdin: numberedLines(500) })
    assertExit(produced, 0)
    const consumed = await edgelog(['consume', 'cli-keyed'])
    assertExit(consumed, 0)
    const records = parseRecords(consumed.stdout)
    assert.equal(records.length, 500)
    assert.equal(new Set(records.map((record) => record.partition)).size, 1)
    assert.ok(records.every((record) => record.key === 'user-42'))
    assert.deepEqual(records.map((record) => lineNumber(record.value)), Array.from({ length: 500 }, (_, index) => index + 1))

    const described = JSON.parse((await edgelog(['topics', 'describe', 'cli-keyed', '--json'])).stdout)
    const highWatermarks = described.partitions.map((p: { highWatermark: number }) => p.highWatermark).sort()
    assert.deepEqual(highWatermarks, [0, 0, 0, 500])
  })

  test('ndjson with --key-field keys each record by a field of its value', slow, async () => {
    assertExit(await edgelog(['topics', 'create', 'cli-ndjson', '--partitions', '2']), 0)
    const input = ['{"user":"a","n":1}', '', '{"user":"b","n":2}', '{"user":"a","n":3}'].join('\n')
    assertExit(await edgelog(['produce', 'cli-ndjson', '--format', 'ndjson', '--key-field', 'user'], { stdin: input }), 0)
    const records = parseRecords((await edgelog(['consume', 'cli-ndjson'])).stdout)
    assert.equal(records.length, 3)
    const byKey = (key: string) => records.filter((record) => record.key === key)
    assert.deepEqual(byKey('a').map((record) => record.value), [{ user: 'a', n: 1 }, { user: 'a', n: 3 }])
    assert.equal(new Set(byKey('a').map((record) => record.partition)).size, 1)
  })

  test('consume --group commits, and a second run continues where the first stopped', slow, async () => {
    assertExit(await edgelog(['topics', 'create', 'cli-group', '--partitions', '2']), 0)
    assertExit(await edgelog(['produce', 'cli-group', '--batch-size', '100'], { stdin: numberedLines(600) }), 0)

    const first = await edgelog(['consume', 'cli-group', '--group', 'cli-g1', '--max-records', '250'])
    assertExit(first, 0)
    const firstRecords = parseRecords(first.stdout)
    assert.equal(firstRecords.length, 250)

    const second = await edgelog(['consume', 'cli-group', '--group', 'cli-g1'])
    assertExit(second, 0)
    const secondRecords = parseRecords(second.stdout)
    assert.equal(secondRecords.length, 350)

    // Together: every record exactly once, and per partition the second run starts right
    // after the last offset the first run printed.
    const key = (record: Printed) => `${record.partition}:${record.offset}`
    const seen = new Set([...firstRecords, ...secondRecords].map(key))
    assert.equal(seen.size, 600)
    for (const [partition, list] of byPartition(secondRecords)) {
      const printedBefore = firstRecords.filter((record) => record.partition === partition)
      const expectedStart = printedBefore.length === 0 ? 0 : printedBefore.at(-1)!.offset + 1
      assert.equal(list[0]!.offset, expectedStart, `partition ${partition} resumes after the first run`)
    }

    const lag = await (await fetch(`${server.url}/v1/groups/cli-g1/lag`)).json() as { totalLag: number }
    assert.equal(lag.totalLag, 0)
    const third = await edgelog(['consume', 'cli-group', '--group', 'cli-g1'])
    assertExit(third, 0)
    assert.equal(third.stdout, '')
  })

  test('consume --follow prints records produced after it started and ends when stdin closes', slow, async () => {
    assertExit(await edgelog(['topics', 'create', 'cli-follow', '--partitions', '2']), 0)
    assertExit(await edgelog(['produce', 'cli-follow'], { stdin: 'old\n' }), 0)
    let printed = ''
    const run = await edgelog(['consume', 'cli-follow', '--follow', '--from', 'latest', '--format', 'value'], {
      whileRunning: async (child) => {
        child.stdout!.on('data', (chunk) => (printed += chunk))
        // `latest` is where each partition's first fetch finds the log: produce only once both
        // partitions' fetches are held by the server (a fixed sleep lost that race under load).
        await waitUntil('both partitions long-poll', async () => (await longPolls()) >= 2, 15_000)
        assertExit(await edgelog(['produce', 'cli-follow', '--key', 'k'], { stdin: 'new-1\nnew-2\n' }), 0)
        const deadline = Date.now() + 10_000
        while (!printed.includes('new-2') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
      },
    })
    assertExit(run, 0)
    assert.equal(run.stdout, 'new-1\nnew-2\n')
  })

  test('consume --follow stops on SIGINT with exit code 130', slow, async () => {
    const run = await edgelog(['consume', 'cli-follow', '--follow'], {
      whileRunning: async (child) => {
        await new Promise((resolve) => setTimeout(resolve, 700))
        child.kill('SIGINT')
        await new Promise((resolve) => child.once('exit', resolve))
      },
    })
    assertExit(run, 130)
  })

  test('produce to a missing topic exits 1 with the server error', slow, async () => {
    const run = await edgelog(['produce', 'cli-no-such-topic'], { stdin: numberedLines(10) })
    assertExit(run, 1)
    assert.match(run.stderr, /^error: UNKNOWN_TOPIC_OR_PARTITION: .+/m)
    assert.match(run.stderr, /produced 0 records/)
  })

  test('a bad input line stops the run after sending the lines before it', slow, async () => {
    assertExit(await edgelog(['topics', 'create', 'cli-bad-input']), 0)
    const run = await edgelog(['produce', 'cli-bad-input', '--format', 'ndjson'], { stdin: '1\n2\n{oops\n4\n' })
    assertExit(run, 1)
    assert.match(run.stderr, /^error: INVALID_RECORD: stdin line 3: not JSON/m)
    const records = parseRecords((await edgelog(['consume', 'cli-bad-input'])).stdout)
    assert.deepEqual(records.map((record) => record.value), [1, 2])
  })
})

async function longPolls(): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text()
  return Number(/^edgelog_long_polls (\d+)$/m.exec(text)?.[1] ?? 0)
}

describe('edgelog groups', () => {
  test('list, describe, reset (dry run, offset, timestamp, topic:partitions) and delete', slow, async () => {
    assertExit(await edgelog(['topics', 'create', 'cli-grp', '--partitions', '2']), 0)
    assertExit(await edgelog(['produce', 'cli-grp', '--partition', '0'], { stdin: numberedLines(5) }), 0)
    assertExit(await edgelog(['produce', 'cli-grp', '--partition', '1'], { stdin: numberedLines(3) }), 0)
    assertExit(await edgelog(['consume', 'cli-grp', '--group', 'cli-readers']), 0)

    const listed = await edgelog(['groups', 'list'])
    assertExit(listed, 0)
    assert.match(listed.stdout, /^GROUP\s+STATE\s+MEMBERS\s+EPOCH$/m)
    assert.match(listed.stdout, /^cli-readers\s+Empty\s+0\s+0$/m)

    const described = await edgelog(['groups', 'describe', 'cli-readers'])
    assertExit(described, 0)
    assert.match(described.stdout, /^Group: cli-readers {2}State: Empty/m)
    assert.match(described.stdout, /^cli-grp\s+0\s+5\s+5\s+0\s+-$/m)
    assert.match(described.stdout, /^cli-grp\s+1\s+3\s+3\s+0\s+-$/m)

    const dry = await edgelog(['groups', 'reset', 'cli-readers', '--to', 'earliest', '--dry-run'])
    assertExit(dry, 0)
    assert.match(dry.stdout, /^cli-grp\s+0\s+5\s+0$/m)
    assert.match(dry.stdout, /dry run/)
    const exact = await edgelog(['groups', 'reset', 'cli-readers', '--to-offset', '2', '--topic', 'cli-grp:0'])
    assertExit(exact, 0)
    assert.match(exact.stdout, /^cli-grp\s+0\s+5\s+2$/m)
    const timed = await edgelog(['groups', 'reset', 'cli-readers', '--to-timestamp', '2000-01-01T00:00:00Z', '--topic', 'cli-grp:1', '--json'])
    assertExit(timed, 0)
    assert.deepEqual(JSON.parse(timed.stdout).offsets, [{ topic: 'cli-grp', partition: 1, previous: 3, offset: 0 }])
    // A consume with the group now starts at the reset offsets: 3 from partition 0, 3 from 1.
    const again = parseRecords((await edgelog(['consume', 'cli-grp', '--group', 'cli-readers'])).stdout)
    assert.equal(again.length, 6)

    // A group with a member can be neither reset nor deleted.
    const join = await fetch(`${server.url}/v1/groups/cli-readers/members`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ topics: ['cli-grp'] }),
    })
    const { memberId } = await join.json() as { memberId: string }
    const described2 = await edgelog(['groups', 'describe', 'cli-readers'])
    assert.match(described2.stdout, new RegExp(`^${memberId}\\s+-\\s+1\\s+stable\\s+cli-grp:0,1\\s+-$`, 'm'))
    const busy = await edgelog(['groups', 'reset', 'cli-readers', '--to', 'latest'])
    assertExit(busy, 1)
    assert.match(busy.stderr, /^error: NON_EMPTY_GROUP: /m)
    assertExit(await edgelog(['groups', 'delete', 'cli-readers']), 1)
    await fetch(`${server.url}/v1/groups/cli-readers/members/${memberId}`, { method: 'DELETE' })
    const deleted = await edgelog(['groups', 'delete', 'cli-readers'])
    assertExit(deleted, 0)
    assert.match(deleted.stdout, /deleted group cli-readers/)
    const gone = await edgelog(['groups', 'describe', 'cli-readers'])
    assertExit(gone, 1)
    assert.match(gone.stderr, /^error: GROUP_ID_NOT_FOUND: /m)
  })

  test('usage errors: no target, two targets, a bad timestamp, an unknown action', slow, async () => {
    for (const args of [
      ['groups', 'reset', 'g'],
      ['groups', 'reset', 'g', '--to', 'earliest', '--to-offset', '1'],
      ['groups', 'reset', 'g', '--to-timestamp', 'yesterday'],
      ['groups', 'reset', 'g', '--to', 'middle'],
      ['groups', 'frobnicate'],
    ]) {
      const run = await edgelog(args)
      assertExit(run, 2)
      assert.match(run.stderr, /Run 'edgelog groups --help' for usage\./)
    }
  })
})
