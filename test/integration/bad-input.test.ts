// Bad input against a real `edgelog serve` process (DESIGN.md "Public contract", RELIABILITY.md
// §5.4): every HTTP endpoint is fed malformed, oversized and hostile input. Each request must be
// answered with its documented {"error": {code, message}} (no stack trace, SQL or file path in the
// message), and after every hostile produce no partition's log end offset may have moved: nothing
// partial is ever appended. At the end the server must still be alive, serve a normal produce and
// fetch, and still hold the 50 records it acknowledged in before() with the same values.
//
// Requests a client library refuses to send (oversized bodies the server cuts off, chunked bodies,
// lying Content-Length headers) go over raw node:net sockets.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { removeDir, startServer, tempDir, type TestServer } from '../helpers/server.ts'

// Small limits, passed as flags, keep the oversize cases cheap.
const MAX_REQUEST_BYTES = 1_048_576
const MAX_RECORDS = 1000
const SMALL_MAX_MESSAGE_BYTES = 2000
const MAX_FETCH_RECORDS = 10_000 // src/api/limits.ts DEFAULT_LIMITS.maxFetchRecords
const MAX_FETCH_BYTES = 16 * 1024 * 1024 // src/api/limits.ts DEFAULT_LIMITS.maxFetchBytes
const MAX_WAIT_MS = 30_000 // src/broker/broker.ts DEFAULT_BROKER_OPTIONS.maxWaitMs

const T = {
  /** 3 partitions; holds the 50 records acknowledged in before(), checked at the very end. */
  main: 'bi-main',
  /** 2 partitions, max.message.bytes 2000. */
  small: 'bi-small',
  /** 3 partitions; the target of most hostile produces. */
  scratch: 'bi-scratch',
  /** 2 partitions; idempotent producers. */
  idem: 'bi-idem',
  /** 1 partition; 5 records, each appended by its own request (so each is its own batch). */
  fetch: 'bi-fetch',
} as const
const ALL_TOPICS = Object.values(T)
const createdTopics = new Set<string>(ALL_TOPICS)

let server: TestServer
let dataDir = ''
let base = ''

/** Every 5xx this file saw: the final check asserts there were none. */
const serverErrors: string[] = []

interface Acked {
  partition: number
  offset: number
  key: string
  value: unknown
  headers: Record<string, string>
}
/** The 50 records acknowledged in before(), with the value a fetch must render for each. */
const acked: Acked[] = []

// ---------------------------------------------------------------- helpers

const enc = new TextEncoder()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function http(
  method: string,
  path: string,
  opts: { json?: unknown; body?: string | Uint8Array; contentType?: string | null; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...opts.headers }
  let body: string | Uint8Array | undefined = opts.body
  if (opts.json !== undefined) body = JSON.stringify(opts.json)
  const type = opts.contentType === undefined ? (body !== undefined ? 'application/json' : undefined) : opts.contentType
  if (type) headers['content-type'] = type
  const res = await fetch(base + path, { method, headers, body: body as BodyInit | undefined })
  if (res.status >= 500) serverErrors.push(`${method} ${path} -> ${res.status}`)
  return res
}

const get = (path: string) => http('GET', path)
const post = (path: string, json: unknown, query = '') => http('POST', path + query, { json })
const postText = (path: string, body: string | Uint8Array, contentType: string | null = 'application/json') =>
  http('POST', path, { body, contentType })

const STACK_FRAME = /\bat\s+(?:async\s+)?\S*\s*\(?[^\s()]+:\d+:\d+\)?|^\s*at\s/m
const SQL = /\bSELECT\b|\bINSERT\b|\bUPDATE\s+\w+\s+SET\b|\bCREATE\s+TABLE\b|sqlite/i
const FILE_PATH =
  /\/(?:work|tmp|home|usr|var|root|opt|private|Users|etc|proc)\/|node_modules|file:\/\/|[A-Za-z]:\\|[\w-]+\/[\w./-]*\.(?:ts|js|mjs|cjs|db|sqlite)\b/

function assertCleanMessage(message: unknown): void {
  assert.equal(typeof message, 'string', 'error.message is a string')
  const m = message as string
  assert.ok(m.length > 0, 'error.message is not empty')
  assert.doesNotMatch(m, STACK_FRAME, `error.message carries a stack trace: ${m}`)
  assert.doesNotMatch(m, SQL, `error.message carries SQL: ${m}`)
  assert.doesNotMatch(m, FILE_PATH, `error.message carries a file path: ${m}`)
  if (dataDir) assert.ok(!m.includes(dataDir), `error.message carries the data directory: ${m}`)
}

/** Checks an error body (already read as text) against {"error": {code, message}}. */
function checkErrorBody(status: number, contentType: string | null, text: string, expectStatus: number, codes: string | string[]) {
  const want = Array.isArray(codes) ? codes : [codes]
  assert.equal(status, expectStatus, `status ${status}, expected ${expectStatus} ${want.join('|')}; body: ${text.slice(0, 300)}`)
  let body: { error?: { code?: unknown; message?: unknown } }
  try {
    body = JSON.parse(text)
  } catch {
    assert.fail(`the ${status} answer is not the JSON error shape (content-type ${contentType}): ${JSON.stringify(text.slice(0, 200))}`)
  }
  assert.match(contentType ?? '', /application\/json/, 'an error is JSON')
  assert.ok(body && typeof body.error === 'object' && body.error !== null, `no "error" object in ${text.slice(0, 300)}`)
  assert.ok(
    want.includes(body.error.code as string),
    `error.code ${String(body.error.code)}, expected ${want.join(' or ')} (message: ${String(body.error.message)})`,
  )
  assertCleanMessage(body.error.message)
  return body.error as { code: string; message: string }
}

async function expectError(res: Response, status: number, codes: string | string[]) {
  return checkErrorBody(res.status, res.headers.get('content-type'), await res.text(), status, codes)
}

async function expectOk<T = any>(res: Response, status = 200): Promise<T> {
  const text = await res.text()
  assert.equal(res.status, status, `status ${res.status}, expected ${status}; body: ${text.slice(0, 300)}`)
  return JSON.parse(text) as T
}

async function logEndOffsets(topic: string): Promise<number[]> {
  const res = await get(`/v1/topics/${topic}`)
  const d = await expectOk<{ partitions: Array<{ partition: number; logEndOffset: number }> }>(res)
  return d.partitions.map((p) => p.logEndOffset)
}

async function allLogEnds(): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {}
  for (const t of ALL_TOPICS) out[t] = await logEndOffsets(t)
  return out
}

/**
 * Runs a hostile request and asserts that no partition of any topic moved its log end offset:
 * nothing, not even a prefix of the request, was appended. The append check runs even when the
 * request's own assertions fail, since a partial append is the worse of the two.
 */
async function nothingAppended<R>(fn: () => Promise<R>): Promise<R> {
  const before = await allLogEnds()
  let result: R | undefined
  let failure: unknown
  try {
    result = await fn()
  } catch (err) {
    failure = err
  }
  await sleep(5) // let an acks=0 append that slipped through reach the log
  const after = await allLogEnds()
  try {
    assert.deepEqual(after, before, 'a rejected request must append nothing to any partition (log end offsets moved)')
  } catch (appendErr) {
    if (failure) (appendErr as Error).message += `\n(the request check also failed: ${(failure as Error).message})`
    throw appendErr
  }
  if (failure) throw failure
  return result as R
}

async function committed(group: string) {
  return (await expectOk<{ offsets: unknown[] }>(await get(`/v1/groups/${group}/offsets`))).offsets
}

const producePath = (topic: string = T.scratch) => `/v1/topics/${topic}/records`
const partitionPath = (topic: string, p: number | string) => `/v1/topics/${topic}/partitions/${p}/records`

/** A produce body of exactly `bytes` bytes: 20 records whose string values fill it. */
function produceBodyOfExactly(bytes: number): string {
  const n = 20
  const skeleton = JSON.stringify({ records: Array.from({ length: n }, () => ({ value: '' })) })
  const room = bytes - skeleton.length
  const each = Math.floor(room / n)
  const values = Array.from({ length: n }, (_, i) => 'e'.repeat(i === n - 1 ? room - each * (n - 1) : each))
  const body = JSON.stringify({ records: values.map((value) => ({ value })) })
  assert.equal(enc.encode(body).byteLength, bytes)
  return body
}

// ---- raw sockets

interface RawResponse {
  /** Status of the first response, when one arrived. */
  status?: number
  headers: Record<string, string>
  body: string
  /** The server closed the connection. */
  closed: boolean
  timedOut: boolean
}

