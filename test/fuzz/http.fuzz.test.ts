// Every HTTP endpoint of one `edgelog serve --jwt-secret ...` process fed random requests,
// raw garbage, slowloris headers, trickled bodies and thousands of abandoned connections
// (issue 8 bad-input suite, RELIABILITY.md §5.4 items 3, 17, 33, 34, 36, 40). Throughout: no
// 5xx, every error the JSON error shape without stack traces or SQL, and no produce appends
// anything but exactly what it acknowledged. At the end the same process still serves a normal
// produce and fetch, and every record acknowledged before the suite is intact.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import net from 'node:net'
import fc from 'fast-check'
import { removeDir, startServer, type TestServer } from '../helpers/server.ts'
import { claims, hs256 } from '../helpers/jwt.ts'

const SECRET = 'http-fuzz-secret-with-at-least-32-bytes!'
const BODY_TIMEOUT_MS = 3000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let server: TestServer
const tok: Record<'admin' | 'limited' | 'none', string> = { admin: '', limited: '', none: '' }
const serverErrors: string[] = []

const MAIN = 'fz.main' // the acknowledged records; never a target of the random requests
const TARGETS = ['fz.scratch', 'fz.secret'] as const
const acked: Array<{ partition: number; offset: number; key: string; value: unknown }> = []

const STACK = /\bat\s+(?:async\s+)?\S*\s*\(?[^\s()]+:\d+:\d+\)?|^\s*at\s/m
const SQL = /\bSELECT\b|\bINSERT\b|\bUPDATE\s+\w+\s+SET\b|\bCREATE\s+TABLE\b|sqlite|SQLITE_/i
const PATHLIKE = /\/(?:work|tmp|home|usr|root)\/|node_modules|\.ts:\d+/

function checkErrorText(status: number, text: string, what: string) {
  let body: { error?: { code?: unknown; message?: unknown } }
  try {
    body = JSON.parse(text)
  } catch {
    assert.fail(`${what}: a ${status} answer that is not JSON: ${JSON.stringify(text.slice(0, 200))}`)
  }
  assert.equal(typeof body.error?.code, 'string', `${what}: no error.code in ${text.slice(0, 200)}`)
  const message = String(body.error?.message)
  assert.doesNotMatch(message, STACK, `${what}: a stack trace in ${message}`)
  assert.doesNotMatch(message, SQL, `${what}: SQL in ${message}`)
  assert.doesNotMatch(message, PATHLIKE, `${what}: a file path in ${message}`)
}

async function admin(method: string, path: string, json?: unknown): Promise<any> {
  const res = await fetch(server.url + path, {
    method,
    headers: { authorization: `Bearer ${tok.admin}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
    body: json === undefined ? undefined : JSON.stringify(json),
  })
  const text = await res.text()
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${text.slice(0, 200)}`)
  return JSON.parse(text)
}

async function logEndTotal(): Promise<number> {
  let total = 0
  for (const t of TARGETS) for (const p of (await admin('GET', `/v1/topics/${t}`)).partitions) total += p.logEndOffset
  return total
}

function openFds(): number {
  return readdirSync(`/proc/${server.proc.pid}/fd`).length
}

// ---- raw sockets

interface Raw {
  status?: number
  text: string
  closed: boolean
}

/** Writes `data`, then waits for an answer, the server closing, or timeoutMs. */
function rawRequest(data: string | Uint8Array, timeoutMs = 3000): Promise<Raw> {
  return new Promise((resolve) => {
    const s = net.connect(server.port, '127.0.0.1')
    let text = ''
    let closed = false
    const finish = () => {
      clearTimeout(timer)
      s.destroy()
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1]) || undefined
      resolve({ status, text, closed })
    }
    const timer = setTimeout(finish, timeoutMs)
    s.on('data', (d) => {
      text += d.toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      const len = /content-length: (\d+)/i.exec(text)?.[1]
      if (end >= 0 && len !== undefined && text.length >= end + 4 + Number(len)) finish()
    })
    s.on('close', () => {
      closed = true
      finish()
    })
    s.on('error', () => {})
    s.write(data)
  })
}

