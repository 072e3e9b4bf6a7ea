// Bad input at an edge gets the same answer as at a broker: every request below goes to both,
// and the status and error code must match. Nothing refused may reach the outbox.
import assert from 'node:assert/strict'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import { removeDir, type TestServer } from '../helpers/server.ts'
import { metricSum, startEdge, startRegion, waitUntil, type Region } from '../helpers/edge.ts'
import { postJson, WsClient } from '../helpers/ws.ts'

interface Case {
  what: string
  method?: string
  path: string
  body?: string
  contentType?: string | null
}

const json = (v: unknown) => JSON.stringify(v)
const BODY_TIMEOUT_MS = 2000
const big = 'x'.repeat(3000)

const CASES: Case[] = [
  { what: 'unknown topic', path: '/v1/topics/nope/records', body: json({ records: [{ value: 1 }] }) },
  { what: 'unknown topic, partition route', path: '/v1/topics/nope/partitions/0/records', body: json({ records: [{ value: 1 }] }) },
  { what: 'topic name no broker accepts', path: '/v1/topics/a%20b/records', body: json({ records: [{ value: 1 }] }) },
  { what: 'acks=2', path: '/v1/topics/bi-main/records?acks=2', body: json({ records: [{ value: 1 }] }) },
  { what: 'acks=', path: '/v1/topics/bi-main/records?acks=', body: json({ records: [{ value: 1 }] }) },
  { what: 'compression=snappy', path: '/v1/topics/bi-main/records?compression=snappy', body: json({ records: [{ value: 1 }] }) },
  { what: 'compression=brotli', path: '/v1/topics/bi-main/records?compression=brotli', body: json({ records: [{ value: 1 }] }) },
  { what: 'not JSON', path: '/v1/topics/bi-main/records', body: '{"records": [' },
  { what: 'no content-type', path: '/v1/topics/bi-main/records', body: json({ records: [{ value: 1 }] }), contentType: null },
  { what: 'text/plain', path: '/v1/topics/bi-main/records', body: json({ records: [{ value: 1 }] }), contentType: 'text/plain' },
  { what: 'empty records', path: '/v1/topics/bi-main/records', body: json({ records: [] }) },
  { what: 'records not an array', path: '/v1/topics/bi-main/records', body: json({ records: { value: 1 } }) },
  { what: 'a record without value', path: '/v1/topics/bi-main/records', body: json({ records: [{ key: 'k' }] }) },
  { what: 'an unknown record field', path: '/v1/topics/bi-main/records', body: json({ records: [{ value: 1, color: 'red' }] }) },
  { what: 'an unknown top-level field', path: '/v1/topics/bi-main/records', body: json({ records: [{ value: 1 }], extra: true }) },
  { what: 'duplicate keys', path: '/v1/topics/bi-main/records', body: '{"records":[{"value":1}],"records":[{"value":2}]}' },
  { what: 'deep nesting', path: '/v1/topics/bi-main/records', body: json({ records: [{ value: JSON.parse('['.repeat(100) + ']'.repeat(100)) }] }) },
  { what: 'bad base64 value', path: '/v1/topics/bi-main/records', body: json({ records: [{ value: { base64: 'not base64!' } }] }) },
  { what: 'bad base64 key', path: '/v1/topics/bi-main/records', body: json({ records: [{ key: { base64: '@@' }, value: 1 }] }) },
  { what: 'a header value that is a number', path: '/v1/topics/bi-main/records', body: json({ records: [{ value: 1, headers: { h: 1 } }] }) },
  { what: 'a negative timestamp', path: '/v1/topics/bi-main/records', body: json({ records: [{ value: 1, timestamp: -1 }] }) },
  { what: 'a partition beyond the count', path: '/v1/topics/bi-main/records', body: json({ records: [{ value: 1, partition: 3 }] }) },
  { what: 'a fractional partition', path: '/v1/topics/bi-main/records', body: json({ records: [{ value: 1, partition: 1.5 }] }) },
  { what: 'a record over max.message.bytes', path: '/v1/topics/bi-small/records', body: json({ records: [{ value: big }] }) },
  { what: 'a key over max.message.bytes', path: '/v1/topics/bi-small/records', body: json({ records: [{ key: big, value: 1 }] }) },
  { what: 'a later record over max.message.bytes', path: '/v1/topics/bi-small/records', body: json({ records: [{ value: 1 }, { value: big }] }) },
  { what: 'acks=0 still validates', path: '/v1/topics/bi-small/records?acks=0', body: json({ records: [{ value: big }] }) },
  { what: 'a keyless record to a compacted topic', path: '/v1/topics/bi-compact/records', body: json({ records: [{ value: 1 }] }) },
  { what: 'too many records', path: '/v1/topics/bi-main/records', body: json({ records: Array.from({ length: 1001 }, () => ({ value: 1 })) }) },
  { what: 'a body over the limit', path: '/v1/topics/bi-main/records', body: json({ records: [{ value: 'y'.repeat(1_100_000) }] }) },
  { what: 'partition -1 in the path', path: '/v1/topics/bi-main/partitions/-1/records', body: json({ records: [{ value: 1 }] }) },
  { what: 'partition 1e2 in the path', path: '/v1/topics/bi-main/partitions/1e2/records', body: json({ records: [{ value: 1 }] }) },
  { what: 'partition 9 in the path', path: '/v1/topics/bi-main/partitions/9/records', body: json({ records: [{ value: 1 }] }) },
  { what: 'a record naming another partition', path: '/v1/topics/bi-main/partitions/0/records', body: json({ records: [{ value: 1, partition: 1 }] }) },
  { what: 'producer fields on the topic route', path: '/v1/topics/bi-main/records', body: json({ records: [{ value: 1 }], producer: { id: 0, epoch: 0, sequence: 0 } }) },
  { what: 'a producer id never issued', path: '/v1/topics/bi-main/partitions/0/records', body: json({ records: [{ value: 1 }], producer: { id: 999999, epoch: 0, sequence: 0 } }) },
  { what: 'a producer with a negative sequence', path: '/v1/topics/bi-main/partitions/0/records', body: json({ records: [{ value: 1 }], producer: { id: 0, epoch: 0, sequence: -1 } }) },
  { what: 'NDJSON with a bad line', path: '/v1/topics/bi-main/records', body: '{"value":1}\n{"value":\n{"value":3}\n', contentType: 'application/x-ndjson' },
  { what: 'NDJSON with an unknown field', path: '/v1/topics/bi-main/records', body: '{"value":1,"nope":2}\n', contentType: 'application/x-ndjson' },
  { what: 'an empty NDJSON body', path: '/v1/topics/bi-main/records', body: '\n\n', contentType: 'application/x-ndjson' },
  { what: 'invalid UTF-8', path: '/v1/topics/bi-main/records', body: '{"records":[{"value":"\xff"}]}', contentType: 'application/json' },
  { what: 'a producers body with an unknown field', path: '/v1/producers', body: json({ producerId: 0, extra: 1 }) },
  { what: 'a producers body with a negative id', path: '/v1/producers', body: json({ producerId: -1 }) },
  { what: 'a producers epoch bump of an unknown id', path: '/v1/producers', body: json({ producerId: 424242 }) },
  { what: 'a GET on the records route with a bad offset', method: 'GET', path: '/v1/topics/bi-main/partitions/0/records?offset=-1' },
  { what: 'a fetch beyond the log end', method: 'GET', path: '/v1/topics/bi-main/partitions/0/records?offset=999999' },
  { what: 'an unknown route', method: 'GET', path: '/v1/nope' },
  { what: 'a wrong method on a known route', method: 'PUT', path: '/v1/topics/bi-main/records', body: json({ records: [{ value: 1 }] }) },
  { what: 'an SSE stream of an unknown topic', method: 'GET', path: '/v1/topics/nope/sse' },
  { what: 'an SSE stream with a bad from', method: 'GET', path: '/v1/topics/bi-main/sse?from=zz' },
]

