// The producer's own logic, with a transport that records each batch and answers when the test
// says: how records become batches (lingerMs, batchBytes), where keys go (murmur2, as the
// server), how a full buffer pushes back, and which producer id / epoch / sequence each attempt
// carries. That a retry really is deduplicated by a node is proven against real servers in
// test/integration/client-producer.test.ts.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { partitionForKey } from '../../src/codec/partitioner.ts'
import { EdgelogError } from '../../src/client/errors.ts'
import { HttpClient } from '../../src/client/http.ts'
import { TopicMetadata } from '../../src/client/metadata.ts'
import type { BatchRequest, BatchResult, ProduceTransport } from '../../src/client/produce-transport.ts'
import { Producer, type ProducerOptions } from '../../src/client/producer.ts'

interface Call {
  request: BatchRequest
  resolve(result: BatchResult): void
  reject(error: unknown): void
}

/** Records every batch; `auto` answers at once with offsets counted per partition. */
class RecordingTransport implements ProduceTransport {
  readonly kind = 'http'
  ready = true
  calls: Call[] = []
  auto = true
  #next = new Map<number, number>()

  send(request: BatchRequest): Promise<BatchResult> {
    return new Promise((resolve, reject) => {
      this.calls.push({ request, resolve, reject })
      if (this.auto) resolve(this.answer(request))
    })
  }

  answer(request: BatchRequest): BatchResult {
    const base = this.#next.get(request.partition) ?? 0
    this.#next.set(request.partition, base + request.records.length)
    return { offsets: request.records.map((_, i) => base + i), duplicate: false }
  }
}

function setup(options: ProducerOptions = {}, partitions = 4) {
  const inits: Array<{ producerId?: number }> = []
  let epoch = -1
  const http = new HttpClient({
    url: 'http://node.test:1',
    fetch: async (request) => {
      const url = new URL(request.url)
      if (url.pathname === '/v1/producers') {
        const body = JSON.parse(await request.text())
        inits.push(body)
        epoch++
        return Response.json({ producerId: body.producerId ?? 7, producerEpoch: epoch })
      }
      if (url.pathname === '/v1/topics/t') {
        const list = Array.from({ length: partitions }, (_, partition) => ({
          partition, leader: 0, leaderEpoch: 0, replicas: [0], isr: [0], logStartOffset: 0, highWatermark: 0, logEndOffset: 0,
        }))
        return Response.json({ name: 't', config: {}, partitions: list })
      }
      return Response.json({ error: { code: 'UNKNOWN_TOPIC_OR_PARTITION', message: 'no such topic' } }, { status: 404 })
    },
  })
  const transport = new RecordingTransport()
  const producer = new Producer(transport, http, new TopicMetadata(http), { retryBackoffMs: 1, retryBackoffMaxMs: 2, ...options })
  return { producer, transport, inits }
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms))