before(async () => {
  server = await startServer({ args: ['--jwt-secret', SECRET, '--body-timeout-ms', String(BODY_TIMEOUT_MS), '--max-request-bytes', String(1 << 20)] })
  tok.admin = await hs256(SECRET, claims({ sub: 'root', acl: { admin: true } }))
  tok.limited = await hs256(SECRET, claims({ sub: 'svc', acl: { produce: ['fz.*'], consume: ['fz.*'], groups: ['g*'], deny: ['fz.secret'] } }))
  await admin('POST', '/v1/topics', { name: MAIN, partitions: 3 })
  await admin('POST', '/v1/topics', { name: 'fz.scratch', partitions: 2 })
  await admin('POST', '/v1/topics', { name: 'fz.secret', partitions: 1 })
  for (let i = 0; i < 60; i++) {
    const value = { i, text: `record-${i}`, nested: { ok: i % 2 === 0 } }
    const key = `k${i % 7}`
    const r = await admin('POST', `/v1/topics/${MAIN}/records?acks=all`, { records: [{ key, value }] })
    acked.push({ partition: r.offsets[0].partition, offset: r.offsets[0].offset, key, value })
  }
})

after(async () => {
  await server?.stop()
  if (server) removeDir(server.dataDir)
})

// ---- random requests

const nameArb = fc.oneof(
  { arbitrary: fc.constant('fz.scratch'), weight: 6 },
  fc.constantFrom(...TARGETS, 'fz.nope', 'other', '..', '.', "x'); DROP TABLE batches;--", '%2e%2e', 'a%2Fb', 'fz%2Escratch', 'FZ.SCRATCH', '%00', '%F0%28%8C%28', 'x'.repeat(300)),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
)
const segArb = fc.oneof({ arbitrary: fc.constantFrom('0', '1'), weight: 4 }, fc.constantFrom('0', '1', '-1', '99', '1e3', 'NaN', '0x1', '18446744073709551616', ''), fc.string({ maxLength: 6 }).map(encodeURIComponent))
const pathArb = fc.oneof(
  fc.constant('/v1/topics'),
  nameArb.map((t) => `/v1/topics/${t}`),
  { arbitrary: nameArb.map((t) => `/v1/topics/${t}/records`), weight: 4 },
  { arbitrary: fc.tuple(nameArb, segArb).map(([t, p]) => `/v1/topics/${t}/partitions/${p}/records`), weight: 4 },
  fc.tuple(nameArb, segArb).map(([t, p]) => `/v1/topics/${t}/partitions/${p}/offsets`),
  nameArb.map((t) => `/v1/topics/${t}/config`),
  fc.constant('/v1/producers'),
  nameArb.map((g) => `/v1/groups/${g}/offsets`),
  nameArb.map((g) => `/v1/groups/${g}/lag`),
  fc.constant('/v1/tokens/subscribe'),
  fc.constantFrom('/metrics', '/healthz', '/readyz', '/', '/v1', '/v1/', '/v1/ws', '//v1/topics'),
  fc.webPath(),
)
const queryArb = fc
  .record(
    {
      acks: fc.constantFrom('1', 'all', '-1', 'x', ''),
      offset: fc.oneof(segArb, fc.constantFrom('earliest', 'latest')),
      maxRecords: segArb,
      maxBytes: segArb,
      waitMs: fc.constantFrom('0', '10', '50', '-5', 'x'),
      timestamp: segArb,
      topic: nameArb,
    },
    { requiredKeys: [] },
  )
  .map((q) => new URLSearchParams(q as Record<string, string>).toString())

