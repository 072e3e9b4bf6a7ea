// The CLI's strict argument parser, its usage errors as a user sees them (exit code 2 and a
// helpful line), the help text covering every flag, and the pure pieces of `produce` that
// turn stdin into records (line splitting with its bounds, record building).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { commonFlags, parseArgs, UsageError } from '../../src/cli/args.ts'
import { runCli, type CliIO } from '../../src/cli/main.ts'
import { commandHelp, mainHelp } from '../../src/cli/help.ts'
import { LineReader, ProducePipeline, produceFlags, toRecord, type Line } from '../../src/cli/produce.ts'
import { consumeFlags, formatValue, parseFrom } from '../../src/cli/consume.ts'
import { createFlags, formatTable, parseConfig } from '../../src/cli/topics.ts'
import { groupsFlags, parseTimestamp, parseTopicSpecs, resetTarget } from '../../src/cli/groups.ts'
import { formatBytes, formatSummary } from '../../src/cli/progress.ts'
import { benchFlags } from '../../src/cli/bench.ts'

const spec = {
  flags: {
    ...commonFlags,
    partitions: { type: 'integer', min: 1, max: 100 },
    acks: { type: 'string', choices: ['0', '1', 'all'] },
    from: { type: 'string' },
    follow: { type: 'boolean' },
    config: { type: 'string', multiple: true },
  },
  positionals: { names: ['TOPIC'], min: 1, max: 1 },
} as const

function usageError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof UsageError, `expected a UsageError, got ${String(error)}`)
    assert.match(error.message, pattern)
    return true
  })
}

describe('parseArgs', () => {
  test('reads --x v, --x=v, switches, repeated flags and positionals', () => {
    const { flags, positionals } = parseArgs(
      ['orders', '--partitions', '3', '--acks=all', '--follow', '--config', 'a=1', '--config=b=2'],
      spec,
    )
    assert.deepEqual(positionals, ['orders'])
    assert.equal(flags.partitions, 3)
    assert.equal(flags.acks, 'all')
    assert.equal(flags.follow, true)
    assert.deepEqual(flags.config, ['a=1', 'b=2'])
  })

  test('absent flags: undefined values, false switches, empty lists', () => {
    const { flags } = parseArgs(['orders'], spec)
    assert.equal(flags.partitions, undefined)
    assert.equal(flags.follow, false)
    assert.deepEqual(flags.config, [])
  })

  test('switches accept =true and =false, nothing else', () => {
    assert.equal(parseArgs(['t', '--follow=false'], spec).flags.follow, false)
    usageError(() => parseArgs(['t', '--follow=yes'], spec), /--follow is a switch/)
  })

  test('a value may start with a single dash; "-" and everything after "--" are positionals', () => {
    assert.equal(parseArgs(['t', '--from', '-1'], spec).flags.from, '-1')
    assert.deepEqual(parseArgs(['-'], spec).positionals, ['-'])
    assert.deepEqual(parseArgs(['--', '--not-a-flag'], spec).positionals, ['--not-a-flag'])
  })

  test('-h is the short form of --help', () => {
    assert.equal(parseArgs(['t', '-h'], spec).flags.help, true)
  })

  test('an unknown flag is an error that suggests the near miss', () => {
    usageError(() => parseArgs(['t', '--partiton', '3'], spec), /unknown flag --partiton \(did you mean --partitions\?\)/)
    usageError(() => parseArgs(['t', '--folow'], spec), /did you mean --follow/)
    usageError(() => parseArgs(['t', '--zzzzzz'], spec), /^unknown flag --zzzzzz$/)
    usageError(() => parseArgs(['t', '-x'], spec), /unknown flag -x/)
  })

  test('a flag without its value is an error, also when the next word is another flag', () => {
    usageError(() => parseArgs(['t', '--acks'], spec), /--acks needs a value/)
    usageError(() => parseArgs(['t', '--from', '--follow'], spec), /--from needs a value, got the flag --follow/)
    assert.equal(parseArgs(['t', '--from=--follow'], spec).flags.from, '--follow')
  })

  test('integers are whole decimal numbers within their bounds', () => {
    for (const bad of ['0', '101', '1.5', '1e2', 'three', '', '0x10', '99999999999999999999']) {
      usageError(() => parseArgs(['t', `--partitions=${bad}`], spec), /--partitions must be an integer from 1 to 100/)
    }
  })

  test('choices are enforced', () => {
    usageError(() => parseArgs(['t', '--acks', '2'], spec), /--acks must be one of 0, 1, all, got '2'/)
  })

  test('a single-valued flag given twice is an error rather than last-one-wins', () => {
    usageError(() => parseArgs(['t', '--acks', '1', '--acks', 'all'], spec), /--acks was given more than once/)
  })

  test('positional counts are checked', () => {
    usageError(() => parseArgs([], spec), /missing TOPIC/)
    usageError(() => parseArgs(['a', 'b', 'c'], spec), /unexpected arguments: b c/)
  })

  test('a runaway argv is refused', () => {
    usageError(() => parseArgs(Array.from({ length: 10_001 }, () => 't'), spec), /too many arguments/)
  })
})

