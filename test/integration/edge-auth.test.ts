// An edge relay in front of an authenticated region (issue 8's edge gap): the edge checks its own
// clients with the broker's gate (same flags, same 401 / 403 codes, same per-frame checks) and
// authenticates to the region with its own --upstream-token. Real processes on loopback: a
// region broker with --jwt-secret, edges with --jwt-secret and an upstream token.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseServeOptions } from '../../src/cli/serve-options.ts'
import { startEdge, startRegion, waitUntil, type Region } from '../helpers/edge.ts'
import { claims, hs256, nowSec } from '../helpers/jwt.ts'
import { BUN, ROOT, removeDir, tempDir, type TestServer } from '../helpers/server.ts'
import { RawWs, SseClient, WsClient } from '../helpers/ws.ts'

const SECRET = 'edge-auth-region-secret-with-32-bytes!!'
const OTHER_SECRET = 'not-the-region-secret-but-as-long-as-it!!'

let region: Region
let edge: TestServer
const tok: Record<string, string> = {}

/** The grants an edge needs at its region: produce (idempotently) and consume what it relays. */
const EDGE_ACL = { produce: ['scores', 'orders.*'], consume: ['scores', 'orders.*'] }

function edgeArgs(upstreamToken: string): string[] {
  return ['--jwt-secret', SECRET, '--upstream-token', upstreamToken, '--allowed-origins', '*']
}

async function call(base: string, method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = {}
  if (token !== undefined) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers }
}

