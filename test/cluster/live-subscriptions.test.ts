// Live subscriptions (WebSocket `sub`, SSE) on a real three-broker cluster with etcd, at brokers
// that hold no replica of the partition (replication factor 1 and 2 of 3 brokers) and at
// followers: every committed record arrives, once, in order — no subscriber waits silently on an
// empty local log. And across a SIGKILLed leader: a subscriber reading through a follower and one
// reading through a broker with no replica both get every acknowledged record exactly once, in
// order, and a reconnect that resumes from the last offset seen misses nothing.
import { describe, test, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { EdgelogClient } from '../../src/client/index.ts'
import { WsClient } from '../helpers/ws.ts'
import { api, describe as describeTopic, eventually, metric, sleep, startCluster, type TestCluster } from './helpers.ts'

let cluster: TestCluster | undefined
const sockets: WsClient[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.ws.close()
  await cluster?.stop()
  cluster = undefined
})

async function open(url: string): Promise<WsClient> {
  const ws = await WsClient.open(url)
  sockets.push(ws)
  return ws
}

async function createTopic(c: TestCluster, name: string, partitions: number, replicationFactor: number): Promise<void> {
  const created = await api(c.any(), '/v1/topics', { method: 'POST', json: { name, partitions, replicationFactor } })
  assert.equal(created.status, 201, JSON.stringify(created.body))
  for (const b of c.brokers) {
    if (!b.server) continue
    await eventually(`broker ${b.id} sees ${name} led`, () => describeTopic(b.url(), name), (ps) => ps.length === partitions && ps.every((p) => p.leader > 0))
  }
}

async function produce(url: string, topic: string, partition: number, values: string[]): Promise<void> {
  const r = await api(url, `/v1/topics/${topic}/partitions/${partition}/records?acks=all`, { method: 'POST', json: { records: values.map((value) => ({ value })) } })
  assert.equal(r.status, 200, JSON.stringify(r.body))
}

