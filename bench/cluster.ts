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

export interface ClusterCommitRow {
  case: string
  commits: number
  commitsPerSec: number
  p50Ms: number
  p99Ms: number
}

/**
 * Member commits on a three-broker cluster: `__consumer_offsets` replicated (RF=3), each commit
 * answered once the ISR has it (acks=all). Sent to the coordinator itself, then to another
 * broker that forwards them (one hop).
 */
export async function benchClusterCommits(opts: { fsync: string; seconds: number; members: number }): Promise<ClusterCommitRow[]> {
  const cluster = await startCluster(3, ['--fsync', opts.fsync, '--group-heartbeat-interval-ms', '60000'])
  const post = async (url: string, body: unknown) => {
    const r = await api(url, '', { method: 'POST', json: body })
    if (r.status !== 200) throw new Error(`${url}: ${r.status} ${JSON.stringify(r.body)}`)
    return r.body
  }
  try {
    const r = await api(cluster.any(), '/v1/topics', { method: 'POST', json: { name: 'g', partitions: opts.members, replicationFactor: 3 } })
    if (r.status !== 201) throw new Error(JSON.stringify(r.body))
    await eventually('a full ISR', () => describe(cluster.any(), 'g'), (ps) => ps.every((p) => p.isr.length === 3))
    await post(`${cluster.any()}/v1/topics/g/records?acks=all`, { records: Array.from({ length: opts.members }, (_, p) => ({ value: 1, partition: p })) })
    const members: Array<{ id: string; epoch: number; owned: Array<{ topic: string; partitions: number[] }> }> = []
    for (let i = 0; i < opts.members; i++) {
      const m = await post(`${cluster.any()}/v1/groups/bench/members`, { topics: ['g'], sessionTimeoutMs: 120_000 })
      members.push({ id: m.memberId, epoch: m.memberEpoch, owned: m.assignment })
    }
    for (let round = 0; round < 20 && !members.every((m) => m.owned[0]?.partitions.length === 1); round++) {
      for (const m of members) {
        const h = await post(`${cluster.any()}/v1/groups/bench/members/${m.id}/heartbeat`, { memberEpoch: m.epoch, ownedPartitions: m.owned })
        m.epoch = h.memberEpoch
        m.owned = h.assignment
      }
    }
    const offsetsTopic = await describe(cluster.any(), '__consumer_offsets')
    const { partitionForGroup } = await import('../src/groups/offsets-topic.ts')
    const coordinatorId = offsetsTopic[partitionForGroup('bench', offsetsTopic.length)]!.leader
    const coordinator = cluster.brokers[coordinatorId - 1]!.url()
    const other = cluster.brokers.find((b) => b.id !== coordinatorId)!.url()
    const rows: ClusterCommitRow[] = []
    let offset = 1
    for (const [label, url] of [['warm-up', coordinator], ['to the coordinator', coordinator], ['through another broker (forwarded)', other]] as const) {
      const latencies: number[] = []
      const deadline = performance.now() + opts.seconds * 1000
      const started = performance.now()
      await Promise.all(members.map(async (m) => {
        const partition = m.owned[0]!.partitions[0]!
        while (performance.now() < deadline) {
          const t = performance.now()
          await post(`${url}/v1/groups/bench/offsets`, { memberId: m.id, memberEpoch: m.epoch, offsets: [{ topic: 'g', partition, offset: offset % 2 }] })
          latencies.push(performance.now() - t)
        }
      }))
      offset++
      const seconds = (performance.now() - started) / 1000
      latencies.sort((a, b) => a - b)
      if (label === 'warm-up') continue
      rows.push({
        case: `member commits ${label}, RF=3, ${opts.members} members, 1 in flight each, fsync=${opts.fsync}`,
        commits: latencies.length,
        commitsPerSec: latencies.length / seconds,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
      })
    }
    return rows
  } finally {
    await cluster.stop()
  }
}
