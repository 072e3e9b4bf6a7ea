// Authentication and authorization against a real `edgelog serve --jwt-secret ... --jwks ...`
// (issue 8, RELIABILITY.md §5.4 items 3-8, 10-12): every refused credential is a 401 with a
// WWW-Authenticate challenge, every request outside the token's acl a 403 that changes nothing,
// producer ids belong to whoever obtained them, browser subscribe tokens reach one topic or
// prefix and expire, and no token ever shows up in the server's output.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BUN, ROOT, removeDir, startServer, tempDir, type TestServer } from '../helpers/server.ts'
import { claims, generateKeyPair, hs256, jwkEntry, nowSec, rawToken, signWith, type KeyPair } from '../helpers/jwt.ts'

const SECRET = 'integration-secret-with-at-least-32-bytes'
const AUD = 'edgelog'
const ISS = 'https://idp.test'

let server: TestServer
let keyDir = ''
let es: KeyPair
let rs: KeyPair
/** Every token this file sent: the server's output must contain none of them. */
const sentTokens = new Set<string>()

const T = { eu: 'orders.eu', secret: 'orders.secret', comments: 'comments', audit: 'audit', game1: 'live.game-1', game2: 'live.game-2' }

const ACL_ALICE = { produce: ['orders.*'], consume: ['orders.*', 'comments'], groups: ['billing-*'], deny: ['orders.secret'], admin: false }
const tokens: Record<string, string> = {}

function idp(sub: string, acl?: unknown, extra: Record<string, unknown> = {}) {
  return hs256(SECRET, claims({ sub, aud: AUD, iss: ISS, ...(acl === undefined ? {} : { acl }), ...extra }))
}

interface CallOptions {
  token?: string
  queryToken?: string
  json?: unknown
  headers?: Record<string, string>
}

async function call(method: string, path: string, opts: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...opts.headers }
  if (opts.token !== undefined) {
    sentTokens.add(opts.token)
    headers.authorization = `Bearer ${opts.token}`
  }
  let url = server.url + path
  if (opts.queryToken !== undefined) {
    sentTokens.add(opts.queryToken)
    url += `${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(opts.queryToken)}`
  }
  if (opts.json !== undefined) headers['content-type'] = 'application/json'
  return fetch(url, { method, headers, body: opts.json === undefined ? undefined : JSON.stringify(opts.json) })
}

async function expectStatus(res: Response, status: number, code?: string): Promise<any> {
  const text = await res.text()
  assert.equal(res.status, status, `expected ${status}${code ? ` ${code}` : ''}, got ${res.status}: ${text.slice(0, 300)}`)
  const body = text ? JSON.parse(text) : undefined
  if (code) assert.equal(body?.error?.code, code, text)
  if (status >= 400) {
    for (const t of sentTokens) assert.ok(!text.includes(t), 'an error body echoes a token')
  }
  return body
}

async function unauthorized(res: Response, challenge: RegExp = /^Bearer realm="edgelog", error="invalid_token"/) {
  const header = res.headers.get('www-authenticate') ?? ''
  const body = await expectStatus(res, 401, 'UNAUTHORIZED')
  assert.match(header, challenge)
  return body
}

async function logEnds(topic: string): Promise<number[]> {
  const d = await expectStatus(await call('GET', `/v1/topics/${topic}`, { token: tokens.admin }), 200)
  return d.partitions.map((p: { logEndOffset: number }) => p.logEndOffset)
}

const produce = (topic: string, token: string | undefined, value: unknown = { n: 1 }) =>
  call('POST', `/v1/topics/${topic}/records`, { token, json: { records: [{ value }] } })

before(async () => {
  keyDir = tempDir('edgelog-keys-')
  es = await generateKeyPair('ES256')
  rs = await generateKeyPair('RS256')
  writeFileSync(join(keyDir, 'jwks.json'), JSON.stringify({ keys: [jwkEntry(es, 'es-1'), jwkEntry(rs, 'rs-1')] }))
  server = await startServer({
    args: ['--jwt-secret', SECRET, '--jwks', join(keyDir, 'jwks.json'), '--jwt-audience', AUD, '--jwt-issuer', ISS, '--jwt-clock-skew-sec', '0'],
  })
  tokens.admin = await idp('root', { admin: true })
  tokens.alice = await idp('alice', ACL_ALICE)
  tokens.bob = await idp('bob', { consume: ['orders.eu'] })
  tokens.carol = await idp('carol', { produce: ['orders.*'] })
  tokens.minter = await idp('backend', { mint: ['live.*'] })
  tokens.scraper = await idp('prometheus', { metrics: true })
  tokens.nothing = await idp('nobody')
  for (const name of Object.values(T)) {
    await expectStatus(await call('POST', '/v1/topics', { token: tokens.admin, json: { name, partitions: 1 } }), 201)
  }
})