describe('help text', () => {
  const commands = {
    topics: createFlags,
    produce: produceFlags,
    consume: consumeFlags,
    groups: groupsFlags,
    bench: benchFlags,
  }
  for (const [command, flags] of Object.entries(commands)) {
    test(`documents every flag of ${command}`, () => {
      const text = commandHelp(command)
      assert.ok(text !== undefined)
      for (const name of Object.keys(flags)) assert.match(text, new RegExp(`--${name}\\b`), `--${name} missing`)
    })
  }

  test('the overview names every command', () => {
    for (const command of ['serve', 'topics', 'produce', 'consume', 'groups', 'bench']) assert.match(mainHelp(), new RegExp(`\\b${command}\\b`))
  })
})

describe('groups reset arguments', () => {
  test('exactly one reset target', () => {
    assert.equal(resetTarget('earliest', undefined, undefined), 'earliest')
    assert.deepEqual(resetTarget(undefined, 12, undefined), { offset: 12 })
    assert.deepEqual(resetTarget(undefined, undefined, '2024-05-01T12:00:00Z'), { timestamp: Date.UTC(2024, 4, 1, 12) })
    assert.deepEqual(resetTarget(undefined, undefined, '1700000000000'), { timestamp: 1700000000000 })
    usageError(() => resetTarget(undefined, undefined, undefined), /exactly one/)
    usageError(() => resetTarget('latest', 3, undefined), /exactly one/)
  })

  test('timestamps: epoch ms or ISO-8601 with a zone, nothing else', () => {
    for (const bad of ['yesterday', '2024-05-01', '2024-05-01T12:00:00', '-5', '1e12', '2024-13-45T99:99:99Z']) {
      usageError(() => parseTimestamp(bad), /--to-timestamp/)
    }
  })

  test('topic specs: TOPIC or TOPIC:P,P', () => {
    assert.deepEqual(parseTopicSpecs(['orders', 'audit:0,2,2']), [{ topic: 'orders' }, { topic: 'audit', partitions: [0, 2] }])
    for (const bad of ['orders:', ':1', 'orders:a', 'orders:1,,2', 'orders:-1']) usageError(() => parseTopicSpecs([bad]), /--topic/)
  })
})

// ---- runCli usage paths (no server needed: they fail before any request) -------------------

function captureIO(env: Record<string, string | undefined> = {}) {
  const out: string[] = []
  const err: string[] = []
  const io: CliIO = {
    stdin: new ReadableStream({ start: (controller) => controller.close() }),
    stdout: (text) => void out.push(text),
    stderr: (text) => void err.push(text),
    isTTY: false,
    env,
  }
  return { io, stdout: () => out.join(''), stderr: () => err.join('') }
}