describe('live subscriptions at any broker of a cluster (three brokers, etcd)', () => {
  test('a subscriber at a broker with no replica of the partition gets every record (replication factor 1 and 2), as one at a follower does', async () => {
    cluster = await startCluster()
    const c = cluster
    await createTopic(c, 'rf1', 3, 1)
    await createTopic(c, 'rf2', 3, 2)
    const views = { rf1: await describeTopic(c.any(), 'rf1'), rf2: await describeTopic(c.any(), 'rf2') }

    for (const topic of ['rf1', 'rf2'] as const) {
      for (const p of views[topic]) {
        const outsider = c.brokers.find((b) => !p.replicas.includes(b.id))!
        const ws = await open(outsider.url())
        // Records before the subscription (catch-up) and after it (live).
        await produce(c.any(), topic, p.partition, ['a', 'b', 'c'])
        const sub = `${topic}-${p.partition}`
        const ok = await ws.call({ op: 'sub', id: sub, topic, partitions: [p.partition], from: 'earliest' })
        assert.equal(ok.op, 'ok', JSON.stringify(ok))
        assert.deepEqual(ok.offsets, { [p.partition]: 0 })
        const latest = await ws.call({ op: 'sub', id: `${sub}-latest`, topic, partitions: [p.partition], from: 'latest' })
        assert.deepEqual(latest.offsets, { [p.partition]: 3 }, 'latest is the partition\'s high watermark, not the empty local log\'s')
        await produce(c.any(), topic, p.partition, ['d', 'e'])
        const got = await ws.waitRecords(sub, 5, 20_000)
        assert.deepEqual(got.map((r) => [r.offset, r.value]), [[0, 'a'], [1, 'b'], [2, 'c'], [3, 'd'], [4, 'e']])
        const live = await ws.waitRecords(`${sub}-latest`, 2, 20_000)
        assert.deepEqual(live.map((r) => [r.offset, r.value]), [[3, 'd'], [4, 'e']])
        // A resume from an explicit offset at yet another socket.
        const again = await open(outsider.url())
        const resumed = await again.call({ op: 'sub', id: 'r', topic, partitions: [p.partition], from: { offsets: { [p.partition]: 2 } } })
        assert.equal(resumed.op, 'ok', JSON.stringify(resumed))
        assert.deepEqual((await again.waitRecords('r', 3)).map((r) => r.value), ['c', 'd', 'e'])
      }
    }

    // SSE at a broker with no replica, and a follower's WebSocket (it serves its own log, up to the HW it learned).
    const p0 = views.rf2[0]!
    const outsider = c.brokers.find((b) => !p0.replicas.includes(b.id))!
    const sse = await fetch(`${outsider.url()}/v1/topics/rf2/sse?from=earliest&partitions=${p0.partition}`, { signal: AbortSignal.timeout(30_000) })
    assert.equal(sse.status, 200)
    const follower = c.brokers.find((b) => b.id !== p0.leader && p0.replicas.includes(b.id))!
    const fws = await open(follower.url())
    assert.equal((await fws.call({ op: 'sub', id: 'f', topic: 'rf2', partitions: [p0.partition], from: 'earliest' })).op, 'ok')
    await produce(c.any(), 'rf2', p0.partition, ['f'])
    assert.deepEqual((await fws.waitRecords('f', 6)).map((r) => r.value), ['a', 'b', 'c', 'd', 'e', 'f'])
    const reader = sse.body!.getReader()
    let text = ''
    const recordLines = () => [...text.matchAll(/^data: (\{"topic".*"offset".*)$/gm)].map((m) => JSON.parse(m[1]!))
    while (recordLines().length < 6) {
      const { done, value } = await reader.read()
      if (done) break
      text += new TextDecoder().decode(value)
    }
    await reader.cancel()
    const values = recordLines().map((r) => r.value)
    assert.deepEqual(values, ['a', 'b', 'c', 'd', 'e', 'f'])
  })

  test('a broker with no replica copies a partition from where its first subscriber starts; a later subscriber asking for older records (earliest, a timestamp) gets them from the leader', async () => {
    cluster = await startCluster()
    const c = cluster
    await createTopic(c, 'hist', 1, 1)
    const p = (await describeTopic(c.any(), 'hist'))[0]!
    const outsider = c.brokers.find((b) => !p.replicas.includes(b.id))!
    const before = Date.now() - 60_000
    await produce(c.any(), 'hist', 0, ['h0', 'h1', 'h2'])
    const first = await open(outsider.url())
    assert.deepEqual((await first.call({ op: 'sub', id: 'l', topic: 'hist', from: 'latest' })).offsets, { 0: 3 })
    await produce(c.any(), 'hist', 0, ['h3', 'h4'])
    assert.deepEqual((await first.waitRecords('l', 2)).map((r) => r.value), ['h3', 'h4'])
    assert.equal(await metric(outsider.url(), 'edgelog_observed_partitions'), 1, 'one copy, from the leader')
    const later = await open(outsider.url())
    assert.deepEqual((await later.call({ op: 'sub', id: 'e', topic: 'hist', from: 'earliest' })).offsets, { 0: 0 })
    assert.deepEqual((await later.call({ op: 'sub', id: 't', topic: 'hist', from: { timestamp: before } })).offsets, { 0: 0 })
    await produce(c.any(), 'hist', 0, ['h5'])
    for (const id of ['e', 't']) {
      const got = await later.waitRecords(id, 6)
      assert.deepEqual(got.map((r) => [r.offset, r.value]), [0, 1, 2, 3, 4, 5].map((i) => [i, `h${i}`]))
    }
    assert.equal(later.frames.filter((f) => f.op === 'gap').length, 0, 'older records are read from the leader, not reported gone')
    assert.deepEqual((await first.waitRecords('l', 3)).map((r) => r.value), ['h3', 'h4', 'h5'])
  })

  test('a group member over a socket at a broker holding no replica of most partitions: every record of every partition, and a new member starts at the committed offsets', async () => {
    cluster = await startCluster()
    const c = cluster
    await createTopic(c, 'grp', 3, 1)
    const views = await describeTopic(c.any(), 'grp')
    for (const p of views) await produce(c.any(), 'grp', p.partition, [`p${p.partition}-0`, `p${p.partition}-1`])
    const at = c.brokers[0]!
    assert.ok(views.filter((p) => !p.replicas.includes(at.id)).length >= 2, 'the broker holds no replica of two partitions')
    const ws = await open(at.url())
    const ok = await ws.call({ op: 'sub', id: 'g', topic: 'grp', group: 'readers', from: 'earliest' })
    assert.equal(ok.op, 'ok', JSON.stringify(ok))
    await ws.next((f) => f.op === 'assign' && f.partitions.length === 3)
    for (const p of views) await produce(c.any(), 'grp', p.partition, [`p${p.partition}-2`])
    const got = await ws.waitRecords('g', 9)
    for (const p of views) {
      assert.deepEqual(got.filter((r) => r.partition === p.partition).map((r) => [r.offset, r.value]), [0, 1, 2].map((i) => [i, `p${p.partition}-${i}`]))
    }
    // Commit 2 of every partition, leave, and join again from another socket: it starts there.
    const commit = await ws.call({ op: 'commit', id: 'c', group: 'readers', offsets: views.map((p) => ({ topic: 'grp', partition: p.partition, offset: 2 })) })
    assert.equal(commit.op, 'ok', JSON.stringify(commit))
    assert.equal((await ws.call({ op: 'unsub', id: 'g' })).op, 'ok')
    const again = await open(c.brokers[1]!.url())
    assert.equal((await again.call({ op: 'sub', id: 'g2', topic: 'grp', group: 'readers', from: 'earliest' })).op, 'ok')
    const assign = await again.next((f) => f.op === 'assign' && f.partitions.length === 3)
    assert.deepEqual(assign.offsets, { 0: 2, 1: 2, 2: 2 })
    const rest = await again.waitRecords('g2', 3)
    assert.deepEqual(rest.map((r) => r.value).sort(), views.map((p) => `p${p.partition}-2`).sort())
  })

  test('a broker with no replica delivers only committed records: nothing above the high watermark while the ISR is short of min.insync.replicas, everything once it is back', async () => {
    cluster = await startCluster()
    const c = cluster
    const created = await api(c.any(), '/v1/topics', { method: 'POST', json: { name: 'strict', partitions: 1, replicationFactor: 2, config: { 'min.insync.replicas': '2' } } })
    assert.equal(created.status, 201, JSON.stringify(created.body))
    const p = await eventually('a full ISR', () => describeTopic(c.any(), 'strict'), (ps) => ps[0]!.leader > 0 && ps[0]!.isr.length === 2).then((ps) => ps[0]!)
    const leader = c.brokers[p.leader - 1]!
    const follower = c.brokers.find((b) => b.id !== p.leader && p.replicas.includes(b.id))!
    const outsider = c.brokers.find((b) => !p.replicas.includes(b.id))!
    await produce(leader.url(), 'strict', 0, ['c0'])
    const ws = await open(outsider.url())
    assert.equal((await ws.call({ op: 'sub', id: 's', topic: 'strict', from: 'earliest' })).op, 'ok')
    await ws.waitRecords('s', 1)
    follower.server!.proc.kill('SIGSTOP')
    try {
      const r = await api(leader.url(), '/v1/topics/strict/partitions/0/records?acks=1', { method: 'POST', json: { records: [{ value: 'uncommitted-yet' }] } })
      assert.equal(r.status, 200, JSON.stringify(r.body))
      await sleep(1500)
      assert.deepEqual(ws.records('s').map((x) => x.value), ['c0'], 'a record the ISR does not have is not delivered')
    } finally {
      follower.server!.proc.kill('SIGCONT')
    }
    const got = await ws.waitRecords('s', 2, 30_000)
    assert.deepEqual(got.map((x) => [x.offset, x.value]), [[0, 'c0'], [1, 'uncommitted-yet']])
  })

  test('bad input at a broker with no replica keeps its clear error (unknown topic, unknown partition, offset beyond the end)', async () => {
    cluster = await startCluster()
    const c = cluster
    await createTopic(c, 'small', 1, 1)
    const p = (await describeTopic(c.any(), 'small'))[0]!
    const outsider = c.brokers.find((b) => !p.replicas.includes(b.id))!
    await produce(c.any(), 'small', 0, ['x'])
    const ws = await open(outsider.url())
    assert.equal((await ws.call({ op: 'sub', id: 'a', topic: 'nope' })).code, 'UNKNOWN_TOPIC_OR_PARTITION')
    assert.equal((await ws.call({ op: 'sub', id: 'b', topic: 'small', partitions: [1] })).code, 'UNKNOWN_TOPIC_OR_PARTITION')
    const beyond = await ws.call({ op: 'sub', id: 'c', topic: 'small', from: { offsets: { 0: 5 } } })
    assert.equal(beyond.code, 'OFFSET_OUT_OF_RANGE', JSON.stringify(beyond))
    // The socket stays usable.
    assert.equal((await ws.call({ op: 'sub', id: 'd', topic: 'small', from: 'earliest' })).op, 'ok')
    assert.deepEqual((await ws.waitRecords('d', 1)).map((r) => r.value), ['x'])
  })

  test('a SIGKILLed leader: subscribers reading through a follower and through a broker with no replica get every acknowledged record once, in order, and resume exactly', async () => {
    cluster = await startCluster()
    const c = cluster
    await createTopic(c, 'fo', 1, 2)
    const p = (await describeTopic(c.any(), 'fo'))[0]!
    const leader = c.brokers[p.leader - 1]!
    const follower = c.brokers.find((b) => b.id !== p.leader && p.replicas.includes(b.id))!
    const outsider = c.brokers.find((b) => !p.replicas.includes(b.id))!

    const viaFollower = await open(follower.url())
    const viaOutsider = await open(outsider.url())
    assert.equal((await viaFollower.call({ op: 'sub', id: 's', topic: 'fo', from: 'earliest' })).op, 'ok')
    assert.equal((await viaOutsider.call({ op: 'sub', id: 's', topic: 'fo', from: 'earliest' })).op, 'ok')

    // An idempotent producer through the outsider (routing to the leader), acks=all, one send at a time.
    const client = new EdgelogClient({ url: outsider.url() })
    const producer = client.producer({ acks: 'all', lingerMs: 0, requestTimeoutMs: 10_000, deliveryTimeoutMs: 90_000 })
    const acked: string[] = []
    let next = 0
    const load = (async () => {
      for (; next < 150; next++) {
        const meta = await producer.send('fo', { value: `v${next}`, partition: 0 })
        assert.equal(meta.offset, next, 'each record at the next offset: nothing written twice')
        acked.push(`v${next}`)
      }
    })()
    await eventually('40 records acknowledged', async () => acked.length, (n) => n >= 40)
    await viaOutsider.waitRecords('s', 20, 20_000)
    leader.server!.proc.kill('SIGKILL')
    await leader.server!.stop()
    leader.server = undefined
    try {
      await load
    } catch (err) {
      for (const b of c.brokers) {
        if (!b.server) continue
        console.error(`--- broker ${b.id}\n${b.server.output().slice(-6000)}`)
        console.error(JSON.stringify((await api(b.url(), '/v1/topics/fo')).body))
        console.error(((await api(b.url(), '/metrics')).body as string).split('\n').filter((l) => /isr|leader|produce|forward|observed/.test(l) && !l.startsWith('#')).join('\n'))
      }
      throw err
    }
    await producer.close()
    client.close()

    const expected = acked.map((v, i) => [i, v])
    for (const [name, ws] of [['follower', viaFollower], ['outsider', viaOutsider]] as const) {
      const got = await ws.waitRecords('s', acked.length, 60_000)
      assert.deepEqual(got.map((r) => [r.offset, r.value]), expected, `through the ${name}: every acknowledged record once, in order`)
      assert.equal(ws.frames.filter((f) => f.op === 'gap' || f.op === 'err').length, 0, `through the ${name}: no gap, no error`)
    }

    // Resume after a reconnect: from the last offset seen plus one, at the outsider.
    const resumed = await open(outsider.url())
    const ok = await resumed.call({ op: 'sub', id: 'r', topic: 'fo', from: { offsets: { 0: 100 } } })
    assert.equal(ok.op, 'ok', JSON.stringify(ok))
    const more = await api(outsider.url(), '/v1/topics/fo/partitions/0/records?acks=all', { method: 'POST', json: { records: [{ value: 'after' }] } })
    assert.equal(more.status, 200, JSON.stringify(more.body))
    const tail = await resumed.waitRecords('r', 51, 30_000)
    assert.deepEqual(tail.map((r) => r.value), [...acked.slice(100), 'after'])
    await sleep(200)
    assert.equal(resumed.records('r').length, 51, 'nothing twice')
  })
})