after(async () => {
  await server?.stop()
  if (server) removeDir(server.dataDir)
  removeDir(keyDir)
})

describe('authentication (§5.4 item 3)', () => {
  test('/healthz, /readyz and the browser client bundle need no token', async () => {
    await expectStatus(await fetch(`${server.url}/healthz`), 200)
    await expectStatus(await fetch(`${server.url}/readyz`), 200)
    const js = await fetch(`${server.url}/v1/client.js`)
    assert.equal(js.status, 200)
    assert.match(js.headers.get('content-type') ?? '', /javascript/)
    await js.body?.cancel()
  })

  test('no token: 401 with a bare Bearer challenge, and nothing is appended', async () => {
    const before = await logEnds(T.eu)
    await unauthorized(await call('GET', '/v1/topics'), /^Bearer realm="edgelog"$/)
    await unauthorized(await produce(T.eu, undefined), /^Bearer realm="edgelog"$/)
    await unauthorized(await call('GET', '/v1/nothing-here'), /^Bearer realm="edgelog"$/)
    assert.deepEqual(await logEnds(T.eu), before)
  })

  test('valid tokens of all three algorithms are accepted', async () => {
    const body = claims({ sub: 'k', aud: AUD, iss: ISS, acl: { consume: ['orders.*'] } })
    for (const t of [await hs256(SECRET, body), await signWith(es, body, { kid: 'es-1' }), await signWith(rs, body, { kid: 'rs-1' })]) {
      await expectStatus(await call('GET', `/v1/topics/${T.eu}/partitions/0/records`, { token: t }), 200)
    }
  })

  test('alg none, algorithm confusion, bad signatures, time, audience, issuer and shape problems are 401', async () => {
    const base = { sub: 'mallory', aud: AUD, iss: ISS, acl: { admin: true } }
    const good = await hs256(SECRET, claims(base))
    const [h, p, s] = good.split('.') as [string, string, string]
    const cases: Record<string, string> = {
      'alg none': rawToken({ alg: 'none', typ: 'JWT' }, claims(base), ''),
      'alg none with a signature': rawToken({ alg: 'none' }, claims(base), s),
      'HS256 keyed with the RSA public key': await hs256(rs.publicPem, claims(base), { kid: 'rs-1' }),
      'HS256 keyed with the EC public key, no kid': await hs256(es.publicPem, claims(base)),
      'a flipped signature bit': `${h}.${p}.${s.startsWith('A') ? `B${s.slice(1)}` : `A${s.slice(1)}`}`,
      'a payload swapped under a good signature': `${h}.${Buffer.from(JSON.stringify(claims({ ...base, sub: 'x' }))).toString('base64url')}.${s}`,
      'an ES256 token under the RSA kid': await signWith(es, claims(base), { kid: 'rs-1' }),
      'an unknown kid among several JWKS keys (ES256)': await signWith(es, claims(base), { kid: 'es-9' }),
      expired: await hs256(SECRET, { ...base, exp: nowSec() - 5 }),
      'not yet valid': await hs256(SECRET, claims({ ...base, nbf: nowSec() + 600 })),
      'no exp': await hs256(SECRET, { ...base, iat: nowSec() }),
      'wrong audience': await hs256(SECRET, claims({ ...base, aud: 'someone-else' })),
      'no audience': await hs256(SECRET, claims({ sub: 'm', iss: ISS })),
      'wrong issuer': await hs256(SECRET, claims({ ...base, iss: 'https://evil.test' })),
      'no sub': await hs256(SECRET, claims({ ...base, sub: undefined })),
      'an acl with a NATS wildcard': await hs256(SECRET, claims({ ...base, acl: { consume: ['orders.>'] } })),
      garbage: 'not-a-token',
      'two segments': `${h}.${p}`,
      'padded base64': `${h}.${p}.${s}=`,
      'too long': `${h}.${p}.${'A'.repeat(10_000)}`,
    }
    for (const [name, token] of Object.entries(cases)) {
      const before = await logEnds(T.eu)
      const res = await produce(T.eu, token)
      try {
        await unauthorized(res)
      } catch (err) {
        ;(err as Error).message = `${name}: ${(err as Error).message}`
        throw err
      }
      assert.deepEqual(await logEnds(T.eu), before, name)
      await unauthorized(await call('GET', `/v1/topics/${T.eu}/partitions/0/records`, { queryToken: token }))
    }
  })

  test('a credential sent twice, or in another scheme, is refused', async () => {
    await unauthorized(await call('GET', '/v1/topics', { token: tokens.alice, queryToken: tokens.alice }))
    await unauthorized(await fetch(`${server.url}/v1/topics?token=${tokens.alice}&token=${tokens.alice}`))
    await unauthorized(await call('GET', '/v1/topics', { headers: { authorization: `Basic ${btoa('a:b')}` } }))
    await unauthorized(await call('GET', '/v1/topics', { headers: { authorization: 'Bearer' } }))
    await unauthorized(await call('GET', '/v1/topics', { headers: { authorization: `Bearer ${tokens.alice} extra` } }))
    await unauthorized(await fetch(`${server.url}/v1/topics?token=`))
  })
})

