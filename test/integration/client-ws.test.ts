// The client's subscription against real `edgelog serve` processes: SIGKILLs and restarts
// under produce load lose and repeat nothing (compared record by record with the log itself);
// a `latest` subscription that has seen nothing yet still resumes exactly; records deleted by
// retention while the client was away come back as one gap, never as a silent skip.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { bunStorage } from '../../storage/bun-sqlite.ts'
import { Broker } from '../../src/broker/broker.ts'
import { systemRuntime } from '../../src/core/clock.ts'
import { EdgelogClient, type ConsumedRecord, type Gap, type Subscription } from '../../src/client/index.ts'
import { removeDir, startServer, tempDir, type TestServer } from '../helpers/server.ts'
import { waitUntil } from '../helpers/wait.ts'
import { createTopic } from '../helpers/ws.ts'

const cleanups: Array<() => Promise<void> | void> = []
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

async function node(dataDir: string, port?: number): Promise<TestServer> {
  const s = await startServer({ dataDir, ...(port === undefined ? {} : { port }) })
  cleanups.push(() => void s.stop('SIGKILL'))
  return s
}

async function restart(server: TestServer, dataDir: string): Promise<TestServer> {
  await server.stop('SIGKILL')
  return node(dataDir, server.port)
}

async function produce(server: TestServer, topic: string, records: unknown[]) {
  const res = await fetch(`${server.url}/v1/topics/${topic}/records`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ records }),
  })
  assert.equal(res.status, 200, await res.text())
}

async function readLog(server: TestServer, topic: string, partition: number) {
  const out: Array<{ offset: number; value: unknown }> = []
  for (let offset = 0; ; ) {
    const res = await fetch(`${server.url}/v1/topics/${topic}/partitions/${partition}/records?offset=${offset}&maxRecords=10000`)
    const body = (await res.json()) as { records: Array<{ offset: number; value: unknown }>; nextOffset: number; highWatermark: number }
    out.push(...body.records.map((r) => ({ offset: r.offset, value: r.value })))
    if (body.nextOffset >= body.highWatermark) return out
    offset = body.nextOffset
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function collect(client: EdgelogClient, topic: string, options: Parameters<EdgelogClient['subscribe']>[1]) {
  const byPartition = new Map<number, ConsumedRecord[]>()
  const gaps: Gap[] = []
  const sub: Subscription = client.subscribe(topic, { ...options, onGap: (g) => gaps.push(g) }, (r) => {
    byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r])
  })
  const count = () => [...byPartition.values()].reduce((n, list) => n + list.length, 0)
  return { sub, byPartition, gaps, count }
}

