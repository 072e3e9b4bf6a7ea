// Catch-up then live without a seam: subscriptions start (from the log start, from just below
// the head, at the head) while appends race them, and every subscription must receive each
// record from its start position to the final high watermark exactly once, in order.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { removeDir, startServer, type TestServer } from '../helpers/server.ts'
import { assertContiguous, postJson, WsClient } from '../helpers/ws.ts'

let server: TestServer

async function highWatermarks(topic: string): Promise<Record<number, number>> {
  const res = await fetch(`${server.url}/v1/topics/${topic}`)
  const body = (await res.json()) as { partitions: Array<{ partition: number; highWatermark: number }> }
  return Object.fromEntries(body.partitions.map((p) => [p.partition, p.highWatermark]))
}

describe('catch-up / live race', () => {
  before(async () => {
    server = await startServer({ args: ['--fsync', 'off'] })
    await postJson(`${server.url}/v1/topics`, { name: 'race', partitions: 2 })
  })
  after(async () => {
    await server.stop()
    removeDir(server.dataDir)
  })

  test('no record appended during a subscription\'s catch-up is lost or delivered twice', async () => {
    let producing = true
    let produced = 0
    // HTTP producers: small requests, so the high watermark moves in many small steps.
    const httpProducer = async (lane: number) => {
      let i = 0
      while (producing) {
        const records = Array.from({ length: 1 + (i % 5) }, (_, j) => ({ key: `k${lane}-${i}-${j}`, value: { lane, i, j } }))
        const r = await postJson(`${server.url}/v1/topics/race/records?acks=1`, { records })
        assert.equal(r.status, 200)
        produced += records.length
        i++
      }
    }
    // A WebSocket producer too: pubs arrive on the same event loop as the subs.
    const publisher = await WsClient.open(server.url)
    const wsProducer = async () => {
      let i = 0
      while (producing) {
        const ack = await publisher.call({ op: 'pub', id: `p${i}`, topic: 'race', key: `w${i}`, value: { ws: i } })
        assert.equal(ack.op, 'ack')
        produced++
        i++
      }
    }
    const producers = [httpProducer(0), httpProducer(1), wsProducer()]

    const sockets = await Promise.all(Array.from({ length: 4 }, () => WsClient.open(server.url)))
    const subs: Array<{ socket: WsClient; id: string; starts: Record<number, number> }> = []
    for (let wave = 0; wave < 15; wave++) {
      await new Promise((r) => setTimeout(r, 20))
      const hw = await highWatermarks('race')
      const starts = await Promise.all(
        sockets.map(async (socket, s) => {
          const id = `w${wave}s${s}`
          // Alternate: just below the head (short catch-up that ends in the race), earliest, latest.
          const from =
            (wave + s) % 3 === 0
              ? { offsets: { '0': Math.max(0, hw[0]! - 3), '1': Math.max(0, hw[1]! - 2) } }
              : (wave + s) % 3 === 1
                ? 'earliest'
                : 'latest'
          const ok = await socket.call({ op: 'sub', id, topic: 'race', from })
          assert.equal(ok.op, 'ok', JSON.stringify(ok))
          return { socket, id, starts: Object.fromEntries(Object.entries(ok.offsets as Record<string, number>).map(([p, o]) => [Number(p), o])) }
        }),
      )
      subs.push(...starts)
    }
    producing = false
    await Promise.all(producers)
    assert.ok(produced > 100, `enough appends raced the subscriptions (${produced})`)
    const final = await highWatermarks('race')
    for (const { socket, id, starts } of subs) {
      const expected = final[0]! - starts[0]! + final[1]! - starts[1]!
      const got = await socket.waitRecords(id, expected, 30_000)
      const next = assertContiguous(got, starts)
      assert.deepEqual(Object.fromEntries(next), final, `${id} reached the high watermark on every partition`)
      assert.equal(got.length, expected, `${id}: nothing twice`)
    }
    // Nothing beyond: give stragglers a moment, then check no extra records arrived.
    await new Promise((r) => setTimeout(r, 300))
    for (const { socket, id, starts } of subs) {
      assert.equal(socket.records(id).length, final[0]! - starts[0]! + final[1]! - starts[1]!, id)
    }
    for (const s of sockets) s.close()
    publisher.close()
  })
})