describe('authorization (§5.4 items 5-8, 10)', () => {
  test("the issue's example acl: produce and consume orders.*, consume comments, deny orders.secret", async () => {
    await expectStatus(await produce(T.eu, tokens.alice), 200)
    await expectStatus(await call('GET', `/v1/topics/${T.eu}/partitions/0/records`, { token: tokens.alice }), 200)
    await expectStatus(await call('GET', `/v1/topics/${T.comments}/partitions/0/records`, { token: tokens.alice }), 200)
    const before = { comments: await logEnds(T.comments), secret: await logEnds(T.secret) }
    await expectStatus(await produce(T.comments, tokens.alice), 403, 'TOPIC_AUTHORIZATION_FAILED')
    await expectStatus(await produce(T.secret, tokens.alice), 403, 'TOPIC_AUTHORIZATION_FAILED')
    await expectStatus(await call('GET', `/v1/topics/${T.secret}/partitions/0/records`, { token: tokens.alice }), 403, 'TOPIC_AUTHORIZATION_FAILED')
    await expectStatus(await call('GET', `/v1/topics/${T.secret}`, { token: tokens.alice }), 403, 'TOPIC_AUTHORIZATION_FAILED')
    assert.deepEqual({ comments: await logEnds(T.comments), secret: await logEnds(T.secret) }, before)
  })

  test('deny holds through URL-encoded names; case variants are other (closed) topics', async () => {
    for (const path of ['orders%2Esecret', 'orders%2esecret', '%6frders.secret']) {
      await expectStatus(await call('GET', `/v1/topics/${path}/partitions/0/records`, { token: tokens.alice }), 403, 'TOPIC_AUTHORIZATION_FAILED')
      await expectStatus(await produce(path, tokens.alice), 403, 'TOPIC_AUTHORIZATION_FAILED')
    }
    await expectStatus(await call('GET', `/v1/topics/ORDERS.eu/partitions/0/records`, { token: tokens.alice }), 403, 'TOPIC_AUTHORIZATION_FAILED')
    await expectStatus(await call('GET', `/v1/topics/Orders.secret`, { token: tokens.alice }), 403, 'TOPIC_AUTHORIZATION_FAILED')
  })

  test('wildcard-looking requests are literal names: nothing answers to them', async () => {
    for (const name of ['%3E', '*', 'orders.%3E', 'orders.*']) {
      const res = await call('GET', `/v1/topics/${name}/partitions/0/records`, { token: tokens.alice })
      assert.ok([403, 404].includes(res.status), `${name}: ${res.status}`)
      await res.body?.cancel()
    }
  })

  test('consume without produce, produce without consume, and a topic nobody was granted', async () => {
    await expectStatus(await call('GET', `/v1/topics/${T.eu}/partitions/0/records`, { token: tokens.bob }), 200)
    await expectStatus(await produce(T.eu, tokens.bob), 403, 'TOPIC_AUTHORIZATION_FAILED')
    await expectStatus(await produce(T.eu, tokens.carol), 200)
    await expectStatus(await call('GET', `/v1/topics/${T.eu}/partitions/0/records`, { token: tokens.carol }), 403, 'TOPIC_AUTHORIZATION_FAILED')
    for (const t of [tokens.alice, tokens.bob, tokens.carol, tokens.nothing, tokens.minter]) {
      await expectStatus(await call('GET', `/v1/topics/${T.audit}/partitions/0/records`, { token: t }), 403, 'TOPIC_AUTHORIZATION_FAILED')
      await expectStatus(await produce(T.audit, t), 403, 'TOPIC_AUTHORIZATION_FAILED')
    }
    await expectStatus(await produce(T.audit, tokens.admin), 200)
  })

  test('the topic list shows only what the caller may describe', async () => {
    const names = async (t: string) => (await expectStatus(await call('GET', '/v1/topics', { token: t }), 200)).topics.map((x: { name: string }) => x.name)
    assert.deepEqual(await names(tokens.alice), [T.comments, T.eu])
    assert.deepEqual(await names(tokens.bob), [T.eu])
    assert.deepEqual(await names(tokens.nothing), [])
    assert.equal((await names(tokens.admin)).length, Object.keys(T).length)
  })

  test('creating, deleting and configuring topics need admin; so does any route no rule names', async () => {
    await expectStatus(await call('POST', '/v1/topics', { token: tokens.alice, json: { name: 'orders.new' } }), 403, 'CLUSTER_AUTHORIZATION_FAILED')
    await expectStatus(await call('DELETE', `/v1/topics/${T.eu}`, { token: tokens.alice }), 403, 'CLUSTER_AUTHORIZATION_FAILED')
    await expectStatus(await call('PATCH', `/v1/topics/${T.eu}/config`, { token: tokens.alice, json: {} }), 403, 'CLUSTER_AUTHORIZATION_FAILED')
    await expectStatus(await call('GET', '/v1/cluster/reassign', { token: tokens.alice }), 403, 'CLUSTER_AUTHORIZATION_FAILED')
    await expectStatus(await call('GET', '/v1/cluster/reassign', { token: tokens.admin }), 404, 'NOT_FOUND')
    // Broker addresses are for every authenticated client (it routes with them), not only admins.
    await expectStatus(await call('GET', '/v1/brokers', { token: tokens.bob }), 200)
    await unauthorized(await call('GET', '/v1/brokers'), /^Bearer realm="edgelog"$/)
    await expectStatus(await call('POST', '/v1/topics', { token: tokens.admin, json: { name: 'tmp.admin' } }), 201)
    await expectStatus(await call('DELETE', '/v1/topics/tmp.admin', { token: tokens.admin }), 200)
  })

  test('groups: the group grant and consume on every committed topic; offsets and lag are filtered', async () => {
    await expectStatus(await call('POST', '/v1/groups/billing-1/offsets', { token: tokens.alice, json: { offsets: [{ topic: T.eu, partition: 0, offset: 1 }] } }), 200)
    await expectStatus(
      await call('POST', '/v1/groups/billing-1/offsets', { token: tokens.alice, json: { offsets: [{ topic: T.eu, partition: 0, offset: 0 }, { topic: T.audit, partition: 0, offset: 0 }] } }),
      403,
      'TOPIC_AUTHORIZATION_FAILED',
    )
    await expectStatus(await call('POST', '/v1/groups/other/offsets', { token: tokens.alice, json: { offsets: [{ topic: T.eu, partition: 0, offset: 0 }] } }), 403, 'GROUP_AUTHORIZATION_FAILED')
    await expectStatus(await call('GET', '/v1/groups/other/lag', { token: tokens.alice }), 403, 'GROUP_AUTHORIZATION_FAILED')
    // The refused commit changed nothing: still offset 1.
    await expectStatus(await call('POST', '/v1/groups/billing-1/offsets', { token: tokens.admin, json: { offsets: [{ topic: T.audit, partition: 0, offset: 1 }] } }), 200)
    const seen = await expectStatus(await call('GET', '/v1/groups/billing-1/offsets', { token: tokens.alice }), 200)
    assert.deepEqual(seen.offsets.map((o: { topic: string; offset: number }) => [o.topic, o.offset]), [[T.eu, 1]])
    const lag = await expectStatus(await call('GET', '/v1/groups/billing-1/lag', { token: tokens.alice }), 200)
    assert.deepEqual(lag.partitions.map((p: { topic: string }) => p.topic), [T.eu])
    const all = await expectStatus(await call('GET', '/v1/groups/billing-1/offsets', { token: tokens.admin }), 200)
    assert.equal(all.offsets.length, 2)
  })
})