describe('bad input at an edge', () => {
  let region: Region
  let edge: TestServer
  before(async () => {
    const limits = ['--max-records-per-request', '1000', '--max-request-bytes', '1048576', '--body-timeout-ms', String(BODY_TIMEOUT_MS)]
    region = await startRegion(limits)
    edge = await startEdge(region.upstream, limits)
    await postJson(`${region.broker.url}/v1/topics`, { name: 'bi-main', partitions: 3 })
    await postJson(`${region.broker.url}/v1/topics`, { name: 'bi-small', partitions: 2, config: { 'max.message.bytes': 2000 } })
    await postJson(`${region.broker.url}/v1/topics`, { name: 'bi-compact', partitions: 1, config: { 'cleanup.policy': 'compact' } })
    await waitUntil('the edge described every topic', async () => {
      for (const t of ['bi-main', 'bi-small', 'bi-compact']) {
        const d = await (await fetch(`${edge.url}/v1/topics/${t}`)).json()
        if (!d.config) return false
      }
      return true
    })
  })
  after(async () => {
    await edge?.stop('SIGKILL')
    await region?.close()
    removeDir(edge.dataDir)
    removeDir(region.dataDir)
  })

  async function send(base: string, c: Case) {
    const headers: Record<string, string> = {}
    const type = c.contentType === undefined ? (c.body !== undefined ? 'application/json' : undefined) : c.contentType
    if (type) headers['content-type'] = type
    const body = c.body === undefined ? undefined : c.what === 'invalid UTF-8' ? Buffer.from(c.body, 'latin1') : c.body
    const res = await fetch(base + c.path, { method: c.method ?? 'POST', headers, body })
    const text = await res.text()
    let code: string | undefined
    try {
      code = JSON.parse(text).error?.code
    } catch {}
    return { status: res.status, code }
  }

  for (const c of CASES) {
    test(`${c.what}: the edge answers as the broker does`, async () => {
      const atBroker = await send(region.broker.url, c)
      const atEdge = await send(edge.url, c)
      assert.ok(atBroker.status >= 400 && atBroker.status < 500, `the broker refuses it (${atBroker.status})`)
      assert.deepEqual(atEdge, atBroker)
    })
  }

  test('bad pub frames over the edge WebSocket get the errors the broker sends', async () => {
    const frames = [
      { op: 'pub', id: 'a', topic: 'nope', value: 1 },
      { op: 'pub', id: 'b', topic: 'bi-main', value: 1, partition: 7 },
      { op: 'pub', id: 'c', topic: 'bi-small', value: big },
      { op: 'pub', id: 'd', topic: 'bi-compact', value: 1 },
      { op: 'pub', id: 'e', topic: 'bi-main', key: { base64: '!' }, value: 1 },
      { op: 'pub', id: 'f', topic: 'bi-main', value: 1, producer: { id: 99999, epoch: 0, sequence: 0 }, partition: 0 },
      { op: 'pub', id: 'g', topic: 'bi-main', value: 1, acks: '2' },
      { op: 'sub', id: 'h', topic: 'bi-main', partitions: [0, 0] },
    ]
    const atBroker = await WsClient.open(region.broker.url)
    const atEdge = await WsClient.open(edge.url)
    try {
      for (const f of frames) {
        const b = await atBroker.call(f)
        const e = await atEdge.call(f)
        assert.equal(b.op, 'err', JSON.stringify(f))
        assert.equal(e.code, b.code, JSON.stringify(f))
      }
    } finally {
      atBroker.close()
      atEdge.close()
    }
  })

  test('a body trickled a byte at a time is cut off with 408 at the edge, as at a broker', async () => {
    const body = json({ records: [{ value: 'x'.repeat(2000) }] })
    const s = net.connect(Number(new URL(edge.url).port), '127.0.0.1')
    let text = ''
    let closed = false
    s.on('data', (d) => (text += d.toString('latin1')))
    s.on('close', () => (closed = true))
    s.on('error', () => {})
    s.write(`POST /v1/topics/bi-main/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`)
    let i = 0
    const trickle = setInterval(() => !closed && i < body.length && s.write(body[i++]!), 100)
    try {
      await waitUntil('the edge closed the trickling connection', () => closed, 20_000)
    } finally {
      clearInterval(trickle)
      s.destroy()
    }
    assert.match(text, /^HTTP\/1\.1 408 /, text.slice(0, 200))
    assert.match(text, /REQUEST_TIMED_OUT/)
  })

  test('nothing refused reached the outbox', async () => {
    assert.equal(await metricSum(edge.url, 'edgelog_edge_produced_records_total'), 0)
    assert.equal(await metricSum(edge.url, 'edgelog_edge_outbox_records'), 0)
  })
})
