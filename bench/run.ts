// `npm run bench`: every benchmark, one table each. Numbers go to bench/RESULTS.md.
import { benchAuthHttp, benchVerify } from './auth.ts'
import { benchEndToEnd, benchHttpProduce } from './http.ts'
import { benchLogAppend } from './log.ts'
import { benchWs } from './ws.ts'
import { benchEdgeDrain, benchEdgeLatency } from './edge.ts'
import { benchCompaction, benchGzipProduce } from './ops.ts'
import { benchGroupConsumer, benchGroupOps, benchReplay } from './groups.ts'
import { benchClusterCommits, benchClusterProduce } from './cluster.ts'
import { benchLiveCluster } from './live-cluster.ts'

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const only = process.argv[2]

if (!only || only === 'log') {
  console.log('\n## Log append (no HTTP): the storage ceiling')
  const rows = [
    benchLogAppend({ fsync: 'batch', batchesPerCommit: 1, totalRecords: 2_000_000 }),
    benchLogAppend({ fsync: 'batch', batchesPerCommit: 8, totalRecords: 2_000_000 }),
    benchLogAppend({ fsync: 'always', batchesPerCommit: 1, totalRecords: 1_000_000 }),
  ]
  console.table(rows.map((r) => ({ case: r.case, records: r.records, 'records/s': fmt(r.recordsPerSec), 'MB/s': fmt(r.mbPerSec, 1) })))
}

if (!only || only === 'http') {
  console.log('\n## Produce over HTTP: 100-byte values')
  const rows = []
  for (const fsync of ['batch', 'always']) {
    rows.push(await benchHttpProduce({ partitions: 1, keyed: false, seconds: 5, inFlight: 4, fsync }))
    rows.push(await benchHttpProduce({ partitions: 8, keyed: false, seconds: 5, inFlight: 8, fsync }))
    rows.push(await benchHttpProduce({ partitions: 8, keyed: true, seconds: 5, inFlight: 8, fsync }))
  }
  console.table(rows.map((r) => ({ case: r.case, records: r.records, 'records/s': fmt(r.recordsPerSec), 'server RSS MB': fmt(r.serverRssMb) })))
}

if (!only || only === 'e2e') {
  console.log('\n## End-to-end latency: produce → long-poll fetch')
  const rows = [await benchEndToEnd({ ratePerSec: 5000, seconds: 10, fsync: 'batch' }), await benchEndToEnd({ ratePerSec: 5000, seconds: 10, fsync: 'always' })]
  console.table(rows.map((r) => ({ case: r.case, records: r.records, 'p50 ms': fmt(r.p50Ms, 2), 'p99 ms': fmt(r.p99Ms, 2), 'max ms': fmt(r.maxMs, 2) })))
}

if (!only || only === 'ws') {
  console.log('\n## Live fan-out over WebSocket: one topic, 4 client processes, one publisher at 200 records/s for 10 s')
  const rows = []
  for (const subscribers of [1_000, 10_000]) {
    rows.push(await benchWs({ mode: 'bare', subscribers }))
    rows.push(await benchWs({ mode: 'edgelog', subscribers }))
  }
  console.table(
    rows.map((r) => ({
      case: r.case,
      'every record delivered': r.everyDelivered ? 'yes' : `no (${r.delivered} of ${r.published * r.subscribers})`,
      'deliveries/s': fmt(r.deliveriesPerSec),
      'p50 ms': fmt(r.p50Ms, 1),
      'p99 ms': fmt(r.p99Ms, 1),
      'max ms': fmt(r.maxMs, 1),
      'server RSS MB': fmt(r.serverRssMb),
      'server peak RSS MB': fmt(r.serverPeakRssMb),
    })),
  )
}

if (!only || only === 'ops') {
  console.log('\n## Log compaction (no HTTP): 8x overwritten keys, 85-byte values')
  const rows = [
    await benchCompaction({ records: 400_000, keys: 50_000, perBatch: 500, gzip: false }),
    await benchCompaction({ records: 400_000, keys: 50_000, perBatch: 500, gzip: true }),
  ]
  console.table(rows.map((r) => ({ case: r.case, 'records/s': fmt(r.recordsPerSec), 'MB/s (stored)': fmt(r.mbPerSec, 1), 'MB before': fmt(r.bytesBefore / 1e6, 1), 'MB after': fmt(r.bytesAfter / 1e6, 1), 'loop stall p99 ms': fmt(r.p99StallMs, 1), 'max ms': fmt(r.maxStallMs, 1) })))

  console.log('\n## Produce over HTTP with gzip: ~110-byte JSON events')
  const produce = [await benchGzipProduce({ compression: 'none', seconds: 5, inFlight: 4 }), await benchGzipProduce({ compression: 'gzip', seconds: 5, inFlight: 4 })]
  console.table(produce.map((r) => ({ case: r.case, records: r.records, 'records/s': fmt(r.recordsPerSec), 'stored B/record': fmt(r.storedBytesPerRecord, 1), 'server RSS MB': fmt(r.serverRssMb) })))
}