const recordArb = fc.record(
  {
    key: fc.oneof(fc.string({ maxLength: 8 }), fc.constant(null), fc.record({ base64: fc.string({ maxLength: 8 }) }), fc.integer()),
    value: fc.jsonValue({ maxDepth: 3 }),
    headers: fc.oneof(fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 6 }), fc.constant(null))), fc.jsonValue({ maxDepth: 1 })),
    partition: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.string({ maxLength: 2 })),
    timestamp: fc.oneof(fc.nat(), fc.integer(), fc.double()),
    extra: fc.jsonValue({ maxDepth: 1 }),
  },
  { requiredKeys: ['value'] },
)
const plainRecordArb = fc.record({ key: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }), value: fc.jsonValue({ maxDepth: 3 }) }, { requiredKeys: ['value'] })
const bodyArb = fc.oneof(
  { arbitrary: fc.array(plainRecordArb, { minLength: 1, maxLength: 5 }).map((records) => JSON.stringify({ records })), weight: 5 },
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.array(recordArb, { maxLength: 5 }).map((records) => JSON.stringify({ records })),
  fc.record({ records: fc.array(recordArb, { minLength: 1, maxLength: 3 }), producer: fc.record({ id: fc.integer({ min: -1, max: 3 }), epoch: fc.integer({ min: -1, max: 2 }), sequence: fc.integer({ min: -1, max: 5 }) }) }).map((b) => JSON.stringify(b)),
  fc.array(recordArb, { maxLength: 4 }).map((rs) => rs.map((r) => JSON.stringify(r)).join('\n')),
  fc.record({ name: nameArb, partitions: fc.integer({ min: -1, max: 3 }), config: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 })) }).map((b) => JSON.stringify(b)),
  fc.record({ topic: nameArb, ttlSeconds: fc.integer({ min: -1, max: 5000 }) }).map((b) => JSON.stringify(b)),
  fc.uint8Array({ maxLength: 200 }),
  fc.string({ maxLength: 200 }),
)
const requestArb = fc.record({
  method: fc.oneof({ arbitrary: fc.constant('POST'), weight: 4 }, fc.constantFrom('GET', 'GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD')),
  path: pathArb,
  query: queryArb,
  auth: fc.oneof({ arbitrary: fc.constantFrom('admin', 'limited'), weight: 6 }, fc.constantFrom('none', 'garbage', 'basic')),
  queryToken: fc.oneof({ arbitrary: fc.constant(undefined), weight: 9 }, fc.constantFrom('garbage', 'a.b.c', '')),
  contentType: fc.constantFrom('application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'application/x-ndjson', 'text/plain', 'multipart/form-data; boundary=x', undefined),
  extraHeader: fc.option(fc.string({ unit: 'grapheme-ascii', maxLength: 40 }), { nil: undefined }),
  body: bodyArb,
})

function isProduce(path: string): boolean {
  return /\/records$/.test(path)
}

describe('random requests to every endpoint', () => {
  test('never a 5xx, always the error shape, never a partial append', async () => {
    let produces = 0
    const statuses = new Map<number | string, number>()
    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        const headers: Record<string, string> = {}
        if (r.auth === 'admin' || r.auth === 'limited') headers.authorization = `Bearer ${tok[r.auth]}`
        if (r.auth === 'garbage') headers.authorization = 'Bearer x.y.z'
        if (r.auth === 'basic') headers.authorization = 'Basic YTpi'
        // The random requests must not delete the topics the accounting reads.
        if (r.auth === 'admin' && r.method === 'DELETE') headers.authorization = `Bearer ${tok.limited}`
        if (r.contentType) headers['content-type'] = r.contentType
        if (r.extraHeader !== undefined) headers['x-fuzz'] = r.extraHeader
        // No acks=0 here: its append is not awaited, so the accounting below could not see it.
        let query = r.query.replace(/(^|&)acks=0(&|$)/, '$1acks=1$2')
        if (r.queryToken !== undefined) query += `${query ? '&' : ''}token=${r.queryToken}`
        const url = `${server.url}${r.path}${query ? `?${query}` : ''}`
        const body = r.method === 'GET' || r.method === 'HEAD' ? undefined : r.body
        const track = isProduce(r.path) && r.method === 'POST'
        const before = track ? await logEndTotal() : 0
        let res: Response
        try {
          res = await fetch(url, { method: r.method, headers, body: body as BodyInit | undefined })
        } catch (err) {
          // A header or URL fetch itself refuses to send; nothing reached the server.
          if (err instanceof TypeError) {
            statuses.set('unsent', (statuses.get('unsent') ?? 0) + 1)
            return
          }
          throw err
        }
        const text = await res.text()
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
        const what = `${r.method} ${r.path}?${query}`
        if (res.status >= 500) serverErrors.push(`${what} -> ${res.status} ${text.slice(0, 200)}`)
        assert.ok(res.status < 500, `${what} -> ${res.status}: ${text.slice(0, 300)}`)
        if (res.status >= 400 && r.method !== 'HEAD') checkErrorText(res.status, text, what)
        if (track) {
          produces++
          let appended = 0
          if (res.status >= 200 && res.status < 300) {
            const ok = JSON.parse(text) as { offsets: Array<{ offset: number | null }>; duplicate?: boolean }
            if (!ok.duplicate) appended = ok.offsets.length
          }
          assert.equal((await logEndTotal()) - before, appended, `${what}: answered ${res.status}, appended records do not match`)
        }
      }),
      { numRuns: 1200 },
    )
    const summary = JSON.stringify(Object.fromEntries(statuses))
    assert.ok(produces > 50, `only ${produces} produce requests were generated (${summary})`)
    assert.ok((statuses.get(200) ?? 0) + (statuses.get(201) ?? 0) > 25, `too few requests succeeded to reach the handlers: ${summary}`)
    assert.ok((statuses.get('unsent') ?? 0) < 100, `too many requests could not be sent: ${summary}`)
  })

  test('raw garbage on the socket: an error answer or a closed connection, never a 5xx', async () => {
    const line = fc.string({ unit: 'binary-ascii', maxLength: 80 })
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.tuple(line, fc.array(line, { maxLength: 5 })).map(([first, rest]) => [first, ...rest].join('\r\n') + '\r\n\r\n'),
          fc.tuple(fc.constantFrom('GET', 'POST', 'BREW', 'get', 'P OST', ''), fc.string({ maxLength: 30 }), fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9', '', 'http/1.1'))
            .map(([m, p, v]) => `${m} /v1/${p} ${v}\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`),
          fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => new Uint8Array([...b, 13, 10, 13, 10])),
        ),
        async (data) => {
          const r = await rawRequest(data, 2000)
          if (r.status !== undefined) {
            // Bun answers a request line it cannot split into method, target and an HTTP/1.x
            // version with 505 itself, before the app sees anything; that is the one 5xx allowed,
            // and only for such a line.
            const firstLine = typeof data === 'string' ? data.slice(0, data.indexOf('\r\n')) : ''
            const badVersion = typeof data !== 'string' || !/^[A-Za-z]+ \S+ HTTP\/1\.[01]$/.test(firstLine)
            if (r.status === 505 && badVersion) return
            if (r.status >= 500) serverErrors.push(`raw -> ${r.status}`)
            assert.ok(r.status < 500, `${r.status}: ${r.text.slice(0, 200)}`)
            const body = r.text.slice(r.text.indexOf('\r\n\r\n') + 4)
            if (body.startsWith('{')) checkErrorText(r.status, body, 'raw')
            assert.doesNotMatch(r.text, STACK)
          }
        },
      ),
      { numRuns: 150 },
    )
  })
})