describe('producer batching', () => {
  test('records sent together within lingerMs leave as one batch per partition', async () => {
    const { producer, transport } = setup({ lingerMs: 20 })
    const acks = await Promise.all(Array.from({ length: 10 }, (_, i) => producer.send('t', { key: 'room-1', value: { i } })))
    assert.equal(transport.calls.length, 1, 'one request')
    assert.equal(transport.calls[0]!.request.records.length, 10)
    assert.deepEqual(acks.map((a) => a.offset), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'offsets in send order')
    await producer.close()
  })

  test('a batch leaves when batchBytes is reached, without waiting for lingerMs', async () => {
    const { producer, transport } = setup({ lingerMs: 60_000, batchBytes: 200 })
    const value = 'x'.repeat(50)
    const sends = Array.from({ length: 9 }, () => producer.send('t', { key: 'k', value }))
    await Promise.race([Promise.all(sends.slice(0, 6)), tick(5000).then(() => assert.fail('full batches waited for lingerMs'))])
    assert.ok(transport.calls.length >= 2)
    for (const call of transport.calls) {
      const bytes = call.request.records.reduce((n, r) => n + JSON.stringify(r).length, 0)
      assert.ok(bytes <= 200, `a batch of ${bytes} bytes`)
    }
    await producer.flush() // sends the last, partial batch now
    await Promise.all(sends)
    await producer.close()
  })

  test('keys go to the partition murmur2 gives, as the server computes it; explicit partitions are kept', async () => {
    const { producer, transport } = setup({ lingerMs: 0 }, 7)
    const keys = ['room-1', 'room-2', 'a', '', 'ünïcödé', 'a much longer key with tail bytes!!']
    const acks = await Promise.all(keys.map((key) => producer.send('t', { key, value: 1 })))
    keys.forEach((key, i) => assert.equal(acks[i]!.partition, partitionForKey(new TextEncoder().encode(key), 7), key))
    const base64 = await producer.send('t', { key: { base64: 'AAEC' }, value: 1 })
    assert.equal(base64.partition, partitionForKey(new Uint8Array([0, 1, 2]), 7))
    const explicit = await producer.send('t', { key: 'room-1', partition: 6, value: 1 })
    assert.equal(explicit.partition, 6)
    assert.ok(transport.calls.every((c) => c.request.records.every((r) => r.partition === undefined)), 'the batch names the partition')
    await producer.close()
  })

  test('keyless records stick to one partition per batch', async () => {
    const { producer, transport } = setup({ lingerMs: 20 }, 8)
    await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send('t', { value: i })))
    assert.equal(transport.calls.length, 1)
    await producer.close()
  })

  test('bad records are refused at send(), before anything is buffered', async () => {
    const { producer } = setup({ maxRecordBytes: 100 })
    const cases: Array<[unknown, string]> = [
      [{ value: 'x'.repeat(200) }, 'MESSAGE_TOO_LARGE'],
      [{ value: 1, extra: true }, 'INVALID_RECORD'],
      [{ key: 5, value: 1 }, 'INVALID_RECORD'],
      [{ key: { base64: '!!' }, value: 1 }, 'INVALID_RECORD'],
      [{}, 'INVALID_RECORD'],
      [{ value: 1, partition: -1 }, 'INVALID_RECORD'],
    ]
    for (const [record, code] of cases) {
      await assert.rejects(producer.send('t', record as never), (e: EdgelogError) => e.code === code, JSON.stringify(record))
    }
    await assert.rejects(producer.send('t', { value: 1, partition: 9 }), (e: EdgelogError) => e.code === 'UNKNOWN_TOPIC_OR_PARTITION')
    await assert.rejects(producer.send('missing', { value: 1 }), (e: EdgelogError) => e.code === 'UNKNOWN_TOPIC_OR_PARTITION')
    assert.equal(producer.bufferedBytes, 0)
    await producer.close()
  })

  test('bad options are refused', () => {
    assert.throws(() => setup({ lingerMs: -1 }), RangeError)
    assert.throws(() => setup({ batchBytes: 0 }), RangeError)
    assert.throws(() => setup({ bufferBytes: 10, maxRecordBytes: 100 }), RangeError)
    assert.throws(() => setup({ acks: '2' as never }), RangeError)
  })
})

describe('producer buffer', () => {
  test('a full buffer makes send() wait, and fail after maxBlockMs; space frees it', async () => {
    const { producer, transport } = setup({ lingerMs: 0, bufferBytes: 1000, maxRecordBytes: 400, maxBlockMs: 300 })
    transport.auto = false
    const value = 'y'.repeat(300)
    const first = [producer.send('t', { key: 'a', value }), producer.send('t', { key: 'a', value }), producer.send('t', { key: 'a', value })]
    await tick(20)
    assert.ok(producer.bufferedBytes <= 1000, `buffered ${producer.bufferedBytes}`)
    const blocked = producer.send('t', { key: 'a', value })
    let blockedSettled = false
    blocked.then(() => (blockedSettled = true), () => (blockedSettled = true))
    await tick(50)
    assert.equal(blockedSettled, false, 'send() waits while the buffer is full')
    // Nothing is acknowledged: after maxBlockMs the waiting send fails.
    await assert.rejects(blocked, (e: EdgelogError) => e.code === 'BUFFER_EXHAUSTED')
    const waiting = producer.send('t', { key: 'a', value })
    await tick(20)
    // The node answers: space frees and the waiting send goes through.
    for (const call of transport.calls) call.resolve(transport.answer(call.request))
    transport.auto = true
    await Promise.all(first)
    await tick(20)
    for (const call of transport.calls.slice(1)) call.resolve(transport.answer(call.request))
    const ack = await waiting
    assert.equal(ack.partition, partitionForKey(new TextEncoder().encode('a'), 4))
    await producer.close()
  })

  test('beyond maxQueuedSends waiting sends, send() fails at once', async () => {
    const { producer, transport } = setup({ lingerMs: 0, bufferBytes: 200, maxRecordBytes: 150, maxQueuedSends: 3, maxBlockMs: 10_000 })
    transport.auto = false
    const value = 'z'.repeat(100)
    const held = producer.send('t', { key: 'a', value })
    await tick(10)
    const waiting = [1, 2, 3].map(() => producer.send('t', { key: 'a', value }))
    await assert.rejects(producer.send('t', { key: 'a', value: 1 }), (e: EdgelogError) => e.code === 'BUFFER_EXHAUSTED')
    assert.equal(producer.queuedSends, 3)
    transport.auto = true
    for (const call of transport.calls) call.resolve(transport.answer(call.request))
    await held
    await Promise.all(waiting)
    await producer.close()
  })
})

