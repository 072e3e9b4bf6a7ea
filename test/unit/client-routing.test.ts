// The client's routing by metadata, without a server: a fake three-broker cluster behind an
// injected `fetch` answers `GET /v1/brokers`, `GET /v1/topics/{t}` and the partition requests,
// and records which broker each request went to. The real cluster is in
// test/cluster/client-routing.test.ts.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { EdgelogClient } from '../../src/client/index.ts'
import { HttpClient } from '../../src/client/http.ts'
import { TopicMetadata } from '../../src/client/metadata.ts'

interface Sent {
  host: string
  method: string
  path: string
  body: any
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } })
const notLeader = () => json({ error: { code: 'NOT_LEADER_OR_FOLLOWER', message: 'not the leader' } }, 421)

/** Brokers b1..b3 on http://bN.test; b1 is the bootstrap. `leaders[p]` is who leads partition p. */
function fakeCluster(opts: { leaders: Array<number | null>; brokers?: unknown; down?: Set<number> }) {
  const state = { leaders: opts.leaders, down: opts.down ?? new Set<number>(), brokers: opts.brokers, records: [] as Array<{ seq: number; value: unknown }>, sequences: new Set<string>() }
  const sent: Sent[] = []
  const fetch = async (request: Request): Promise<Response> => {
    const url = new URL(request.url)
    const id = Number(url.hostname.match(/^b(\d)\.test$/)?.[1])
    const text = await request.text()
    sent.push({ host: url.hostname, method: request.method, path: url.pathname, body: text ? JSON.parse(text) : undefined })
    if (state.down.has(id)) throw new TypeError('fetch failed: connection refused')
    if (url.pathname === '/v1/brokers') {
      return json(state.brokers ?? { brokers: [1, 2, 3].map((n) => ({ nodeId: n, url: `http://b${n}.test` })), controller: 1 })
    }
    if (url.pathname === '/v1/producers') return json({ producerId: 7, producerEpoch: 0 })
    if (url.pathname === '/v1/topics/orders') {
      return json({
        name: 'orders',
        config: {},
        partitions: state.leaders.map((leader, partition) => ({
          partition, leader, leaderEpoch: 1, replicas: [1, 2, 3], isr: [1, 2, 3], logStartOffset: 0, highWatermark: 0, logEndOffset: 0,
        })),
      })
    }
    const m = url.pathname.match(/^\/v1\/topics\/orders\/partitions\/(\d+)\/records$/)
    if (m) {
      const p = Number(m[1])
      const leader = state.leaders[p]
      // A broker that does not lead answers as a fenced one would (one that forwards is tested apart).
      if (leader !== id && id !== 1) return notLeader()
      const forwarded: Record<string, string> = leader !== id ? { 'x-edgelog-forwarded-by': '1' } : {}
      if (request.method === 'GET') return json({ records: [], highWatermark: 0, logStartOffset: 0, nextOffset: 0 }, 200, forwarded)
      const body = JSON.parse(text)
      const key = `${body.producer?.id}/${body.producer?.epoch}/${body.producer?.sequence}`
      if (state.sequences.has(key)) return json({ offsets: [{ partition: p, offset: 0 }], duplicate: true }, 200, forwarded)
      state.sequences.add(key)
      state.records.push({ seq: body.producer?.sequence, value: body.records[0].value })
      return json({ offsets: [{ partition: p, offset: state.records.length - 1 }] }, 200, forwarded)
    }
    return json({ error: { code: 'NOT_FOUND', message: 'no route' } }, 404)
  }
  return { state, sent, fetch }
}

const produces = (sent: Sent[]) => sent.filter((s) => s.method === 'POST' && s.path.endsWith('/records'))