describe('slow and abandoned connections', () => {
  test('1,000 slowloris connections are cut off by the header timeout and do not keep others out (§5.4 item 33)', async () => {
    const head = `GET /v1/topics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tok.admin}\r\nX-Slow: `
    const sockets: net.Socket[] = []
    let closedByServer = 0
    for (let i = 0; i < 1000; i++) {
      const s = net.connect(server.port, '127.0.0.1')
      s.on('error', () => {})
      s.on('close', () => closedByServer++)
      s.write(head.slice(0, 20))
      sockets.push(s)
    }
    let at = 20
    const trickle = setInterval(() => {
      // One more byte every second on every socket: never a complete header block.
      const ch = at < head.length ? head[at++]! : 'a'
      for (const s of sockets) if (!s.destroyed) s.write(ch)
    }, 1000)
    try {
      await sleep(2000)
      const started = Date.now()
      const res = await fetch(`${server.url}/v1/topics`, { headers: { authorization: `Bearer ${tok.limited}` } })
      assert.equal(res.status, 200)
      await res.text()
      assert.ok(Date.now() - started < 5000, 'a legitimate request waited behind the slowloris connections')
      const deadline = Date.now() + 40_000
      while (closedByServer < sockets.length && Date.now() < deadline) await sleep(250)
      assert.equal(closedByServer, sockets.length, `${sockets.length - closedByServer} slowloris connections still open after 40 s`)
    } finally {
      clearInterval(trickle)
      for (const s of sockets) s.destroy()
    }
  })

  test('a body trickled a byte at a time is cut off with 408 and nothing is appended (§5.4 item 34)', async () => {
    const before = await logEndTotal()
    const body = JSON.stringify({ records: [{ value: 'x'.repeat(4000) }] })
    const s = net.connect(server.port, '127.0.0.1')
    let text = ''
    let closed = false
    s.on('data', (d) => (text += d.toString('latin1')))
    s.on('close', () => (closed = true))
    s.on('error', () => {})
    s.write(`POST /v1/topics/fz.scratch/records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tok.limited}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`)
    let i = 0
    const started = Date.now()
    const trickle = setInterval(() => !closed && i < body.length && s.write(body[i++]!), 100)
    try {
      while (!closed && Date.now() - started < 20_000) await sleep(100)
    } finally {
      clearInterval(trickle)
      s.destroy()
    }
    assert.ok(closed, 'the connection was not closed within 20 s')
    assert.match(text, /^HTTP\/1\.1 408 /, text.slice(0, 200))
    assert.match(text, /REQUEST_TIMED_OUT/)
    assert.equal(await logEndTotal(), before)
  })

  test('a body that stops arriving is cut off too; a slow but steady upload is not', async () => {
    const stalled = await rawRequest(
      `POST /v1/topics/fz.scratch/records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tok.limited}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"rec`,
      BODY_TIMEOUT_MS + 10_000,
    )
    assert.equal(stalled.status, 408)
    // 12,000 bytes over about 6 s: past the 3 s base, within the 1,000 bytes/s extension.
    const before = await logEndTotal()
    const body = JSON.stringify({ records: Array.from({ length: 12 }, (_, i) => ({ value: `${i}`.padEnd(980, '.') })) })
    const chunks = Array.from({ length: 24 }, (_, i) => body.slice((i * body.length) / 24, ((i + 1) * body.length) / 24))
    const res = await fetch(`${server.url}/v1/topics/fz.scratch/records`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tok.limited}`, 'content-type': 'application/json' },
      body: new ReadableStream({
        async pull(controller) {
          const next = chunks.shift()
          if (next === undefined) return controller.close()
          await sleep(250)
          controller.enqueue(new TextEncoder().encode(next))
        },
      }),
      duplex: 'half',
    } as RequestInit)
    assert.equal(res.status, 200, await res.clone().text())
    assert.equal((await res.json()).offsets.length, 12)
    assert.equal((await logEndTotal()) - before, 12)
  })

  test('thousands of abandoned connections and WebSocket upgrades leak no file descriptors (§5.4 item 36)', async () => {
    await sleep(500)
    const baseline = openFds()
    const kinds = [
      '', // connect and drop
      'GET /v1/topics HTTP/1.1\r\nHost: x\r\n', // headers cut short
      `POST /v1/topics/fz.scratch/records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tok.limited}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"records":[`, // body cut short
      `GET /v1/topics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tok.limited}\r\n\r\n`, // answer never read
      'GET /v1/topics/fz.scratch/partitions/0/records?waitMs=20000&offset=latest HTTP/1.1\r\nHost: x\r\n\r\n', // refused, then dropped
      'GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n', // upgrade cut mid-handshake
      `GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${tok.limited}\r\n\r\n`, // upgraded, then dropped without a close frame
    ]
    for (let batch = 0; batch < 12; batch++) {
      const sockets = await Promise.all(
        Array.from({ length: 250 }, (_, i) => {
          return new Promise<net.Socket>((resolve) => {
            const s = net.connect(server.port, '127.0.0.1', () => {
              const k = kinds[(batch + i) % kinds.length]!
              if (k) s.write(k)
              resolve(s)
            })
            s.on('error', () => resolve(s))
          })
        }),
      )
      await sleep(50)
      // The server really holds these connections (so the count below measures the right thing).
      if (batch === 0) assert.ok(openFds() > baseline + 100, `only ${openFds() - baseline} more descriptors with 250 connections open`)
      for (const [i, s] of sockets.entries()) (i % 2 ? s.destroy() : s.resetAndDestroy?.() ?? s.destroy())
    }
    const deadline = Date.now() + 30_000
    let now = openFds()
    while (now > baseline + 5 && Date.now() < deadline) {
      await sleep(250)
      now = openFds()
    }
    assert.ok(now <= baseline + 5, `open file descriptors: ${baseline} before, ${now} 30 s after 3,000 abandoned connections`)
    // The upgraded ones were real sockets, and the hub let go of every one of them.
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${tok.admin}` } })).text()
    assert.match(metrics, /^edgelog_ws_connections 0$/m)
  })
})

