// One simulated run from a seed: three brokers and a metadata store, a topic with RF=3 and
// min.insync.replicas=2, producers and consumers, faults for a while, then a heal and a
// liveness phase, then the checker. Everything — configuration, faults, delays — follows from
// the seed, so `npm run test:sim -- --seed S` replays a failing run exactly.
import type { FsyncPolicy } from '../../storage/driver.ts'
import { check, type CheckResult } from './checker.ts'
import { brokerName, SimCluster, type ReplicaLog } from './cluster.ts'
import { Nemesis, type FaultKind } from './nemesis.ts'
import { Prng } from './prng.ts'
import { Client, Workload } from './workload.ts'

export const TOPIC = 't'

export interface SimRunOptions {
  faults: FaultKind[]
  /** Simulated time with faults. */
  faultWindowMs: number
  /** After the heal: producers must finish and replicas converge within this. */
  livenessTimeoutMs: number
  trace: boolean
}

export const DEFAULT_RUN: SimRunOptions = {
  faults: ['crash', 'power', 'stop', 'pause', 'isolate', 'net', 'clock', 'bitflip', 'torn', 'diskfull', 'stale'],
  faultWindowMs: 8000,
  livenessTimeoutMs: 30_000,
  trace: false,
}

export interface SimResult extends CheckResult {
  seed: number
  config: string
  simTimeMs: number
  events: number
  realMs: number
  nemesis: string[]
  trace: string[]
}

/** Runs the simulator until the promise settles (or maxMs of simulated time pass). */
export async function settle<T>(cluster: SimCluster, promise: Promise<T>, maxMs: number): Promise<T> {
  let done = false
  let value: T | undefined
  let error: unknown
  promise.then(
    (v) => {
      done = true
      value = v
    },
    (e) => {
      done = true
      error = e
    },
  )
  await cluster.sim.run(cluster.sim.now + maxMs, () => done)
  if (!done) throw new Error(`not settled within ${maxMs} ms of simulated time`)
  if (error) throw error
  return value as T
}

export function replayCommand(seed: number): string {
  return `npm run test:sim -- --seed ${seed} --trace`
}

/** A cluster with the topic created and every replica following its leader. */
export async function bootCluster(cluster: SimCluster, partitions: number, config: Record<string, string> = { 'min.insync.replicas': '2' }) {
  const boot = cluster.rng.fork('boot')
  for (const id of cluster.brokerIds) cluster.sim.schedule(boot.int(0, 50), null, () => cluster.startBroker(id))
  await cluster.sim.run(10_000, () => cluster.brokerIds.every((id) => cluster.status.get(id) === 'up'))
  if (!cluster.brokerIds.every((id) => cluster.status.get(id) === 'up')) throw new Error('the brokers did not start')
  const admin = new Client('admin', cluster, cluster.rng.fork('admin'), 2000)
  for (let attempt = 0; ; attempt++) {
    try {
      await settle(cluster, admin.call(brokerName(1), 'admin.createTopic', { name: TOPIC, partitions, replicationFactor: cluster.brokerIds.length, config }), 5000)
      break
    } catch (err) {
      if (attempt > 20) throw err
      await cluster.sim.run(cluster.sim.now + 200)
    }
  }
  const ready = () => {
    for (let p = 0; p < partitions; p++) {
      const followers = cluster.brokerIds.filter((id) => cluster.roles.some((r) => r.node === id && r.partition === p && r.role !== 'none'))
      if (followers.length < cluster.brokerIds.length) return false
    }
    return true
  }
  await cluster.sim.run(cluster.sim.now + 10_000, ready)
  if (!ready()) throw new Error('the partitions did not get their leaders')
  return admin
}

/** Every partition has a leader, a full ISR, and every replica has the leader's log end and high watermark. */
export function converged(cluster: SimCluster, partitions: number): boolean {
  for (let p = 0; p < partitions; p++) {
    const s = cluster.partitionState(TOPIC, p)
    if (!s || s.leader < 0 || s.isr.length !== s.replicas.length) return false
    const leader = cluster.replicaLog(s.leader, TOPIC, p)
    if (!leader || leader.highWatermark !== leader.logEndOffset) return false
    for (const id of s.replicas) {
      const node = cluster.nodes.get(id)
      if (!node) return false
      const part = node.broker.partition(TOPIC, p)
      if (part.log.logEndOffset !== leader.logEndOffset || part.highWatermark !== leader.highWatermark) return false
      if (part.log.corruptAt !== undefined || cluster.disks.get(id)!.outstandingCorruptions().length > 0) return false
    }
  }
  return true
}