/** One sample of a series in the edge's /metrics (which needs a token with `metrics`). */
async function metricValue(base: string, series: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${tok.ops}` } })).text()
  let sum = 0
  for (const line of text.split('\n')) if (line.startsWith(series + ' ') || line.startsWith(series + '{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  return sum
}

async function regionValues(topic: string): Promise<unknown[]> {
  const r = await call(region.broker.url, 'GET', `/v1/topics/${topic}/partitions/0/records?offset=0&maxRecords=10000`, tok.admin)
  assert.equal(r.status, 200, JSON.stringify(r.body))
  return r.body.records.map((x: { value: unknown }) => x.value)
}

before(async () => {
  tok.admin = await hs256(SECRET, claims({ sub: 'root', acl: { admin: true } }))
  tok.edge = await hs256(SECRET, claims({ sub: 'edge-eu', acl: EDGE_ACL }))
  tok.alice = await hs256(SECRET, claims({ sub: 'alice', acl: { produce: ['scores', 'orders.*'], consume: ['scores', 'orders.*'] } }))
  tok.bob = await hs256(SECRET, claims({ sub: 'bob', acl: { produce: ['comments'], consume: ['comments'] } }))
  tok.ops = await hs256(SECRET, claims({ sub: 'ops', acl: { metrics: true } }))
  tok.expired = await hs256(SECRET, claims({ sub: 'alice', iat: nowSec() - 7200, exp: nowSec() - 3600, acl: { consume: ['scores'] } }))
  tok.forged = await hs256(OTHER_SECRET, claims({ sub: 'alice', acl: { admin: true } }))
  region = await startRegion(['--jwt-secret', SECRET])
  for (const name of ['scores', 'orders.eu']) {
    const r = await call(region.broker.url, 'POST', '/v1/topics', tok.admin, { name, partitions: 1 })
    assert.equal(r.status, 201, JSON.stringify(r.body))
  }
  edge = await startEdge(region.upstream, edgeArgs(tok.edge))
})

after(async () => {
  await edge?.stop('SIGKILL')
  if (edge) removeDir(edge.dataDir)
  await region?.close()
  if (region) removeDir(region.dataDir)
})

describe('an edge in front of an authenticated region', () => {
  test('a client token the edge accepts produces (acks=all, regional offsets) and subscribes over WebSocket and SSE', async () => {
    const p = await call(edge.url, 'POST', '/v1/topics/scores/records?acks=all', tok.alice, { records: [{ key: 'm7', value: { home: 1 } }, { key: 'm7', value: { home: 2 } }] })
    assert.equal(p.status, 200, JSON.stringify(p.body))
    assert.deepEqual(p.body.offsets, [{ partition: 0, offset: 0 }, { partition: 0, offset: 1 }])
    assert.deepEqual(await regionValues('scores'), [{ home: 1 }, { home: 2 }])

    const ws = await WsClient.open(edge.url, undefined, `?token=${encodeURIComponent(tok.alice)}`)
    try {
      const ok = await ws.call({ op: 'sub', id: 's', topic: 'scores', from: 'earliest' })
      assert.equal(ok.op, 'ok', JSON.stringify(ok))
      const got = await ws.waitRecords('s', 2)
      assert.deepEqual(got.map((r) => r.value), [{ home: 1 }, { home: 2 }])
      // A pub frame through the edge, acknowledged from the outbox, then relayed back.
      const ack = await ws.call({ op: 'pub', id: 'p', topic: 'scores', key: 'm7', value: { home: 3 } })
      assert.equal(ack.op, 'ack', JSON.stringify(ack))
      const more = await ws.waitRecords('s', 3)
      assert.deepEqual(more[2]!.value, { home: 3 })
      assert.equal(more[2]!.offset, 2)
    } finally {
      ws.close()
    }

    const sse = await SseClient.open(`${edge.url}/v1/topics/scores/sse?from=earliest&token=${encodeURIComponent(tok.alice)}`)
    assert.equal(sse.status, 200, sse.body)
    await sse.waitFor(() => sse.records().length >= 3, 20_000)
    assert.deepEqual(sse.records().map((r) => r.value), [{ home: 1 }, { home: 2 }, { home: 3 }])
    sse.close()

    // Fetch goes through to the region with the client's own token, which the region checks again.
    const f = await call(edge.url, 'GET', '/v1/topics/scores/partitions/0/records?offset=0', tok.alice)
    assert.equal(f.status, 200, JSON.stringify(f.body))
    assert.equal(f.body.records.length, 3)
  })

  test("records shipped for a client reach the region as the edge's principal, with the edge's producer id", async () => {
    // The region binds producer ids to principals: the id the edge ships with is the edge's.
    const id = await metricValue(edge.url, 'edgelog_edge_producer_id')
    assert.ok(id >= 0, 'the edge obtained a producer id')
    const bump = await call(region.broker.url, 'POST', '/v1/producers', tok.alice, { producerId: id })
    assert.equal(bump.status, 400, `another principal cannot use the edge's producer id: ${JSON.stringify(bump.body)}`)
    assert.equal(bump.body.error.code, 'UNKNOWN_PRODUCER_ID')
  })

  test('a missing, forged or expired token is 401 at the edge, over HTTP, SSE and the WebSocket upgrade', async () => {
    for (const token of [undefined, tok.forged, tok.expired, 'not.a.token']) {
      for (const [method, path, body] of [
        ['GET', '/v1/topics', undefined],
        ['POST', '/v1/topics/scores/records', { records: [{ value: 'x' }] }],
        ['GET', '/v1/topics/scores/partitions/0/records?offset=0', undefined],
        ['POST', '/v1/producers', undefined],
        ['GET', '/metrics', undefined],
      ] as const) {
        const r = await call(edge.url, method, path, token, body)
        assert.equal(r.status, 401, `${method} ${path} with ${token === undefined ? 'no token' : 'a bad token'}: ${JSON.stringify(r.body)}`)
        assert.equal(r.body.error.code, 'UNAUTHORIZED')
        assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer realm="edgelog"/)
      }
      const sse = await SseClient.open(`${edge.url}/v1/topics/scores/sse`, token === undefined ? {} : { authorization: `Bearer ${token}` })
      assert.equal(sse.status, 401)
      const raw = await RawWs.connect(edge.port, token === undefined ? {} : { authorization: `Bearer ${token}` })
      assert.equal(raw.status, 401, 'the upgrade is refused before any socket exists')
      raw.socket.destroy()
      if (token !== undefined) {
        const q = await RawWs.connect(edge.port, {}, `/v1/ws?token=${encodeURIComponent(token)}`)
        assert.equal(q.status, 401)
        q.socket.destroy()
      }
    }
    // Health checks need no credential, as on a broker.
    assert.equal((await fetch(`${edge.url}/healthz`)).status, 200)
    assert.equal((await fetch(`${edge.url}/readyz`)).status, 200)
    assert.ok((await metricValue(edge.url, 'edgelog_auth_failures_total')) >= 20, 'refusals are counted')
    assert.ok(!edge.output().includes(tok.forged) && !edge.output().includes(tok.edge), 'no token in the edge output')
  })

  test('a token without the topic grant gets 403 TOPIC_AUTHORIZATION_FAILED, over HTTP and as err frames on an open socket', async () => {
    const before = (await regionValues('scores')).length
    const p = await call(edge.url, 'POST', '/v1/topics/scores/records?acks=1', tok.bob, { records: [{ value: 'nope' }] })
    assert.equal(p.status, 403)
    assert.equal(p.body.error.code, 'TOPIC_AUTHORIZATION_FAILED')
    const f = await call(edge.url, 'GET', '/v1/topics/scores/partitions/0/records?offset=0', tok.bob)
    assert.equal(f.status, 403)
    assert.equal(f.body.error.code, 'TOPIC_AUTHORIZATION_FAILED')
    const d = await call(edge.url, 'GET', '/v1/topics/scores', tok.bob)
    assert.equal(d.status, 403)
    assert.equal(d.body.error.code, 'TOPIC_AUTHORIZATION_FAILED')
    const list = await call(edge.url, 'GET', '/v1/topics', tok.bob)
    assert.equal(list.status, 200)
    assert.deepEqual(list.body.topics, [], 'the list shows only what the caller may describe')
    const admin = await call(edge.url, 'POST', '/v1/topics', tok.alice, { name: 'made-at-edge' })
    assert.equal(admin.status, 403)
    assert.equal(admin.body.error.code, 'CLUSTER_AUTHORIZATION_FAILED')
    const sse = await SseClient.open(`${edge.url}/v1/topics/scores/sse`, { authorization: `Bearer ${tok.bob}` })
    assert.equal(sse.status, 403)

    const ws = await WsClient.open(edge.url, undefined, `?token=${encodeURIComponent(tok.bob)}`)
    try {
      const sub = await ws.call({ op: 'sub', id: 's', topic: 'scores', from: 'earliest' })
      assert.equal(sub.op, 'err')
      assert.equal(sub.code, 'TOPIC_AUTHORIZATION_FAILED')
      const pub = await ws.call({ op: 'pub', id: 'p', topic: 'scores', value: 'nope', acks: 'all' })
      assert.equal(pub.op, 'err')
      assert.equal(pub.code, 'TOPIC_AUTHORIZATION_FAILED')
      const commit = await ws.call({ op: 'commit', id: 'c', group: 'g1', offsets: [{ topic: 'scores', partition: 0, offset: 1 }] })
      assert.equal(commit.op, 'err')
      assert.equal(commit.code, 'GROUP_AUTHORIZATION_FAILED')
      assert.equal(ws.closed, undefined, 'the socket stays open')
    } finally {
      ws.close()
    }
    assert.equal((await regionValues('scores')).length, before, 'a refused produce appends nothing')
  })

  test("a client's idempotent producer id at the edge belongs to that client", async () => {
    const init = await call(edge.url, 'POST', '/v1/producers', tok.alice)
    assert.equal(init.status, 200, JSON.stringify(init.body))
    const producer = { id: init.body.producerId, epoch: init.body.producerEpoch, sequence: 0 }
    const ok = await call(edge.url, 'POST', '/v1/topics/orders.eu/partitions/0/records?acks=1', tok.alice, { records: [{ value: 'a' }], producer })
    assert.equal(ok.status, 200, JSON.stringify(ok.body))
    const carol = await hs256(SECRET, claims({ sub: 'carol', acl: { produce: ['orders.*'] } }))
    const stolen = await call(edge.url, 'POST', '/v1/topics/orders.eu/partitions/0/records?acks=1', carol, { records: [{ value: 'b' }], producer: { ...producer, sequence: 1 } })
    assert.equal(stolen.status, 400)
    assert.equal(stolen.body.error.code, 'UNKNOWN_PRODUCER_ID')
    const bump = await call(edge.url, 'POST', '/v1/producers', carol, { producerId: producer.id })
    assert.equal(bump.body.error?.code, 'UNKNOWN_PRODUCER_ID')
    const ws = await WsClient.open(edge.url, undefined, `?token=${encodeURIComponent(carol)}`)
    try {
      const pub = await ws.call({ op: 'pub', id: 'p', topic: 'orders.eu', partition: 0, records: [{ value: 'c' }], producer: { ...producer, sequence: 1 } })
      assert.equal(pub.op, 'err')
      assert.equal(pub.code, 'UNKNOWN_PRODUCER_ID')
    } finally {
      ws.close()
    }
    await waitUntil('the one accepted record reached the region', async () => (await regionValues('orders.eu')).length === 1, 20_000)
  })
})