describe('after the whole suite, the same process', () => {
  test('is alive and ready', async () => {
    assert.equal(server.proc.exitCode, null)
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200)
  })

  test('serves a normal produce and fetch', async () => {
    const r = await admin('POST', '/v1/topics/fz.scratch/records?acks=all', { records: [{ key: 'after', value: { done: true } }] })
    const { partition, offset } = r.offsets[0]
    const f = await admin('GET', `/v1/topics/fz.scratch/partitions/${partition}/records?offset=${offset}&maxRecords=1`)
    assert.deepEqual(f.records[0].value, { done: true })
    assert.equal(f.records[0].key, 'after')
  })

  test('still holds every record acknowledged before the suite, unchanged', async () => {
    for (const a of acked) {
      const f = await admin('GET', `/v1/topics/${MAIN}/partitions/${a.partition}/records?offset=${a.offset}&maxRecords=1`)
      assert.equal(f.records[0].offset, a.offset)
      assert.equal(f.records[0].key, a.key)
      assert.deepEqual(f.records[0].value, a.value)
    }
    const d = await admin('GET', `/v1/topics/${MAIN}`)
    assert.equal(d.partitions.reduce((s: number, p: { logEndOffset: number }) => s + p.logEndOffset, 0), acked.length)
  })

  test('answered nothing with a 5xx', () => {
    assert.deepEqual(serverErrors, [])
  })
})
