// Three brokers and etcd on loopback, a topic with RF=3 and min.insync.replicas=2: produce
// throughput and latency at acks=1 and acks=all, each request sent to the partition's leader
// (as a Kafka client routes it).
import { percentile } from './server.ts'
import { api, describe, eventually, startCluster } from '../test/cluster/helpers.ts'

export interface ClusterBenchRow {
  case: string
  requests: number
  records: number
  recordsPerSec: number
  p50Ms: number
  p99Ms: number
}

export async function benchClusterProduce(opts: { fsync: string; seconds: number; inFlight: number; recordsPerRequest: number }): Promise<ClusterBenchRow[]> {
  const cluster = await startCluster(3, ['--fsync', opts.fsync])
  try {
    const r = await api(cluster.any(), '/v1/topics', { method: 'POST', json: { name: 'bench', partitions: 1, replicationFactor: 3, config: { 'min.insync.replicas': '2' } } })
    if (r.status !== 201) throw new Error(JSON.stringify(r.body))
    const [p] = await eventually('a full ISR', () => describe(cluster.any(), 'bench'), (ps) => ps[0]!.isr.length === 3)
    const leader = cluster.brokers[p!.leader - 1]!.url()
    const value = 'x'.repeat(100)
    const body = JSON.stringify({ records: Array.from({ length: opts.recordsPerRequest }, () => ({ value })) })
    const rows: ClusterBenchRow[] = []
    for (const acks of ['1', 'all', '1', 'all']) {
      const latencies: number[] = []
      const deadline = performance.now() + opts.seconds * 1000
      const started = performance.now()
      await Promise.all(
        Array.from({ length: opts.inFlight }, async () => {
          while (performance.now() < deadline) {
            const t0 = performance.now()
            const res = await fetch(`${leader}/v1/topics/bench/partitions/0/records?acks=${acks}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
            if (res.status !== 200) throw new Error(`produce: ${res.status} ${await res.text()}`)
            await res.arrayBuffer()
            latencies.push(performance.now() - t0)
          }
        }),
      )
      const seconds = (performance.now() - started) / 1000
      latencies.sort((a, b) => a - b)
      rows.push({
        case: `RF=3, acks=${acks}, fsync=${opts.fsync}, ${opts.recordsPerRequest} rec/req, ${opts.inFlight} in flight`,
        requests: latencies.length,
        records: latencies.length * opts.recordsPerRequest,
        recordsPerSec: (latencies.length * opts.recordsPerRequest) / seconds,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
      })
    }
    // Each level ran twice, interleaved (the first pair warms up): report the second.
    return rows.slice(2)
  } finally {
    await cluster.stop()
  }
}