describe('consumer groups and internal topics (§5.4 items 6, 7, 8)', () => {
  test('joining needs the group and consume on every topic; the group list shows only granted groups; deleting a group needs admin', async () => {
    await expectStatus(await call('POST', '/v1/groups/billing-join/members', { token: tokens.alice, json: { topics: [T.eu, T.audit] } }), 403, 'TOPIC_AUTHORIZATION_FAILED')
    await expectStatus(await call('POST', '/v1/groups/payroll/members', { token: tokens.alice, json: { topics: [T.eu] } }), 403, 'GROUP_AUTHORIZATION_FAILED')
    const joined = await expectStatus(await call('POST', '/v1/groups/billing-join/members', { token: tokens.alice, json: { topics: [T.eu] } }), 200)
    assert.equal(typeof joined.memberId, 'string')
    const hb = await call('POST', `/v1/groups/billing-join/members/${joined.memberId}/heartbeat`, {
      token: tokens.alice,
      json: { memberEpoch: joined.memberEpoch, ownedPartitions: [], topics: [T.eu, T.audit] },
    })
    await expectStatus(hb, 403, 'TOPIC_AUTHORIZATION_FAILED')
    await expectStatus(await call('POST', '/v1/groups/payroll/offsets', { token: tokens.admin, json: { offsets: [{ topic: T.audit, partition: 0, offset: 0 }] } }), 200)
    const listed = await expectStatus(await call('GET', '/v1/groups', { token: tokens.alice }), 200)
    const names = listed.groups.map((g: { group: string }) => g.group)
    assert.ok(names.includes('billing-join') && !names.includes('payroll'), JSON.stringify(names))
    await expectStatus(await call('DELETE', `/v1/groups/billing-join/members/${joined.memberId}`, { token: tokens.alice }), 200)
    await expectStatus(await call('DELETE', '/v1/groups/billing-join', { token: tokens.alice }), 403, 'CLUSTER_AUTHORIZATION_FAILED')
    await expectStatus(await call('POST', '/v1/groups/payroll/offsets/reset', { token: tokens.alice, json: { to: 'earliest' } }), 403, 'GROUP_AUTHORIZATION_FAILED')
    await expectStatus(await call('POST', '/v1/groups/billing-1/offsets/reset', { token: tokens.alice, json: { to: 'earliest', topics: [{ topic: T.audit }] } }), 403, 'TOPIC_AUTHORIZATION_FAILED')
  })

  test('__consumer_offsets is closed to every pattern, * included; admins may read it', async () => {
    const star = await idp('star', { consume: ['*'], produce: ['*'] })
    await expectStatus(await call('GET', '/v1/topics/__consumer_offsets/partitions/0/records', { token: star }), 403, 'TOPIC_AUTHORIZATION_FAILED')
    await expectStatus(await call('GET', '/v1/topics/__consumer_offsets', { token: star }), 403, 'TOPIC_AUTHORIZATION_FAILED')
    const listed = await expectStatus(await call('GET', '/v1/topics?internal=true', { token: star }), 200)
    assert.ok(!listed.topics.some((t: { name: string }) => t.name === '__consumer_offsets'))
    await expectStatus(await call('GET', '/v1/topics/__consumer_offsets/partitions/0/records', { token: tokens.admin }), 200)
    await expectStatus(await call('GET', `/v1/topics/${T.audit}/partitions/0/records`, { token: star }), 200)
  })
})

