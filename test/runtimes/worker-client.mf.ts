// The client library inside a Cloudflare Worker (workerd via Miniflare), producing to and
// consuming from a real edgelog node (Bun, on loopback) over HTTP, WebSocket and a long poll.
//   node --import tsx --test test/runtimes/worker-client.mf.ts
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Miniflare } from 'miniflare'
import { bundleWorker } from '../../edge/cloudflare/bundle.ts'
import { startMiniflare } from '../../edge/cloudflare/miniflare.ts'
import { removeDir, startServer, type TestServer } from '../helpers/server.ts'

describe('the client library inside a Worker', () => {
  const work = mkdtempSync(join(tmpdir(), 'edgelog-worker-client-'))
  let node: TestServer
  let mf: Miniflare

  before(async () => {
    node = await startServer()
    const script = join(work, 'worker.js')
    await bundleWorker(join(import.meta.dirname, 'worker-client.worker.ts'), script)
    mf = (await startMiniflare({ scriptPath: script, durableObjects: {} })).mf
  })
  after(async () => {
    await mf?.dispose()
    await node?.stop()
    if (node) removeDir(node.dataDir)
    rmSync(work, { recursive: true, force: true })
  })

  test('a Worker produces (HTTP and WebSocket), subscribes and long-polls against an edgelog node', async () => {
    const res = await mf.dispatchFetch(`http://worker/run?url=${encodeURIComponent(node.url)}&topic=from-the-edge`)
    const report = (await res.json()) as any
    assert.equal(res.status, 200, report.error)
    assert.equal(report.acks.length, 6)
    assert.ok(report.acks.every((a: any) => a.partition === report.acks[0].partition && typeof a.offset === 'number'), 'one key, one partition')
    assert.deepEqual(report.polled, [{ via: 'http', i: 6 }], 'the long poll returned the record produced while it waited')
    assert.deepEqual(
      report.subscribed.map((r: any) => r.value),
      [0, 1, 2, 3, 4, 5, 6].map((i) => ({ via: i >= 3 && i < 6 ? 'ws' : 'http', i })),
      'the subscription saw every record once, in order',
    )
    // And the node has them: the Worker's writes are real.
    const stored = await (await fetch(`${node.url}/v1/topics/from-the-edge/partitions/${report.acks[0].partition}/records?offset=0`)).json()
    assert.equal((stored as any).records.length, 7)
  })
})
