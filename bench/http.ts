// Produce throughput over HTTP and produce → long-poll fetch latency, against a real server
// process. The client runs in this process; the server in its own.
import { benchServer, createTopic, percentile, produceLoad, rssMb } from './server.ts'

export interface HttpBenchRow {
  case: string
  records: number
  seconds: number
  recordsPerSec: number
  serverRssMb: number
}

export async function benchHttpProduce(opts: { partitions: number; keyed: boolean; seconds: number; inFlight: number; fsync: string }): Promise<HttpBenchRow> {
  const server = await benchServer(['--fsync', opts.fsync])
  try {
    await createTopic(server.url, 'bench', opts.partitions)
    const value = 'x'.repeat(100)
    // The body is built once: we measure the server, not JSON.stringify in the client.
    const bodies = Array.from({ length: 8 }, (_, b) =>
      JSON.stringify({ records: Array.from({ length: 1000 }, (_, i) => (opts.keyed ? { key: `k${b}-${i}`, value } : { value })) }),
    )
    const { records, seconds } = await produceLoad(`${server.url}/v1/topics/bench/records?acks=1`, bodies, { ...opts, recordsPerBody: 1000 })
    return {
      case: `HTTP produce, ${opts.partitions} partition(s)${opts.keyed ? ', keyed' : ''}, 1000 rec/req, acks=1, fsync=${opts.fsync}, ${opts.inFlight} in flight`,
      records,
      seconds,
      recordsPerSec: records / seconds,
      serverRssMb: rssMb(server.pid),
    }
  } finally {
    await server.stop()
  }
}

export interface LatencyRow {
  case: string
  records: number
  p50Ms: number
  p99Ms: number
  maxMs: number
}

/** Produce at a steady rate; a long-polling consumer measures send → receive per record. */
export async function benchEndToEnd(opts: { ratePerSec: number; seconds: number; fsync: string }): Promise<LatencyRow> {
  const server = await benchServer(['--fsync', opts.fsync])
  try {
    await createTopic(server.url, 'e2e', 1)
    const sentAt = new Map<number, number>()
    const latencies: number[] = []
    let producing = true
    let seq = 0
    const tickMs = 2
    const perTick = Math.max(1, Math.round((opts.ratePerSec * tickMs) / 1000))
    const consumer = (async () => {
      let offset = 0
      while (producing || latencies.length < seq) {
        const r = await fetch(`${server.url}/v1/topics/e2e/partitions/0/records?offset=${offset}&waitMs=1000&maxRecords=10000`)
        const body = (await r.json()) as { records: Array<{ value: { s: number } }>; nextOffset: number }
        const now = performance.now()
        for (const rec of body.records) latencies.push(now - sentAt.get(rec.value.s)!)
        offset = body.nextOffset
        if (!producing && body.records.length === 0) break
      }
    })()
    const started = performance.now()
    const inflight: Promise<unknown>[] = []
    for (let tick = 0; performance.now() - started < opts.seconds * 1000; tick++) {
      const due = started + tick * tickMs
      const wait = due - performance.now()
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      const records = []
      const now = performance.now()
      for (let i = 0; i < perTick; i++) {
        sentAt.set(seq, now)
        records.push({ value: { s: seq++ } })
      }
      inflight.push(fetch(`${server.url}/v1/topics/e2e/records?acks=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ records }) }).then((r) => r.arrayBuffer()))
    }
    await Promise.all(inflight)
    producing = false
    await consumer
    latencies.sort((a, b) => a - b)
    return {
      case: `produce → long-poll fetch, ${opts.ratePerSec} rec/s, ${perTick} rec/req every ${tickMs} ms, fsync=${opts.fsync}`,
      records: latencies.length,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies[latencies.length - 1]!,
    }
  } finally {
    await server.stop()
  }
}