/** Reads a partition's committed log from its leader, as a consumer would. */
export async function readCommitted(cluster: SimCluster, client: Client, partition: number, maxMs: number) {
  const deadline = cluster.sim.now + maxMs
  for (;;) {
    try {
      const out: Array<{ offset: number; value: string }> = []
      const leader = await settle(cluster, client.leader(TOPIC, partition), 3000)
      let offset = 0
      for (;;) {
        const r = await settle(
          cluster,
          client.call<{ records: Array<{ offset: number; value: string }>; highWatermark: number; nextOffset: number }>(brokerName(leader), 'client.fetch', {
            topic: TOPIC,
            partition,
            offset,
            maxRecords: 500,
          }),
          3000,
        )
        cluster.log(`final read of ${partition} from b${leader} at ${offset}: ${r.records.length} records, hw ${r.highWatermark}`)
        out.push(...r.records)
        offset = r.nextOffset
        if (offset >= r.highWatermark) return out
      }
    } catch (err) {
      client.forgetLeader(partition)
      if (cluster.sim.now > deadline) throw err
      await cluster.sim.run(cluster.sim.now + 100)
    }
  }
}

export async function runSeed(seed: number, options: Partial<SimRunOptions> = {}): Promise<SimResult> {
  const o = { ...DEFAULT_RUN, ...options }
  const started = performance.now()
  const cfg = new Prng(seed).fork('config')
  const partitions = cfg.int(1, 2)
  const fsync: FsyncPolicy = cfg.chance(0.3) ? 'batch' : 'always'
  const faults = o.faults.filter(() => cfg.chance(0.8))
  const cluster = new SimCluster({ seed, fsync, trace: o.trace })
  const config = `partitions=${partitions} fsync=${fsync} faults=${faults.join(',') || 'none'}`
  const liveness: string[] = []
  let finalLogs: CheckInput['finalLogs'] = []
  let replicaLogs: ReplicaLog[][] = []
  const nemesis = new Nemesis(cluster, new Prng(seed).fork('nemesis'), { topic: TOPIC, partitions, kinds: faults, intervalMs: 700 })
  const workload = new Workload(cluster, new Prng(seed).fork('workload'), {
    topic: TOPIC,
    partitions,
    idempotentProducers: 2,
    writesPerPartition: 12,
    oneShotWrites: 20,
    consumers: 2,
    requestTimeoutMs: 3000,
  })
  try {
    const admin = await bootCluster(cluster, partitions)
    workload.start()
    if (faults.length > 0) nemesis.start()
    await cluster.sim.run(cluster.sim.now + o.faultWindowMs)
    nemesis.heal()
    workload.stopOneShots()
    const healedAt = cluster.sim.now
    await cluster.sim.run(healedAt + o.livenessTimeoutMs, () => workload.producersFinished && workload.oneShotsIdle && converged(cluster, partitions))
    if (!workload.producersFinished) {
      const pending = workload.writes.filter((w) => w.idempotent && w.status !== 'ok').map((w) => `${w.value} (${w.error})`)
      liveness.push(`${o.livenessTimeoutMs} ms after the heal, producers still wait for ${pending.slice(0, 5).join(', ')}`)
    }
    if (!converged(cluster, partitions)) {
      const states = Array.from({ length: partitions }, (_, p) => JSON.stringify(cluster.partitionState(TOPIC, p)))
      liveness.push(`${o.livenessTimeoutMs} ms after the heal, the replicas have not converged: ${states.join(' ')}`)
    }
    finalLogs = []
    for (let p = 0; p < partitions; p++) {
      try {
        finalLogs.push(await readCommitted(cluster, admin, p, 10_000))
      } catch (err) {
        finalLogs.push(undefined)
        liveness.push(`partition ${p} could not be read after the heal: ${(err as Error).message}`)
      }
    }
    replicaLogs = Array.from({ length: partitions }, (_, p) =>
      cluster.brokerIds.map((id) => cluster.replicaLog(id, TOPIC, p)).filter((l): l is ReplicaLog => l !== undefined),
    )
  } catch (err) {
    liveness.push(`run aborted: ${(err as Error).stack ?? err}`)
  } finally {
    workload.stop()
  }
  const result = check({
    partitions,
    writes: workload.writes,
    reads: workload.reads,
    finalLogs,
    replicaLogs,
    roles: cluster.roles,
    elections: cluster.elections,
    liveness,
    bugs: [...cluster.sim.crashes, ...cluster.net.unexpected],
    anomalies: workload.anomalies,
    lossPermitted: cluster.elections.some((e) => e.kind === 'unclean'),
  })
  return {
    ...result,
    seed,
    config,
    simTimeMs: cluster.sim.now,
    events: cluster.sim.eventsRun,
    realMs: Math.round(performance.now() - started),
    nemesis: nemesis.log,
    trace: cluster.trace,
  }
}

type CheckInput = Parameters<typeof check>[0]
