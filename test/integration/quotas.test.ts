// Quotas against real servers (issue 8 "Quotas and back-pressure", RELIABILITY.md §5.4 items
// 30, 32, 35): over a quota the answer is 429 THROTTLED with a Retry-After, per principal (one
// principal's excess never throttles another), nothing of a refused produce is appended, and
// in-flight caps let go of their slots when requests end, however they end.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { removeDir, startServer, type TestServer } from '../helpers/server.ts'
import { claims, hs256 } from '../helpers/jwt.ts'

const SECRET = 'quota-test-secret-with-at-least-32-bytes!'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let server: TestServer
const token = (sub: string, acl: unknown = { produce: ['q.*'], consume: ['q.*'] }) => hs256(SECRET, claims({ sub, acl }))
let admin = ''

async function call(method: string, path: string, t: string, json?: unknown, base = server.url) {
  return fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${t}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
    body: json === undefined ? undefined : JSON.stringify(json),
  })
}

async function throttled(res: Response, quota?: string) {
  const text = await res.text()
  assert.equal(res.status, 429, text)
  assert.equal(JSON.parse(text).error.code, 'THROTTLED')
  const retry = Number(res.headers.get('retry-after'))
  assert.ok(Number.isInteger(retry) && retry >= 1, `Retry-After ${res.headers.get('retry-after')}`)
  if (quota) assert.match(JSON.parse(text).error.message, new RegExp(quota))
  return retry
}

async function logEnd(topic: string): Promise<number> {
  const d = await (await call('GET', `/v1/topics/${topic}`, admin)).json()
  return d.partitions[0].logEndOffset
}

