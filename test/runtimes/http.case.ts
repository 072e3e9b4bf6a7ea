// One behaviour everywhere: the same public-API integration suite against every server edgelog
// ships — Bun, the compiled binary, Deno, Node 20, Node 24 and the Cloudflare Worker + Durable
// Object under Miniflare (one *.test.ts per runtime in this folder starts its server). A
// runtime that differs lists the case in its `skip` with the reason; nothing is skipped
// silently. The cases speak HTTP, WebSocket and SSE to a real process on loopback.
import assert from 'node:assert/strict'
import type { TestServer } from '../helpers/server.ts'
import { assertContiguous, postJson, produceMany, SseClient, WsClient } from '../helpers/ws.ts'

export interface ServerUnderTest {
  /** e.g. "Node 20 (better-sqlite3)". */
  name: string
  /** Starts the server on a free port; with dataDir, on that data (a restart). */
  start(dataDir?: string): Promise<TestServer>
  /** Case name → why this server does not run it. */
  skip?: Record<string, string>
}

interface HttpCaseContext {
  server: () => TestServer
  /** Stops the running server (SIGTERM) and starts it again on the same data. */
  restart(): Promise<TestServer>
  /** A topic name no other case uses. */
  topic(base: string): string
}

interface HttpCase {
  name: string
  run(ctx: HttpCaseContext): Promise<void>
}

const JSON_HEADERS = { 'content-type': 'application/json' }

async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = JSON_HEADERS) {
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) })
  const text = await res.text()
  let json: any
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.status, body: json, text, headers: res.headers }
}

/** An error answer: the status, the public shape, the code, and nothing internal in it. */
function assertError(r: { status: number; body: any; text: string }, status: number, code: string): void {
  assert.equal(r.status, status, `status (${r.text.slice(0, 300)})`)
  assert.equal(r.body?.error?.code, code, r.text.slice(0, 300))
  assert.equal(typeof r.body.error.message, 'string')
  assert.deepEqual(Object.keys(r.body), ['error'])
  assert.doesNotMatch(r.text, /\bat .+\.(ts|js):\d+|SQLITE|sqlite|SELECT |INSERT /, 'no stack trace or SQL in an error')
}

async function createTopic(base: string, name: string, partitions = 1, config?: Record<string, string>) {
  const r = await call(base, 'POST', '/v1/topics', { name, partitions, ...(config ? { config } : {}) })
  assert.equal(r.status, 201, r.text)
  return r.body
}

async function fetchRecords(base: string, topic: string, partition: number, query: string) {
  const r = await call(base, 'GET', `/v1/topics/${topic}/partitions/${partition}/records?${query}`)
  assert.equal(r.status, 200, r.text)
  return r.body as { records: any[]; nextOffset: number; highWatermark: number; logStartOffset: number }
}