describe('idempotent producer ids belong to their principal (§5.4 item 11)', () => {
  test("another principal can neither use nor fence alice's producer id; an admin can", async () => {
    const { producerId, producerEpoch } = await expectStatus(await call('POST', '/v1/producers', { token: tokens.alice, json: {} }), 200)
    const body = (sequence: number, epoch = producerEpoch) => ({ records: [{ value: 's' }], producer: { id: producerId, epoch, sequence } })
    const path = `/v1/topics/${T.eu}/partitions/0/records`
    await expectStatus(await call('POST', path, { token: tokens.alice, json: body(0) }), 200)
    const before = await logEnds(T.eu)
    await expectStatus(await call('POST', path, { token: tokens.carol, json: body(1) }), 400, 'UNKNOWN_PRODUCER_ID')
    await expectStatus(await call('POST', '/v1/producers', { token: tokens.carol, json: { producerId } }), 400, 'UNKNOWN_PRODUCER_ID')
    assert.deepEqual(await logEnds(T.eu), before)
    // The refused bump did not fence alice: her epoch still works.
    await expectStatus(await call('POST', path, { token: tokens.alice, json: body(1) }), 200)
    await expectStatus(await call('POST', '/v1/producers', { token: tokens.nothing, json: {} }), 403, 'CLUSTER_AUTHORIZATION_FAILED')
    const bumped = await expectStatus(await call('POST', '/v1/producers', { token: tokens.admin, json: { producerId } }), 200)
    assert.equal(bumped.producerEpoch, producerEpoch + 1)
    await expectStatus(await call('POST', path, { token: tokens.alice, json: body(2) }), 409, 'INVALID_PRODUCER_EPOCH')
  })

  test('the binding survives a restart', async () => {
    const { producerId } = await expectStatus(await call('POST', '/v1/producers', { token: tokens.carol, json: {} }), 200)
    const args = server.proc.spawnargs.slice(2)
    await server.stop()
    server = await startServer({ dataDir: server.dataDir, args: args.slice(args.indexOf('--data') + 2) })
    await expectStatus(await call('POST', '/v1/producers', { token: tokens.alice, json: { producerId } }), 400, 'UNKNOWN_PRODUCER_ID')
    await expectStatus(await call('POST', '/v1/producers', { token: tokens.carol, json: { producerId } }), 200)
  })
})