describe('client subscriptions against a node', () => {
  test('SIGKILL and restart twice under produce load: the subscriber gets the log exactly, and the producer stored each record once', async () => {
    const dataDir = tempDir()
    cleanups.push(() => removeDir(dataDir))
    let server = await node(dataDir)
    await createTopic(server.url, 'feed', 3)
    const consumer = new EdgelogClient({ url: server.url, reconnect: { baseMs: 20, maxMs: 200 } })
    const producing = new EdgelogClient({ url: server.url })
    cleanups.push(() => consumer.close())
    cleanups.push(() => producing.close())
    const seen = collect(consumer, 'feed', { from: 'earliest' })
    await waitUntil('the subscription', () => seen.sub.status === 'live')

    const producer = producing.producer({ acks: 'all', lingerMs: 2, retryBackoffMs: 20, retryBackoffMaxMs: 200 })
    let stop = false
    let sent = 0
    const workers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        sent++
        await producer.send('feed', { key: `k${(w * 1000 + i) % 7}`, value: { w, i } })
      }
    })
    await sleep(300)
    server = await restart(server, dataDir)
    await sleep(300)
    server = await restart(server, dataDir)
    await sleep(300)
    stop = true
    await Promise.all(workers)
    await producer.close()

    let total = 0
    const logs = new Map<number, Array<{ offset: number; value: unknown }>>()
    for (const p of [0, 1, 2]) {
      const log = await readLog(server, 'feed', p)
      logs.set(p, log)
      total += log.length
    }
    assert.equal(total, sent, 'every send is in the log exactly once (idempotent retries)')
    const values = new Set([...logs.values()].flat().map((r) => JSON.stringify(r.value)))
    assert.equal(values.size, total, 'no value twice in the log')
    await waitUntil(`the subscriber to reach ${total} records`, () => seen.count() >= total)
    await sleep(200) // anything extra (a duplicate) would arrive now
    for (const [p, log] of logs) {
      const got = (seen.byPartition.get(p) ?? []).map((r) => ({ offset: r.offset, value: r.value }))
      assert.deepEqual(got, log, `partition ${p}: the subscriber saw the log exactly (no loss, no duplicate, in order)`)
    }
    assert.deepEqual(seen.gaps, [])
    assert.ok(total > 20, `enough traffic to mean something (${total})`)
  })

  test('a latest subscription that has seen nothing resumes from its resolved start after a restart', async () => {
    const dataDir = tempDir()
    cleanups.push(() => removeDir(dataDir))
    let server = await node(dataDir)
    await createTopic(server.url, 'news', 1)
    await produce(server, 'news', Array.from({ length: 10 }, (_, i) => ({ value: `old ${i}` })))
    const client = new EdgelogClient({ url: server.url, reconnect: { baseMs: 300, maxMs: 600 } })
    cleanups.push(() => client.close())
    const seen = collect(client, 'news', { from: 'latest' })
    await waitUntil('the subscription', () => seen.sub.status === 'live')
    assert.deepEqual(seen.sub.positions(), { 0: 10 })

    server = await restart(server, dataDir)
    // Appended before the client is back (its first retry waits up to 300 ms).
    await produce(server, 'news', Array.from({ length: 5 }, (_, i) => ({ value: `new ${i}` })))
    await waitUntil('five records', () => seen.count() >= 5)
    await waitUntil('live again', () => seen.sub.status === 'live')
    await produce(server, 'news', [{ value: 'live' }])
    await waitUntil('six records', () => seen.count() >= 6)
    await sleep(200)
    assert.deepEqual(
      seen.byPartition.get(0)!.map((r) => `${r.offset}:${r.value}`),
      ['10:new 0', '11:new 1', '12:new 2', '13:new 3', '14:new 4', '15:live'],
    )
  })

  test('records removed by retention while the client was away arrive as one gap, then delivery goes on', async () => {
    const dataDir = tempDir()
    cleanups.push(() => removeDir(dataDir))
    let server = await node(dataDir)
    await createTopic(server.url, 'metrics', 1)
    await produce(server, 'metrics', Array.from({ length: 10 }, (_, i) => ({ value: i })))
    const client = new EdgelogClient({ url: server.url, reconnect: { baseMs: 50, maxMs: 200 } })
    cleanups.push(() => client.close())
    const seen = collect(client, 'metrics', { from: 'earliest' })
    await waitUntil('ten records', () => seen.count() === 10)

    // While the node is down, ten more records arrive and retention deletes up to offset 15:
    // done through the broker on the stopped node's data directory.
    await server.stop('SIGKILL')
    const broker = Broker.open(bunStorage(dataDir, 'always'), systemRuntime())
    const encoder = new TextEncoder()
    await broker.produce(
      'metrics',
      Array.from({ length: 10 }, (_, i) => ({ key: null, value: encoder.encode(String(10 + i)), timestamp: Date.now(), partition: 0 })),
      '1',
    )
    broker.partition('metrics', 0).log.advanceLogStart(15)
    broker.close()
    server = await node(dataDir, server.port)

    await waitUntil('the records after the gap', () => seen.count() === 15)
    await sleep(200)
    assert.deepEqual(seen.gaps, [{ topic: 'metrics', partition: 0, from: 10, to: 15 }], 'the lost range, exactly, once')
    assert.deepEqual(seen.byPartition.get(0)!.map((r) => r.offset), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 18, 19])
    assert.deepEqual(seen.byPartition.get(0)!.slice(10).map((r) => r.value), [15, 16, 17, 18, 19])
  })
})