describe('runCli usage', () => {
  test('no command prints the overview to stderr and exits 2', async () => {
    const capture = captureIO()
    assert.equal(await runCli([], capture.io), 2)
    assert.match(capture.stderr(), /Usage: edgelog COMMAND/)
  })

  test('--help, help COMMAND and COMMAND --help exit 0 with the text on stdout', async () => {
    for (const argv of [['--help'], ['help', 'produce'], ['produce', '--help'], ['topics', 'create', 'x', '--nonsense', '-h']]) {
      const capture = captureIO()
      assert.equal(await runCli(argv, capture.io), 0, argv.join(' '))
      assert.match(capture.stdout(), /Usage/)
    }
  })

  test('an unknown command exits 2', async () => {
    const capture = captureIO()
    assert.equal(await runCli(['prodcue', 't'], capture.io), 2)
    assert.match(capture.stderr(), /error: unknown command 'prodcue'/)
  })

  test('usage errors exit 2 and point at the command help', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['produce'], /error: missing TOPIC/],
      [['produce', 't', '--partiton', '1'], /did you mean --partition\?/],
      [['produce', 't', '--key', 'k', '--key-field', 'id'], /--key and --key-field cannot be used together/],
      [['produce', 't', '--records'], /--records needs --format ndjson/],
      [['consume', 't', '--from', 'yesterday'], /--from must be earliest, latest or an offset/],
      [['topics'], /missing what to do/],
      [['topics', 'rename', 'x'], /unknown topics action 'rename'/],
      [['topics', 'create', 'x', '--config', 'novalue'], /--config takes key=value/],
      [['topics', 'list', '--url', 'not a url'], /'not a url' is not a URL/],
      [['topics', 'list', '--url', 'ftp://example.com'], /not an http/],
    ]
    for (const [argv, pattern] of cases) {
      const capture = captureIO()
      assert.equal(await runCli(argv, capture.io), 2, argv.join(' '))
      assert.match(capture.stderr(), pattern)
      assert.match(capture.stderr(), /Run 'edgelog \w+ --help' for usage\./)
    }
  })

  test('$EDGELOG_URL is used when --url is absent, and a bad one is a usage error', async () => {
    const capture = captureIO({ EDGELOG_URL: 'nope' })
    assert.equal(await runCli(['topics', 'list'], capture.io), 2)
    assert.match(capture.stderr(), /'nope' is not a URL/)
  })

  test('a node that does not answer is error 1 with a network code', async () => {
    // Port 9 (discard) on loopback is closed on any test machine; the connection is refused.
    const capture = captureIO()
    assert.equal(await runCli(['topics', 'list', '--url', 'http://127.0.0.1:9'], capture.io), 1)
    assert.match(capture.stderr(), /^error: NETWORK_EXCEPTION: /)
  })
})

// ---- produce input ---------------------------------------------------------------------------

function streamOf(...chunks: Array<string | Uint8Array>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk)
      controller.close()
    },
  })
}

async function readAll(reader: LineReader): Promise<Line[]> {
  const lines: Line[] = []
  for (let line = await reader.next(); line !== undefined; line = await reader.next()) lines.push(line)
  return lines
}

describe('LineReader', () => {
  test('splits on LF and CRLF, across chunk boundaries, keeping a last line without a break', async () => {
    const lines = await readAll(new LineReader(streamOf('al', 'pha\r\nbe', 'ta\n\ngam', 'ma'), 100))
    assert.deepEqual(lines.map((l) => l.text), ['alpha', 'beta', '', 'gamma'])
    assert.deepEqual(lines.map((l) => l.number), [1, 2, 3, 4])
    assert.deepEqual(lines.map((l) => l.bytes), [5, 4, 0, 5])
    assert.deepEqual(lines.map((l) => l.consumed), [7, 5, 1, 5], 'the input each line took, breaks included')
  })

  test('a multi-byte character split between chunks is decoded whole', async () => {
    const bytes = new TextEncoder().encode('né\n')
    const lines = await readAll(new LineReader(streamOf(bytes.subarray(0, 2), bytes.subarray(2)), 100))
    assert.deepEqual(lines.map((l) => l.text), ['né'])
  })

  test('empty input has no lines; a final newline does not add an empty line', async () => {
    assert.deepEqual(await readAll(new LineReader(streamOf(), 10)), [])
    assert.deepEqual((await readAll(new LineReader(streamOf('a\n'), 10))).map((l) => l.text), ['a'])
  })

  test('a line over the limit is refused with its line number, even before its newline arrives', async () => {
    const reader = new LineReader(streamOf('ok\n', 'x'.repeat(6), 'y'.repeat(6)), 10)
    assert.equal((await reader.next())?.text, 'ok')
    await assert.rejects(reader.next(), { code: 'MESSAGE_TOO_LARGE', message: /stdin line 2 is longer than 10 bytes/ })
  })

  test('invalid UTF-8 is refused rather than silently replaced', async () => {
    const reader = new LineReader(streamOf(new Uint8Array([0x61, 0xff, 0x0a])), 10)
    await assert.rejects(reader.next(), { code: 'INVALID_RECORD', message: /line 1 is not valid UTF-8/ })
  })

  test('cancel ends a pending read', async () => {
    const reader = new LineReader(new ReadableStream<Uint8Array>({}), 10)
    const pending = reader.next()
    reader.cancel()
    assert.equal(await pending, undefined)
  })
})