describe('quotas at an edge', () => {
  test('the request quota answers 429 THROTTLED with Retry-After, counted as on a broker', async () => {
    const q = await startEdge(region.upstream, [...edgeArgs(tok.edge!), '--quota-requests-per-sec', '3'])
    try {
      const answers = []
      for (let i = 0; i < 20; i++) answers.push(await call(q.url, 'GET', '/v1/brokers', tok.alice))
      const throttled = answers.filter((a) => a.status === 429)
      assert.ok(throttled.length > 0, `some of 20 requests in a burst of 3/s are refused: ${answers.map((a) => a.status).join(',')}`)
      assert.equal(throttled[0]!.body.error.code, 'THROTTLED')
      assert.match(throttled[0]!.headers.get('retry-after') ?? '', /^\d+$/)
      await new Promise((r) => setTimeout(r, 1500))
      assert.ok((await metricValue(q.url, 'edgelog_throttled_requests_total{reason="requests"}')) >= throttled.length)
    } finally {
      await q.stop('SIGKILL')
      removeDir(q.dataDir)
    }
  })
})

describe('browser subscribe tokens at an edge', () => {
  test("a backend mints a token at the edge that the edge's SSE and WebSocket accept, for that topic only", async () => {
    const backend = await hs256(SECRET, claims({ sub: 'backend', acl: { mint: ['scores'] } }))
    const minted = await call(edge.url, 'POST', '/v1/tokens/subscribe', backend, { topic: 'scores', ttlSeconds: 60, subject: 'user-42' })
    assert.equal(minted.status, 201, JSON.stringify(minted.body))
    const browser = minted.body.token as string
    const ws = await WsClient.open(edge.url, undefined, `?token=${encodeURIComponent(browser)}`)
    try {
      assert.equal((await ws.call({ op: 'sub', id: 's', topic: 'scores', from: 'earliest' })).op, 'ok')
      assert.equal((await ws.call({ op: 'sub', id: 'o', topic: 'orders.eu' })).code, 'TOPIC_AUTHORIZATION_FAILED')
    } finally {
      ws.close()
    }
    const sse = await SseClient.open(`${edge.url}/v1/topics/scores/sse?from=earliest&token=${encodeURIComponent(browser)}`)
    assert.equal(sse.status, 200, sse.body)
    await sse.waitFor(() => sse.records().length >= 1, 20_000)
    sse.close()
    const other = await SseClient.open(`${edge.url}/v1/topics/orders.eu/sse?token=${encodeURIComponent(browser)}`)
    assert.equal(other.status, 403)
    const produce = await call(edge.url, 'POST', '/v1/topics/scores/records', browser, { records: [{ value: 'x' }] })
    assert.equal(produce.status, 403)
    const mintMore = await call(edge.url, 'POST', '/v1/tokens/subscribe', backend, { topic: 'orders.eu' })
    assert.equal(mintMore.status, 403)
  })
})

