// Authentication and authorization on the live transports (issue 8; RELIABILITY.md §5.4 items
// 3, 4, 12, 30): a WebSocket upgrade or an SSE stream without a valid token is refused with 401
// before anything is upgraded or streamed, a `sub`, `pub` or `commit` outside the token's acl is
// answered with an `err` frame and changes nothing, a browser subscribe token passed as the
// `token` query parameter reaches its topic only, a connection outliving its token accepts no
// new frames, and an open socket or stream holds its principal's connection slot until it ends.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { removeDir, startServer, type TestServer } from '../helpers/server.ts'
import { claims, hs256 } from '../helpers/jwt.ts'
import { RawWs, SseClient, WsClient } from '../helpers/ws.ts'
import { waitUntil } from '../helpers/wait.ts'

const SECRET = 'live-auth-secret-with-at-least-32-bytes!'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
let server: TestServer
const tokens: Record<string, string> = {}
const sent = new Set<string>()

async function call(method: string, path: string, token: string, json?: unknown): Promise<Response> {
  sent.add(token)
  return fetch(server.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
    body: json === undefined ? undefined : JSON.stringify(json),
  })
}

async function mint(topic: string, ttlSeconds = 300): Promise<string> {
  const res = await call('POST', '/v1/tokens/subscribe', tokens.backend!, { topic, ttlSeconds, subject: 'viewer-1' })
  assert.equal(res.status, 201)
  const t = (await res.json()).token as string
  sent.add(t)
  return t
}

async function logEnd(topic: string): Promise<number> {
  const d = await (await call('GET', `/v1/topics/${topic}`, tokens.admin!)).json()
  return d.partitions.reduce((s: number, p: { logEndOffset: number }) => s + p.logEndOffset, 0)
}

const openWs = (query: string, headers?: Record<string, string>) => WsClient.open(server.url, headers, query)

before(async () => {
  server = await startServer({ args: ['--jwt-secret', SECRET, '--max-connections-per-principal', '3'] })
  tokens.admin = await hs256(SECRET, claims({ sub: 'root', acl: { admin: true } }))
  tokens.alice = await hs256(SECRET, claims({ sub: 'alice', acl: { produce: ['orders.*'], consume: ['orders.*'], groups: ['billing-*'], deny: ['orders.secret'] } }))
  tokens.backend = await hs256(SECRET, claims({ sub: 'backend', acl: { mint: ['live.*'] } }))
  tokens.holder = await hs256(SECRET, claims({ sub: 'holder', acl: { consume: ['live.*'] } }))
  for (const t of Object.values(tokens)) sent.add(t)
  for (const name of ['live.game-1', 'live.game-2', 'orders.eu', 'orders.secret']) {
    assert.equal((await call('POST', '/v1/topics', tokens.admin, { name, partitions: 1 })).status, 201)
  }
  assert.equal((await call('POST', '/v1/topics/live.game-1/records', tokens.admin, { records: [{ value: { goal: 1 } }] })).status, 200)
})

after(async () => {
  await server?.stop()
  if (server) removeDir(server.dataDir)
})

