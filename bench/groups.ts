// Consumer groups: member commits and heartbeats over HTTP against a real server, the replay of
// `__consumer_offsets` when a node opens (in process), and GroupConsumer throughput end to end.
import { bunStorage } from '../storage/bun-sqlite.ts'
import { Broker } from '../src/broker/broker.ts'
import { systemRuntime } from '../src/core/clock.ts'
import { GroupConsumer } from '../src/client/group-consumer.ts'
import { HttpClient } from '../src/client/http.ts'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { benchServer, createTopic, percentile, rssMb } from './server.ts'

const json = { 'content-type': 'application/json' }
const post = async (url: string, body: unknown) => {
  const r = await fetch(url, { method: 'POST', headers: json, body: JSON.stringify(body) })
  const text = await r.text()
  if (r.status !== 200) throw new Error(`${url}: ${r.status} ${text}`)
  return JSON.parse(text)
}

export interface GroupOpsRow {
  case: string
  ops: number
  opsPerSec: number
  p50Ms: number
  p99Ms: number
  serverRssMb: number
}

/**
 * `members` members of one group, each committing (or heartbeating) its own partition in a
 * loop, one request in flight per member, for `seconds`.
 */
export async function benchGroupOps(opts: { op: 'commit' | 'heartbeat'; members: number; seconds: number; fsync: string }): Promise<GroupOpsRow> {
  const server = await benchServer(['--fsync', opts.fsync, '--group-heartbeat-interval-ms', '60000'])
  try {
    await createTopic(server.url, 'g', opts.members)
    await post(`${server.url}/v1/topics/g/records`, { records: Array.from({ length: opts.members }, (_, p) => ({ value: 1, partition: p })) })
    const members: Array<{ id: string; epoch: number; owned: Array<{ topic: string; partitions: number[] }> }> = []
    for (let i = 0; i < opts.members; i++) {
      const r = await post(`${server.url}/v1/groups/bench/members`, { topics: ['g'], sessionTimeoutMs: 120_000 })
      members.push({ id: r.memberId, epoch: r.memberEpoch, owned: r.assignment })
    }
    // Settle: heartbeat until each member owns one partition.
    for (let round = 0; round < 20; round++) {
      for (const m of members) {
        const r = await post(`${server.url}/v1/groups/bench/members/${m.id}/heartbeat`, { memberEpoch: m.epoch, ownedPartitions: m.owned })
        m.epoch = r.memberEpoch
        m.owned = r.assignment
      }
      if (members.every((m) => m.owned[0]?.partitions.length === 1)) break
    }
    const latencies: number[] = []
    const deadline = performance.now() + opts.seconds * 1000
    const started = performance.now()
    await Promise.all(members.map(async (m) => {
      const partition = m.owned[0]!.partitions[0]!
      while (performance.now() < deadline) {
        const t = performance.now()
        if (opts.op === 'commit') {
          await post(`${server.url}/v1/groups/bench/offsets`, { memberId: m.id, memberEpoch: m.epoch, offsets: [{ topic: 'g', partition, offset: 1 }] })
        } else {
          await post(`${server.url}/v1/groups/bench/members/${m.id}/heartbeat`, { memberEpoch: m.epoch, ownedPartitions: m.owned })
        }
        latencies.push(performance.now() - t)
      }
    }))
    const seconds = (performance.now() - started) / 1000
    latencies.sort((a, b) => a - b)
    return {
      case: `${opts.op}s, ${opts.members} members of one group, 1 in flight each, fsync=${opts.fsync}`,
      ops: latencies.length,
      opsPerSec: latencies.length / seconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      serverRssMb: rssMb(server.pid),
    }
  } finally {
    await server.stop()
  }
}

export interface ReplayRow {
  case: string
  records: number
  openMs: number
}

/** Writes `commits` offset commits over `groups` groups in process, then times Broker.open (the replay). */
export async function benchReplay(opts: { groups: number; commits: number }): Promise<ReplayRow> {
  const dir = mkdtempSync(join(tmpdir(), 'edgelog-bench-replay-'))
  try {
    let broker = Broker.open(bunStorage(dir, 'off'), systemRuntime(), { cleanerIntervalMs: 0 })
    broker.createTopic({ name: 't', partitions: 8 })
    await broker.produce('t', Array.from({ length: 8 }, (_, p) => ({ key: null, value: new Uint8Array([1]), timestamp: 1, partition: p })), '1')
    const perRound = 1000
    for (let done = 0; done < opts.commits; done += perRound) {
      await Promise.all(Array.from({ length: perRound }, (_, i) =>
        broker.groups.commit(`group-${(done + i) % opts.groups}`, { offsets: [{ topic: 't', partition: (done + i) % 8, offset: 1 }] })))
    }
    broker.close()
    const t = performance.now()
    broker = Broker.open(bunStorage(dir, 'off'), systemRuntime(), { cleanerIntervalMs: 0 })
    const openMs = performance.now() - t
    const groups = broker.groups.list().length
    broker.close()
    if (groups !== opts.groups) throw new Error(`replayed ${groups} groups, expected ${opts.groups}`)
    return { case: `open a node whose __consumer_offsets holds ${opts.commits.toLocaleString('en-US')} commits of ${opts.groups.toLocaleString('en-US')} groups (uncompacted)`, records: opts.commits, openMs }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export interface ConsumerRow {
  case: string
  records: number
  seconds: number
  recordsPerSec: number
}

/** `consumers` GroupConsumers in this process drain `records` records of a 6-partition topic. */
export async function benchGroupConsumer(opts: { consumers: number; records: number; fsync: string }): Promise<ConsumerRow> {
  const server = await benchServer(['--fsync', opts.fsync])
  try {
    await createTopic(server.url, 'work', 6)
    const client = new HttpClient({ url: server.url })
    for (let i = 0; i < opts.records; i += 10_000) {
      await client.produce('work', Array.from({ length: Math.min(10_000, opts.records - i) }, (_, j) => ({ value: i + j, partition: (i + j) % 6 })))
    }
    let handled = 0
    const started = performance.now()
    const consumers = Array.from({ length: opts.consumers }, () => new GroupConsumer({ client, group: 'drain', topics: ['work'], sessionTimeoutMs: 30_000, maxRecords: 1000 }))
    const runs = consumers.map((c) => c.run(() => void handled++))
    while (handled < opts.records) await new Promise((r) => setTimeout(r, 20))
    const seconds = (performance.now() - started) / 1000
    await Promise.all(consumers.map((c) => c.stop()))
    await Promise.all(runs)
    return {
      case: `${opts.consumers} GroupConsumer(s) drain ${opts.records.toLocaleString('en-US')} records of 6 partitions (commit per batch of ≤1000), fsync=${opts.fsync}`,
      records: opts.records,
      seconds,
      recordsPerSec: opts.records / seconds,
    }
  } finally {
    await server.stop()
  }
}