describe('the client routes partition requests by metadata', () => {
  test('a produce goes straight to the partition leader, not through the bootstrap broker', async () => {
    const cluster = fakeCluster({ leaders: [2, 3] })
    const client = new EdgelogClient({ url: 'http://b1.test', fetch: cluster.fetch })
    const producer = client.producer({ lingerMs: 0, retryBackoffMs: 1 })
    const a = await producer.send('orders', { value: 'a', partition: 0 })
    const b = await producer.send('orders', { value: 'b', partition: 1 })
    await producer.close()
    assert.deepEqual([a.partition, b.partition], [0, 1])
    assert.deepEqual(produces(cluster.sent).map((s) => s.host), ['b2.test', 'b3.test'])
    // Metadata and the producer id come from the bootstrap broker.
    assert.ok(cluster.sent.filter((s) => s.method === 'GET' && !s.path.endsWith('/records')).every((s) => s.host === 'b1.test'))
  })

  test('after NOT_LEADER_OR_FOLLOWER the metadata is read again and the retry, with the same sequence, goes to the new leader', async () => {
    const cluster = fakeCluster({ leaders: [2] })
    const client = new EdgelogClient({ url: 'http://b1.test', fetch: cluster.fetch })
    const producer = client.producer({ lingerMs: 0, retryBackoffMs: 1, retryBackoffMaxMs: 5 })
    await producer.send('orders', { value: 'first', partition: 0 })
    cluster.state.leaders = [3] // leadership moved; b2 now refuses
    await producer.send('orders', { value: 'second', partition: 0 })
    await producer.close()
    const hosts = produces(cluster.sent).map((s) => s.host)
    assert.deepEqual(hosts.slice(0, 2), ['b2.test', 'b2.test'])
    assert.equal(hosts.at(-1), 'b3.test')
    const second = produces(cluster.sent).filter((s) => s.body.records[0].value === 'second')
    assert.ok(second.length >= 2)
    assert.ok(second.every((s) => s.body.producer.sequence === 1 && s.body.producer.id === 7 && s.body.producer.epoch === 0), JSON.stringify(second.map((s) => s.body.producer)))
    assert.deepEqual(cluster.state.records.map((r) => r.value), ['first', 'second'])
    // The refresh happened: the topic was described again after the refusal.
    assert.ok(cluster.sent.filter((s) => s.path === '/v1/topics/orders').length >= 2)
  })

  test('an unreachable leader is passed over: the retry goes to the bootstrap broker until the metadata names a new leader', async () => {
    const cluster = fakeCluster({ leaders: [2] })
    const client = new EdgelogClient({ url: 'http://b1.test', fetch: cluster.fetch })
    const producer = client.producer({ lingerMs: 0, retryBackoffMs: 1, retryBackoffMaxMs: 5 })
    await producer.send('orders', { value: 'first', partition: 0 })
    cluster.state.down.add(2) // SIGKILLed; the metadata still names it for now
    await producer.send('orders', { value: 'second', partition: 0 })
    const hosts = produces(cluster.sent).map((s) => s.host)
    assert.deepEqual(hosts, ['b2.test', 'b2.test', 'b1.test'])
    cluster.state.leaders = [3] // failover
    // The bootstrap broker forwards and says so: the metadata is read again (at most twice a
    // second per topic), and once it names b3, records go there directly.
    const values = ['first', 'second']
    for (let i = 0; i < 60 && produces(cluster.sent).at(-1)!.host !== 'b3.test'; i++) {
      values.push(`r${i}`)
      await producer.send('orders', { value: `r${i}`, partition: 0 })
      await new Promise((r) => setTimeout(r, 50))
    }
    await producer.close()
    assert.equal(produces(cluster.sent).at(-1)!.host, 'b3.test')
    assert.deepEqual(cluster.state.records.map((r) => r.value), values)
  })

  test('a fetch refused with NOT_LEADER_OR_FOLLOWER is retried once at the new leader after a refresh', async () => {
    const cluster = fakeCluster({ leaders: [2] })
    const client = new EdgelogClient({ url: 'http://b1.test', fetch: cluster.fetch })
    await client.partitionFor('orders', 'k') // loads the metadata
    cluster.state.leaders = [3]
    await client.http.fetchRecords('orders', 0, { offset: 0 })
    const fetches = cluster.sent.filter((s) => s.method === 'GET' && s.path.endsWith('/records')).map((s) => s.host)
    assert.deepEqual(fetches, ['b2.test', 'b3.test'])
  })

  test('a fetch whose leader and bootstrap are both unreachable fails with NETWORK_EXCEPTION, not a hang or a loop', async () => {
    const cluster = fakeCluster({ leaders: [2] })
    const client = new EdgelogClient({ url: 'http://b1.test', fetch: cluster.fetch })
    await client.partitionFor('orders', 'k')
    cluster.state.down = new Set([1, 2, 3])
    await assert.rejects(client.http.fetchRecords('orders', 0, { offset: 0 }), (e: any) => e.code === 'NETWORK_EXCEPTION')
    assert.ok(cluster.sent.filter((s) => s.path.endsWith('/records')).length <= 2)
  })
})

