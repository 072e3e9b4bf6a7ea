// A subscriber that stops reading must not hold the node or the other subscribers hostage:
// once more than --ws-max-buffered-bytes is queued for it, it is closed (4001, "slow
// consumer"), while a reading subscriber of the same records keeps receiving every one.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { removeDir, startServer, type TestServer } from '../helpers/server.ts'
import { assertContiguous, postJson, RawWs, SseClient, stalledGet, WsClient } from '../helpers/ws.ts'

let server: TestServer
const VALUE = 'v'.repeat(10_000)

async function produceBig(n: number): Promise<void> {
  for (let i = 0; i < n; i += 100) {
    const records = Array.from({ length: Math.min(100, n - i) }, (_, j) => ({ value: { i: i + j, pad: VALUE } }))
    const r = await postJson(`${server.url}/v1/topics/firehose/records?acks=1`, { records })
    assert.equal(r.status, 200)
  }
}

describe('slow subscribers', () => {
  before(async () => {
    server = await startServer({ args: ['--ws-max-buffered-bytes', '1048576'] })
    await postJson(`${server.url}/v1/topics`, { name: 'firehose', partitions: 1 })
  })
  after(async () => {
    await server.stop()
    removeDir(server.dataDir)
  })

  test('a socket that never reads is closed with 4001; another socket gets every record', async () => {
    const reader = await WsClient.open(server.url)
    await reader.call({ op: 'sub', id: 'r', topic: 'firehose' })
    const stalled = await RawWs.connect(server.port)
    stalled.writeFrame(1, JSON.stringify({ op: 'sub', id: 'stalled', topic: 'firehose' }))
    await new Promise((r) => setTimeout(r, 200))
    // ~40 MB: more than the loopback socket buffers and the 1 MiB limit together.
    await produceBig(4000)
    const got = await reader.waitRecords('r', 4000, 60_000)
    assertContiguous(got, { 0: 0 })
    assert.equal(reader.closed, undefined)
    let text = ''
    for (let i = 0; i < 100; i++) {
      text = await (await fetch(`${server.url}/metrics`)).text()
      if (/edgelog_slow_consumer_disconnects_total\{transport="ws"\} 1/.test(text)) break
      await new Promise((r) => setTimeout(r, 100))
    }
    assert.match(text, /edgelog_slow_consumer_disconnects_total\{transport="ws"\} 1/)
    const close = await stalled.readClose(30_000)
    assert.equal(close.code, 4001)
    assert.match(close.reason, /slow consumer/)
    stalled.destroy()
    // The node still serves, and a late reader catches up on everything (paced, never closed).
    const late = await WsClient.open(server.url)
    await late.call({ op: 'sub', id: 'late', topic: 'firehose', from: 'earliest' })
    const all = await late.waitRecords('late', 4000, 60_000)
    assertContiguous(all, { 0: 0 })
    assert.equal(late.closed, undefined)
    late.close()
    reader.close()
  })

  test('an SSE stream that is not read is ended; a reading one gets every record', async () => {
    const stalled = await stalledGet(server.port, '/v1/topics/firehose/sse?from=latest')
    assert.equal(stalled.status, 200)
    const reading = await SseClient.open(`${server.url}/v1/topics/firehose/sse?from=latest`)
    await reading.waitFor(() => reading.events.length >= 1)
    const start = Number(reading.lastId()!.split(':')[1])
    await produceBig(4000)
    await reading.waitFor(() => reading.records().length >= 4000, 60_000)
    const recs = reading.records()
    assertContiguous(recs as any, { 0: start })
    let text = ''
    for (let i = 0; i < 100; i++) {
      text = await (await fetch(`${server.url}/metrics`)).text()
      if (/edgelog_slow_consumer_disconnects_total\{transport="sse"\} 1/.test(text)) break
      await new Promise((r) => setTimeout(r, 100))
    }
    assert.match(text, /edgelog_slow_consumer_disconnects_total\{transport="sse"\} 1/)
    // Reading now drains what the kernel held, and then the stream's end.
    stalled.socket.resume()
    for (let i = 0; i < 300 && !stalled.closed(); i++) await new Promise((r) => setTimeout(r, 100))
    assert.ok(stalled.closed(), 'the stalled stream was cut')
    reading.close()
    stalled.socket.destroy()
  })
})
