// The client's producer against real `edgelog serve` processes: an answer lost to a SIGKILL is
// retried with the same producer id and sequence and the record is stored once, over HTTP and
// over the WebSocket; batching really turns many sends into few requests; keys land where the
// server itself would put them.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { EdgelogClient } from '../../src/client/index.ts'
import { partitionForKey } from '../../src/codec/partitioner.ts'
import { removeDir, startServer, tempDir, type TestServer } from '../helpers/server.ts'
import { startTcpProxy } from '../helpers/tcp-proxy.ts'
import { createTopic } from '../helpers/ws.ts'
import { waitUntil } from '../helpers/wait.ts'

const cleanups: Array<() => Promise<void> | void> = []
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

async function readPartition(url: string, topic: string, partition: number) {
  const res = await fetch(`${url}/v1/topics/${topic}/partitions/${partition}/records?offset=0&maxRecords=10000`)
  const body = (await res.json()) as { records: Array<{ offset: number; key: unknown; value: unknown }> }
  return body.records
}

async function server(dataDir: string, port?: number) {
  const s = await startServer({ dataDir, ...(port === undefined ? {} : { port }) })
  cleanups.push(() => void s.stop('SIGKILL'))
  return s
}

for (const transport of ['http', 'ws'] as const) {
  describe(`idempotent producer over ${transport}`, () => {
    test('an append whose answer is lost to a SIGKILL is retried after the restart and stored once', async () => {
      const dataDir = tempDir()
      cleanups.push(() => removeDir(dataDir))
      let node = await server(dataDir)
      await createTopic(node.url, 'orders', 2)
      const proxy = await startTcpProxy(node.port)
      cleanups.push(() => proxy.close())
      const client = new EdgelogClient({ url: proxy.url, reconnect: { baseMs: 20, maxMs: 200 } })
      cleanups.push(() => client.close())
      const producer = client.producer({ transport, acks: 'all', lingerMs: 0, requestTimeoutMs: 60_000 })

      const first = await producer.send('orders', { key: 'o-1', value: { n: 1 } })
      const partition = first.partition
      assert.equal(first.offset, 0)

      // The node appends the next record, but its answer never reaches the client.
      proxy.swallowAnswers = true
      const second = producer.send('orders', { key: 'o-1', value: { n: 2 } })
      await waitUntil('the node to append it', async () => (await readPartition(node.url, 'orders', partition)).length === 2)
      await node.stop('SIGKILL')
      proxy.cutAll()
      proxy.swallowAnswers = false
      node = await server(dataDir, node.port)

      const ack = await second
      assert.deepEqual(ack, { topic: 'orders', partition, offset: 1 }, 'the retry is answered with the original offset')
      const third = await producer.send('orders', { key: 'o-1', value: { n: 3 } })
      assert.equal(third.offset, 2, 'the sequence carries on after the retry')
      const stored = await readPartition(node.url, 'orders', partition)
      assert.deepEqual(stored.map((r) => r.value), [{ n: 1 }, { n: 2 }, { n: 3 }], 'each record once, in order')
      await producer.close()
    })
  })
}

describe('producer batching against a node', () => {
  test('a thousand concurrent sends travel in a few requests, every key on the server’s partition, in order', async () => {
    const dataDir = tempDir()
    cleanups.push(() => removeDir(dataDir))
    const node = await server(dataDir)
    await createTopic(node.url, 'events', 5)
    const proxy = await startTcpProxy(node.port)
    cleanups.push(() => proxy.close())
    const client = new EdgelogClient({ url: proxy.url })
    cleanups.push(() => client.close())
    const producer = client.producer({ lingerMs: 20, batchBytes: 64 * 1024 })
    const keys = Array.from({ length: 10 }, (_, i) => `user-${i}`)
    const acks = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => producer.send('events', { key: keys[i % keys.length]!, value: { i } })),
    )
    const produceRequests = proxy.clientBytes().split('POST /v1/topics/events/partitions/').length - 1
    assert.ok(produceRequests <= 25, `1000 sends took ${produceRequests} requests`)
    for (let i = 0; i < 1000; i++) {
      assert.equal(acks[i]!.partition, partitionForKey(new TextEncoder().encode(keys[i % keys.length]!), 5))
    }
    // What the server computes for the same key, through its own partitioner (no partition given).
    const serverSide = await fetch(`${node.url}/v1/topics/events/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ records: keys.map((key) => ({ key, value: 'probe' })) }),
    })
    const placed = ((await serverSide.json()) as { offsets: Array<{ partition: number }> }).offsets
    keys.forEach((key, i) => {
      const clientSide = acks.find((_, j) => keys[j % keys.length] === key)!.partition
      assert.equal(placed[i]!.partition, clientSide, `key ${key}`)
    })
    // Per key, the log holds the sends in send() order.
    for (let p = 0; p < 5; p++) {
      const stored = (await readPartition(node.url, 'events', p)).filter((r) => r.value !== 'probe')
      const byKey = new Map<string, number[]>()
      for (const r of stored) byKey.set(r.key as string, [...(byKey.get(r.key as string) ?? []), (r.value as { i: number }).i])
      for (const [key, values] of byKey) assert.deepEqual(values, [...values].sort((a, b) => a - b), `order of ${key}`)
    }
    await producer.close()
  })
})
