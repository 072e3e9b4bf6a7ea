// A client that reconnects after the node restarts and subscribes from the last offset it saw
// plus one misses nothing and sees nothing twice: the log is the history.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { removeDir, startServer, tempDir, type TestServer } from '../helpers/server.ts'
import { assertContiguous, postJson, produceMany, WsClient } from '../helpers/ws.ts'

const dirs: string[] = []
after(() => dirs.forEach(removeDir))

/** The next offset per partition after what `records` delivered (or `starts` where none). */
function resumePoint(records: Array<{ partition: number; offset: number }>, starts: Record<string, number>): Record<string, number> {
  const next: Record<string, number> = { ...starts }
  for (const r of records) next[String(r.partition)] = r.offset + 1
  return next
}

describe('resume across a server restart', () => {
  test('SIGTERM: sockets get 1001; after the restart, from last offset + 1 delivers exactly the rest', async () => {
    const dataDir = tempDir()
    dirs.push(dataDir)
    let server: TestServer = await startServer({ dataDir })
    await postJson(`${server.url}/v1/topics`, { name: 'resume', partitions: 3 })
    await produceMany(server.url, 'resume', 150, { key: (i) => `k${i}` })
    const a = await WsClient.open(server.url)
    const ok = await a.call({ op: 'sub', id: 's', topic: 'resume', from: 'earliest' })
    // A second subscription from latest that sees nothing before the restart.
    const quiet = await a.call({ op: 'sub', id: 'q', topic: 'resume', partitions: [0, 1, 2] })
    await produceMany(server.url, 'resume', 50, { key: (i) => `k${i}`, from: 150 })
    const before = await a.waitRecords('s', 200)
    await a.waitRecords('q', 50)
    assert.equal(await server.stop('SIGTERM'), 0)
    const closed = await a.waitClose()
    assert.equal(closed.code, 1001)
    assert.equal(closed.reason, 'shutting down')

    server = await startServer({ dataDir })
    await produceMany(server.url, 'resume', 100, { key: (i) => `k${i}`, from: 200 })
    const b = await WsClient.open(server.url)
    const from = resumePoint(before, ok.offsets)
    const ok2 = await b.call({ op: 'sub', id: 's', topic: 'resume', from: { offsets: from } })
    assert.deepEqual(ok2.offsets, from)
    const quietFrom = resumePoint(a.records('q'), quiet.offsets)
    await b.call({ op: 'sub', id: 'q', topic: 'resume', from: { offsets: quietFrom } })
    await produceMany(server.url, 'resume', 30, { key: (i) => `k${i}`, from: 300 })
    const afterRestart = await b.waitRecords('s', 130)
    assertContiguous(afterRestart, Object.fromEntries(Object.entries(from).map(([p, o]) => [Number(p), o])))
    const values = [...before, ...afterRestart].map((r) => r.value.i).sort((x, y) => x - y)
    assert.deepEqual(values, Array.from({ length: 330 }, (_, i) => i), 'every record once, across the restart')
    const quietAfter = await b.waitRecords('q', 130)
    assert.deepEqual([...a.records('q'), ...quietAfter].map((r) => r.value.i).sort((x, y) => x - y), Array.from({ length: 180 }, (_, i) => 150 + i))
    await new Promise((r) => setTimeout(r, 200))
    assert.equal(b.records('s').length, 130, 'nothing twice')
    b.close()
    await server.stop()
  })

  test('SIGKILL mid-stream: every acknowledged record is delivered once across the crash', async () => {
    const dataDir = tempDir()
    dirs.push(dataDir)
    let server: TestServer = await startServer({ dataDir })
    await postJson(`${server.url}/v1/topics`, { name: 'crash', partitions: 2 })
    const a = await WsClient.open(server.url)
    const ok = await a.call({ op: 'sub', id: 'c', topic: 'crash', from: 'earliest' })
    const pub = await WsClient.open(server.url)
    const acked: number[] = []
    let i = 0
    const producing = (async () => {
      for (;;) {
        let ack
        try {
          ack = await pub.call({ op: 'pub', id: `p${i}`, topic: 'crash', key: `k${i}`, value: { i } })
        } catch {
          return // the node died under us
        }
        if (ack.op === 'ack') acked.push(i)
        i++
      }
    })()
    await a.waitRecords('c', 100)
    await server.stop('SIGKILL')
    await producing
    await a.waitClose()
    const seen = a.records('c')
    assertContiguous(seen, { 0: 0, 1: 0 })

    server = await startServer({ dataDir })
    const b = await WsClient.open(server.url)
    const from = resumePoint(seen, ok.offsets)
    await b.call({ op: 'sub', id: 'c', topic: 'crash', from: { offsets: from } })
    const res = await fetch(`${server.url}/v1/topics/crash`)
    const hw = ((await res.json()) as any).partitions.map((p: any) => p.highWatermark) as number[]
    const rest = await b.waitRecords('c', hw[0]! - from['0']! + hw[1]! - from['1']!)
    assertContiguous(rest, { 0: from['0']!, 1: from['1']! })
    const all = [...seen, ...rest].map((r) => r.value.i)
    assert.equal(new Set(all).size, all.length, 'nothing twice')
    for (const n of acked) assert.ok(all.includes(n), `acknowledged record ${n} was delivered`)
    b.close()
    pub.close()
    await server.stop()
  })
})
