// The HTTP client's own logic, without a server: what it puts on the wire for each endpoint,
// and how it turns every kind of bad answer (error bodies, proxies' HTML, malformed or
// oversized JSON, refused connections, hangs) into an EdgelogError with a useful code. The
// `fetch` passed in only returns canned Responses; the real server is exercised by
// test/integration/cli.test.ts.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { HttpClient } from '../../src/client/http.ts'
import { EdgelogError, isRetriableCode } from '../../src/client/errors.ts'

interface Sent {
  method: string
  url: URL
  headers: Headers
  body: string
}

/** A client whose fetch records each request and answers with `answer(request)`. */
function clientAnswering(answer: (sent: Sent) => Response | Promise<Response>, options: { timeoutMs?: number; responseBytesMax?: number } = {}) {
  const sent: Sent[] = []
  const client = new HttpClient({
    url: 'http://node.test:8080/',
    headers: { authorization: 'Bearer t' },
    ...options,
    fetch: async (request) => {
      const entry = { method: request.method, url: new URL(request.url), headers: request.headers, body: await request.text() }
      sent.push(entry)
      return answer(entry)
    },
  })
  return { client, sent }
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

async function rejectsWith(promise: Promise<unknown>, expected: { code: string; status?: number; retriable?: boolean; message?: RegExp }) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof EdgelogError, `expected an EdgelogError, got ${String(error)}`)
    assert.equal(error.code, expected.code)
    if (expected.status !== undefined) assert.equal(error.status, expected.status)
    if (expected.retriable !== undefined) assert.equal(error.retriable, expected.retriable)
    if (expected.message) assert.match(error.message, expected.message)
    return true
  })
}

const partition = {
  partition: 0, leader: 1, leaderEpoch: 0, replicas: [1], isr: [1], logStartOffset: 0, highWatermark: 5, logEndOffset: 5,
}

describe('requests on the wire', () => {
  test('produce: path, acks, JSON body and the configured headers', async () => {
    const { client, sent } = clientAnswering(() => json({ offsets: [{ partition: 1, offset: 7 }] }))
    const answer = await client.produce('orders', [{ key: 'k', value: { a: 1 } }], { acks: 'all' })
    assert.deepEqual(answer.offsets, [{ partition: 1, offset: 7 }])
    const [request] = sent
    assert.equal(request!.method, 'POST')
    assert.equal(request!.url.pathname, '/v1/topics/orders/records')
    assert.equal(request!.url.searchParams.get('acks'), 'all')
    assert.equal(request!.headers.get('content-type'), 'application/json')
    assert.equal(request!.headers.get('authorization'), 'Bearer t')
    assert.deepEqual(JSON.parse(request!.body), { records: [{ key: 'k', value: { a: 1 } }] })
  })

  test('names are percent-encoded into the path, never spliced raw', async () => {
    const { client, sent } = clientAnswering(() => json({ name: 'x', deleted: true }))
    await client.deleteTopic('a/../b?c')
    assert.equal(sent[0]!.url.pathname, '/v1/topics/a%2F..%2Fb%3Fc')
    assert.equal(sent[0]!.url.search, '')
  })

  test('produceToPartition carries the idempotent producer state', async () => {
    const { client, sent } = clientAnswering(() => json({ offsets: [{ partition: 2, offset: null }] }))
    const answer = await client.produceToPartition('t', 2, [{ value: 1 }], { acks: '0', producer: { id: 9, epoch: 0, sequence: 4 } })
    assert.equal(answer.offsets[0]!.offset, null)
    assert.equal(sent[0]!.url.pathname, '/v1/topics/t/partitions/2/records')
    assert.deepEqual(JSON.parse(sent[0]!.body), { records: [{ value: 1 }], producer: { id: 9, epoch: 0, sequence: 4 } })
  })

  test('fetchRecords sends its position and bounds as query parameters', async () => {
    const { client, sent } = clientAnswering(() =>
      json({ records: [], nextOffset: 3, highWatermark: 3, logStartOffset: 0 }),
    )
    await client.fetchRecords('t', 0, { offset: 'earliest', maxRecords: 10, maxBytes: 1024, waitMs: 5 })
    const query = Object.fromEntries(sent[0]!.url.searchParams)
    assert.deepEqual(query, { offset: 'earliest', maxRecords: '10', maxBytes: '1024', waitMs: '5' })
    assert.equal(sent[0]!.method, 'GET')
  })

  test('every endpoint: method and path', async () => {
    const answers: Record<string, unknown> = {
      'POST /v1/topics': { name: 't', config: {}, partitions: [partition] },
      'GET /v1/topics': { topics: [{ name: 't', partitions: 1 }] },
      'GET /v1/topics/t': { name: 't', config: { 'retention.ms': '1' }, partitions: [partition] },
      'POST /v1/producers': { producerId: 1, producerEpoch: 0 },
      'GET /v1/topics/t/partitions/0/offsets': { partition: 0, offset: null },
      'POST /v1/groups/g/offsets': { offsets: [{ topic: 't', partition: 0, offset: 5 }] },
      'GET /v1/groups/g/offsets': { group: 'g', offsets: [{ topic: 't', partition: 0, offset: 5, metadata: null }] },
      'GET /v1/groups/g/lag': { group: 'g', partitions: [{ topic: 't', partition: 0, committed: 5, highWatermark: 9, lag: 4 }], totalLag: 4 },
      'GET /healthz': { status: 'ok' },
    }
    const { client, sent } = clientAnswering((request) => json(answers[`${request.method} ${request.url.pathname}`], 200))
    await client.createTopic({ name: 't', partitions: 1, config: { 'retention.ms': '1' } })
    await client.listTopics()
    await client.describeTopic('t')
    await client.initProducer()
    assert.equal((await client.offsetForTimestamp('t', 0, 1700000000000)).offset, null)
    await client.commitOffsets('g', [{ topic: 't', partition: 0, offset: 5 }])
    await client.committedOffsets('g')
    assert.equal((await client.groupLag('g')).totalLag, 4)
    await client.health()
    assert.deepEqual(sent.map((s) => `${s.method} ${s.url.pathname}`), Object.keys(answers))
    assert.equal(sent[4]!.url.searchParams.get('timestamp'), '1700000000000')
  })

  test('fields a newer server adds pass through', async () => {
    const { client } = clientAnswering(() => json({ topics: [], cursor: 'next' }))
    assert.deepEqual(await client.listTopics(), { topics: [], cursor: 'next' })
  })

  test('a bad partition number is a caller bug, refused before any request', async () => {
    const { client, sent } = clientAnswering(() => json({}))
    assert.throws(() => client.fetchRecords('t', -1, { offset: 0 }), RangeError)
    assert.throws(() => client.fetchRecords('t', 1.5, { offset: 0 }), RangeError)
    assert.equal(sent.length, 0)
  })
})