describe('toRecord', () => {
  const line = (text: string): Line => ({ text, bytes: text.length, number: 7, consumed: text.length + 1 })
  const base = { format: 'lines', wholeRecords: false, key: undefined, keyField: undefined, partition: undefined } as const

  test('lines: the line is a string value; --key and --partition apply to every record', () => {
    assert.deepEqual(toRecord(line('{"a":1}'), base), { value: '{"a":1}' })
    assert.deepEqual(toRecord(line('x'), { ...base, key: 'k', partition: 2 }), { value: 'x', key: 'k', partition: 2 })
  })

  test('ndjson: each line is a JSON value; bad JSON names the line', () => {
    const ndjson = { ...base, format: 'ndjson' } as const
    assert.deepEqual(toRecord(line('{"a":1}'), ndjson), { value: { a: 1 } })
    assert.deepEqual(toRecord(line('42'), ndjson), { value: 42 })
    assert.throws(() => toRecord(line('{a:1}'), ndjson), { code: 'INVALID_RECORD', message: /stdin line 7: not JSON/ })
  })

  test('--key-field takes the key from the value, scalars as text, absent as no key', () => {
    const ndjson = { ...base, format: 'ndjson', keyField: 'id' } as const
    assert.deepEqual(toRecord(line('{"id":"u1","n":1}'), ndjson), { key: 'u1', value: { id: 'u1', n: 1 } })
    assert.deepEqual(toRecord(line('{"id":12}'), ndjson), { key: '12', value: { id: 12 } })
    assert.deepEqual(toRecord(line('{"n":1}'), ndjson), { key: null, value: { n: 1 } })
    assert.deepEqual(toRecord(line('"text"'), ndjson), { key: null, value: 'text' })
    assert.throws(() => toRecord(line('{"id":{"x":1}}'), ndjson), /key field 'id' is an object or array/)
  })

  test('--records: an object with a value field is a whole record, checked strictly', () => {
    const records = { ...base, format: 'ndjson', wholeRecords: true, key: 'default' } as const
    assert.deepEqual(toRecord(line('{"key":"k","value":[1],"headers":{"h":"v"},"partition":1}'), records), {
      key: 'k',
      value: [1],
      headers: { h: 'v' },
      partition: 1,
    })
    assert.deepEqual(toRecord(line('{"value":null}'), records), { value: null, key: 'default' })
    assert.deepEqual(toRecord(line('{"other":1}'), records), { value: { other: 1 }, key: 'default' })
    assert.throws(() => toRecord(line('{"value":1,"partiton":2}'), records), /stdin line 7: not a record/)
  })
})