describe('browser subscribe tokens', () => {
  const mint = (token: string, body: unknown) => call('POST', '/v1/tokens/subscribe', { token, json: body })

  test('a backend with a mint grant gets a token for one topic that reads it and nothing else', async () => {
    await expectStatus(await produce(T.game1, tokens.admin, { goal: 1 }), 200)
    const minted = await expectStatus(await mint(tokens.minter, { topic: T.game1, subject: 'user-42', ttlSeconds: 120 }), 201)
    assert.equal(minted.tokenType, 'Bearer')
    assert.ok(minted.expiresAt > Date.now() + 100_000 && minted.expiresAt <= Date.now() + 121_000)
    const t = minted.token as string
    const read = await expectStatus(await call('GET', `/v1/topics/${T.game1}/partitions/0/records?offset=0`, { queryToken: t }), 200)
    assert.deepEqual(read.records[0].value, { goal: 1 })
    await expectStatus(await call('GET', `/v1/topics/${T.game1}/partitions/0/records`, { token: t }), 200)
    await expectStatus(await call('GET', `/v1/topics/${T.game2}/partitions/0/records`, { queryToken: t }), 403, 'TOPIC_AUTHORIZATION_FAILED')
    await expectStatus(await call('GET', `/v1/topics/${T.eu}/partitions/0/records`, { queryToken: t }), 403, 'TOPIC_AUTHORIZATION_FAILED')
    await expectStatus(await produce(T.game1, t), 403, 'TOPIC_AUTHORIZATION_FAILED')
    await expectStatus(await mint(t, { topic: T.game1 }), 403, 'TOPIC_AUTHORIZATION_FAILED')
    await expectStatus(await call('POST', '/v1/groups/billing-x/offsets', { queryToken: t, json: { offsets: [{ topic: T.game1, partition: 0, offset: 0 }] } }), 403, 'GROUP_AUTHORIZATION_FAILED')
  })

  test('a prefix token reads every topic under the prefix', async () => {
    const { token } = await expectStatus(await mint(tokens.minter, { topic: 'live.*' }), 201)
    await expectStatus(await call('GET', `/v1/topics/${T.game1}/partitions/0/records`, { queryToken: token }), 200)
    await expectStatus(await call('GET', `/v1/topics/${T.game2}/partitions/0/records`, { queryToken: token }), 200)
    await expectStatus(await call('GET', `/v1/topics/${T.comments}/partitions/0/records`, { queryToken: token }), 403, 'TOPIC_AUTHORIZATION_FAILED')
  })

  test('minting outside the grant, without one, or with a bad body is refused', async () => {
    await expectStatus(await mint(tokens.minter, { topic: T.eu }), 403, 'TOPIC_AUTHORIZATION_FAILED')
    await expectStatus(await mint(tokens.minter, { topic: '*' }), 403, 'TOPIC_AUTHORIZATION_FAILED')
    await expectStatus(await mint(tokens.alice, { topic: T.eu }), 403, 'TOPIC_AUTHORIZATION_FAILED')
    await expectStatus(await mint(tokens.minter, { topic: 'live.>' }), 400, 'INVALID_REQUEST')
    await expectStatus(await mint(tokens.minter, { topic: T.game1, ttlSeconds: 999_999 }), 400, 'INVALID_REQUEST')
    await expectStatus(await mint(tokens.minter, { topic: T.game1, admin: true }), 400, 'INVALID_REQUEST')
    await unauthorized(await mint('nope', { topic: T.game1 }))
    await expectStatus(await mint(tokens.admin, { topic: '*' }), 201)
  })

  test('a subscribe token stops working when it expires', async () => {
    const { token } = await expectStatus(await mint(tokens.minter, { topic: T.game1, ttlSeconds: 1 }), 201)
    await expectStatus(await call('GET', `/v1/topics/${T.game1}/partitions/0/records`, { queryToken: token }), 200)
    await new Promise((r) => setTimeout(r, 2200))
    const body = await unauthorized(await call('GET', `/v1/topics/${T.game1}/partitions/0/records`, { queryToken: token }))
    assert.match(body.error.message, /expired/)
  })

  test('a token signed with the subscribe kid but not by the node is refused', async () => {
    const forged = await hs256(SECRET, claims({ iss: 'edgelog', aud: 'edgelog:subscribe', acl: { consume: ['*'] } }), { kid: 'edgelog-subscribe' })
    await unauthorized(await call('GET', `/v1/topics/${T.audit}/partitions/0/records`, { queryToken: forged }))
  })
})