async function metric(series: string): Promise<number> {
  const text = await (await call('GET', '/metrics', admin)).text()
  return Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\d+)$`, 'm').exec(text)?.[1] ?? 0)
}

before(async () => {
  server = await startServer({
    args: [
      '--jwt-secret', SECRET,
      '--quota-requests-per-sec', '5',
      '--quota-produce-bytes-per-sec', '20000',
      '--max-connections-per-principal', '4',
      '--max-long-polls-per-principal', '2',
    ],
  })
  admin = await token('admin', { admin: true })
  for (const name of ['q.bytes', 'q.polls', 'q.conns']) {
    assert.equal((await call('POST', '/v1/topics', admin, { name })).status, 201)
  }
})

after(async () => {
  await server?.stop()
  if (server) removeDir(server.dataDir)
})

describe('request rate (§5.4 item 32)', () => {
  test('past 5 requests a second a principal gets 429 with Retry-After; another principal does not', async () => {
    const fast = await token('fast')
    const statuses: number[] = []
    let retry = 0
    for (let i = 0; i < 30; i++) {
      const res = await call('GET', '/v1/topics', fast)
      statuses.push(res.status)
      if (res.status === 429) retry = await throttled(res, 'requests per second')
      else await res.body?.cancel()
    }
    assert.ok(statuses.filter((s) => s === 200).length >= 5, statuses.join(','))
    assert.ok(statuses.includes(429), statuses.join(','))
    assert.ok(statuses.every((s) => s === 200 || s === 429))
    const other = await call('GET', '/v1/topics', await token('other'))
    assert.equal(other.status, 200)
    await sleep(retry * 1000)
    assert.equal((await call('GET', '/v1/topics', fast)).status, 200)
    assert.ok((await metric('edgelog_throttled_requests_total{reason="requests"}')) >= 1)
  })

  test('failed authentication attempts count against the address', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 30; i++) {
      const res = await fetch(`${server.url}/v1/topics`, { headers: { authorization: 'Bearer guess.guess.guess' } })
      statuses.push(res.status)
      await res.body?.cancel()
    }
    assert.ok(statuses.includes(401) && statuses.includes(429), statuses.join(','))
    await sleep(1500)
  })
})

describe('produce bytes (§5.4 item 32)', () => {
  test('a principal over its byte rate is refused before its body is read, nothing appended, until the debt is paid', async () => {
    const bulk = await token('bulk')
    const big = { records: [{ value: 'x'.repeat(50_000) }] }
    assert.equal((await call('POST', '/v1/topics/q.bytes/records', bulk, big)).status, 200)
    const before = await logEnd('q.bytes')
    const retry = await throttled(await call('POST', '/v1/topics/q.bytes/records', bulk, { records: [{ value: 'small' }] }), 'produce bytes')
    assert.ok(retry >= 1 && retry <= 2, `retry ${retry}: 30,000 bytes of debt at 20,000/s`)
    assert.equal(await logEnd('q.bytes'), before)
    // Someone else still produces at once.
    assert.equal((await call('POST', '/v1/topics/q.bytes/records', await token('light'), { records: [{ value: 'ok' }] })).status, 200)
    await sleep(retry * 1000 + 200)
    assert.equal((await call('POST', '/v1/topics/q.bytes/records', bulk, { records: [{ value: 'small' }] })).status, 200)
    assert.ok((await metric('edgelog_throttled_requests_total{reason="produce_bytes"}')) >= 1)
  })
})

describe('long polls and requests in flight (§5.4 items 30, 35)', () => {
  test('a third long poll of one principal is refused; the slots come back when the polls answer', async () => {
    const poller = await token('poller')
    const path = '/v1/topics/q.polls/partitions/0/records?offset=latest&waitMs=20000'
    const start = await logEnd('q.polls')
    const waiting = [call('GET', path.replace('latest', String(start)), poller), call('GET', path.replace('latest', String(start)), poller)]
    await sleep(300)
    await throttled(await call('GET', path.replace('latest', String(start)), poller), 'long polls')
    // Another principal's long poll is not affected.
    const other = call('GET', path.replace('latest', String(start)), await token('poller-2'))
    await sleep(100)
    assert.equal((await call('POST', '/v1/topics/q.polls/records', admin, { records: [{ value: 'wake' }] })).status, 200)
    for (const r of [...(await Promise.all(waiting)), await other]) {
      assert.equal(r.status, 200)
      assert.equal((await r.json()).records.length, 1)
    }
    await sleep(1100)
    const again = await call('GET', '/v1/topics/q.polls/partitions/0/records?offset=0&waitMs=100', poller)
    assert.equal(again.status, 200)
    assert.ok((await metric('edgelog_throttled_requests_total{reason="long_polls_per_principal"}')) >= 1)
  })

  test('requests in flight per principal: a fifth is refused; stalled uploads give their slots back when cut', async () => {
    const t = await token('holder')
    const url = new URL(server.url)
    const sockets: net.Socket[] = []
    for (let i = 0; i < 4; i++) {
      const s = net.connect(Number(url.port), '127.0.0.1')
      s.on('error', () => {})
      s.write(
        `POST /v1/topics/q.conns/records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"rec',
      )
      sockets.push(s)
    }
    await sleep(500)
    const before = await logEnd('q.conns')
    await throttled(await call('GET', '/v1/topics/q.conns/partitions/0/records', t), 'in flight')
    for (const s of sockets) s.destroy()
    let status = 0
    for (let i = 0; i < 50 && status !== 200; i++) {
      await sleep(200)
      const r = await call('GET', '/v1/topics/q.conns/partitions/0/records', t)
      status = r.status
      await r.body?.cancel()
    }
    assert.equal(status, 200, 'slots released after the clients went away')
    assert.equal(await logEnd('q.conns'), before)
  })
})

describe('requests in flight per IP (§5.4 item 30)', () => {
  test('without authentication, the fourth waiting request from one address is refused', async () => {
    const s = await startServer({ args: ['--max-connections-per-ip', '3'] })
    try {
      const post = (path: string, json: unknown) =>
        fetch(s.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) })
      assert.equal((await post('/v1/topics', { name: 'ip' })).status, 201)
      // Every test request comes from 127.0.0.1, so nothing can wake these polls: they time out.
      const polls = Array.from({ length: 3 }, () => fetch(`${s.url}/v1/topics/ip/partitions/0/records?offset=0&waitMs=2500`))
      await sleep(500)
      await throttled(await fetch(`${s.url}/v1/topics`), 'from this address')
      await throttled(await post('/v1/topics/ip/records', { records: [{ value: 1 }] }), 'from this address')
      // Health checks are never counted or refused.
      assert.equal((await fetch(`${s.url}/healthz`)).status, 200)
      for (const p of await Promise.all(polls)) assert.equal(p.status, 200)
      assert.equal((await fetch(`${s.url}/v1/topics`)).status, 200)
      assert.equal((await post('/v1/topics/ip/records', { records: [{ value: 1 }] })).status, 200)
    } finally {
      await s.stop()
      removeDir(s.dataDir)
    }
  })
})