describe('error answers', () => {
  test("the server's error body becomes code, message and status", async () => {
    const { client } = clientAnswering(() =>
      json({ error: { code: 'UNKNOWN_TOPIC_OR_PARTITION', message: "topic 'x' does not exist" } }, 404),
    )
    await rejectsWith(client.describeTopic('x'), {
      code: 'UNKNOWN_TOPIC_OR_PARTITION',
      status: 404,
      retriable: false,
      message: /topic 'x' does not exist/,
    })
  })

  test('retriable codes are flagged as such', async () => {
    for (const code of ['NOT_LEADER_OR_FOLLOWER', 'REQUEST_TIMED_OUT', 'NOT_ENOUGH_REPLICAS', 'THROTTLED']) {
      const { client } = clientAnswering(() => json({ error: { code, message: 'm' } }, 503))
      await rejectsWith(client.produce('t', [{ value: 1 }]), { code, retriable: true })
    }
    assert.equal(isRetriableCode('INVALID_RECORD'), false)
  })

  test('a non-2xx answer that is not our error shape (a proxy page) keeps its status', async () => {
    const { client } = clientAnswering(() => new Response('<html>Bad Gateway</html>', { status: 502, statusText: 'Bad Gateway' }))
    await rejectsWith(client.listTopics(), { code: 'UNKNOWN_SERVER_ERROR', status: 502, message: /HTTP 502 Bad Gateway: <html>/ })
  })

  test('a bare 429 is THROTTLED, and retriable', async () => {
    const { client } = clientAnswering(() => new Response('slow down', { status: 429 }))
    await rejectsWith(client.listTopics(), { code: 'THROTTLED', retriable: true })
  })

  test('an error body with the wrong shape is not trusted', async () => {
    const { client } = clientAnswering(() => json({ error: 'nope' }, 400))
    await rejectsWith(client.listTopics(), { code: 'UNKNOWN_SERVER_ERROR', status: 400 })
  })
})

