// A subscription that starts below the log start is never skipped forward silently: a `gap`
// frame (or SSE `gap` event) names the offsets that are gone, then records continue at the
// log start. The log start is advanced offline here with the log's own code (the path
// retention takes), then the real server is restarted on the same data.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { bunStorage } from '../../storage/bun-sqlite.ts'
import { PartitionLog } from '../../src/log/partition-log.ts'
import { removeDir, startServer, type TestServer } from '../helpers/server.ts'
import { assertContiguous, postJson, SseClient, WsClient } from '../helpers/ws.ts'

let server: TestServer

describe('gap frames', () => {
  before(async () => {
    server = await startServer()
    await postJson(`${server.url}/v1/topics`, { name: 'gappy', partitions: 2 })
    for (let i = 0; i < 100; i += 10) {
      await postJson(`${server.url}/v1/topics/gappy/records`, { records: Array.from({ length: 10 }, (_, j) => ({ value: { i: i + j }, partition: 0 })) })
    }
    await postJson(`${server.url}/v1/topics/gappy/records`, { records: Array.from({ length: 5 }, (_, j) => ({ value: { i: j }, partition: 1 })) })
    const topicId = ((await (await fetch(`${server.url}/v1/topics/gappy`)).json()) as any).topicId
    const dataDir = server.dataDir
    await server.stop()
    const db = bunStorage(dataDir, 'always').open(`partitions/${topicId}-0`)
    const log = PartitionLog.open(db)
    log.advanceLogStart(45) // mid-batch: the batch 40..49 stays, offsets 40..44 are no longer served
    log.close()
    server = await startServer({ dataDir })
  })
  after(async () => {
    await server.stop()
    removeDir(server.dataDir)
  })

  test('from an offset below the log start: gap [from, logStart), then every record from the log start', async () => {
    const c = await WsClient.open(server.url)
    const ok = await c.call({ op: 'sub', id: 'g', topic: 'gappy', from: { offsets: { '0': 10, '1': 2 } } })
    assert.deepEqual(ok.offsets, { '0': 10, '1': 2 })
    const got = await c.waitRecords('g', 55 + 3)
    const gapAt = c.frames.findIndex((f) => f.op === 'gap')
    assert.deepEqual(c.frames[gapAt], { op: 'gap', sub: 'g', partition: 0, from: 10, to: 45 })
    const firstOfP0 = c.frames.findIndex((f) => (f.op === 'msg' || f.op === 'msgs') && f.partition === 0)
    assert.ok(gapAt < firstOfP0, 'the gap comes before any record of the partition')
    assertContiguous(got, { 0: 45, 1: 2 })
    assert.equal(c.frames.filter((f) => f.op === 'gap').length, 1, 'no gap for partition 1')
    c.close()
  })

  test('from earliest starts at the log start with no gap; from offset 0 gets the gap from 0', async () => {
    const c = await WsClient.open(server.url)
    const ok = await c.call({ op: 'sub', id: 'e', topic: 'gappy', partitions: [0], from: 'earliest' })
    assert.deepEqual(ok.offsets, { '0': 45 })
    await c.waitRecords('e', 55)
    await c.call({ op: 'sub', id: 'z', topic: 'gappy', partitions: [0], from: { offsets: { '0': 0 } } })
    await c.waitRecords('z', 55)
    assert.deepEqual(
      c.frames.filter((f) => f.op === 'gap'),
      [{ op: 'gap', sub: 'z', partition: 0, from: 0, to: 45 }],
    )
    c.close()
  })

  test('SSE: a gap event with the position after it, then the records', async () => {
    const sse = await SseClient.open(`${server.url}/v1/topics/gappy/sse?from=0:10,1:5`)
    assert.equal(sse.status, 200)
    await sse.waitFor(() => sse.records().length >= 55)
    const gap = sse.events.find((e) => e.event === 'gap')!
    assert.deepEqual(JSON.parse(gap.data), { partition: 0, from: 10, to: 45 })
    assert.equal(gap.id, '0:45,1:5')
    assertContiguous(sse.records() as any, { 0: 45, 1: 5 })
    sse.close()
  })
})
