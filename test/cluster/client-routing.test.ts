// The client library on a real three-broker cluster (etcd, `edgelog serve --etcd`): it routes
// each partition's requests to the leader named by the metadata, not through the broker it was
// given, and when that leader is SIGKILLed its sends keep succeeding after the failover —
// retried with the same producer id, epoch and sequence, so nothing is written twice.
import { describe, test, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { EdgelogClient } from '../../src/client/index.ts'
import { api, describe as describeTopic, eventually, startCluster, type TestCluster } from './helpers.ts'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.stop()
  cluster = undefined
})

/** A counter's value for one topic (or without labels), summed over its series; 0 when absent. */
async function counter(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = (await api(url, '/metrics')).body as string
  let sum = 0
  for (const line of text.split('\n')) {
    if (!(line.startsWith(`${name} `) || line.startsWith(`${name}{`))) continue
    if (Object.entries(labels).some(([k, v]) => !line.includes(`${k}="${v}"`))) continue
    sum += Number(line.split(' ').at(-1))
  }
  return sum
}

describe('client routing on real processes (three brokers, etcd)', () => {
  test('the client sends to the leader directly, not through its bootstrap broker, and survives a SIGKILLed leader without duplicates', async () => {
    cluster = await startCluster()
    const c = cluster
    const created = await api(c.any(), '/v1/topics', {
      method: 'POST',
      json: { name: 'routed', partitions: 1, replicationFactor: 3, config: { 'min.insync.replicas': '2' } },
    })
    assert.equal(created.status, 201, JSON.stringify(created.body))
    for (const b of c.brokers) await eventually(`broker ${b.id} has a full ISR`, () => describeTopic(b.url(), 'routed'), (ps) => ps.every((p) => p.isr.length === 3 && p.leader > 0))

    const leaderId = (await describeTopic(c.any(), 'routed'))[0]!.leader
    const leader = c.brokers[leaderId - 1]!
    const bootstrap = c.brokers.find((b) => b.id !== leaderId)!

    // What the client routes by: every broker's advertised URL, by node id.
    const listed = await api(bootstrap.url(), '/v1/brokers')
    assert.equal(listed.status, 200)
    assert.deepEqual(listed.body.brokers, c.brokers.map((b) => ({ nodeId: b.id, url: b.url() })))
    assert.ok(c.brokers.some((b) => b.id === listed.body.controller))

    const client = new EdgelogClient({ url: bootstrap.url() })
    const producer = client.producer({ acks: 'all', lingerMs: 0, requestTimeoutMs: 10_000, deliveryTimeoutMs: 90_000 })
    const acked: Array<{ value: string; offset: number }> = []
    const send = async (i: number) => {
      const value = `v${i}`
      const meta = await producer.send('routed', { value, partition: 0 })
      assert.equal(typeof meta.offset, 'number')
      acked.push({ value, offset: meta.offset! })
    }

    for (let i = 0; i < 20; i++) await send(i)
    // Straight to the leader: it counted the produce requests, the bootstrap broker forwarded none.
    assert.ok((await counter(leader.url(), 'edgelog_produce_requests_total', { topic: 'routed' })) >= 20)
    assert.equal(await counter(bootstrap.url(), 'edgelog_forwarded_requests_total'), 0)
    assert.equal(await counter(bootstrap.url(), 'edgelog_produce_requests_total', { topic: 'routed' }), 0)

    // Under load (one send at a time, each awaited), the leader dies.
    let next = 20
    const load = (async () => {
      for (; next < 120; next++) await send(next)
    })()
    await eventually('10 more records acknowledged', async () => acked.length, (n) => n >= 30)
    leader.server!.proc.kill('SIGKILL')
    await leader.server!.stop()
    leader.server = undefined
    await load // every send succeeded: a rejection fails the test here

    const after = (await describeTopic(bootstrap.url(), 'routed'))[0]!
    assert.ok(after.leader > 0 && after.leader !== leaderId, `a new leader: ${JSON.stringify(after)}`)
    const newLeader = c.brokers[after.leader - 1]!

    // Routed to the new leader directly again: a further 10 sends are not forwarded by anyone.
    const forwardedBefore = await counter(bootstrap.url(), 'edgelog_forwarded_requests_total')
    const directBefore = await counter(newLeader.url(), 'edgelog_produce_requests_total', { topic: 'routed' })
    for (; next < 130; next++) await send(next)
    await producer.close()
    assert.equal(await counter(bootstrap.url(), 'edgelog_forwarded_requests_total'), forwardedBefore)
    assert.ok((await counter(newLeader.url(), 'edgelog_produce_requests_total', { topic: 'routed' })) >= directBefore + 10)

    // Read back through the client's routed fetch: each record once, in send order, at its acknowledged offset.
    const values: Array<{ offset: number; value: unknown }> = []
    let offset = 0
    for (;;) {
      const page = await client.http.fetchRecords('routed', 0, { offset, maxRecords: 1000 })
      values.push(...page.records.map((r) => ({ offset: r.offset, value: r.value })))
      if (page.nextOffset >= page.highWatermark) break
      offset = page.nextOffset
    }
    assert.equal(acked.length, 130)
    assert.deepEqual(values.map((v) => v.value), acked.map((a) => a.value), 'each record once, in order')
    for (const [i, a] of acked.entries()) assert.equal(values[i]!.offset, a.offset, `${a.value} is at its acknowledged offset`)
    client.close()
  })
})