describe('producer retries', () => {
  test('a retry carries the same producer id, epoch and sequence; the next batch continues the sequence', async () => {
    const { producer, transport, inits } = setup({ lingerMs: 0 })
    transport.auto = false
    const a = producer.send('t', { key: 'k', value: 'a' })
    await until(() => transport.calls.length === 1)
    transport.calls[0]!.reject(new EdgelogError('NETWORK_EXCEPTION', 'connection reset'))
    await until(() => transport.calls.length === 2)
    transport.calls[1]!.reject(new EdgelogError('REQUEST_TIMED_OUT', 'no answer'))
    await until(() => transport.calls.length === 3)
    transport.calls[2]!.resolve({ offsets: [0], duplicate: true })
    assert.equal((await a).offset, 0)
    const b = producer.send('t', { key: 'k', value: 'b' })
    await until(() => transport.calls.length === 4)
    transport.calls[3]!.resolve({ offsets: [1], duplicate: false })
    await b
    const states = transport.calls.map((c) => c.request.producer)
    assert.deepEqual(states, [
      { id: 7, epoch: 0, sequence: 0 },
      { id: 7, epoch: 0, sequence: 0 },
      { id: 7, epoch: 0, sequence: 0 },
      { id: 7, epoch: 0, sequence: 1 },
    ])
    assert.equal(inits.length, 1)
    await producer.close()
  })

  test('a batch refused as invalid gives its sequence back; one of unknown fate bumps the epoch', async () => {
    const { producer, transport, inits } = setup({ lingerMs: 0, deliveryTimeoutMs: 200 })
    transport.auto = false
    const bad = producer.send('t', { key: 'k', value: 'bad' })
    await until(() => transport.calls.length === 1)
    transport.calls[0]!.reject(new EdgelogError('INVALID_RECORD', 'no'))
    await assert.rejects(bad, (e: EdgelogError) => e.code === 'INVALID_RECORD')
    const good = producer.send('t', { key: 'k', value: 'good' })
    await until(() => transport.calls.length === 2)
    assert.equal(transport.calls[1]!.request.producer!.sequence, 0, 'the refused batch used no sequence')
    transport.calls[1]!.resolve({ offsets: [0], duplicate: false })
    await good
    // Now a batch that times out without any answer: it may or may not be on the node.
    // Every attempt of it times out, until deliveryTimeoutMs gives up on it.
    const lost = producer.send('t', { key: 'k', value: 'lost' })
    let lostSettled = false
    lost.then(() => {}, () => (lostSettled = true))
    let answered = 2
    await until(() => {
      while (answered < transport.calls.length) transport.calls[answered++]!.reject(new EdgelogError('REQUEST_TIMED_OUT', 'no answer'))
      return lostSettled
    })
    await assert.rejects(lost, (e: EdgelogError) => e.code === 'REQUEST_TIMED_OUT')
    assert.ok(transport.calls.slice(2).every((c) => c.request.producer!.sequence === 1), 'every attempt had sequence 1')
    const attempts = transport.calls.length
    const after = producer.send('t', { key: 'k', value: 'after' })
    await until(() => transport.calls.length > attempts)
    assert.deepEqual(inits, [{}, { producerId: 7 }], 'the producer asked for a new epoch of its id')
    assert.deepEqual(transport.calls.at(-1)!.request.producer, { id: 7, epoch: 1, sequence: 0 })
    transport.calls.at(-1)!.resolve({ offsets: [2], duplicate: false })
    await after
    await producer.close()
  })

  test('acks=0 sends no producer state and never retries', async () => {
    const { producer, transport, inits } = setup({ lingerMs: 0, acks: '0' })
    transport.auto = false
    const p = producer.send('t', { key: 'k', value: 1 })
    await until(() => transport.calls.length === 1)
    assert.equal(transport.calls[0]!.request.producer, undefined)
    transport.calls[0]!.reject(new EdgelogError('NETWORK_EXCEPTION', 'gone'))
    await assert.rejects(p, (e: EdgelogError) => e.code === 'NETWORK_EXCEPTION')
    assert.equal(transport.calls.length, 1)
    assert.equal(inits.length, 0)
    await producer.close()
  })

  test('a closed producer refuses new records and flushes the buffered ones', async () => {
    const { producer, transport } = setup({ lingerMs: 60_000 })
    const p = producer.send('t', { key: 'k', value: 1 })
    await producer.close()
    assert.equal((await p).offset, 0)
    assert.equal(transport.calls.length, 1)
    await assert.rejects(producer.send('t', { value: 1 }), (e: EdgelogError) => e.code === 'CLIENT_CLOSED')
  })
})

async function until(condition: () => boolean, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await tick(2)
  }
}
