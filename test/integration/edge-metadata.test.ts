// An edge learns its region's topics and keeps them: it answers topic reads from the region,
// and from what it learned when the region is away, across its own restart.
import assert from 'node:assert/strict'
import { createServer, type AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { removeDir, type TestServer } from '../helpers/server.ts'
import { startEdge, startRegion, waitUntil, type Region } from '../helpers/edge.ts'
import { postJson } from '../helpers/ws.ts'

describe('edge metadata', () => {
  let region: Region
  let edge: TestServer
  before(async () => {
    region = await startRegion()
    edge = await startEdge(region.upstream)
  })
  after(async () => {
    await edge?.stop('SIGKILL')
    await region?.close()
    removeDir(edge.dataDir)
    removeDir(region.dataDir)
  })

  test('topic admin through an edge reaches the region, and the edge describes topics as the region does', async () => {
    const created = await postJson(`${edge.url}/v1/topics`, { name: 'meta', partitions: 3, config: { 'max.message.bytes': 4096 } })
    assert.equal(created.status, 201)
    const atBroker = await (await fetch(`${region.broker.url}/v1/topics/meta`)).json()
    const atEdge = await (await fetch(`${edge.url}/v1/topics/meta`)).json()
    assert.deepEqual(atEdge, atBroker)
    const dup = await postJson(`${edge.url}/v1/topics`, { name: 'meta', partitions: 1 })
    assert.equal(dup.status, 409)
    assert.equal(dup.body.error.code, 'TOPIC_ALREADY_EXISTS')
  })

  test('a region that goes away: /readyz says so, /healthz does not, topics come from what the edge learned', async () => {
    await waitUntil('the edge lists the topic', async () => (await (await fetch(`${edge.url}/v1/topics`)).json()).topics.some((t: any) => t.name === 'meta'))
    assert.equal((await fetch(`${edge.url}/readyz`)).status, 200)
    await region.stop()
    await waitUntil('/readyz fails', async () => (await fetch(`${edge.url}/readyz`)).status === 503)
    assert.equal((await fetch(`${edge.url}/healthz`)).status, 200)
    const listing = await (await fetch(`${edge.url}/v1/topics`)).json()
    assert.equal(listing.source, 'edge-cache')
    assert.deepEqual(listing.topics, [{ name: 'meta', partitions: 3 }])

    // Restarted while the region is still away: it still knows the topic, its partitions and configs.
    await edge.stop('SIGKILL')
    edge = await startEdge(region.upstream, [], edge.dataDir)
    const described = await (await fetch(`${edge.url}/v1/topics/meta`)).json()
    assert.equal(described.source, 'edge-cache')
    assert.equal(described.partitions.length, 3)
    assert.equal(described.config['max.message.bytes'], '4096')
    const unknown = await fetch(`${edge.url}/v1/topics/never-seen`)
    assert.equal(unknown.status, 503)
    assert.equal((await unknown.json()).error.code, 'NETWORK_EXCEPTION')

    await region.restart()
    await waitUntil('/readyz recovers', async () => (await fetch(`${edge.url}/readyz`)).status === 200)
    assert.equal((await fetch(`${edge.url}/v1/topics/never-seen`)).status, 404)
  })

  test('an upstream that cannot be reached is passed over for the next one given', async () => {
    // A port nothing listens on: connection refused, at once.
    const dead = createServer()
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve))
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`
    await new Promise<void>((resolve) => dead.close(() => resolve()))
    const second = await startEdge([deadUrl, region.upstream])
    try {
      await waitUntil('the edge learned the topic through the second upstream', async () => (await fetch(`${second.url}/v1/topics/meta`)).status === 200)
      const r = await postJson(`${second.url}/v1/topics/meta/records?acks=all`, { records: [{ key: 'k', value: 1 }] })
      assert.equal(r.status, 200, JSON.stringify(r.body))
      assert.equal(typeof r.body.offsets[0].offset, 'number')
      const metrics = await (await fetch(`${second.url}/metrics`)).text()
      assert.match(metrics, new RegExp(`edgelog_edge_upstream_up\\{upstream="${deadUrl}"\\} 0`))
      assert.match(metrics, new RegExp(`edgelog_edge_upstream_current\\{upstream="${region.upstream}"\\} 1`))
      assert.equal((await fetch(`${second.url}/readyz`)).status, 200)
    } finally {
      await second.stop('SIGKILL')
      removeDir(second.dataDir)
    }
  })
})

describe('edge console', () => {
  test('an edge serves the console and says it is an edge in /metrics', async () => {
    const region = await startRegion()
    const edge = await startEdge(region.upstream)
    try {
      const page = await fetch(`${edge.url}/console`)
      assert.equal(page.status, 200)
      assert.match(await page.text(), /<html/i)
      assert.match(await (await fetch(`${edge.url}/metrics`)).text(), /^edgelog_node_info\{role="edge"\} 1$/m)
    } finally {
      await edge.stop('SIGKILL')
      await region.close()
      removeDir(edge.dataDir)
      removeDir(region.dataDir)
    }
  })
})
