// What a SIGKILL may not take: acknowledged records, and idempotence across a lost answer.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { removeDir, startServer, tempDir, type TestServer } from '../helpers/server.ts'

const json = { 'content-type': 'application/json' }

async function post(server: TestServer, path: string, body: unknown) {
  const res = await fetch(server.url + path, { method: 'POST', headers: json, body: JSON.stringify(body) })
  return { status: res.status, body: (await res.json()) as any }
}

async function readAll(server: TestServer, topic: string, partition: number) {
  const out: any[] = []
  let offset = 0
  for (;;) {
    const res = await fetch(`${server.url}/v1/topics/${topic}/partitions/${partition}/records?offset=${offset}&maxRecords=10000`)
    const body = (await res.json()) as any
    out.push(...body.records)
    if (body.nextOffset >= body.highWatermark) return out
    offset = body.nextOffset
  }
}

describe('crash safety', () => {
  test('SIGKILL under produce load loses no acknowledged acks=1 record (fsync always)', async () => {
    const dataDir = tempDir()
    let server = await startServer({ dataDir, args: ['--fsync', 'always'] })
    try {
      await post(server, '/v1/topics', { name: 'durable', partitions: 2 })
      const acked: Array<{ partition: number; offset: number; value: string }> = []
      let killed = false
      const producers = Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; !killed; i++) {
          const records = Array.from({ length: 20 }, (_, j) => ({ key: `w${w}`, value: `w${w}-${i}-${j}` }))
          try {
            const r = await post(server, '/v1/topics/durable/records?acks=1', { records })
            if (r.status !== 200) continue
            r.body.offsets.forEach((o: any, j: number) => acked.push({ ...o, value: records[j]!.value }))
          } catch {
            return // the connection died with the server
          }
        }
      })
      // Kill once enough is acknowledged, however slow the machine is today.
      for (let waited = 0; acked.length < 500 && waited < 20_000; waited += 20) await new Promise((r) => setTimeout(r, 20))
      killed = true
      await server.stop('SIGKILL')
      await Promise.all(producers)
      assert.ok(acked.length > 100, `enough records were acknowledged before the kill (${acked.length})`)

      server = await startServer({ dataDir, args: ['--fsync', 'always'] })
      const stored = new Map<string, string>()
      for (const p of [0, 1]) {
        const records = await readAll(server, 'durable', p)
        records.forEach((r, i) => assert.equal(r.offset, i, 'offsets stay dense after the crash'))
        for (const r of records) stored.set(`${p}:${r.offset}`, r.value)
      }
      for (const a of acked) assert.equal(stored.get(`${a.partition}:${a.offset}`), a.value, `acked ${a.value} survived`)
    } finally {
      await server.stop('SIGKILL')
      removeDir(dataDir)
    }
  })

  test('an idempotent retry after a SIGKILL between append and answer is deduplicated', async () => {
    const dataDir = tempDir()
    let server = await startServer({ dataDir })
    try {
      await post(server, '/v1/topics', { name: 'once', partitions: 1 })
      const producers = await Promise.all(Array.from({ length: 16 }, () => post(server, '/v1/producers', {}).then((r) => r.body)))
      // Each producer sends numbered single-record batches; next[i] is its next sequence.
      const next = producers.map(() => 0)
      const unanswered = new Set<number>()
      let lostAnswerDeduplicated = 0
      // A kill lands between an append and its answer often, but not every time: go again
      // until one does (each round is a real SIGKILL and restart).
      for (let round = 0; round < 12 && lostAnswerDeduplicated === 0; round++) {
        let answered = 0
        let stop = false
        const load = producers.map(async (p, i) => {
          while (!stop) {
            const seq = next[i]!
            unanswered.add(i)
            let r
            try {
              r = await post(server, '/v1/topics/once/partitions/0/records', {
                producer: { id: p.producerId, epoch: p.producerEpoch, sequence: seq },
                records: [{ value: { p: i, seq } }],
              })
            } catch {
              return // killed mid-request: the answer is lost, the append may or may not be
            }
            // Any answer the node does give must be a success: a refusal here is a bug.
            assert.equal(r.status, 200, JSON.stringify(r.body))
            answered++
            unanswered.delete(i)
            next[i] = seq + 1
          }
        })
        // Let the load run long enough to have answers in flight, on a fast or a loaded machine.
        for (let waited = 0; answered < 40 + round * 20 && waited < 20_000; waited += 10) await new Promise((r) => setTimeout(r, 10))
        stop = true
        await server.stop('SIGKILL')
        await Promise.all(load)
        server = await startServer({ dataDir })
        // Retry every request whose answer was lost, exactly as a client would.
        for (const i of unanswered) {
          const seq = next[i]!
          const r = await post(server, '/v1/topics/once/partitions/0/records', {
            producer: { id: producers[i].producerId, epoch: producers[i].producerEpoch, sequence: seq },
            records: [{ value: { p: i, seq } }],
          })
          assert.equal(r.status, 200, JSON.stringify(r.body))
          if (r.body.duplicate) lostAnswerDeduplicated++
          next[i] = seq + 1
        }
        unanswered.clear()
      }
      assert.ok(lostAnswerDeduplicated > 0, 'at least one kill landed between an append and its answer')
      // Every producer's records appear exactly once, in sequence order.
      const records = await readAll(server, 'once', 0)
      const seen = producers.map(() => [] as number[])
      for (const r of records) seen[r.value.p]!.push(r.value.seq)
      seen.forEach((seqs, i) => assert.deepEqual(seqs, Array.from({ length: next[i]! }, (_, k) => k), `producer ${i}`))
    } finally {
      await server.stop('SIGKILL')
      removeDir(dataDir)
    }
  })
})