describe('an edge whose upstream credential the region refuses', () => {
  test('keeps the records in its outbox, says so in /readyz, /metrics and its log, and ships them all exactly once after a restart with the right token', async () => {
    const wrong = await hs256(OTHER_SECRET, claims({ sub: 'edge-eu', acl: EDGE_ACL }))
    const dataDir = tempDir('edgelog-edge-auth-')
    let bad: TestServer | undefined = await startEdge(region.upstream, edgeArgs(wrong), dataDir)
    let good: TestServer | undefined
    try {
      const start = (await regionValues('orders.eu')).length
      // The edge learned no topic (the region refused its metadata requests) and cannot route: a
      // produce says the edge's credential is what is wrong (503), not the client's (401).
      const unknown = await call(bad.url, 'POST', '/v1/topics/orders.eu/records?acks=1', tok.alice, { records: [{ value: 0 }] })
      assert.equal(unknown.status, 503, JSON.stringify(unknown.body))
      assert.equal(unknown.body.error.code, 'NETWORK_EXCEPTION')
      assert.match(unknown.body.error.message, /the region refused this edge's credential \(UNAUTHORIZED/)
      const list = await call(bad.url, 'GET', '/v1/topics', tok.alice)
      assert.equal(list.status, 200, 'the list falls back to what the edge learned (nothing yet)')
      assert.equal(list.body.source, 'edge-cache')
      const described = await call(bad.url, 'GET', '/v1/topics/orders.eu', tok.alice)
      assert.equal(described.status, 503, JSON.stringify(described.body))
      assert.match(described.body.error.message, /the region refused this edge's credential/)
      const ws = await WsClient.open(bad.url, undefined, `?token=${encodeURIComponent(tok.alice)}`)
      try {
        const sub = await ws.call({ op: 'sub', id: 's', topic: 'orders.eu', from: 'earliest' })
        assert.equal(sub.op, 'err', JSON.stringify(sub))
        assert.equal(sub.code, 'NETWORK_EXCEPTION', JSON.stringify(sub))
      } finally {
        ws.close()
      }
      await bad.stop('SIGTERM')

      // Restart it after it learned the topic with a good token, then give it the wrong one.
      good = await startEdge(region.upstream, edgeArgs(tok.edge), dataDir)
      await waitUntil('the edge learned orders.eu', async () => (await call(good!.url, 'GET', '/v1/topics', tok.alice)).body.topics.some((t: { name: string }) => t.name === 'orders.eu'))
      await good.stop('SIGTERM')
      good = undefined
      bad = await startEdge(region.upstream, edgeArgs(wrong), dataDir)

      const N = 60
      for (let i = 0; i < N; i += 10) {
        const records = Array.from({ length: 10 }, (_, j) => ({ key: `k${(i + j) % 3}`, value: { n: i + j } }))
        const r = await call(bad.url, 'POST', '/v1/topics/orders.eu/records?acks=1', tok.alice, { records })
        assert.equal(r.status, 200, JSON.stringify(r.body))
        assert.equal(r.body.offsets[0].heldAt, 'edge-outbox')
      }
      await waitUntil('/readyz reports the refused credential', async () => {
        const r = await call(bad!.url, 'GET', '/readyz')
        return r.status === 503 && /credential/.test(r.body.reason)
      })
      assert.equal(await metricValue(bad.url, 'edgelog_edge_upstream_credential_refused'), 1)
      assert.ok((await metricValue(bad.url, 'edgelog_edge_upstream_auth_failures_total{code="UNAUTHORIZED"}')) > 0)
      assert.equal(await metricValue(bad.url, 'edgelog_edge_outbox_records'), N)
      await waitUntil('shipping reports UNAUTHORIZED', async () => (await metricValue(bad!.url, 'edgelog_edge_shipping_halted{topic="orders.eu",partition="0",code="UNAUTHORIZED"}')) === 1)
      assert.match(bad.output(), /the region refused this edge's --upstream-token/)
      assert.ok(!bad.output().includes(wrong), 'the token is never logged')
      assert.equal((await regionValues('orders.eu')).length, start, 'nothing reached the region')
      await bad.stop('SIGTERM')
      bad = undefined

      good = await startEdge(region.upstream, edgeArgs(tok.edge), dataDir)
      await waitUntil('the outbox drained', async () => (await metricValue(good!.url, 'edgelog_edge_outbox_records')) === 0)
      const values = (await regionValues('orders.eu')).slice(start)
      assert.deepEqual(values, Array.from({ length: N }, (_, n) => ({ n })), 'every record once, in order')
      await waitUntil('/readyz is ready again', async () => (await call(good!.url, 'GET', '/readyz')).status === 200)
      assert.equal(await metricValue(good.url, 'edgelog_edge_upstream_credential_refused'), 0)
    } finally {
      await bad?.stop('SIGKILL')
      await good?.stop('SIGKILL')
      removeDir(dataDir)
    }
  })
})

describe('an edge with a missing, expired or insufficient upstream credential', () => {
  test('no --upstream-token, or an expired one: logged at start or on the first refusal, and /readyz says why', async () => {
    const expired = await hs256(SECRET, claims({ sub: 'edge-eu', iat: nowSec() - 7200, exp: nowSec() - 3600, acl: EDGE_ACL }))
    for (const [args, startLog] of [
      [['--jwt-secret', SECRET], /no --upstream-token: this edge sends no credential to its region/],
      [['--jwt-secret', SECRET, '--upstream-token', expired], /the --upstream-token expired \d+ s ago/],
    ] as const) {
      const e = await startEdge(region.upstream, [...args])
      try {
        assert.match(e.output(), startLog)
        await waitUntil('/readyz reports the refused credential', async () => {
          const r = await call(e.url, 'GET', '/readyz')
          return r.status === 503 && /credential/.test(r.body.reason)
        })
        assert.equal(await metricValue(e.url, 'edgelog_edge_upstream_credential_refused'), 1)
        assert.match(e.output(), /the region refused this edge/)
      } finally {
        await e.stop('SIGKILL')
        removeDir(e.dataDir)
      }
    }
  })

  test('a token without the produce grant: records wait in the outbox, the 403 is counted and logged, and a restart with the right token ships them once', async () => {
    const consumeOnly = await hs256(SECRET, claims({ sub: 'edge-eu', acl: { consume: ['orders.*'] } }))
    const dataDir = tempDir('edgelog-edge-grant-')
    let e: TestServer | undefined = await startEdge(region.upstream, edgeArgs(consumeOnly), dataDir)
    try {
      const start = (await regionValues('orders.eu')).length
      await waitUntil('the edge learned orders.eu', async () => (await call(e!.url, 'GET', '/v1/topics', tok.alice)).body.topics.some((t: { name: string }) => t.name === 'orders.eu'))
      const r = await call(e.url, 'POST', '/v1/topics/orders.eu/records?acks=1', tok.alice, { records: [{ value: 'g1' }, { value: 'g2' }, { value: 'g3' }] })
      assert.equal(r.status, 200, JSON.stringify(r.body))
      await waitUntil('shipping halts on the missing grant', async () => (await metricValue(e!.url, 'edgelog_edge_shipping_halted{topic="orders.eu",partition="0",code="CLUSTER_AUTHORIZATION_FAILED"}')) === 1)
      assert.ok((await metricValue(e.url, 'edgelog_edge_upstream_auth_failures_total{code="CLUSTER_AUTHORIZATION_FAILED"}')) > 0)
      assert.equal(await metricValue(e.url, 'edgelog_edge_outbox_records'), 3)
      assert.match(e.output(), /refused this edge's --upstream-token \(sub "edge-eu"\) a grant it needs \(CLUSTER_AUTHORIZATION_FAILED\)/)
      assert.equal((await regionValues('orders.eu')).length, start)
      await e.stop('SIGTERM')
      e = await startEdge(region.upstream, edgeArgs(tok.edge!), dataDir)
      await waitUntil('the outbox drained', async () => (await metricValue(e!.url, 'edgelog_edge_outbox_records')) === 0)
      assert.deepEqual((await regionValues('orders.eu')).slice(start), ['g1', 'g2', 'g3'])
    } finally {
      await e?.stop('SIGKILL')
      removeDir(dataDir)
    }
  })
})

describe('an edge with TLS', () => {
  test('serves HTTPS with HSTS in front of the authenticated region', async () => {
    const dir = tempDir('edgelog-edge-tls-')
    const r = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      { encoding: 'utf8' },
    )
    assert.equal(r.status, 0, `openssl failed: ${r.stderr}`)
    const ca = readFileSync(join(dir, 'cert.pem'), 'utf8')
    const { startServer } = await import('../helpers/server.ts')
    const tls = await startServer({
      ca,
      args: ['--role', 'edge', '--upstream', region.upstream, ...edgeArgs(tok.edge), '--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')],
    })
    try {
      assert.match(tls.url, /^https:/)
      const res = await fetch(`${tls.url}/v1/topics/scores/records?acks=all`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tok.alice}`, 'content-type': 'application/json' },
        body: '{"records":[{"value":"over tls"}]}',
        tls: { ca },
      } as RequestInit)
      assert.equal(res.status, 200, await res.clone().text())
      assert.match(res.headers.get('strict-transport-security') ?? '', /^max-age=/)
      const anon = await fetch(`${tls.url}/v1/topics`, { tls: { ca } } as RequestInit)
      assert.equal(anon.status, 401)
    } finally {
      await tls.stop('SIGKILL')
      removeDir(tls.dataDir)
      removeDir(dir)
    }
  })
})

describe('bad edge security flags stop the edge before it serves (exit 2)', () => {
  function serve(args: string[], env: Record<string, string> = {}) {
    const dir = tempDir()
    const r = spawnSync(BUN, ['edge/bun/serve.ts', '--port', '0', '--data', dir, ...args], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20_000 })
    removeDir(dir)
    return { code: r.status, out: `${r.stdout}${r.stderr}` }
  }
  const EDGE = ['--role', 'edge', '--upstream', 'http://127.0.0.1:9']

  test('a malformed token, an unreadable token file, a token on a broker, a missing key file', async () => {
    const cases: Array<[string[], RegExp, Record<string, string>?]> = [
      [[...EDGE, '--upstream-token', 'not-a-jwt-secret-value'], /--upstream-token: not a JWT/],
      [[...EDGE, '--upstream-token', `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from('{"sub":"e"}').toString('base64url')}.c2ln`], /no numeric exp claim/],
      [[...EDGE, '--upstream-token', `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"e","exp":1}').toString('base64url')}.c2ln`], /alg must be/],
      [[...EDGE], /--upstream-token: not a JWT/, { EDGELOG_UPSTREAM_TOKEN: 'junk.junk' }],
      [[...EDGE, '--upstream-token-file', '/nonexistent/edgelog-upstream-token'], /cannot read the file/],
      [['--upstream-token', tok.edge!], /credential of an edge/],
      [[...EDGE, '--upstream-token', tok.edge!, '--upstream-token-file', '/tmp/x'], /not both/],
      [[...EDGE, '--jwks', '/nonexistent/jwks.json'], /cannot read the file/],
      [[...EDGE, '--jwt-secret', 'too-short'], /at least 32 bytes/],
      [[...EDGE, '--tls-cert', '/nonexistent/cert.pem'], /--tls-key go together/],
      [[...EDGE, '--tls-cert', '/nonexistent/cert.pem', '--tls-key', '/nonexistent/key.pem'], /cannot read the file/],
    ]
    for (const [args, message, env] of cases) {
      const r = serve(args, env)
      assert.equal(r.code, 2, `${args.join(' ')} exits 2:\n${r.out}`)
      assert.match(r.out, message)
      assert.ok(!r.out.includes('not-a-jwt-secret-value') && !r.out.includes(tok.edge!), 'the error never repeats the token')
    }
  })

  test('EDGELOG_UPSTREAM_TOKEN is read by an edge only: a broker in the same environment ignores it', () => {
    const env = { EDGELOG_UPSTREAM_TOKEN: tok.edge! }
    assert.equal(parseServeOptions(['--port', '0'], env)['upstream-token'], undefined)
    assert.equal(parseServeOptions(['--role', 'edge', '--upstream', 'http://127.0.0.1:9'], env)['upstream-token'], tok.edge)
    assert.equal(parseServeOptions(['--upstream', 'http://127.0.0.1:9'], { ...env, EDGELOG_ROLE: 'edge' })['upstream-token'], tok.edge)
  })

  test('a token file is read (and a good one starts the edge)', async () => {
    const dir = tempDir('edgelog-token-file-')
    const file = join(dir, 'token')
    writeFileSync(file, `${tok.edge}\n`)
    const s = await startEdge(region.upstream, ['--jwt-secret', SECRET, '--upstream-token-file', file])
    try {
      assert.match(s.output(), /upstream credential: sub "edge-eu"/)
      await waitUntil('the edge is ready with the credential from the file', async () => (await fetch(`${s.url}/readyz`)).status === 200)
    } finally {
      await s.stop('SIGKILL')
      removeDir(s.dataDir)
      removeDir(dir)
    }
  })
})
