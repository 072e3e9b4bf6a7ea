// Live subscriptions in a cluster: three brokers and etcd on loopback, a one-partition topic
// with RF=2, and a WebSocket subscriber at each of the leader, the follower (its own log, up to
// the high watermark it learned) and the broker with no replica (an observed copy, pulled from
// the leader). Latency: one record every `intervalMs` produced at the leader (acks=1), measured
// from the send to its arrival at each subscriber (all in this process). Throughput: a burst of
// `burst` records, 100 per request, 4 requests in flight, until each subscriber has them all.
import { percentile } from './server.ts'
import { api, describe, eventually, startCluster } from '../test/cluster/helpers.ts'

export interface LiveClusterRow {
  path: string
  /** Per produce interval: p50 and p99 latency. */
  latency: Array<{ intervalMs: number; p50Ms: number; p99Ms: number }>
  burstRecordsPerSec: number
}

interface Sub {
  path: string
  got: number
  arrivals: Map<number, number>
  ws: WebSocket
}

async function subscribe(url: string, path: string): Promise<Sub> {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/v1/ws')
  const sub: Sub = { path, got: 0, arrivals: new Map(), ws }
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve()
    ws.onerror = () => reject(new Error(`cannot open ${url}`))
  })
  const ok = new Promise<void>((resolve) => {
    ws.onmessage = (e) => {
      const f = JSON.parse(String(e.data))
      if (f.op === 'ok') return resolve()
      const now = performance.now()
      const records = f.op === 'msg' ? [f] : f.op === 'msgs' ? f.records : []
      for (const r of records) {
        sub.got++
        sub.arrivals.set(r.offset, now)
      }
    }
  })
  ws.send(JSON.stringify({ op: 'sub', id: 's', topic: 'live', from: 'latest' }))
  await ok
  return sub
}

export async function benchLiveCluster(opts: { seconds: number; intervalsMs: number[]; burst: number }): Promise<LiveClusterRow[]> {
  const cluster = await startCluster(3, ['--fsync', 'batch'])
  try {
    const r = await api(cluster.any(), '/v1/topics', { method: 'POST', json: { name: 'live', partitions: 1, replicationFactor: 2 } })
    if (r.status !== 201) throw new Error(JSON.stringify(r.body))
    const [p] = await eventually('a full ISR', () => describe(cluster.any(), 'live'), (ps) => ps[0]!.isr.length === 2)
    const leader = cluster.brokers[p!.leader - 1]!
    const follower = cluster.brokers.find((b) => b.id !== p!.leader && p!.replicas.includes(b.id))!
    const outsider = cluster.brokers.find((b) => !p!.replicas.includes(b.id))!
    const subs = [await subscribe(leader.url(), 'at the leader'), await subscribe(follower.url(), 'at the follower (KIP-392)'), await subscribe(outsider.url(), 'at a broker with no replica (observed copy)')]
    const produce = async (records: number) => {
      const body = JSON.stringify({ records: Array.from({ length: records }, () => ({ value: 'x'.repeat(100) })) })
      const res = await fetch(`${leader.url()}/v1/topics/live/partitions/0/records?acks=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      if (res.status !== 200) throw new Error(`produce: ${res.status} ${await res.text()}`)
      return ((await res.json()) as { offsets: Array<{ offset: number }> }).offsets[0]!.offset
    }
    const waitAll = async (n: number) => eventually('every subscriber has every record', async () => subs.map((s) => s.got), (g) => g.every((x) => x >= n), 120_000)

    // Latency: one record at a time, spaced.
    const latencies: number[][][] = subs.map(() => [])
    let total = 0
    for (const intervalMs of opts.intervalsMs) {
      const sent = new Map<number, number>()
      const deadline = performance.now() + opts.seconds * 1000
      while (performance.now() < deadline) {
        const t0 = performance.now()
        sent.set(await produce(1), t0)
        await new Promise((res) => setTimeout(res, intervalMs))
      }
      total += sent.size
      await waitAll(total)
      subs.forEach((s, i) => latencies[i]!.push([...sent].map(([offset, t0]) => s.arrivals.get(offset)! - t0).sort((a, b) => a - b)))
    }

    // Throughput: a burst.
    for (const s of subs) {
      s.got = 0
      s.arrivals.clear()
    }
    const t0 = performance.now()
    let left = opts.burst / 100
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (left-- > 0) await produce(100)
    }))
    await waitAll(opts.burst)
    const rows = subs.map((s, i) => ({
      path: s.path,
      latency: opts.intervalsMs.map((intervalMs, j) => ({ intervalMs, p50Ms: percentile(latencies[i]![j]!, 50), p99Ms: percentile(latencies[i]![j]!, 99) })),
      burstRecordsPerSec: opts.burst / ((Math.max(...s.arrivals.values()) - t0) / 1000),
    }))
    for (const s of subs) s.ws.close()
    return rows
  } finally {
    await cluster.stop()
  }
}