function parseRawResponse(buf: Buffer): { res?: Omit<RawResponse, 'closed' | 'timedOut'>; complete: boolean } {
  let at = 0
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', at)
    if (end < 0) return { complete: false }
    const lines = buf.subarray(at, end).toString('latin1').split('\r\n')
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1])
    const headers: Record<string, string> = {}
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':')
      if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim()
    }
    const start = end + 4
    if (status === 100) {
      at = start
      continue
    }
    if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
      const parts: Buffer[] = []
      let p = start
      for (;;) {
        const lineEnd = buf.indexOf('\r\n', p)
        if (lineEnd < 0) return { res: { status, headers, body: Buffer.concat(parts).toString('utf8') }, complete: false }
        const size = parseInt(buf.subarray(p, lineEnd).toString('latin1'), 16)
        if (size === 0) return { res: { status, headers, body: Buffer.concat(parts).toString('utf8') }, complete: true }
        if (buf.length < lineEnd + 2 + size + 2) return { res: { status, headers, body: Buffer.concat(parts).toString('utf8') }, complete: false }
        parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size))
        p = lineEnd + 2 + size + 2
      }
    }
    const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length'])
    if (length !== undefined) {
      const body = buf.subarray(start, start + length).toString('utf8')
      return { res: { status, headers, body }, complete: buf.length >= start + length }
    }
    return { res: { status, headers, body: buf.subarray(start).toString('utf8') }, complete: false }
  }
}

/**
 * Writes `pieces` to a fresh connection, one by one, and stops writing as soon as the server
 * answers or closes (as curl does). Resolves with the first response once it is complete, the
 * connection closed, or after timeoutMs. `end` half-closes the connection after the last piece.
 */
async function rawExchange(pieces: Array<string | Uint8Array>, opts: { end?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
  const socket = net.connect(server.port, '127.0.0.1')
  let received = Buffer.alloc(0)
  let closed = false
  let settle!: () => void
  const done = new Promise<void>((resolve) => (settle = resolve))
  socket.on('data', (d: Buffer) => {
    received = Buffer.concat([received, d])
    if (parseRawResponse(received).complete) settle()
  })
  socket.on('close', () => {
    closed = true
    settle()
  })
  socket.on('error', () => {}) // EPIPE / ECONNRESET once the server has answered early and closed
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('error', reject)
  })
  // Pace the writes: a server that answers early (on the head alone, or once the limit is
  // passed) and closes while our unread bytes sit in its receive buffer sends a RST, and a RST
  // can discard the answer before we read it. A pause after the head and between slices lets
  // the server answer, and us stop, before much is left unread.
  for (const [i, piece] of pieces.entries()) {
    if (received.length > 0 || closed || socket.destroyed) break
    if (!socket.write(piece)) {
      await Promise.race([new Promise((r) => socket.once('drain', r)), done, sleep(2000)])
    }
    if (i < pieces.length - 1) await sleep(i === 0 ? 50 : 2)
  }
  if (opts.end && !socket.destroyed) socket.end()
  const timedOut = (await Promise.race([done.then(() => false), sleep(opts.timeoutMs ?? 5000).then(() => true)])) && !closed
  socket.destroy()
  const parsed = parseRawResponse(received).res
  if (parsed?.status !== undefined && parsed.status >= 500) serverErrors.push(`raw request -> ${parsed.status}`)
  return { status: parsed?.status, headers: parsed?.headers ?? {}, body: parsed?.body ?? '', closed, timedOut }
}

