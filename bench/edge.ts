// Edge relays (issue 6), on loopback: a broker and two edges, each its own `edgelog serve`
// process. (1) Latency from a produce at edge A to its delivery to a WebSocket subscriber at
// edge B, at a fixed rate: outbox commit at A, shipping to the broker (acks=all), the broker's
// fan-out to B's upstream subscription, B's relay cache, B's fan-out. (2) Drain rate: the
// broker is stopped, N records go into an edge's outbox, the broker comes back; records/s from
// the first confirmed batch to an empty outbox.
import { metricSum, startEdge, startRegion, waitUntil } from '../test/helpers/edge.ts'
import { removeDir } from '../test/helpers/server.ts'

const now = () => performance.timeOrigin + performance.now()

async function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

export interface EdgeLatencyResult {
  case: string
  records: number
  delivered: number
  p50Ms: number
  p99Ms: number
  maxMs: number
}

/** Produces at `prodUrl` at a fixed rate and measures send → delivery at a WebSocket subscriber of `subUrl`. */
async function measure(prodUrl: string, subUrl: string, topic: string, ratePerSec: number, seconds: number) {
  const latencies: number[] = []
  const ws = new WebSocket(subUrl.replace('http', 'ws') + '/v1/ws')
  await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)))
  let subscribed!: () => void
  const ok = new Promise<void>((resolve) => (subscribed = resolve))
  ws.onmessage = (e) => {
    const t = now()
    const f = JSON.parse(String(e.data))
    if (f.op === 'ok') subscribed()
    if (f.op === 'msg') latencies.push(t - f.value.t)
    if (f.op === 'msgs') for (const r of f.records) latencies.push(t - r.value.t)
  }
  ws.send(JSON.stringify({ op: 'sub', id: 's', topic, from: 'latest' }))
  await ok
  const total = ratePerSec * seconds
  const start = now()
  let sent = 0
  let inflight = 0
  await new Promise<void>((done) => {
    const timer = setInterval(() => {
      const due = Math.min(Math.floor(((now() - start) / 1000) * ratePerSec), total)
      while (sent < due && inflight < 256) {
        const seq = sent++
        inflight++
        // One record per request, each stamped with its send time.
        void post(`${prodUrl}/v1/topics/${topic}/records?acks=1`, { records: [{ key: `k${seq % 64}`, value: { seq, t: now() } }] }).then(async (r) => {
          await r.arrayBuffer()
          inflight--
        })
      }
      if (sent >= total) {
        clearInterval(timer)
        done()
      }
    }, 1)
  })
  const deadline = now() + 30_000
  while (latencies.length < total && now() < deadline) await new Promise((r) => setTimeout(r, 20))
  ws.close()
  latencies.sort((x, y) => x - y)
  return { records: total, delivered: latencies.length, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), maxMs: latencies[latencies.length - 1] ?? NaN }
}

/**
 * A broker and edges A and B (each its own process). After a warm-up run, the same paced load
 * twice: produced at the broker and read there (the baseline: what the machine allows now),
 * then produced at edge A and read at edge B.
 */
export async function benchEdgeLatency(opts: { ratePerSec: number; seconds: number; partitions: number; fsync: 'batch' | 'always' }): Promise<EdgeLatencyResult[]> {
  const region = await startRegion(['--fsync', opts.fsync])
  const args = ['--fsync', opts.fsync]
  // Straight to the broker: the test proxy (in this process) would add its own latency.
  const a = await startEdge(region.broker.url, args)
  const b = await startEdge(region.broker.url, args)
  try {
    await post(`${region.broker.url}/v1/topics`, { name: 'bench', partitions: opts.partitions })
    for (const e of [a, b]) await waitUntil('edge knows the topic', async () => (await fetch(`${e.url}/v1/topics/bench`)).status === 200)
    await measure(a.url, b.url, 'bench', opts.ratePerSec, Math.min(3, opts.seconds)) // warm-up, not reported
    const settings = `${opts.ratePerSec} rec/s, ${opts.partitions} partitions, fsync=${opts.fsync}`
    const baseline = await measure(region.broker.url, region.broker.url, 'bench', opts.ratePerSec, opts.seconds)
    const edge = await measure(a.url, b.url, 'bench', opts.ratePerSec, opts.seconds)
    return [
      { case: `baseline: broker → broker, ${settings}`, ...baseline },
      { case: `edge A → broker → edge B, ${settings}`, ...edge },
    ]
  } finally {
    for (const e of [a, b]) {
      await e.stop('SIGKILL')
      removeDir(e.dataDir)
    }
    await region.close()
    removeDir(region.dataDir)
  }
}

export interface EdgeDrainResult {
  case: string
  records: number
  seconds: number
  recordsPerSec: number
  exact: boolean
}

export async function benchEdgeDrain(opts: { records: number; partitions: number; valueBytes: number; fsync: 'batch' | 'always' }): Promise<EdgeDrainResult> {
  const region = await startRegion()
  const edge = await startEdge(region.upstream, ['--fsync', opts.fsync, '--outbox-bytes', String(1024 * 1024 * 1024)])
  try {
    await post(`${region.broker.url}/v1/topics`, { name: 'drain', partitions: opts.partitions })
    await waitUntil('edge knows the topic', async () => (await fetch(`${edge.url}/v1/topics/drain`)).status === 200)
    await region.stop()
    const pad = 'x'.repeat(Math.max(0, opts.valueBytes - 20))
    const perRequest = 1000
    for (let i = 0; i < opts.records; i += perRequest) {
      const records = Array.from({ length: perRequest }, (_, j) => ({ key: `k${(i + j) % 1000}`, value: { n: i + j, pad } }))
      const r = await post(`${edge.url}/v1/topics/drain/records?acks=1`, { records })
      if (r.status !== 200) throw new Error(`produce into the outbox: ${r.status} ${await r.text()}`)
    }
    if ((await metricSum(edge.url, 'edgelog_edge_outbox_records')) !== opts.records) throw new Error('the outbox does not hold every record')
    await region.restart()
    // From the first confirmed batch (the shipper may be in its backoff when the broker returns).
    let t0 = 0
    let left0 = opts.records
    for (;;) {
      const left = await metricSum(edge.url, 'edgelog_edge_outbox_records')
      if (t0 === 0 && left < opts.records) {
        t0 = now()
        left0 = left
      }
      if (left === 0) break
      await new Promise((r) => setTimeout(r, 5))
    }
    const seconds = (now() - t0) / 1000
    const d = await (await fetch(`${region.broker.url}/v1/topics/drain`)).json()
    const stored = d.partitions.reduce((n: number, p: { highWatermark: number }) => n + p.highWatermark, 0)
    return {
      case: `${opts.records.toLocaleString('en-US')} records, ${opts.partitions} partitions, ~${opts.valueBytes}-byte values, fsync=${opts.fsync}`,
      records: opts.records,
      seconds,
      recordsPerSec: left0 / seconds,
      exact: stored === opts.records,
    }
  } finally {
    await edge.stop('SIGKILL')
    removeDir(edge.dataDir)
    await region.close()
    removeDir(region.dataDir)
  }
}

if (import.meta.main) {
  const what = process.argv[2]
  if (!what || what === 'latency') console.table(await benchEdgeLatency({ ratePerSec: 1000, seconds: 10, partitions: 4, fsync: 'batch' }))
  if (!what || what === 'drain') console.table([await benchEdgeDrain({ records: 100_000, partitions: 4, valueBytes: 100, fsync: 'batch' })])
}