describe('ProducePipeline', () => {
  /** A send whose requests finish only when the test says so, to watch batching and ordering. */
  function harness(options: { batchSize: number; lingerMs?: number; maxInFlight: number }) {
    const sent: Array<{ values: unknown[]; finish: (error?: Error) => void }> = []
    let inFlight = 0
    let inFlightMax = 0
    let failures = 0
    const pipeline = new ProducePipeline({
      send: (records) =>
        new Promise<void>((resolve, reject) => {
          inFlight++
          inFlightMax = Math.max(inFlightMax, inFlight)
          sent.push({
            values: records.map((r) => r.value),
            finish: (error) => {
              inFlight--
              if (error) reject(error)
              else resolve()
            },
          })
        }),
      batchSize: options.batchSize,
      lingerMs: options.lingerMs ?? 10_000,
      maxInFlight: options.maxInFlight,
      onProgress: () => {},
      onFailure: () => failures++,
    })
    return { pipeline, sent, inFlightMax: () => inFlightMax, failures: () => failures }
  }
  const tick = () => new Promise((resolve) => setTimeout(resolve, 5))

  test('full batches go out in order, never more than maxInFlight at once, and add() waits', async () => {
    const h = harness({ batchSize: 2, maxInFlight: 2 })
    let added = 0
    const adding = (async () => {
      for (let i = 1; i <= 10; i++) {
        await h.pipeline.add({ value: i }, 1)
        added = i
      }
    })()
    await tick()
    // Two batches in flight, a third filled and waiting for a slot: reading has stopped.
    assert.equal(h.sent.length, 2)
    assert.equal(added, 5)
    // Finishing the requests one at a time lets the rest through, still in order.
    for (let i = 0; i < h.sent.length; i++) {
      h.sent[i]!.finish()
      await tick()
    }
    await adding
    await h.pipeline.close()
    assert.deepEqual(h.sent.map((s) => s.values), [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]])
    assert.equal(h.inFlightMax(), 2)
    assert.equal(h.pipeline.sentRecords, 10)
    assert.equal(h.pipeline.sentBytes, 10)
  })

  test('a part-filled batch goes out after lingerMs', async () => {
    const h = harness({ batchSize: 100, lingerMs: 10, maxInFlight: 1 })
    await h.pipeline.add({ value: 'a' }, 1)
    assert.equal(h.sent.length, 0)
    await new Promise((resolve) => setTimeout(resolve, 40))
    assert.deepEqual(h.sent.map((s) => s.values), [['a']])
    h.sent[0]!.finish()
    await h.pipeline.close()
  })

  test('after a failed batch nothing more is sent and the first error is kept', async () => {
    const h = harness({ batchSize: 1, maxInFlight: 1 })
    await h.pipeline.add({ value: 1 }, 1)
    const second = h.pipeline.add({ value: 2 }, 1)
    h.sent[0]!.finish(new Error('refused'))
    await second
    await h.pipeline.close()
    assert.equal(h.sent.length, 1)
    assert.equal((h.pipeline.failure as Error).message, 'refused')
    assert.equal(h.failures(), 1)
    assert.equal(h.pipeline.sentRecords, 0)
  })
})

// ---- small formatting helpers ----------------------------------------------------------------

describe('formatting', () => {
  test('topic config entries', () => {
    assert.deepEqual(parseConfig(['retention.ms=1000', 'x=a=b']), { 'retention.ms': '1000', x: 'a=b' })
    assert.throws(() => parseConfig(['a=1', 'a=2']), /given more than once/)
    assert.throws(() => parseConfig(['=1']), /key=value/)
  })

  test('tables align columns and trim trailing space', () => {
    assert.equal(formatTable(['A', 'LONG'], [['xyz', '1'], ['q', '']]), 'A    LONG\nxyz  1\nq\n')
  })

  test('--from', () => {
    assert.equal(parseFrom('earliest'), 'earliest')
    assert.equal(parseFrom('latest'), 'latest')
    assert.equal(parseFrom('42'), 42)
    assert.throws(() => parseFrom('-1'), UsageError)
    assert.throws(() => parseFrom('99999999999999999'), UsageError)
  })

  test('--format value prints strings raw and everything else as JSON', () => {
    assert.equal(formatValue('a b'), 'a b\n')
    assert.equal(formatValue({ a: 1 }), '{"a":1}\n')
    assert.equal(formatValue(null), 'null\n')
  })

  test('summary lines', () => {
    assert.equal(formatSummary('produced', 2500, 10, 500), 'produced 2,500 records (10 B) in 0.50 s, 5,000 records/s\n')
    assert.equal(formatBytes(3 * 1024 * 1024), '3.0 MiB')
  })
})