function requestHead(path: string, headers: Record<string, string | number>): string {
  let head = `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n`
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`
  return head + '\r\n'
}

function slices(bytes: Uint8Array, size = 64 * 1024): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let i = 0; i < bytes.byteLength; i += size) out.push(bytes.subarray(i, i + size))
  return out
}

function chunkedPieces(bytes: Uint8Array): Array<string | Uint8Array> {
  const out: Array<string | Uint8Array> = []
  for (const s of slices(bytes)) out.push(`${s.byteLength.toString(16)}\r\n`, s, '\r\n')
  out.push('0\r\n\r\n')
  return out
}

/** An error answer over a raw socket, or the connection closed without a success. */
function assertRefusedOrClosed(r: RawResponse, what: string) {
  if (r.status === undefined) {
    assert.ok(r.closed || r.timedOut, `${what}: no answer and the connection is still open`)
    return
  }
  assert.ok(r.status >= 400 && r.status < 500, `${what}: answered ${r.status}, expected a 4xx error or a closed connection; body: ${r.body.slice(0, 300)}`)
}

async function assertServing() {
  assert.equal(server.proc.exitCode, null, `server exited:\n${server.output().slice(-2000)}`)
  assert.equal(server.proc.signalCode, null, `server was killed:\n${server.output().slice(-2000)}`)
  const res = await get('/healthz')
  assert.equal(res.status, 200)
  await res.body?.cancel()
}

// ---------------------------------------------------------------- setup

before(async () => {
  dataDir = tempDir('edgelog-bad-input-')
  server = await startServer({
    dataDir,
    args: ['--max-request-bytes', String(MAX_REQUEST_BYTES), '--max-records-per-request', String(MAX_RECORDS)],
  })
  base = server.url

  await expectOk(await post('/v1/topics', { name: T.main, partitions: 3 }), 201)
  await expectOk(await post('/v1/topics', { name: T.small, partitions: 2, config: { 'max.message.bytes': SMALL_MAX_MESSAGE_BYTES } }), 201)
  await expectOk(await post('/v1/topics', { name: T.scratch, partitions: 3 }), 201)
  await expectOk(await post('/v1/topics', { name: T.idem, partitions: 2 }), 201)
  await expectOk(await post('/v1/topics', { name: T.fetch, partitions: 1 }), 201)

  // 50 known records in 5 requests; every 10th value is binary (not UTF-8) and must come back
  // as the same {"base64"}.
  for (let r = 0; r < 5; r++) {
    const batch: Array<Omit<Acked, 'partition' | 'offset'> & { sent: unknown }> = []
    for (let j = 0; j < 10; j++) {
      const i = r * 10 + j
      const binary = i % 10 === 9
      const value = binary
        ? { base64: Buffer.from([0xff, 0xfe, i, 0x00, 0x80]).toString('base64') }
        : { seed: i, text: `seed value ${i} — ünïcödé`, nested: { list: [i, i + 1, null, true] } }
      batch.push({ key: `seed-${i}`, value, sent: value, headers: { seq: String(i), origin: 'before' } })
    }
    const res = await post(producePath(T.main), { records: batch.map((b) => ({ key: b.key, value: b.sent, headers: b.headers })) })
    const { offsets } = await expectOk<{ offsets: Array<{ partition: number; offset: number }> }>(res)
    assert.equal(offsets.length, 10)
    offsets.forEach((o, j) => acked.push({ partition: o.partition, offset: o.offset, key: batch[j]!.key, value: batch[j]!.value, headers: batch[j]!.headers }))
  }
  assert.equal(acked.length, 50)

  for (let i = 0; i < 5; i++) await expectOk(await post(producePath(T.fetch), { records: [{ value: `fetch-${i}` }] }))
})

after(async () => {
  if (server) await server.stop()
  if (dataDir) removeDir(dataDir)
})

// ---------------------------------------------------------------- topic create

describe('POST /v1/topics (create)', () => {
  const badNames: Array<[string, unknown]> = [
    ['empty', ''],
    ["'.'", '.'],
    ["'..'", '..'],
    ['250 characters', 'a'.repeat(250)],
    ['a slash (a/b)', 'a/b'],
    ['a space (a b)', 'a b'],
    ['SQL injection', "x'); DROP TABLE topics;--"],
    ['a NUL byte', 'a\u0000b'],
    ['a control character (\\u0001)', 'a\u0001b'],
    ['a newline', 'a\nb'],
    ['a tab', 'a\tb'],
    ['DEL (\\u007f)', 'a\u007fb'],
    ['non-ASCII (tëst)', 'tëst'],
    ['a combining accent (non-normalized Unicode)', 'te\u0301st'],
    ['an emoji', 'topic-\u{1F600}'],
    ['a path traversal (../x)', '../x'],
  ]
  for (const [what, name] of badNames) {
    test(`refuses a topic name with ${what} (INVALID_TOPIC)`, async () => {
      await expectError(await post('/v1/topics', { name, partitions: 1 }), 400, 'INVALID_TOPIC')
    })
  }

  const badNameTypes: Array<[string, unknown]> = [
    ['a number', 123],
    ['null', null],
    ['an array', ['a']],
    ['an object', { name: 'a' }],
  ]
  for (const [what, name] of badNameTypes) {
    test(`refuses a name that is ${what}`, async () => {
      await expectError(await post('/v1/topics', { name, partitions: 1 }), 400, ['INVALID_TOPIC', 'INVALID_REQUEST'])
    })
  }

  test('refuses a body without a name', async () => {
    await expectError(await post('/v1/topics', { partitions: 1 }), 400, ['INVALID_TOPIC', 'INVALID_REQUEST'])
  })

  test('accepts a 249-character name (the limit is not off by one)', async () => {
    const name = 'b'.repeat(249)
    await expectOk(await post('/v1/topics', { name, partitions: 1 }), 201)
    createdTopics.add(name)
  })

  const badPartitions: Array<[string, string, string | string[]]> = [
    ['0', '0', 'INVALID_PARTITIONS'],
    ['-1', '-1', 'INVALID_PARTITIONS'],
    ['1.5', '1.5', ['INVALID_PARTITIONS', 'INVALID_REQUEST']],
    ['"3" (a string)', '"3"', ['INVALID_PARTITIONS', 'INVALID_REQUEST']],
    ['1e9', '1e9', 'INVALID_PARTITIONS'],
    ['2^53', '9007199254740992', ['INVALID_PARTITIONS', 'INVALID_REQUEST']],
    ['1e400 (overflows to Infinity)', '1e400', ['INVALID_PARTITIONS', 'INVALID_REQUEST']],
    ['null', 'null', ['INVALID_PARTITIONS', 'INVALID_REQUEST']],
    ['true', 'true', ['INVALID_PARTITIONS', 'INVALID_REQUEST']],
  ]
  for (const [what, raw, codes] of badPartitions) {
    test(`refuses partitions ${what}`, async () => {
      await expectError(await postText('/v1/topics', `{"name":"bi-bad-partitions","partitions":${raw}}`), 400, codes)
    })
  }

  for (const rf of [2, 3, 0, -1]) {
    test(`refuses replicationFactor ${rf} on a single node`, async () => {
      await expectError(await post('/v1/topics', { name: 'bi-bad-rf', partitions: 1, replicationFactor: rf }), 400, 'INVALID_REPLICATION_FACTOR')
    })
  }

  const badConfigs: Array<[string, Record<string, unknown>, string | string[]]> = [
    ['an unknown config key', { 'foo.bar': '1' }, 'INVALID_CONFIG'],
    ['a config key with a typo', { 'retention.msec': '1000' }, 'INVALID_CONFIG'],
    ['retention.ms "abc"', { 'retention.ms': 'abc' }, 'INVALID_CONFIG'],
    ['retention.ms "1e3"', { 'retention.ms': '1e3' }, 'INVALID_CONFIG'],
    ['retention.ms -2', { 'retention.ms': -2 }, 'INVALID_CONFIG'],
    ['cleanup.policy "nope"', { 'cleanup.policy': 'nope' }, 'INVALID_CONFIG'],
    ['max.message.bytes 1', { 'max.message.bytes': 1 }, 'INVALID_CONFIG'],
    ['max.message.bytes "-5"', { 'max.message.bytes': '-5' }, 'INVALID_CONFIG'],
    ['min.insync.replicas 0', { 'min.insync.replicas': 0 }, 'INVALID_CONFIG'],
    ['compression.type "rar"', { 'compression.type': 'rar' }, 'INVALID_CONFIG'],
    ['a config value that is an object', { 'max.message.bytes': { a: 1 } }, ['INVALID_CONFIG', 'INVALID_REQUEST']],
    ['a config value that is null', { 'retention.ms': null }, ['INVALID_CONFIG', 'INVALID_REQUEST']],
  ]
  for (const [what, config, codes] of badConfigs) {
    test(`refuses ${what}`, async () => {
      await expectError(await post('/v1/topics', { name: 'bi-bad-config', partitions: 1, config }), 400, codes)
    })
  }

  test('refuses a config that is an array', async () => {
    await expectError(await post('/v1/topics', { name: 'bi-bad-config', config: ['retention.ms'] }), 400, ['INVALID_CONFIG', 'INVALID_REQUEST'])
  })

  test('refuses unknown top-level fields', async () => {
    await expectError(await post('/v1/topics', { name: 'bi-unknown-field', partitions: 1, replicas: 3 }), 400, 'INVALID_REQUEST')
  })

  test('refuses a duplicate create with 409 TOPIC_ALREADY_EXISTS and leaves the topic as it was', async () => {
    const before = await logEndOffsets(T.main)
    await expectError(await post('/v1/topics', { name: T.main, partitions: 7 }), 409, 'TOPIC_ALREADY_EXISTS')
    assert.deepEqual(await logEndOffsets(T.main), before, 'the existing topic keeps its partitions and records')
  })

  const badBodies: Array<[string, string]> = [
    ['a body that is not JSON', 'name=bi-x&partitions=1'],
    ['truncated JSON', '{"name":"bi-x","partitions":'],
    ['a JSON array', '[{"name":"bi-x"}]'],
    ['a JSON string', '"bi-x"'],
    ['JSON null', 'null'],
    ['a JSON number', '42'],
    ['an empty body', ''],
    ['100,000 levels of nesting', `{"name":${'['.repeat(100_000)}${']'.repeat(100_000)}}`],
  ]
  for (const [what, body] of badBodies) {
    test(`refuses ${what} with 400 INVALID_REQUEST`, async () => {
      await expectError(await postText('/v1/topics', body), 400, 'INVALID_REQUEST')
    })
  }

  test('refuses a wrong content-type with 415', async () => {
    await expectError(await postText('/v1/topics', '{"name":"bi-ct"}', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE')
    await expectError(await postText('/v1/topics', '{"name":"bi-ct"}', 'application/x-www-form-urlencoded'), 415, 'UNSUPPORTED_MEDIA_TYPE')
    await expectError(await postText('/v1/topics', '{"name":"bi-ct"}\n', 'application/x-ndjson'), 415, 'UNSUPPORTED_MEDIA_TYPE')
  })

  test('refuses a body with no content-type with 415', async () => {
    await expectError(await postText('/v1/topics', enc.encode('{"name":"bi-ct"}'), null), 415, 'UNSUPPORTED_MEDIA_TYPE')
  })

  test('refuses a request with no body and no content-type', async () => {
    const res = await http('POST', '/v1/topics', { contentType: null })
    assert.ok(res.status === 400 || res.status === 415, `status ${res.status}`)
    await expectError(res, res.status, res.status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'INVALID_REQUEST')
  })

  test('none of the refused creates made a topic', async () => {
    const { topics } = await expectOk<{ topics: Array<{ name: string }> }>(await get('/v1/topics'))
    const unexpected = topics.map((t) => t.name).filter((n) => !createdTopics.has(n))
    assert.deepEqual(unexpected, [], 'only the topics this file created exist')
  })
})

// ---------------------------------------------------------------- produce

describe('POST /v1/topics/{t}/records (produce)', () => {
  const malformed: Array<[string, string | Uint8Array]> = [
    ['malformed JSON', '{"records":[{"value":1},]}'],
    ['truncated JSON', '{"records":[{"value":"abc'],
    ['JSON with a trailing second document', '{"records":[{"value":1}]}{"records":[{"value":2}]}'],
    ['100,000 levels of [ inside value', `{"records":[{"value":${'['.repeat(100_000)}${']'.repeat(100_000)}}]}`],
    ['100,000 levels of [ at top level', `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
    ['100,000 levels of objects inside value', `{"records":[{"value":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}]}`],
    ['invalid UTF-8 (0xff 0xfe) inside a string', Uint8Array.from([...enc.encode('{"records":[{"value":"'), 0xff, 0xfe, ...enc.encode('"}]}')])],
    ['an overlong UTF-8 encoding (0xc0 0xaf)', Uint8Array.from([...enc.encode('{"records":[{"value":"'), 0xc0, 0xaf, ...enc.encode('"}]}')])],
    ['a UTF-8-encoded surrogate (0xed 0xa0 0x80)', Uint8Array.from([...enc.encode('{"records":[{"value":"'), 0xed, 0xa0, 0x80, ...enc.encode('"}]}')])],
    ['a truncated multi-byte sequence at the end', Uint8Array.from([...enc.encode('{"records":[{"value":1}]}'), 0xe2, 0x82])],
    ['an empty body', ''],
    ['records missing', '{}'],
    ['records empty', '{"records":[]}'],
    ['records an object', '{"records":{"value":1}}'],
    ['records a string', '{"records":"value"}'],
    ['records null', '{"records":null}'],
    ['records containing a number', '{"records":[1]}'],
    ['records containing a string', '{"records":["x"]}'],
    ['records containing null', '{"records":[null]}'],
    ['records containing an array', '{"records":[[{"value":1}]]}'],
    ['a body that is an array', '[{"value":1}]'],
    ['a body that is null', 'null'],
    ['an unknown top-level field', '{"records":[{"value":1}],"acks":"all"}'],
  ]
  for (const [what, body] of malformed) {
    test(`refuses ${what} with 400 INVALID_REQUEST, appending nothing`, async () => {
      await nothingAppended(async () => expectError(await postText(producePath(), body), 400, 'INVALID_REQUEST'))
      await assertServing()
    })
  }

  test('refuses duplicate keys in the body (RELIABILITY 5.4 #17), appending nothing', async () => {
    // The first "records" is invalid; JSON.parse silently keeps the second one.
    const body = '{"records":[{"value":1,"partition":-1}],"records":[{"value":"smuggled"}]}'
    await nothingAppended(async () => expectError(await postText(producePath(), body), 400, 'INVALID_REQUEST'))
  })

  const badRecords: Array<[string, unknown]> = [
    ['an unknown field in a record', { value: 1, foo: 2 }],
    ['a record without value', { key: 'k' }],
    ['a key that is a number', { value: 1, key: 5 }],
    ['a key that is an array', { value: 1, key: ['a'] }],
    ['a key that is a boolean', { value: 1, key: true }],
    ['a key that is a non-base64 object', { value: 1, key: { b64: 'YQ==' } }],
    ['a base64 key with an extra field', { value: 1, key: { base64: 'YQ==', x: 1 } }],
    ['a header value that is a number', { value: 1, headers: { h: 1 } }],
    ['a header value that is an object', { value: 1, headers: { h: { a: 1 } } }],
    ['a header value that is a boolean', { value: 1, headers: { h: true } }],
    ['headers that are an array', { value: 1, headers: ['h'] }],
    ['headers that are a string', { value: 1, headers: 'h: v' }],
    ['an empty header name', { value: 1, headers: { '': 'v' } }],
    ['partition -1', { value: 1, partition: -1 }],
    ['partition 1.5', { value: 1, partition: 1.5 }],
    ['partition "1" (a string)', { value: 1, partition: '1' }],
    ['timestamp -1', { value: 1, timestamp: -1 }],
    ['timestamp 1.5', { value: 1, timestamp: 1.5 }],
    ['timestamp "2024-01-01" (a string)', { value: 1, timestamp: '2024-01-01' }],
    ['timestamp 2^53', { value: 1, timestamp: 2 ** 53 }],
    ['value {"base64":"@@@"}', { value: { base64: '@@@' } }],
    ['value base64 with wrong padding (YWJj=)', { value: { base64: 'YWJj=' } }],
    ['value base64 without padding (YQ)', { value: { base64: 'YQ' } }],
    ['value base64 with whitespace', { value: { base64: 'YW Jj' } }],
    ['value base64 in the URL-safe alphabet', { value: { base64: '-_-_' } }],
    ['key {"base64":"@@@"}', { value: 1, key: { base64: '@@@' } }],
    ['key base64 with wrong padding (YQ=)', { value: 1, key: { base64: 'YQ=' } }],
  ]
  for (const [what, record] of badRecords) {
    test(`refuses ${what} with 400, appending nothing`, async () => {
      // A valid record first: the bad one must not let its neighbour through.
      await nothingAppended(async () =>
        expectError(await post(producePath(), { records: [{ value: 'fine', partition: 0 }, record] }), 400, ['INVALID_REQUEST', 'INVALID_RECORD']),
      )
    })
  }

  test('refuses a record for a partition beyond the partition count with 404, appending nothing', async () => {
    await nothingAppended(async () => expectError(await post(producePath(), { records: [{ value: 1, partition: 3 }] }), 404, 'UNKNOWN_TOPIC_OR_PARTITION'))
  })

  test('appends nothing to ANY partition when one record of a multi-record request names a bad partition', async () => {
    const records = [
      { value: 'p0', partition: 0 },
      { value: 'p1', partition: 1 },
      { value: 'p2', partition: 2 },
      { value: 'keyed', key: 'k' },
      { value: 'bad', partition: 7 },
    ]
    await nothingAppended(async () => expectError(await post(producePath(), { records }), 404, 'UNKNOWN_TOPIC_OR_PARTITION'))
  })

  test('refuses a record over max.message.bytes with 413 MESSAGE_TOO_LARGE', async () => {
    await nothingAppended(async () =>
      expectError(await post(producePath(T.small), { records: [{ value: 'x'.repeat(5000) }] }), 413, 'MESSAGE_TOO_LARGE'),
    )
  })

  test('refuses a key, a header or a base64 value over max.message.bytes with 413', async () => {
    await nothingAppended(async () => {
      await expectError(await post(producePath(T.small), { records: [{ value: 1, key: 'k'.repeat(5000) }] }), 413, 'MESSAGE_TOO_LARGE')
      await expectError(await post(producePath(T.small), { records: [{ value: 1, headers: { h: 'h'.repeat(5000) } }] }), 413, 'MESSAGE_TOO_LARGE')
      const base64 = Buffer.alloc(5000, 7).toString('base64')
      await expectError(await post(producePath(T.small), { records: [{ value: { base64 } }] }), 413, 'MESSAGE_TOO_LARGE')
    })
  })

  test('appends nothing when the first records fit but a later one is over max.message.bytes', async () => {
    const records = [
      { value: 'a', partition: 0 },
      { value: 'b', partition: 1 },
      { value: 'c', partition: 0 },
      { value: 'd'.repeat(1500), partition: 1 },
      { value: 'e'.repeat(5000), partition: 1 },
    ]
    await nothingAppended(async () => expectError(await post(producePath(T.small), { records }), 413, 'MESSAGE_TOO_LARGE'))
  })

  test('appends nothing when a later record is too large, through the partition route', async () => {
    const records = [{ value: 'a' }, { value: 'b' }, { value: 'c'.repeat(5000) }]
    await nothingAppended(async () => expectError(await post(partitionPath(T.small, 0), { records }), 413, 'MESSAGE_TOO_LARGE'))
  })

  test(`refuses more than ${MAX_RECORDS} records with 413 RECORD_LIST_TOO_LARGE`, async () => {
    const records = Array.from({ length: MAX_RECORDS + 1 }, (_, i) => ({ value: i }))
    await nothingAppended(async () => expectError(await post(producePath(), { records }), 413, 'RECORD_LIST_TOO_LARGE'))
  })

  test(`accepts exactly ${MAX_RECORDS} records (the limit is not off by one)`, async () => {
    const records = Array.from({ length: MAX_RECORDS }, (_, i) => ({ value: i }))
    const { offsets } = await expectOk<{ offsets: unknown[] }>(await post(producePath(), { records }))
    assert.equal(offsets.length, MAX_RECORDS)
  })

  for (const acks of ['2', 'foo', 'ALL', '1.0', '']) {
    test(`refuses acks=${JSON.stringify(acks)} with 400, appending nothing`, async () => {
      await nothingAppended(async () => expectError(await post(producePath(), { records: [{ value: 1 }] }, `?acks=${acks}`), 400, 'INVALID_REQUEST'))
    })
  }

  test('acks=0 does not skip validation: bad partition, oversized record and bad base64 are still refused', async () => {
    await nothingAppended(async () => {
      await expectError(await post(producePath(), { records: [{ value: 1, partition: 9 }] }, '?acks=0'), 404, 'UNKNOWN_TOPIC_OR_PARTITION')
      await expectError(await post(producePath(T.small), { records: [{ value: 'x'.repeat(5000) }] }, '?acks=0'), 413, 'MESSAGE_TOO_LARGE')
      await expectError(await post(producePath(), { records: [{ value: { base64: '@' } }] }, '?acks=0'), 400, ['INVALID_RECORD', 'INVALID_REQUEST'])
    })
  })

  test('refuses an unknown topic with 404', async () => {
    await nothingAppended(async () => {
      await expectError(await post(producePath('bi-no-such-topic'), { records: [{ value: 1 }] }), 404, 'UNKNOWN_TOPIC_OR_PARTITION')
      const hostile = encodeURIComponent("x'); DROP TABLE topics;--")
      await expectError(await post(`/v1/topics/${hostile}/records`, { records: [{ value: 1 }] }), 404, 'UNKNOWN_TOPIC_OR_PARTITION')
      await expectError(await post(`/v1/topics/a%00b/records`, { records: [{ value: 1 }] }), 404, 'UNKNOWN_TOPIC_OR_PARTITION')
    })
  })

  test('refuses a wrong or missing content-type with 415', async () => {
    await nothingAppended(async () => {
      await expectError(await postText(producePath(), '{"records":[{"value":1}]}', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE')
      await expectError(await postText(producePath(), '{"records":[{"value":1}]}', 'application/xml'), 415, 'UNSUPPORTED_MEDIA_TYPE')
      await expectError(await postText(producePath(), enc.encode('{"records":[{"value":1}]}'), null), 415, 'UNSUPPORTED_MEDIA_TYPE')
    })
  })

  describe('the partition route /partitions/{p}/records', () => {
    for (const p of ['-1', '1.5', 'abc', '1e0', '01', '99999999999999999999']) {
      test(`refuses partition ${JSON.stringify(p)} in the path with 400`, async () => {
        await nothingAppended(async () => expectError(await post(partitionPath(T.scratch, p), { records: [{ value: 1 }] }), 400, 'INVALID_REQUEST'))
      })
    }

    test('refuses a partition beyond the partition count with 404', async () => {
      await nothingAppended(async () => expectError(await post(partitionPath(T.scratch, 3), { records: [{ value: 1 }] }), 404, 'UNKNOWN_TOPIC_OR_PARTITION'))
    })

    test('refuses an unknown topic with 404', async () => {
      await nothingAppended(async () => expectError(await post(partitionPath('bi-no-such-topic', 0), { records: [{ value: 1 }] }), 404, 'UNKNOWN_TOPIC_OR_PARTITION'))
    })

    test('refuses a record naming another partition than the path, appending nothing', async () => {
      const records = [{ value: 1 }, { value: 2, partition: 2 }]
      await nothingAppended(async () => expectError(await post(partitionPath(T.scratch, 1), { records }), 400, ['INVALID_RECORD', 'INVALID_REQUEST']))
    })
  })

  describe('NDJSON bodies', () => {
    const ndjson = 'application/x-ndjson'

    test('refuses one malformed line in the middle with 400 naming the line, appending nothing', async () => {
      const body = '{"value":1}\n{"value":2\n{"value":3}\n'
      const err = await nothingAppended(async () => expectError(await postText(producePath(), body, ndjson), 400, 'INVALID_REQUEST'))
      assert.match(err.message, /line 2\b/, `the message names the bad line: ${err.message}`)
    })

    test('refuses a line with an unknown field with 400 naming the line', async () => {
      const body = '{"value":1}\n{"value":2,"zzz":1}\n{"value":3}\n'
      const err = await nothingAppended(async () => expectError(await postText(producePath(), body, ndjson), 400, 'INVALID_REQUEST'))
      assert.match(err.message, /line 2\b/, `the message names the bad line: ${err.message}`)
    })

    test('refuses a line that is not an object (an array) with 400 naming the line', async () => {
      const body = '{"value":1}\n[1,2]\n{"value":3}\n'
      const err = await nothingAppended(async () => expectError(await postText(producePath(), body, ndjson), 400, 'INVALID_REQUEST'))
      assert.match(err.message, /line 2\b/, `the message names the bad line: ${err.message}`)
    })

    test('refuses a deeply nested line with 400 naming the line', async () => {
      const body = `{"value":1}\n{"value":${'['.repeat(100_000)}${']'.repeat(100_000)}}\n{"value":3}\n`
      const err = await nothingAppended(async () => expectError(await postText(producePath(), body, ndjson), 400, 'INVALID_REQUEST'))
      assert.match(err.message, /line 2\b/, `the message names the bad line: ${err.message}`)
    })

    test('refuses a line with invalid base64 with 400 naming the line (not a records[] index)', async () => {
      const body = '{"value":1}\n{"value":{"base64":"@@"}}\n{"value":3}\n'
      const err = await nothingAppended(async () => expectError(await postText(producePath(), body, ndjson), 400, ['INVALID_RECORD', 'INVALID_REQUEST']))
      assert.match(err.message, /line 2\b/, `an NDJSON error names the line: ${err.message}`)
    })

    test('refuses invalid UTF-8 in an NDJSON body', async () => {
      const body = Uint8Array.from([...enc.encode('{"value":1}\n{"value":"'), 0xff, ...enc.encode('"}\n')])
      await nothingAppended(async () => expectError(await postText(producePath(), body, ndjson), 400, 'INVALID_REQUEST'))
    })

    test('refuses an empty NDJSON body with 400', async () => {
      await nothingAppended(async () => expectError(await postText(producePath(), '', ndjson), 400, 'INVALID_REQUEST'))
    })

    test('refuses an NDJSON body of blank lines only with 400', async () => {
      await nothingAppended(async () => expectError(await postText(producePath(), '\n\n   \n\r\n', ndjson), 400, 'INVALID_REQUEST'))
    })

    test(`refuses more than ${MAX_RECORDS} NDJSON records with 413, appending nothing (no silent truncation)`, async () => {
      const body = Array.from({ length: MAX_RECORDS + 1 }, (_, i) => JSON.stringify({ value: i })).join('\n')
      await nothingAppended(async () => expectError(await postText(producePath(), body, ndjson), 413, 'RECORD_LIST_TOO_LARGE'))
    })

    test(`refuses ${MAX_RECORDS} good NDJSON lines followed by a bad one, appending nothing`, async () => {
      const body = [...Array.from({ length: MAX_RECORDS }, (_, i) => JSON.stringify({ value: i })), 'not json'].join('\n')
      await nothingAppended(async () => {
        const res = await postText(producePath(), body, ndjson)
        assert.ok(res.status === 400 || res.status === 413, `expected 400 or 413, got ${res.status}: ${(await res.clone().text()).slice(0, 200)}`)
        await expectError(res, res.status, res.status === 400 ? 'INVALID_REQUEST' : 'RECORD_LIST_TOO_LARGE')
      })
    })
  })

  describe('bodies over the byte limit', () => {
    test('refuses a body one byte over the limit with 413 RECORD_LIST_TOO_LARGE', async () => {
      const body = produceBodyOfExactly(MAX_REQUEST_BYTES + 1)
      await nothingAppended(async () => expectError(await postText(producePath(), body), 413, 'RECORD_LIST_TOO_LARGE'))
    })

    test('accepts a body of exactly the limit (the limit is not off by one)', async () => {
      const body = produceBodyOfExactly(MAX_REQUEST_BYTES)
      const { offsets } = await expectOk<{ offsets: unknown[] }>(await postText(producePath(), body))
      assert.equal(offsets.length, 20)
    })

    const oversized = enc.encode(produceBodyOfExactly(1_300_000)) // a valid produce request, only too big

    test('refuses a body over the limit with a correct Content-Length with a JSON 413 RECORD_LIST_TOO_LARGE', async () => {
      await nothingAppended(async () => {
        const head = requestHead(producePath(), { 'Content-Type': 'application/json', 'Content-Length': oversized.byteLength, Connection: 'close' })
        const r = await rawExchange([head, ...slices(oversized)])
        assert.equal(r.status, 413, `status ${r.status}`)
        checkErrorBody(r.status!, r.headers['content-type'] ?? null, r.body, 413, 'RECORD_LIST_TOO_LARGE')
      })
      await assertServing()
    })

    test('refuses a chunked body over the limit (no Content-Length) with a JSON 413 RECORD_LIST_TOO_LARGE', async () => {
      await nothingAppended(async () => {
        const head = requestHead(producePath(), { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', Connection: 'close' })
        const r = await rawExchange([head, ...chunkedPieces(oversized)])
        assert.equal(r.status, 413, `status ${r.status}`)
        checkErrorBody(r.status!, r.headers['content-type'] ?? null, r.body, 413, 'RECORD_LIST_TOO_LARGE')
      })
      await assertServing()
    })

    test('refuses a declared Content-Length over the limit before the body arrives, with a JSON 413', async () => {
      await nothingAppended(async () => {
        const head = requestHead(producePath(), { 'Content-Type': 'application/json', 'Content-Length': 50_000_000 })
        const r = await rawExchange([head, '{"records":[{"value":"small"}]}'], { timeoutMs: 5000 })
        assert.equal(r.status, 413, `status ${r.status} (closed ${r.closed}, timed out ${r.timedOut})`)
        checkErrorBody(r.status!, r.headers['content-type'] ?? null, r.body, 413, 'RECORD_LIST_TOO_LARGE')
      })
      await assertServing()
    })

    test('a lying Content-Length smaller than an oversized body: an error or a close, nothing appended, still serving', async () => {
      await nothingAppended(async () => {
        const head = requestHead(producePath(), { 'Content-Type': 'application/json', 'Content-Length': 64 })
        const r = await rawExchange([head, ...slices(oversized)])
        assertRefusedOrClosed(r, 'lying Content-Length')
      })
      await assertServing()
    })

    test('a lying Content-Length smaller than a small valid body: an error or a close, nothing appended', async () => {
      const body = JSON.stringify({ records: [{ value: 'lie-1' }, { value: 'lie-2' }] })
      await nothingAppended(async () => {
        const head = requestHead(producePath(), { 'Content-Type': 'application/json', 'Content-Length': 10, Connection: 'close' })
        const r = await rawExchange([head + body])
        assertRefusedOrClosed(r, 'lying Content-Length')
      })
      await assertServing()
    })

    test('a Content-Length larger than the body, then the client closes: nothing appended, still serving', async () => {
      const body = JSON.stringify({ records: [{ value: 'short-1' }, { value: 'short-2' }] })
      await nothingAppended(async () => {
        const head = requestHead(producePath(), { 'Content-Type': 'application/json', 'Content-Length': 5000 })
        const r = await rawExchange([head + body], { end: true, timeoutMs: 3000 })
        if (r.status !== undefined) assert.ok(r.status >= 400, `a truncated body was answered ${r.status}: ${r.body.slice(0, 200)}`)
        await sleep(200) // the server notices the close
      })
      await assertServing()
    })

    test('Content-Length together with chunked Transfer-Encoding on an oversized body: an error or a close, nothing appended', async () => {
      await nothingAppended(async () => {
        const head = requestHead(producePath(), { 'Content-Type': 'application/json', 'Content-Length': 100, 'Transfer-Encoding': 'chunked' })
        const r = await rawExchange([head, ...chunkedPieces(oversized)])
        assertRefusedOrClosed(r, 'Content-Length + Transfer-Encoding')
      })
      await assertServing()
    })
  })
})

// ---------------------------------------------------------------- idempotent produce

describe('idempotent produce (producer {id, epoch, sequence})', () => {
  const path = partitionPath(T.idem, 0)
  let producerId = -1

  before(async () => {
    const p = await expectOk<{ producerId: number; producerEpoch: number }>(await http('POST', '/v1/producers'))
    assert.equal(p.producerEpoch, 0)
    producerId = p.producerId
  })

  test('refuses a producer id that was never issued (UNKNOWN_PRODUCER_ID)', async () => {
    await nothingAppended(async () =>
      expectError(await post(path, { records: [{ value: 1 }], producer: { id: 987_654_321, epoch: 0, sequence: 0 } }), 400, 'UNKNOWN_PRODUCER_ID'),
    )
  })

  test('a duplicate is answered with the original offsets and duplicate: true, appending nothing', async () => {
    const body = { records: [{ value: 'i-a' }, { value: 'i-b' }], producer: { id: producerId, epoch: 0, sequence: 0 } }
    const first = await expectOk<{ offsets: Array<{ partition: number; offset: number }>; duplicate: boolean }>(await post(path, body))
    assert.equal(first.duplicate, false)
    const again = await nothingAppended(async () => expectOk<typeof first>(await post(path, body)))
    assert.equal(again.duplicate, true)
    assert.deepEqual(again.offsets, first.offsets, 'the retry gets the original offsets')
  })

  test('refuses a sequence gap (OUT_OF_ORDER_SEQUENCE_NUMBER)', async () => {
    await nothingAppended(async () =>
      expectError(await post(path, { records: [{ value: 'gap' }], producer: { id: producerId, epoch: 0, sequence: 5 } }), 409, 'OUT_OF_ORDER_SEQUENCE_NUMBER'),
    )
  })

  test('refuses a fresh producer whose first sequence is not 0 (OUT_OF_ORDER_SEQUENCE_NUMBER)', async () => {
    const fresh = await expectOk<{ producerId: number }>(await http('POST', '/v1/producers'))
    await nothingAppended(async () =>
      expectError(await post(path, { records: [{ value: 'x' }], producer: { id: fresh.producerId, epoch: 0, sequence: 3 } }), 409, 'OUT_OF_ORDER_SEQUENCE_NUMBER'),
    )
  })

  test('refuses an oversized idempotent batch with 413, appending nothing', async () => {
    const fresh = await expectOk<{ producerId: number }>(await http('POST', '/v1/producers'))
    const records = [{ value: 'a'.repeat(900) }, { value: 'b'.repeat(900) }, { value: 'c'.repeat(900) }]
    await nothingAppended(async () =>
      expectError(await post(partitionPath(T.small, 0), { records, producer: { id: fresh.producerId, epoch: 0, sequence: 0 } }), 413, 'MESSAGE_TOO_LARGE'),
    )
  })

  const badProducers: Array<[string, unknown]> = [
    ['id a string', { id: '1', epoch: 0, sequence: 0 }],
    ['epoch a string', { id: 1, epoch: '0', sequence: 0 }],
    ['sequence a string', { id: 1, epoch: 0, sequence: '0' }],
    ['epoch 1.5', { id: 1, epoch: 1.5, sequence: 0 }],
    ['negative sequence', { id: 1, epoch: 0, sequence: -1 }],
    ['negative epoch', { id: 1, epoch: -1, sequence: 0 }],
    ['negative id', { id: -1, epoch: 0, sequence: 0 }],
    ['epoch above 32767', { id: 1, epoch: 32768, sequence: 0 }],
    ['sequence above 2^31-1', { id: 1, epoch: 0, sequence: 2 ** 31 }],
    ['missing fields', { id: 1 }],
    ['an unknown field', { id: 1, epoch: 0, sequence: 0, transactional: true }],
    ['null', null],
    ['an array', [1, 0, 0]],
  ]
  for (const [what, producer] of badProducers) {
    test(`refuses producer fields of the wrong type: ${what}`, async () => {
      await nothingAppended(async () => expectError(await post(path, { records: [{ value: 1 }], producer }), 400, 'INVALID_REQUEST'))
    })
  }

  test('refuses producer fields on the topic route (no partition)', async () => {
    await nothingAppended(async () =>
      expectError(await post(producePath(T.idem), { records: [{ value: 1 }], producer: { id: producerId, epoch: 0, sequence: 2 } }), 400, 'INVALID_REQUEST'),
    )
  })

  test('refuses a stale epoch after POST /v1/producers {producerId} bumped it (INVALID_PRODUCER_EPOCH)', async () => {
    const bumped = await expectOk<{ producerId: number; producerEpoch: number }>(await post('/v1/producers', { producerId }))
    assert.equal(bumped.producerId, producerId)
    assert.equal(bumped.producerEpoch, 1)
    await nothingAppended(async () =>
      expectError(await post(path, { records: [{ value: 'zombie' }], producer: { id: producerId, epoch: 0, sequence: 2 } }), 409, 'INVALID_PRODUCER_EPOCH'),
    )
  })

  test('refuses an epoch that was never issued (INVALID_PRODUCER_EPOCH)', async () => {
    await nothingAppended(async () =>
      expectError(await post(path, { records: [{ value: 'future' }], producer: { id: producerId, epoch: 7, sequence: 0 } }), 409, 'INVALID_PRODUCER_EPOCH'),
    )
  })
})

// ---------------------------------------------------------------- POST /v1/producers

describe('POST /v1/producers', () => {
  const bad: Array<[string, string, string, number, string]> = [
    ['malformed JSON', '{"producerId":', 'application/json', 400, 'INVALID_REQUEST'],
    ['a JSON array', '[1]', 'application/json', 400, 'INVALID_REQUEST'],
    ['producerId a string', '{"producerId":"1"}', 'application/json', 400, 'INVALID_REQUEST'],
    ['producerId negative', '{"producerId":-1}', 'application/json', 400, 'INVALID_REQUEST'],
    ['producerId fractional', '{"producerId":1.5}', 'application/json', 400, 'INVALID_REQUEST'],
    ['an unknown field', '{"producerId":0,"epoch":3}', 'application/json', 400, 'INVALID_REQUEST'],
    ['deep nesting', `{"producerId":${'['.repeat(1000)}${']'.repeat(1000)}}`, 'application/json', 400, 'INVALID_REQUEST'],
    ['text/plain', '{"producerId":0}', 'text/plain', 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ]
  for (const [what, body, type, status, code] of bad) {
    test(`refuses ${what}`, async () => {
      await expectError(await postText('/v1/producers', body, type), status, code)
    })
  }

  test('refuses an unknown producerId (UNKNOWN_PRODUCER_ID)', async () => {
    await expectError(await post('/v1/producers', { producerId: 987_654_321 }), 400, 'UNKNOWN_PRODUCER_ID')
  })

  test('refuses an oversized body with 413', async () => {
    const res = await post('/v1/producers', { producerId: 0, pad: 'x'.repeat(10_000) })
    assert.equal(res.status, 413)
    await expectError(res, 413, ['RECORD_LIST_TOO_LARGE', 'MESSAGE_TOO_LARGE', 'INVALID_REQUEST'])
  })

  test('does not silently ignore a body sent without a content-type (415, not a new producer id)', async () => {
    const issued = await expectOk<{ producerId: number }>(await http('POST', '/v1/producers'))
    // A client meaning to bump `issued` (to fence its zombies) but sending no content-type.
    const res = await postText('/v1/producers', enc.encode(JSON.stringify({ producerId: issued.producerId })), null)
    await expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE')
  })
})

// ---------------------------------------------------------------- fetch

describe('GET /v1/topics/{t}/partitions/{p}/records (fetch)', () => {
  const fetchPath = (q: Record<string, string>, topic: string = T.fetch, p: string | number = 0) =>
    `${partitionPath(topic, p)}?${new URLSearchParams(q)}`

  for (const offset of ['-1', 'NaN', '1e3', '1.5', '12abc', '99999999999999999999', '9007199254740992', '1e309', ' 1', '0x10', 'Infinity']) {
    test(`refuses offset=${JSON.stringify(offset)} with 400 INVALID_REQUEST`, async () => {
      await expectError(await get(fetchPath({ offset })), 400, 'INVALID_REQUEST')
    })
  }

  test('refuses an offset beyond the log end with 416 OFFSET_OUT_OF_RANGE, never an empty success', async () => {
    const [end] = await logEndOffsets(T.fetch)
    for (const offset of [end! + 1, end! + 1000, Number.MAX_SAFE_INTEGER]) {
      await expectError(await get(fetchPath({ offset: String(offset) })), 416, 'OFFSET_OUT_OF_RANGE')
    }
  })

  test('an offset at the log end is an empty page, not an error', async () => {
    const [end] = await logEndOffsets(T.fetch)
    const page = await expectOk<{ records: unknown[]; nextOffset: number }>(await get(fetchPath({ offset: String(end) })))
    assert.deepEqual(page.records, [])
    assert.equal(page.nextOffset, end)
  })

  for (const p of ['abc', '-1', '1.5', '1e0', '99999999999999999999']) {
    test(`refuses partition ${JSON.stringify(p)} with 400`, async () => {
      await expectError(await get(fetchPath({ offset: '0' }, T.fetch, p)), 400, 'INVALID_REQUEST')
    })
  }

  test('refuses a partition out of range with 404', async () => {
    await expectError(await get(fetchPath({ offset: '0' }, T.fetch, 1)), 404, 'UNKNOWN_TOPIC_OR_PARTITION')
    await expectError(await get(fetchPath({ offset: '0' }, T.main, 3)), 404, 'UNKNOWN_TOPIC_OR_PARTITION')
  })

  test('refuses an unknown topic with 404', async () => {
    await expectError(await get(fetchPath({ offset: '0' }, 'bi-no-such-topic')), 404, 'UNKNOWN_TOPIC_OR_PARTITION')
  })

  const badParams: Array<[string, Record<string, string>]> = [
    ['maxRecords=0', { maxRecords: '0' }],
    ['maxRecords=100000', { maxRecords: '100000' }],
    [`maxRecords=${MAX_FETCH_RECORDS + 1}`, { maxRecords: String(MAX_FETCH_RECORDS + 1) }],
    ['maxRecords=-1', { maxRecords: '-1' }],
    ['maxRecords=abc', { maxRecords: 'abc' }],
    ['maxBytes=0', { maxBytes: '0' }],
    ['maxBytes=-1', { maxBytes: '-1' }],
    ['maxBytes=-1000000', { maxBytes: '-1000000' }],
    ['maxBytes huge (999999999999)', { maxBytes: '999999999999' }],
    [`maxBytes=${MAX_FETCH_BYTES + 1}`, { maxBytes: String(MAX_FETCH_BYTES + 1) }],
    ['maxBytes=1e6', { maxBytes: '1e6' }],
    ['waitMs=-1', { waitMs: '-1' }],
    [`waitMs=${MAX_WAIT_MS + 1} (above the maximum)`, { waitMs: String(MAX_WAIT_MS + 1) }],
    ['waitMs=99999999999999999999', { waitMs: '99999999999999999999' }],
    ['waitMs=1.5', { waitMs: '1.5' }],
  ]
  for (const [what, q] of badParams) {
    test(`refuses ${what} with 400 INVALID_REQUEST`, async () => {
      await expectError(await get(fetchPath({ offset: '0', ...q })), 400, 'INVALID_REQUEST')
    })
  }

  test('maxBytes=1 still returns exactly one record, and paging with it makes progress (no livelock)', async () => {
    const [end] = await logEndOffsets(T.fetch)
    const seen: unknown[] = []
    let offset = 0
    for (let i = 0; i < end! + 2 && offset < end!; i++) {
      const page = await expectOk<{ records: Array<{ offset: number; value: unknown }>; nextOffset: number }>(
        await get(fetchPath({ offset: String(offset), maxBytes: '1' })),
      )
      assert.equal(page.records.length, 1, `exactly one record at offset ${offset}`)
      assert.equal(page.records[0]!.offset, offset)
      assert.equal(page.nextOffset, offset + 1)
      seen.push(page.records[0]!.value)
      offset = page.nextOffset
    }
    assert.deepEqual(seen, ['fetch-0', 'fetch-1', 'fetch-2', 'fetch-3', 'fetch-4'])
  })

  test('maxBytes=1 against a batch of several records still returns records and moves forward', async () => {
    const p = acked[0]!.partition
    const first = Math.min(...acked.filter((a) => a.partition === p).map((a) => a.offset))
    const page = await expectOk<{ records: Array<{ offset: number }>; nextOffset: number }>(
      await get(fetchPath({ offset: String(first), maxBytes: '1' }, T.main, p)),
    )
    assert.ok(page.records.length >= 1, 'at least one record')
    assert.equal(page.records[0]!.offset, first)
    assert.equal(page.nextOffset, page.records[page.records.length - 1]!.offset + 1)
  })

  test('record headers with CR/LF come back inside the JSON body and inject no response header', async () => {
    const headers = { 'x-evil': 'a\r\nSet-Cookie: pwned=1\r\nX-Injected: 1', 'Set-Cookie\r\nX-Injected2': 'b' }
    const { offsets } = await expectOk<{ offsets: Array<{ partition: number; offset: number }> }>(
      await post(partitionPath(T.scratch, 0), { records: [{ value: 'crlf', headers }] }),
    )
    const res = await get(fetchPath({ offset: String(offsets[0]!.offset), maxRecords: '1' }, T.scratch, 0))
    assert.equal(res.headers.get('set-cookie'), null)
    assert.equal(res.headers.get('x-injected'), null)
    assert.equal(res.headers.get('x-injected2'), null)
    const page = await expectOk<{ records: Array<{ headers: Record<string, unknown> }> }>(res)
    assert.deepEqual(page.records[0]!.headers, headers)
  })
})

// ---------------------------------------------------------------- offsets by timestamp

describe('GET /v1/topics/{t}/partitions/{p}/offsets?timestamp= (offsets by timestamp)', () => {
  for (const timestamp of ['-1', 'abc', '1.5', '1e3', '99999999999999999999', 'yesterday', '2024-01-01T00:00:00Z']) {
    test(`refuses timestamp=${JSON.stringify(timestamp)} with 400`, async () => {
      await expectError(await get(`/v1/topics/${T.fetch}/partitions/0/offsets?${new URLSearchParams({ timestamp })}`), 400, 'INVALID_REQUEST')
    })
  }

  test('refuses a bad partition (400) or one out of range (404) and an unknown topic (404)', async () => {
    await expectError(await get(`/v1/topics/${T.fetch}/partitions/x/offsets?timestamp=0`), 400, 'INVALID_REQUEST')
    await expectError(await get(`/v1/topics/${T.fetch}/partitions/5/offsets?timestamp=0`), 404, 'UNKNOWN_TOPIC_OR_PARTITION')
    await expectError(await get(`/v1/topics/bi-no-such-topic/partitions/0/offsets?timestamp=0`), 404, 'UNKNOWN_TOPIC_OR_PARTITION')
  })
})

// ---------------------------------------------------------------- groups

describe('groups: /v1/groups/{group}/offsets and /lag', () => {
  const GROUP = 'bi-group'
  let baseline: unknown[] = []

  before(async () => {
    await expectOk(await post(`/v1/groups/${GROUP}/offsets`, { offsets: [{ topic: T.main, partition: 0, offset: 1 }] }))
    baseline = await committed(GROUP)
    assert.equal(baseline.length, 1)
  })

  const badIds: Array<[string, string]> = [
    ['a control character', 'a%01b'],
    ['a NUL byte', 'a%00b'],
    ['a newline', 'a%0Ab'],
    ['a carriage return', 'a%0Db'],
    ['DEL', 'a%7Fb'],
    ['300 characters', 'g'.repeat(300)],
    ['a space (a%20b)', 'a%20b'],
    ['non-ASCII (t%C3%ABst)', 't%C3%ABst'],
    ['an encoded slash (a%2Fb)', 'a%2Fb'],
    ['SQL injection', encodeURIComponent("g'); DELETE FROM offsets;--")],
  ]
  for (const [what, id] of badIds) {
    test(`refuses a group id with ${what} on every group endpoint`, async () => {
      await expectError(await get(`/v1/groups/${id}/offsets`), 400, 'INVALID_REQUEST')
      await expectError(await get(`/v1/groups/${id}/lag`), 400, 'INVALID_REQUEST')
      await expectError(await post(`/v1/groups/${id}/offsets`, { offsets: [{ topic: T.main, partition: 0, offset: 0 }] }), 400, 'INVALID_REQUEST')
    })
  }

  test('accepts a 255-character group id (the limit is not off by one)', async () => {
    await expectOk(await get(`/v1/groups/${'g'.repeat(255)}/offsets`))
  })

  const badCommits: Array<[string, () => Promise<Response>, number, string | string[]]> = [
    ['a malformed body', () => postText(`/v1/groups/${GROUP}/offsets`, '{"offsets":['), 400, 'INVALID_REQUEST'],
    ['a body that is an array', () => postText(`/v1/groups/${GROUP}/offsets`, '[{"topic":"bi-main","partition":0,"offset":0}]'), 400, 'INVALID_REQUEST'],
    ['deep nesting', () => postText(`/v1/groups/${GROUP}/offsets`, `{"offsets":${'['.repeat(100_000)}${']'.repeat(100_000)}}`), 400, 'INVALID_REQUEST'],
    ['a wrong content-type', () => postText(`/v1/groups/${GROUP}/offsets`, '{"offsets":[]}', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['offsets missing', () => post(`/v1/groups/${GROUP}/offsets`, {}), 400, 'INVALID_REQUEST'],
    ['offsets empty', () => post(`/v1/groups/${GROUP}/offsets`, { offsets: [] }), 400, 'INVALID_REQUEST'],
    ['offsets an object', () => post(`/v1/groups/${GROUP}/offsets`, { offsets: { topic: T.main, partition: 0, offset: 0 } }), 400, 'INVALID_REQUEST'],
    ['an unknown topic', () => post(`/v1/groups/${GROUP}/offsets`, { offsets: [{ topic: 'bi-no-such-topic', partition: 0, offset: 0 }] }), 404, 'UNKNOWN_TOPIC_OR_PARTITION'],
    ['a partition out of range', () => post(`/v1/groups/${GROUP}/offsets`, { offsets: [{ topic: T.main, partition: 3, offset: 0 }] }), 404, 'UNKNOWN_TOPIC_OR_PARTITION'],
    ['a negative partition', () => post(`/v1/groups/${GROUP}/offsets`, { offsets: [{ topic: T.main, partition: -1, offset: 0 }] }), 400, 'INVALID_REQUEST'],
    ['a negative offset', () => post(`/v1/groups/${GROUP}/offsets`, { offsets: [{ topic: T.main, partition: 0, offset: -1 }] }), 400, ['INVALID_REQUEST', 'INVALID_OFFSET']],
    ['a fractional offset', () => post(`/v1/groups/${GROUP}/offsets`, { offsets: [{ topic: T.main, partition: 0, offset: 1.5 }] }), 400, ['INVALID_REQUEST', 'INVALID_OFFSET']],
    ['an offset as a string', () => post(`/v1/groups/${GROUP}/offsets`, { offsets: [{ topic: T.main, partition: 0, offset: '1' }] }), 400, ['INVALID_REQUEST', 'INVALID_OFFSET']],
    ['an offset past 2^53', () => post(`/v1/groups/${GROUP}/offsets`, { offsets: [{ topic: T.main, partition: 0, offset: 2 ** 53 }] }), 400, ['INVALID_REQUEST', 'INVALID_OFFSET']],
    ['an unknown field in an entry', () => post(`/v1/groups/${GROUP}/offsets`, { offsets: [{ topic: T.main, partition: 0, offset: 0, generation: 3 }] }), 400, 'INVALID_REQUEST'],
    ['an unknown top-level field', () => post(`/v1/groups/${GROUP}/offsets`, { offsets: [{ topic: T.main, partition: 0, offset: 0 }], memberId: 'm' }), 400, 'INVALID_REQUEST'],
    ['metadata over 4096 characters', () => post(`/v1/groups/${GROUP}/offsets`, { offsets: [{ topic: T.main, partition: 0, offset: 0, metadata: 'm'.repeat(5000) }] }), 400, 'INVALID_REQUEST'],
    ['a topic name with SQL in it', () => post(`/v1/groups/${GROUP}/offsets`, { offsets: [{ topic: "x'); DROP TABLE offsets;--", partition: 0, offset: 0 }] }), 404, ['UNKNOWN_TOPIC_OR_PARTITION', 'INVALID_TOPIC']],
  ]
  for (const [what, send, status, codes] of badCommits) {
    test(`refuses a commit with ${what}, committing nothing`, async () => {
      await expectError(await send(), status, codes)
      assert.deepEqual(await committed(GROUP), baseline, 'the committed offsets did not change')
    })
  }

  test('refuses an offset beyond the log end with 416 OFFSET_OUT_OF_RANGE', async () => {
    const [end] = await logEndOffsets(T.main)
    await expectError(await post(`/v1/groups/${GROUP}/offsets`, { offsets: [{ topic: T.main, partition: 0, offset: end! + 1 }] }), 416, 'OFFSET_OUT_OF_RANGE')
    assert.deepEqual(await committed(GROUP), baseline)
  })

  test('a commit with one good and one bad entry commits neither', async () => {
    const [end] = await logEndOffsets(T.main)
    const offsets = [
      { topic: T.main, partition: 1, offset: 0 },
      { topic: T.main, partition: 0, offset: end! + 50 },
    ]
    await expectError(await post(`/v1/groups/${GROUP}/offsets`, { offsets }), 416, 'OFFSET_OUT_OF_RANGE')
    assert.deepEqual(await committed(GROUP), baseline, 'no prefix of the commit was stored')
  })
})

// ---------------------------------------------------------------- routing

describe('routing', () => {
  for (const path of ['/nope', '/v1/nope', '/v1/topics/x/y/z', '/v2/topics', '/v1/groups/bi-group/nope', '/v1/groups/bi-group/members/x/y', `/v1/topics/${T.main}/partitions`]) {
    test(`an unknown path (${path}) is 404 NOT_FOUND JSON`, async () => {
      await expectError(await get(path), 404, 'NOT_FOUND')
    })
  }

  const wrongMethods: Array<[string, string]> = [
    ['PUT', '/v1/topics'],
    ['DELETE', '/v1/topics'],
    ['PATCH', `/v1/topics/${T.main}`],
    ['PUT', `/v1/topics/${T.main}`],
    ['GET', `/v1/topics/${T.main}/records`],
    ['DELETE', `/v1/topics/${T.main}/partitions/0/records`],
    ['PUT', `/v1/topics/${T.main}/partitions/0/records`],
    ['POST', `/v1/topics/${T.main}/partitions/0/offsets`],
    ['GET', '/v1/producers'],
    ['DELETE', '/v1/producers'],
    ['POST', '/v1/groups/bi-group/lag'],
    ['DELETE', '/v1/groups/bi-group/offsets'],
    ['POST', '/healthz'],
    ['POST', '/metrics'],
    ['OPTIONS', '/v1/topics'],
  ]
  for (const [method, path] of wrongMethods) {
    test(`a wrong method (${method} ${path}) is 405 METHOD_NOT_ALLOWED with an Allow header`, async () => {
      await nothingAppended(async () => {
        const res = await http(method, path, method === 'GET' || method === 'OPTIONS' ? {} : { json: { records: [{ value: 1 }] } })
        const allow = (res.headers.get('allow') ?? '').split(', ')
        await expectError(res, 405, 'METHOD_NOT_ALLOWED')
        assert.ok(allow.length > 0 && !allow.includes(method), `Allow: ${allow.join(', ')}`)
      })
    })
  }

  test('Allow names every method the path has (GET brings HEAD)', async () => {
    const res = await http('PUT', `/v1/topics/${T.main}`, { json: {} })
    await expectError(res, 405, 'METHOD_NOT_ALLOWED')
    assert.equal(res.headers.get('allow'), 'DELETE, GET, HEAD')
  })

  test('an unknown HTTP method is refused or the connection closed, and the server keeps serving', async () => {
    const r = await rawExchange([`FROB /v1/topics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`])
    assertRefusedOrClosed(r, 'FROB')
    await assertServing()
  })

  test('deleting an unknown or invalid topic is 404', async () => {
    await expectError(await http('DELETE', '/v1/topics/bi-no-such-topic'), 404, 'UNKNOWN_TOPIC_OR_PARTITION')
    await expectError(await http('DELETE', '/v1/topics/a%00b'), 404, ['UNKNOWN_TOPIC_OR_PARTITION', 'INVALID_TOPIC'])
  })
})

// ---------------------------------------------------------------- afterwards

describe('after all the hostile input', () => {
  test('the server process is still alive and ready', async () => {
    await assertServing()
    const res = await get('/readyz')
    assert.equal(res.status, 200)
    await res.body?.cancel()
    assert.doesNotMatch(server.output(), /invariant violated/, 'no broker invariant broke')
  })

  test('a normal produce and fetch still work', async () => {
    const value = { after: 'all', n: 42, at: Date.now() }
    const { offsets } = await expectOk<{ offsets: Array<{ partition: number; offset: number }> }>(
      await post(producePath(T.main), { records: [{ key: 'after-key', value, headers: { h: 'v' } }] }),
    )
    const [{ partition, offset }] = offsets as [{ partition: number; offset: number }]
    const page = await expectOk<{ records: Array<{ offset: number; key: unknown; value: unknown; headers: unknown }> }>(
      await get(`${partitionPath(T.main, partition)}?offset=${offset}&maxRecords=1`),
    )
    assert.equal(page.records.length, 1)
    assert.deepEqual(page.records[0], { ...page.records[0], offset, key: 'after-key', value, headers: { h: 'v' } })
  })

  test('every record acknowledged in before() is still there with the same key, value and headers', async () => {
    const byPartition = new Map<number, Map<number, { key: unknown; value: unknown; headers: unknown }>>()
    for (const p of new Set(acked.map((a) => a.partition))) {
      const page = await expectOk<{ records: Array<{ offset: number; key: unknown; value: unknown; headers: unknown }> }>(
        await get(`${partitionPath(T.main, p)}?offset=0&maxRecords=${MAX_FETCH_RECORDS}`),
      )
      byPartition.set(p, new Map(page.records.map((r) => [r.offset, r])))
    }
    for (const a of acked) {
      const r = byPartition.get(a.partition)?.get(a.offset)
      assert.ok(r, `acknowledged record ${a.key} at ${T.main}-${a.partition}@${a.offset} is missing`)
      assert.equal(r.key, a.key)
      assert.deepEqual(r.value, a.value, `value of ${a.key}`)
      assert.deepEqual(r.headers, a.headers, `headers of ${a.key}`)
    }
  })

  test('no request in this file was answered with a 5xx', () => {
    assert.deepEqual(serverErrors, [])
  })
})