describe('the WebSocket upgrade', () => {
  test('no token, a bad token or an expired one: 401 with a Bearer challenge, no upgrade', async () => {
    const expired = await hs256(SECRET, { sub: 'x', exp: Math.floor(Date.now() / 1000) - 100, acl: { admin: true } })
    sent.add(expired)
    for (const [headers, path] of [
      [{}, '/v1/ws'],
      [{ Authorization: 'Bearer not.a.token' }, '/v1/ws'],
      [{}, `/v1/ws?token=${expired}`],
      [{ Authorization: `Bearer ${expired}` }, '/v1/ws'],
    ] as const) {
      const raw = await RawWs.connect(server.port, headers, path)
      assert.equal(raw.status, 401, `${path} ${JSON.stringify(headers)}`)
      assert.match(raw.headers['www-authenticate'] ?? '', /^Bearer realm="edgelog"/)
      raw.socket.destroy()
    }
  })

  test('a subscribe token in the query: its topic streams, other topics, pub and commit get err frames', async () => {
    const ws = await openWs(`?token=${await mint('live.game-1')}`)
    try {
      const ok = await ws.call({ op: 'sub', id: 's1', topic: 'live.game-1', from: 'earliest' })
      assert.equal(ok.op, 'ok')
      const first = await ws.next((f) => (f.op === 'msg' || f.op === 'msgs') && f.sub === 's1')
      assert.deepEqual(first.op === 'msg' ? first.value : first.records[0].value, { goal: 1 })
      const denied = await ws.call({ op: 'sub', id: 's2', topic: 'live.game-2', from: 'earliest' })
      assert.equal(denied.op, 'err')
      assert.equal(denied.code, 'TOPIC_AUTHORIZATION_FAILED')
      const before = await logEnd('live.game-1')
      const pub = await ws.call({ op: 'pub', id: 'p1', topic: 'live.game-1', value: { forged: true } })
      assert.equal(pub.code, 'TOPIC_AUTHORIZATION_FAILED')
      assert.equal(await logEnd('live.game-1'), before)
      const commit = await ws.call({ op: 'commit', id: 'c1', group: 'billing-x', offsets: [{ topic: 'live.game-1', partition: 0, offset: 1 }] })
      assert.equal(commit.code, 'GROUP_AUTHORIZATION_FAILED')
      // The socket stays usable after refusals; the allowed subscription still delivers.
      assert.equal((await call('POST', '/v1/topics/live.game-1/records', tokens.admin!, { records: [{ value: { goal: 2 } }] })).status, 200)
      await ws.next((f) => (f.op === 'msg' && f.value?.goal === 2) || (f.op === 'msgs' && f.records.some((r: any) => r.value?.goal === 2)))
    } finally {
      ws.ws.close()
    }
  })

  test('a token in the Authorization header: pub and sub follow the acl, deny included, producer ids stay their owner\'s', async () => {
    const ws = await openWs('', { Authorization: `Bearer ${tokens.alice}` })
    try {
      assert.equal((await ws.call({ op: 'pub', id: 'p1', topic: 'orders.eu', value: 1 })).op, 'ack')
      const before = await logEnd('orders.secret')
      assert.equal((await ws.call({ op: 'pub', id: 'p2', topic: 'orders.secret', value: 1 })).code, 'TOPIC_AUTHORIZATION_FAILED')
      assert.equal((await ws.call({ op: 'sub', id: 's1', topic: 'orders.secret' })).code, 'TOPIC_AUTHORIZATION_FAILED')
      assert.equal(await logEnd('orders.secret'), before)
      const { producerId } = await (await call('POST', '/v1/producers', tokens.admin!, {})).json()
      const foreign = await ws.call({ op: 'pub', id: 'p3', topic: 'orders.eu', partition: 0, value: 1, producer: { id: producerId, epoch: 0, sequence: 0 } })
      assert.equal(foreign.code, 'UNKNOWN_PRODUCER_ID')
      const mine = await (await call('POST', '/v1/producers', tokens.alice!, {})).json()
      const own = await ws.call({ op: 'pub', id: 'p4', topic: 'orders.eu', partition: 0, value: 1, producer: { id: mine.producerId, epoch: 0, sequence: 0 } })
      assert.equal(own.op, 'ack')
      assert.equal((await ws.call({ op: 'commit', id: 'c1', group: 'billing-1', offsets: [{ topic: 'orders.eu', partition: 0, offset: 1 }] })).op, 'ok')
      assert.equal((await ws.call({ op: 'commit', id: 'c2', group: 'other', offsets: [{ topic: 'orders.eu', partition: 0, offset: 1 }] })).code, 'GROUP_AUTHORIZATION_FAILED')
      assert.equal((await ws.call({ op: 'sub', id: 'g1', topic: 'orders.eu', group: 'other' })).code, 'GROUP_AUTHORIZATION_FAILED')
      assert.equal((await ws.call({ op: 'sub', id: 'g2', topic: 'orders.secret', group: 'billing-ws' })).code, 'TOPIC_AUTHORIZATION_FAILED')
      assert.equal((await ws.call({ op: 'sub', id: 'g3', topic: 'orders.eu', group: 'billing-ws' })).op, 'ok')
    } finally {
      ws.ws.close()
    }
  })

  test('after its token expires a socket accepts no new sub; the running subscription goes on', async () => {
    // A token's exp is in whole seconds: a 1 s token may already be past it when the socket
    // opens. Three seconds leave room for a loaded machine; the wait reads exp itself.
    const token = await mint('live.*', 3)
    const exp = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp
    const ws = await openWs(`?token=${token}`)
    try {
      assert.equal((await ws.call({ op: 'sub', id: 's1', topic: 'live.game-2', from: 'latest' })).op, 'ok')
      await sleep(Math.max(0, exp * 1000 - Date.now()) + 200)
      const late = await ws.call({ op: 'sub', id: 's2', topic: 'live.game-1' })
      assert.equal(late.code, 'UNAUTHORIZED')
      assert.equal((await call('POST', '/v1/topics/live.game-2/records', tokens.admin!, { records: [{ value: 'still' }] })).status, 200)
      await ws.next((f) => f.sub === 's1' && (f.op === 'msg' || f.op === 'msgs'))
      assert.equal((await ws.call({ op: 'unsub', id: 's1' })).op, 'ok')
    } finally {
      ws.ws.close()
    }
  })

  test('open sockets hold their principal\'s connection slots until they close (§5.4 item 30)', async () => {
    const sockets = [await openWs('', { Authorization: `Bearer ${tokens.holder}` }), await openWs('', { Authorization: `Bearer ${tokens.holder}` }), await openWs('', { Authorization: `Bearer ${tokens.holder}` })]
    try {
      const fourth = await RawWs.connect(server.port, { Authorization: `Bearer ${tokens.holder}` })
      assert.equal(fourth.status, 429)
      fourth.socket.destroy()
      assert.equal((await call('GET', '/v1/topics', tokens.holder!)).status, 429)
      sockets.pop()!.ws.close()
      await waitUntil('the freed slot admits a request', async () => (await call('GET', '/v1/topics', tokens.holder!)).status === 200)
    } finally {
      for (const s of sockets) s.ws.close()
    }
  })
})