describe('malformed success answers', () => {
  test('a 2xx body that is not JSON', async () => {
    const { client } = clientAnswering(() => new Response('OK', { status: 200 }))
    await rejectsWith(client.listTopics(), { code: 'INVALID_RESPONSE', message: /not JSON/ })
  })

  test('a 2xx body of the wrong shape names the first bad field', async () => {
    const { client } = clientAnswering(() => json({ offsets: [{ partition: 0, offset: 'seven' }] }))
    await rejectsWith(client.produce('t', [{ value: 1 }]), { code: 'INVALID_RESPONSE', message: /at offsets\.0\.offset/ })
  })

  test('negative or fractional offsets are refused', async () => {
    for (const nextOffset of [-1, 1.5]) {
      const { client } = clientAnswering(() => json({ records: [], nextOffset, highWatermark: 0, logStartOffset: 0 }))
      await rejectsWith(client.fetchRecords('t', 0, { offset: 0 }), { code: 'INVALID_RESPONSE', message: /nextOffset/ })
    }
  })

  test('an empty 2xx body', async () => {
    const { client } = clientAnswering(() => new Response(null, { status: 204 }))
    await rejectsWith(client.describeTopic('t'), { code: 'INVALID_RESPONSE' })
  })

  test('an answer larger than responseBytesMax is refused, by header or by counting', async () => {
    const big = JSON.stringify({ topics: [{ name: 'x'.repeat(2000), partitions: 1 }] })
    const declared = clientAnswering(() => new Response(big, { headers: { 'content-length': String(big.length) } }), { responseBytesMax: 1000 })
    await rejectsWith(declared.client.listTopics(), { code: 'INVALID_RESPONSE', message: /larger than 1000 bytes/ })
    const streamed = clientAnswering(() => new Response(new Blob([big]).stream()), { responseBytesMax: 1000 })
    await rejectsWith(streamed.client.listTopics(), { code: 'INVALID_RESPONSE', message: /larger than 1000 bytes/ })
  })
})

describe('transport failures', () => {
  test('a refused connection is NETWORK_EXCEPTION, retriable, with the cause kept', async () => {
    const refused = new TypeError('fetch failed: ECONNREFUSED')
    const { client } = clientAnswering(() => Promise.reject(refused))
    await assert.rejects(client.listTopics(), (error: unknown) => {
      assert.ok(error instanceof EdgelogError)
      assert.equal(error.code, 'NETWORK_EXCEPTION')
      assert.equal(error.retriable, true)
      assert.equal(error.status, 0)
      assert.equal(error.cause, refused)
      return true
    })
  })

  // These fetches never answer on their own, like a hung server; they only see the abort.
  test('no answer within timeoutMs is REQUEST_TIMED_OUT, retriable', async () => {
    const client = new HttpClient({
      url: 'http://node.test',
      timeoutMs: 20,
      fetch: (request) => new Promise((_, reject) => request.signal.addEventListener('abort', () => reject(request.signal.reason))),
    })
    await rejectsWith(client.listTopics(), { code: 'REQUEST_TIMED_OUT', retriable: true, message: /within 20 ms/ })
  })

  test('a long poll gets its waitMs on top of the timeout', async () => {
    const client = new HttpClient({
      url: 'http://node.test',
      timeoutMs: 30,
      fetch: (request) =>
        new Promise((resolve, reject) => {
          request.signal.addEventListener('abort', () => reject(request.signal.reason))
          setTimeout(() => resolve(json({ records: [], nextOffset: 0, highWatermark: 0, logStartOffset: 0 })), 80)
        }),
    })
    const answer = await client.fetchRecords('t', 0, { offset: 0, waitMs: 100 })
    assert.equal(answer.nextOffset, 0)
  })

  test("the caller's abort rejects with the caller's reason, not an EdgelogError", async () => {
    const controller = new AbortController()
    const client = new HttpClient({
      url: 'http://node.test',
      fetch: (request) => new Promise((_, reject) => request.signal.addEventListener('abort', () => reject(request.signal.reason))),
    })
    const pending = client.fetchRecords('t', 0, { offset: 0, waitMs: 10_000, signal: controller.signal })
    const reason = new Error('stopped by user')
    controller.abort(reason)
    await assert.rejects(pending, (error: unknown) => error === reason)
  })

  test('a malformed base URL fails at construction', () => {
    assert.throws(() => new HttpClient({ url: 'not a url' }), TypeError)
  })
})
