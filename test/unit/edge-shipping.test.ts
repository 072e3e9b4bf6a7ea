// Shipping under a faulty link, in-process: an edge node whose upstream is a real broker's app
// behind a seeded fault injector (requests lost on the way, answers lost on the way back),
// restarted now and then. Whatever the faults, every record reaches the broker exactly once and
// in order. The failing seed is printed for replay.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { bunStorage } from '../../storage/bun-sqlite.ts'
import { createApp } from '../../src/api/app.ts'
import { Broker } from '../../src/broker/broker.ts'
import { systemRuntime } from '../../src/core/clock.ts'
import { EdgeNode } from '../../src/edge/edge-node.ts'
import { removeDir, tempDir } from '../helpers/server.ts'

function prng(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const enc = new TextEncoder()
const dec = new TextDecoder()

async function runSeed(seed: number): Promise<void> {
  const random = prng(seed)
  const brokerDir = tempDir('edgelog-ship-broker-')
  const edgeDir = tempDir('edgelog-ship-edge-')
  const broker = Broker.open(bunStorage(brokerDir, 'off'), systemRuntime(), { cleanerIntervalMs: 0 })
  const app = createApp(broker, { logError: () => {} })
  broker.createTopic({ name: 'faulty', partitions: 2 })
  let faults = { lostRequests: 0, lostAnswers: 0 }
  // The link: some requests never arrive, some answers never come back (the broker acted on them).
  const fetch = async (req: Request): Promise<Response> => {
    const r = random()
    if (r < 0.15) {
      faults.lostRequests++
      throw new TypeError('connection reset (injected)')
    }
    const res = await app.fetch(req)
    if (r < 0.3) {
      faults.lostAnswers++
      throw new TypeError('connection reset after the request (injected)')
    }
    return res
  }
  const open = () =>
    EdgeNode.open({
      storage: bunStorage(edgeDir, 'off'),
      runtime: systemRuntime(),
      fetch,
      options: { upstreams: ['http://upstream.invalid'], retryBackoffMs: 1, retryBackoffMaxMs: 5, shipBatchBytes: 600, metadataRefreshMs: 60_000, logError: () => {} },
    })
  let edge = open()
  edge.start()
  try {
    const total = 600
    let sent = 0
    while (sent < total) {
      const n = 1 + Math.floor(random() * 40)
      const records = Array.from({ length: Math.min(n, total - sent) }, (_, i) => ({
        key: enc.encode(`k${(sent + i) % 7}`),
        value: enc.encode(String(sent + i)),
        timestamp: 1,
      }))
      try {
        await edge.produce('faulty', records, '1')
        sent += records.length
      } catch (err) {
        // Only the first describe can fail here (the link lost it); the produce is retried once
        // the edge heard from upstream again.
        assert.equal((err as { code?: string }).code, 'NETWORK_EXCEPTION')
        await edge.metadata.refresh().catch(() => {})
      }
      if (random() < 0.1) {
        // A restart: what is in flight is sent again from edge.db by the new node.
        edge.close()
        edge = open()
        edge.start()
      }
    }
    const deadline = Date.now() + 30_000
    while (edge.outbox.all().some((p) => p.end > p.log.logStartOffset) || edge.m === undefined) {
      if (Date.now() > deadline) throw new Error('the outbox did not drain')
      await new Promise((r) => setTimeout(r, 10))
    }
    // Every record once, and each key's values in increasing order along its partition.
    const seen = new Set<number>()
    for (let p = 0; p < 2; p++) {
      const last = new Map<string, number>()
      const { records } = await broker.fetch('faulty', p, { offset: 0, maxRecords: 10_000, maxBytes: 16 << 20, waitMs: 0 })
      for (const r of records) {
        const v = Number(dec.decode(r.value!))
        const k = dec.decode(r.key!)
        assert.ok(!seen.has(v), `seed ${seed}: record ${v} arrived twice`)
        seen.add(v)
        assert.ok(v > (last.get(k) ?? -1), `seed ${seed}: key ${k} out of order`)
        last.set(k, v)
      }
    }
    assert.equal(seen.size, total, `seed ${seed}: ${total} records arrived (${JSON.stringify(faults)})`)
    assert.ok(faults.lostAnswers > 0 && faults.lostRequests > 0, 'the faults happened')
  } finally {
    edge.close()
    broker.close()
    removeDir(brokerDir)
    removeDir(edgeDir)
  }
}

describe('edge shipping under faults', () => {
  const base = Number(process.env.EDGELOG_SEED ?? 1)
  for (let seed = base; seed < base + 4; seed++) {
    test(`seed ${seed}: lost requests, lost answers and restarts never lose, duplicate or reorder a record`, () => runSeed(seed))
  }
})