export const HTTP_CASES: HttpCase[] = [
  {
    name: 'health, readiness and metrics',
    async run({ server }) {
      const base = server().url
      assert.deepEqual((await call(base, 'GET', '/healthz')).body, { status: 'ok' })
      assert.deepEqual((await call(base, 'GET', '/readyz')).body, { status: 'ready' })
      const metrics = await fetch(base + '/metrics')
      assert.equal(metrics.status, 200)
      assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/)
      assert.match(await metrics.text(), /# TYPE edgelog_produced_records_total counter/)
    },
  },
  {
    name: 'topics: create, list, describe, refuse a duplicate, delete',
    async run({ server, topic }) {
      const base = server().url
      const name = topic('orders')
      const created = await createTopic(base, name, 3, { 'retention.ms': '60000' })
      assert.equal(created.name, name)
      assert.equal(created.partitions.length, 3)
      assert.equal(created.config['retention.ms'], '60000')
      assertError(await call(base, 'POST', '/v1/topics', { name, partitions: 1 }), 409, 'TOPIC_ALREADY_EXISTS')
      const list = await call(base, 'GET', '/v1/topics')
      assert.equal(list.status, 200)
      assert.ok(JSON.stringify(list.body).includes(`"${name}"`), 'the list has the topic')
      const described = await call(base, 'GET', `/v1/topics/${name}`)
      assert.equal(described.status, 200)
      assert.deepEqual(
        described.body.partitions.map((p: any) => [p.partition, p.highWatermark, p.logStartOffset]),
        [
          [0, 0, 0],
          [1, 0, 0],
          [2, 0, 0],
        ],
      )
      assert.equal((await call(base, 'DELETE', `/v1/topics/${name}`)).status, 200)
      assertError(await call(base, 'GET', `/v1/topics/${name}`), 404, 'UNKNOWN_TOPIC_OR_PARTITION')
    },
  },
  {
    name: 'produce and fetch: keys, partitions, JSON, binary and headers round trip',
    async run({ server, topic }) {
      const base = server().url
      const name = topic('events')
      await createTopic(base, name, 2)
      const records = [
        { key: 'match-7', value: { score: [1, 0], text: 'ünï 🦀' }, headers: { trace: 'abc' } },
        { key: 'match-7', value: 42 },
        { value: { base64: 'AAEC/f7/' } },
        { partition: 1, key: null, value: 'to one', timestamp: 1_700_000_000_000 },
      ]
      const produced = await call(base, 'POST', `/v1/topics/${name}/records?acks=1`, { records })
      assert.equal(produced.status, 200, produced.text)
      const offsets = produced.body.offsets as Array<{ partition: number; offset: number }>
      assert.equal(offsets.length, 4)
      assert.equal(offsets[0]!.partition, 0, "key 'match-7' goes to partition 0 of 2 (murmur2, as Kafka's Java client)")
      assert.equal(offsets[1]!.partition, 0)
      assert.equal(offsets[1]!.offset, offsets[0]!.offset + 1, 'one key, consecutive offsets')
      assert.equal(offsets[3]!.partition, 1)
      const p0 = await fetchRecords(base, name, 0, 'offset=0')
      const p1 = await fetchRecords(base, name, 1, 'offset=0')
      const all = [...p0.records, ...p1.records]
      const byValue = (v: unknown) => all.find((r) => JSON.stringify(r.value) === JSON.stringify(v))
      assert.deepEqual(byValue({ score: [1, 0], text: 'ünï 🦀' })?.headers, { trace: 'abc' })
      assert.equal(byValue({ score: [1, 0], text: 'ünï 🦀' })?.key, 'match-7')
      assert.ok(byValue(42))
      assert.ok(byValue({ base64: 'AAEC/f7/' }), 'a binary value comes back as the same base64')
      assert.equal(byValue('to one')?.timestamp, 1_700_000_000_000)
      assert.equal(p0.highWatermark + p1.highWatermark, 4)
      // Paging with maxRecords walks the log with nextOffset.
      await produceMany(base, name, 30, { key: () => 'match-7' })
      const seen: number[] = []
      for (let offset = 0; offset < 32; ) {
        const page = await fetchRecords(base, name, 0, `offset=${offset}&maxRecords=7`)
        assert.ok(page.records.length > 0 && page.records.length <= 7)
        seen.push(...page.records.map((r) => r.offset))
        offset = page.nextOffset
      }
      assert.deepEqual(
        seen,
        Array.from({ length: seen.length }, (_, i) => i),
        'dense offsets, each once',
      )
    },
  },
  {
    name: 'NDJSON produce, and acks=0 answers 202 with no offset',
    async run({ server, topic }) {
      const base = server().url
      const name = topic('ndjson')
      await createTopic(base, name)
      const body = '{"value":"a"}\n{"value":"b"}\n\n{"key":"k","value":"c"}\n'
      const r = await call(base, 'POST', `/v1/topics/${name}/records`, body, { 'content-type': 'application/x-ndjson' })
      assert.equal(r.status, 200, r.text)
      assert.deepEqual(
        r.body.offsets.map((o: any) => o.offset),
        [0, 1, 2],
      )
      const zero = await call(base, 'POST', `/v1/topics/${name}/records?acks=0`, { records: [{ value: 'd' }] })
      assert.equal(zero.status, 202)
      assert.deepEqual(zero.body.offsets, [{ partition: 0, offset: null }])
      const deadline = Date.now() + 10_000
      while ((await fetchRecords(base, name, 0, 'offset=0')).highWatermark < 4) {
        assert.ok(Date.now() < deadline, 'the acks=0 record is appended soon after')
        await new Promise((res) => setTimeout(res, 20))
      }
    },
  },
  {
    name: 'a long-poll fetch waits for the next record, and returns empty at waitMs',
    async run({ server, topic }) {
      const base = server().url
      const name = topic('poll')
      await createTopic(base, name)
      const started = Date.now()
      const empty = await fetchRecords(base, name, 0, 'offset=0&waitMs=300')
      assert.deepEqual(empty.records, [])
      assert.ok(Date.now() - started >= 250, 'an empty long poll holds for about waitMs')
      const waiting = fetchRecords(base, name, 0, 'offset=0&waitMs=20000')
      await new Promise((res) => setTimeout(res, 300))
      const t0 = Date.now()
      await call(base, 'POST', `/v1/topics/${name}/records`, { records: [{ value: 'wake' }] })
      const got = await waiting
      assert.deepEqual(
        got.records.map((r) => r.value),
        ['wake'],
      )
      assert.ok(Date.now() - t0 < 15_000, 'the produce woke the poll, not its timeout')
    },
  },
  {
    name: 'idempotent producer: a retried batch is answered with its first offsets, not appended twice',
    async run({ server, topic }) {
      const base = server().url
      const name = topic('idem')
      await createTopic(base, name)
      const producer = await call(base, 'POST', '/v1/producers')
      assert.equal(producer.status, 200, producer.text)
      const body = { records: [{ value: 'x' }, { value: 'y' }], producer: { id: producer.body.producerId, epoch: producer.body.producerEpoch, sequence: 0 } }
      const first = await call(base, 'POST', `/v1/topics/${name}/partitions/0/records`, body)
      const retry = await call(base, 'POST', `/v1/topics/${name}/partitions/0/records`, body)
      assert.equal(first.status, 200, first.text)
      assert.equal(retry.body.duplicate, true)
      assert.deepEqual(retry.body.offsets, first.body.offsets)
      assert.equal((await fetchRecords(base, name, 0, 'offset=0')).highWatermark, 2)
    },
  },
  {
    name: 'committed offsets and lag',
    async run({ server, topic }) {
      const base = server().url
      const name = topic('lag')
      await createTopic(base, name)
      await produceMany(base, name, 10)
      const group = `g-${name}`
      const commit = await call(base, 'POST', `/v1/groups/${group}/offsets`, { offsets: [{ topic: name, partition: 0, offset: 4 }] })
      assert.equal(commit.status, 200, commit.text)
      const lag = await call(base, 'GET', `/v1/groups/${group}/lag`)
      assert.equal(lag.status, 200)
      assert.equal(lag.body.totalLag, 6)
    },
  },
  {
    name: 'bad input is refused with the public error shape',
    async run({ server, topic }) {
      const base = server().url
      const name = topic('bad')
      await createTopic(base, name, 1, { 'max.message.bytes': '1024' })
      assertError(await call(base, 'POST', '/v1/topics', '{"name": "x", "partitions": ', JSON_HEADERS), 400, 'INVALID_REQUEST')
      assertError(await call(base, 'POST', '/v1/topics', { name: 'bad/name', partitions: 1 }), 400, 'INVALID_TOPIC')
      assertError(await call(base, 'POST', '/v1/topics', { name: 'x1', partitions: 0 }), 400, 'INVALID_PARTITIONS')
      assertError(await call(base, 'POST', '/v1/topics', { name: 'x2', partitions: 1, surprise: true }), 400, 'INVALID_REQUEST')
      assertError(await call(base, 'POST', '/v1/topics/no-such-topic/records', { records: [{ value: 1 }] }), 404, 'UNKNOWN_TOPIC_OR_PARTITION')
      assertError(await call(base, 'POST', `/v1/topics/${name}/records`, { records: [] }), 400, 'INVALID_REQUEST')
      assertError(await call(base, 'POST', `/v1/topics/${name}/records?acks=2`, { records: [{ value: 1 }] }), 400, 'INVALID_REQUEST')
      assertError(await call(base, 'POST', `/v1/topics/${name}/records`, { records: [{ value: 'x'.repeat(5000) }] }), 413, 'MESSAGE_TOO_LARGE')
      assertError(await call(base, 'POST', `/v1/topics/${name}/records`, { records: [{ partition: 9, value: 1 }] }), 404, 'UNKNOWN_TOPIC_OR_PARTITION')
      assertError(await call(base, 'GET', `/v1/topics/${name}/partitions/0/records?offset=99`), 416, 'OFFSET_OUT_OF_RANGE')
      assertError(await call(base, 'GET', `/v1/topics/${name}/partitions/0/records?offset=-1`), 400, 'INVALID_REQUEST')
      assertError(await call(base, 'GET', `/v1/topics/${name}/partitions/x/records?offset=0`), 400, 'INVALID_REQUEST')
      assertError(await call(base, 'GET', '/v1/nothing-here'), 404, 'NOT_FOUND')
      assertError(await call(base, 'PUT', `/v1/topics/${name}`, {}), 405, 'METHOD_NOT_ALLOWED')
      const notWs = await call(base, 'GET', '/v1/ws')
      assertError(notWs, 426, 'UPGRADE_REQUIRED')
    },
  },
  {
    // workerd reset keep-alive connections after an answer given before the body was read (a
    // 404 for an unknown topic), and the client's next request on it failed with ECONNRESET.
    name: 'an answer given before the request body is read leaves the connection usable',
    async run({ server, topic }) {
      const base = server().url
      const name = topic('early')
      await createTopic(base, name)
      for (let i = 0; i < 50; i++) {
        assertError(await call(base, 'POST', '/v1/topics/no-such-topic/records', { records: [{ value: 1 }] }), 404, 'UNKNOWN_TOPIC_OR_PARTITION')
        const next = await call(base, 'POST', `/v1/topics/${name}/records`, { records: [{ value: i }] })
        assert.equal(next.status, 200, next.text)
      }
    },
  },
  {
    name: 'WebSocket: subscribe from earliest, publish with an ack, and resume from the next offset after a reconnect',
    async run({ server, topic }) {
      const base = server().url
      const name = topic('live')
      await createTopic(base, name, 2)
      await produceMany(base, name, 20, { key: (i) => `k${i}` })
      const a = await WsClient.open(base)
      const ok = await a.call({ op: 'sub', id: 's', topic: name, from: 'earliest' })
      assert.equal(ok.op, 'ok', JSON.stringify(ok))
      const ack = await a.call({ op: 'pub', id: 'p1', topic: name, key: 'k-pub', value: { via: 'ws' }, acks: '1' })
      assert.equal(ack.op, 'ack', JSON.stringify(ack))
      assert.equal(typeof ack.offset, 'number')
      const first = await a.waitRecords('s', 21)
      assertContiguous(first, ok.offsets)
      const bad = await a.call({ op: 'sub', id: 's2', topic: 'no-such-topic' })
      assert.equal(bad.op, 'err')
      assert.equal(bad.code, 'UNKNOWN_TOPIC_OR_PARTITION')
      a.close()
      await a.waitClose()
      // What a reconnecting client does: from the last offset it saw plus one, per partition.
      const next: Record<string, number> = { ...ok.offsets }
      for (const r of first) next[String(r.partition)] = r.offset + 1
      await produceMany(base, name, 10, { key: (i) => `k${i}`, from: 20 })
      const b = await WsClient.open(base)
      const resumed = await b.call({ op: 'sub', id: 'r', topic: name, from: { offsets: next } })
      assert.equal(resumed.op, 'ok', JSON.stringify(resumed))
      const rest = await b.waitRecords('r', 10)
      assertContiguous(rest, next)
      await new Promise((res) => setTimeout(res, 200))
      assert.equal(b.records('r').length, 10, 'nothing seen twice')
      b.close()
    },
  },
  {
    name: 'SSE: a stream from earliest delivers the records with resumable ids',
    async run({ server, topic }) {
      const base = server().url
      const name = topic('sse')
      await createTopic(base, name)
      await produceMany(base, name, 5)
      const sse = await SseClient.open(`${base}/v1/topics/${name}/sse?from=earliest`, { accept: 'text/event-stream' })
      assert.equal(sse.status, 200, sse.body)
      await sse.waitFor(() => sse.records().length >= 5)
      assert.deepEqual(
        sse.records().map((r) => r.offset),
        [0, 1, 2, 3, 4],
      )
      assert.equal(sse.lastId(), '0:5')
      sse.close()
    },
  },
  {
    name: 'GET /console serves the embedded console page, script and stylesheet (no file read, no CDN)',
    async run({ server }) {
      const base = server().url
      const page = await call(base, 'GET', '/console', undefined, {})
      assert.equal(page.status, 200, page.text.slice(0, 300))
      assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8')
      assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/)
      assert.match(page.text, /<script type="module" src="\/console\/app.js"><\/script>/)
      const script = await call(base, 'GET', '/console/app.js', undefined, {})
      assert.equal(script.status, 200)
      assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8')
      assert.match(script.text, /\/v1\/client\.js/, 'the live tail loads the node’s client bundle')
      const style = await call(base, 'GET', '/console/app.css', undefined, {})
      assert.equal(style.status, 200)
      assert.equal(style.headers.get('content-type'), 'text/css; charset=utf-8')
    },
  },
  {
    name: 'records and topics survive a restart',
    async run({ server, restart, topic }) {
      const name = topic('durable')
      await createTopic(server().url, name, 2)
      const offsets = await produceMany(server().url, name, 40, { key: (i) => `k${i % 7}` })
      const again = await restart()
      const stored = new Map<string, unknown>()
      for (const p of [0, 1]) for (const r of (await fetchRecords(again.url, name, p, 'offset=0&maxRecords=1000')).records) stored.set(`${p}:${r.offset}`, r.value)
      assert.equal(stored.size, 40)
      offsets.forEach((o, i) => assert.deepEqual(stored.get(`${o.partition}:${o.offset}`), { i }))
      const more = await postJson(`${again.url}/v1/topics/${name}/records`, { records: [{ key: 'k0', value: 'after' }] })
      assert.equal(more.status, 200)
    },
  },
]

type Describe = (name: string, fn: () => void) => unknown
type Test = (name: string, options: { skip?: string | boolean; timeout?: number }, fn: () => unknown) => unknown
type Hook = (fn: () => unknown) => unknown

/** Registers every case against one server, started once (and restarted by the restart case). */
export function registerHttpSuite(s: ServerUnderTest, t: { describe: Describe; test: Test; before: Hook; after: Hook }): void {
  t.describe(`public API on ${s.name}`, () => {
    let current: TestServer | undefined
    let topics = 0
    t.before(async () => {
      current = await s.start()
    })
    t.after(async () => {
      await current?.stop('SIGTERM')
    })
    for (const c of HTTP_CASES) {
      t.test(c.name, { skip: s.skip?.[c.name] ?? false, timeout: 60_000 }, async () => {
        assert.ok(current, 'the server started')
        await c.run({
          server: () => current!,
          async restart() {
            const code = await current!.stop('SIGTERM')
            assert.equal(code, 0, `a clean stop on SIGTERM:\n${current!.output().slice(-2000)}`)
            current = await s.start(current!.dataDir)
            return current
          },
          topic: (base) => `${base}-${++topics}`,
        })
      })
    }
  })
}