describe('metrics and logs', () => {
  test('/metrics needs admin or the metrics grant, and counts refusals by reason', async () => {
    await unauthorized(await fetch(`${server.url}/metrics`), /^Bearer realm="edgelog"$/)
    await expectStatus(await call('GET', '/metrics', { token: tokens.alice }), 403, 'CLUSTER_AUTHORIZATION_FAILED')
    await unauthorized(await produce(T.eu, await hs256(SECRET, { sub: 'x', aud: AUD, iss: ISS, exp: nowSec() - 1 })))
    const res = await call('GET', '/metrics', { token: tokens.scraper })
    assert.equal(res.status, 200)
    const text = await res.text()
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\d+)$`, 'm').exec(text)?.[1] ?? 0)
    assert.ok(value('edgelog_auth_failures_total{reason="expired"}') >= 1, text)
    assert.ok(value('edgelog_auth_failures_total{reason="missing"}') >= 1)
    assert.ok(value('edgelog_auth_failures_total{reason="bad_signature"}') >= 1)
    assert.ok(value('edgelog_authorization_failures_total{resource="topic"}') >= 1)
    assert.ok(value('edgelog_authorization_failures_total{resource="cluster"}') >= 1)
  })

  test('no token this file sent appears in the server output (§5.4 item 12)', () => {
    const out = server.output()
    assert.ok(sentTokens.size > 20)
    for (const t of sentTokens) {
      assert.ok(!out.includes(t), 'the server output contains a token')
      const sig = t.split('.')[2]
      if (sig && sig.length > 16) assert.ok(!out.includes(sig), 'the server output contains a token signature')
    }
    assert.ok(!out.includes(SECRET), 'the server output contains the secret')
  })
})

describe('the CLI', () => {
  test('EDGELOG_TOKEN authenticates every command; without it the CLI reports UNAUTHORIZED', () => {
    const run = (env: Record<string, string>) =>
      spawnSync('node', [join(ROOT, 'bin/edgelog.mjs'), 'topics', 'list'], { cwd: ROOT, env: { ...process.env, EDGELOG_URL: server.url, ...env }, encoding: 'utf8', timeout: 20_000 })
    const ok = run({ EDGELOG_TOKEN: tokens.bob! })
    assert.equal(ok.status, 0, ok.stderr)
    assert.match(ok.stdout, /orders\.eu/)
    assert.doesNotMatch(ok.stdout, /audit/)
    const refused = run({})
    assert.equal(refused.status, 1)
    assert.match(refused.stderr, /UNAUTHORIZED/)
  })
})

describe('anonymous access', () => {
  test('--allow-anonymous: no token may do everything, a bad token is still 401', async () => {
    const s = await startServer({ args: ['--jwt-secret', SECRET, '--allow-anonymous'] })
    try {
      const r1 = await fetch(`${s.url}/v1/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"anon"}' })
      assert.equal(r1.status, 201)
      const r2 = await fetch(`${s.url}/v1/topics/anon/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"records":[{"value":1}]}' })
      assert.equal(r2.status, 200)
      const r3 = await fetch(`${s.url}/v1/topics`, { headers: { authorization: 'Bearer not.a.token' } })
      assert.equal(r3.status, 401)
      await r3.body?.cancel()
    } finally {
      await s.stop()
      removeDir(s.dataDir)
    }
  })

  test('--anonymous-acl limits what a caller without a token may do', async () => {
    const s = await startServer({ args: ['--jwt-secret', SECRET, '--allow-anonymous', '--anonymous-acl', '{"consume":["public.*"]}'] })
    try {
      const admin = await hs256(SECRET, claims({ acl: { admin: true } }))
      for (const name of ['public.news', 'private.x']) {
        const r = await fetch(`${s.url}/v1/topics`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ name }) })
        assert.equal(r.status, 201)
      }
      assert.equal((await fetch(`${s.url}/v1/topics/public.news/partitions/0/records`)).status, 200)
      assert.equal((await fetch(`${s.url}/v1/topics/private.x/partitions/0/records`)).status, 403)
      const p = await fetch(`${s.url}/v1/topics/public.news/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"records":[{"value":1}]}' })
      assert.equal(p.status, 403)
      assert.equal((await fetch(`${s.url}/v1/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"x"}' })).status, 403)
    } finally {
      await s.stop()
      removeDir(s.dataDir)
    }
  })
})

describe('configuration mistakes stop the node before it serves', () => {
  function serve(args: string[], env: Record<string, string> = {}) {
    const dir = tempDir()
    const r = spawnSync(BUN, ['edge/bun/serve.ts', '--port', '0', '--data', dir, ...args], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20_000 })
    removeDir(dir)
    return { code: r.status, out: `${r.stdout}${r.stderr}` }
  }

  test('a short secret, a flag without a key, a private key, half a TLS pair', () => {
    const short = serve(['--jwt-secret', 'hunter2-too-short'])
    assert.equal(short.code, 2)
    assert.match(short.out, /at least 32 bytes/)
    assert.ok(!short.out.includes('hunter2-too-short'), 'the error repeats the secret')
    assert.equal(serve(['--allow-anonymous']).code, 2)
    assert.equal(serve(['--jwt-audience', 'x']).code, 2)
    const keyFile = join(keyDir, 'private.pem')
    writeFileSync(keyFile, '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n')
    const priv = serve(['--jwt-public-key', keyFile])
    assert.equal(priv.code, 2)
    assert.match(priv.out, /private key/)
    assert.equal(serve(['--jwt-public-key', join(keyDir, 'missing.pem')]).code, 2)
    assert.equal(serve(['--tls-cert', join(keyDir, 'cert.pem')]).code, 2)
    const cluster = serve(['--jwt-secret', SECRET, '--etcd', 'http://127.0.0.1:9'])
    assert.equal(cluster.code, 2)
    assert.match(cluster.out, /needs --peer-token/)
    // An edge takes the same flags (test/integration/edge-auth.test.ts); its upstream token is an edge's only.
    const upstreamToken = serve(['--jwt-secret', SECRET, '--upstream-token', 'a.b.c'])
    assert.equal(upstreamToken.code, 2)
    assert.match(upstreamToken.out, /credential of an edge/)
  })

  test('EDGELOG_JWT_SECRET switches authentication on without the secret on the command line', async () => {
    const s = await startServer({ env: { EDGELOG_JWT_SECRET: SECRET } })
    try {
      assert.equal((await fetch(`${s.url}/v1/topics`)).status, 401)
      const ok = await fetch(`${s.url}/v1/topics`, { headers: { authorization: `Bearer ${await hs256(SECRET, claims({ acl: { admin: true } }))}` } })
      assert.equal(ok.status, 200)
    } finally {
      await s.stop()
      removeDir(s.dataDir)
    }
  })
})