describe('SSE', () => {
  test('no token: 401; a subscribe token streams its topic and nothing else', async () => {
    const anon = await SseClient.open(`${server.url}/v1/topics/live.game-1/sse?from=earliest`)
    assert.equal(anon.status, 401)
    const t = await mint('live.game-1')
    const other = await SseClient.open(`${server.url}/v1/topics/live.game-2/sse?from=earliest&token=${t}`)
    assert.equal(other.status, 403)
    assert.equal(JSON.parse(other.body).error.code, 'TOPIC_AUTHORIZATION_FAILED')
    const sse = await SseClient.open(`${server.url}/v1/topics/live.game-1/sse?from=earliest&token=${t}`)
    try {
      assert.equal(sse.status, 200)
      await sse.waitFor(() => sse.records().some((r) => r.value?.goal === 1))
    } finally {
      sse.close()
    }
  })

  test('a stream holds its principal\'s slot until it ends', async () => {
    const streams = await Promise.all([0, 1, 2].map(() => SseClient.open(`${server.url}/v1/topics/live.game-1/sse`, { authorization: `Bearer ${tokens.holder}` })))
    try {
      for (const s of streams) assert.equal(s.status, 200)
      assert.equal((await call('GET', '/v1/topics', tokens.holder!)).status, 429)
      streams.pop()!.close()
      await waitUntil('the freed slot admits a request', async () => (await call('GET', '/v1/topics', tokens.holder!)).status === 200)
    } finally {
      for (const s of streams) s.close()
    }
  })
})

test('no token used here appears in the server output (§5.4 item 12)', async () => {
  await sleep(200)
  const out = server.output()
  for (const t of sent) assert.ok(!out.includes(t), 'a token is in the server output')
})