if (!only || only === 'groups') {
  console.log('\n## Consumer groups over HTTP: member commits and heartbeats')
  const ops = []
  for (const fsync of ['batch', 'always']) {
    ops.push(await benchGroupOps({ op: 'commit', members: 16, seconds: 5, fsync }))
    ops.push(await benchGroupOps({ op: 'heartbeat', members: 16, seconds: 5, fsync }))
  }
  console.table(ops.map((r) => ({ case: r.case, ops: r.ops, 'ops/s': fmt(r.opsPerSec), 'p50 ms': fmt(r.p50Ms, 2), 'p99 ms': fmt(r.p99Ms, 2), 'server RSS MB': fmt(r.serverRssMb) })))

  console.log('\n## Replay of __consumer_offsets when a node opens')
  const replay = [await benchReplay({ groups: 1000, commits: 100_000 }), await benchReplay({ groups: 10_000, commits: 300_000 })]
  console.table(replay.map((r) => ({ case: r.case, 'open ms': fmt(r.openMs), 'records/s': fmt(r.records / (r.openMs / 1000)) })))

  console.log('\n## GroupConsumer end to end (no-op handler)')
  const drain = [await benchGroupConsumer({ consumers: 1, records: 200_000, fsync: 'batch' }), await benchGroupConsumer({ consumers: 3, records: 200_000, fsync: 'batch' })]
  console.table(drain.map((r) => ({ case: r.case, seconds: fmt(r.seconds, 2), 'records/s': fmt(r.recordsPerSec) })))
}

if (!only || only === 'cluster') {
  console.log('\n## Replication: three brokers and etcd on loopback, RF=3, min.insync.replicas=2, requests to the leader')
  const rows = []
  for (const fsync of ['always', 'batch']) {
    for (const [inFlight, recordsPerRequest] of [[1, 1], [8, 100]] as const) rows.push(...(await benchClusterProduce({ fsync, seconds: 5, inFlight, recordsPerRequest })))
  }
  console.table(rows.map((r) => ({ case: r.case, requests: r.requests, 'records/s': fmt(r.recordsPerSec), 'p50 ms': fmt(r.p50Ms, 2), 'p99 ms': fmt(r.p99Ms, 2) })))
}

if (!only || only === 'live-cluster') {
  console.log('\n## Live subscriptions in a cluster: RF=2 of three brokers, a subscriber at the leader, the follower and the broker with no replica')
  const rows = await benchLiveCluster({ seconds: 6, intervalsMs: [20, 500], burst: 50_000 })
  console.table(rows.map((r) => ({
    path: r.path,
    ...Object.fromEntries(r.latency.flatMap((l) => [[`p50 ms @${l.intervalMs}`, fmt(l.p50Ms, 1)], [`p99 ms @${l.intervalMs}`, fmt(l.p99Ms, 1)]])),
    'burst records/s': fmt(r.burstRecordsPerSec),
  })))
}

if (!only || only === 'groups-cluster') {
  console.log('\n## Consumer groups in a cluster: member commits to a replicated __consumer_offsets (acks=all)')
  const rows = [...(await benchClusterCommits({ fsync: 'batch', seconds: 5, members: 16 })), ...(await benchClusterCommits({ fsync: 'always', seconds: 5, members: 16 }))]
  console.table(rows.map((r) => ({ case: r.case, commits: r.commits, 'commits/s': fmt(r.commitsPerSec), 'p50 ms': fmt(r.p50Ms, 2), 'p99 ms': fmt(r.p99Ms, 2) })))
}

if (!only || only === 'edge') {
  console.log('\n## Edge relays: produce at edge A → subscriber at edge B (one record per request), and outbox drain after an outage')
  const latency = await benchEdgeLatency({ ratePerSec: 1000, seconds: 10, partitions: 4, fsync: 'batch' })
  console.table(latency.map((r) => ({ case: r.case, records: r.records, delivered: r.delivered, 'p50 ms': fmt(r.p50Ms, 1), 'p99 ms': fmt(r.p99Ms, 1), 'max ms': fmt(r.maxMs, 1) })))
  const drains = [
    await benchEdgeDrain({ records: 100_000, partitions: 4, valueBytes: 100, fsync: 'batch' }),
    await benchEdgeDrain({ records: 100_000, partitions: 1, valueBytes: 100, fsync: 'batch' }),
    await benchEdgeDrain({ records: 100_000, partitions: 4, valueBytes: 100, fsync: 'always' }),
  ]
  console.table(drains.map((r) => ({ case: r.case, seconds: fmt(r.seconds, 2), 'records/s': fmt(r.recordsPerSec), 'each record once': r.exact ? 'yes' : 'NO' })))
}

if (!only || only === 'auth') {
  console.log('\n## Token verification (no HTTP)')
  const verify = [await benchVerify('HS256'), await benchVerify('ES256'), await benchVerify('RS256')]
  console.table(verify.map((r) => ({ case: r.case, verifications: r.verifications, 'per s': fmt(r.perSec) })))
  console.log('\n## Authentication and quotas over HTTP: 1-record produces, 100-byte value, fsync=batch')
  const rows = []
  for (const mode of ['none', 'hs256', 'hs256-uncached', 'es256', 'es256-uncached', 'hs256+quotas'] as const) rows.push(await benchAuthHttp(mode))
  console.table(rows.map((r) => ({ case: r.case, requests: r.requests, 'requests/s': fmt(r.perSec) })))
}