describe('without a cluster the client uses the bootstrap URL only', () => {
  test('a cluster of one (no brokers listed): every request goes to the bootstrap URL', async () => {
    const cluster = fakeCluster({ leaders: [0], brokers: { brokers: [], controller: null } })
    const client = new EdgelogClient({ url: 'http://b1.test', fetch: cluster.fetch })
    const producer = client.producer({ lingerMs: 0 })
    await producer.send('orders', { value: 'a', partition: 0 })
    await client.http.fetchRecords('orders', 0, { offset: 0 })
    await producer.close()
    assert.ok(cluster.sent.every((s) => s.host === 'b1.test'))
  })

  test('a server without GET /v1/brokers (404): the bootstrap URL, no error', async () => {
    const cluster = fakeCluster({ leaders: [2] })
    const inner = cluster.fetch
    const fetch = (r: Request) => (new URL(r.url).pathname === '/v1/brokers' ? Promise.resolve(json({ error: { code: 'NOT_FOUND', message: 'x' } }, 404)) : inner(r))
    const client = new EdgelogClient({ url: 'http://b1.test', fetch })
    const producer = client.producer({ lingerMs: 0 })
    await producer.send('orders', { value: 'a', partition: 0 })
    await producer.close()
    assert.deepEqual(produces(cluster.sent).map((s) => s.host), ['b1.test'])
  })

  test('a broker list with a URL that is not http(s) is refused: no routing to it', async () => {
    const cluster = fakeCluster({ leaders: [2], brokers: { brokers: [{ nodeId: 2, url: 'javascript:alert(1)' }], controller: 1 } })
    const client = new EdgelogClient({ url: 'http://b1.test', fetch: cluster.fetch })
    const producer = client.producer({ lingerMs: 0 })
    await producer.send('orders', { value: 'a', partition: 0 })
    await producer.close()
    assert.deepEqual(produces(cluster.sent).map((s) => s.host), ['b1.test'])
  })

  test('routeToLeaders: false sends everything to the bootstrap URL', async () => {
    const cluster = fakeCluster({ leaders: [2] })
    const client = new EdgelogClient({ url: 'http://b1.test', fetch: cluster.fetch, routeToLeaders: false })
    const producer = client.producer({ lingerMs: 0 })
    await producer.send('orders', { value: 'a', partition: 0 })
    await producer.close()
    assert.deepEqual(produces(cluster.sent).map((s) => s.host), ['b1.test'])
  })
})

describe('the metadata cache', () => {
  test('is trusted for maxAgeMs, then read again; an unreachable leader is passed over for the backoff only', async () => {
    const cluster = fakeCluster({ leaders: [2] })
    let now = 1_000
    const http = new HttpClient({ url: 'http://b1.test', fetch: cluster.fetch })
    const metadata = new TopicMetadata(http, { maxAgeMs: 10_000, unreachableBackoffMs: 5_000, now: () => now })
    assert.equal(metadata.leaderUrl('orders', 0), undefined) // nothing known yet: bootstrap, and a load starts
    await metadata.partitionCount('orders')
    assert.equal(metadata.leaderUrl('orders', 0), 'http://b2.test')
    cluster.state.leaders = [3]
    now += 9_000
    assert.equal(metadata.leaderUrl('orders', 0), 'http://b2.test') // still fresh
    now += 2_000
    assert.equal(metadata.leaderUrl('orders', 0), undefined) // stale: bootstrap while it reloads
    await metadata.partitionCount('orders')
    assert.equal(metadata.leaderUrl('orders', 0), 'http://b3.test')
    metadata.stale('orders', 'http://b3.test', 'unreachable')
    await metadata.partitionCount('orders')
    assert.equal(metadata.leaderUrl('orders', 0), undefined) // b3 unreachable: passed over
    now += 5_001
    assert.equal(metadata.leaderUrl('orders', 0), 'http://b3.test')
  })

  test('remembers at most maxTopics topics', async () => {
    const cluster = fakeCluster({ leaders: [2] })
    const http = new HttpClient({ url: 'http://b1.test', fetch: cluster.fetch })
    const metadata = new TopicMetadata(http, { maxTopics: 1 })
    await metadata.partitionCount('orders')
    assert.equal(metadata.cached('orders'), 1)
    await assert.rejects(metadata.partitionCount('other')) // 404: not remembered, orders stays
    assert.equal(metadata.cached('orders'), 1)
  })
})
