// Scripted scenarios on the simulated cluster: a client that produces to a chosen broker, waits
// on conditions in simulated time, and at the end runs the same checker as the random runs.
import assert from 'node:assert/strict'
import { EdgelogError } from '../../src/core/errors.ts'
import { check } from './checker.ts'
import { brokerName, SimCluster, type ReplicaLog, type SimClusterOptions } from './cluster.ts'
import { bootCluster, converged, readCommitted, settle, TOPIC } from './run.ts'
import { Client, type WriteRecord } from './workload.ts'

export type ProduceOutcome = { ok: true; offset: number; duplicate: boolean } | { ok: false; code: string }

export class Scenario {
  readonly cluster: SimCluster
  readonly writes: WriteRecord[] = []
  client!: Client
  private seq = 0
  producer: { producerId: number; producerEpoch: number } | undefined

  constructor(opts: Partial<SimClusterOptions> & { seed: number }) {
    this.cluster = new SimCluster({ ...opts, trace: true })
  }

  async boot(partitionConfig: Record<string, string> = { 'min.insync.replicas': '2' }): Promise<void> {
    this.client = await bootCluster(this.cluster, 1, partitionConfig)
    // The replicas of a fresh topic are all in sync; wait until the followers fetched once.
    await this.until(() => converged(this.cluster, 1), 5000)
  }

  get state() {
    const s = this.cluster.partitionState(TOPIC, 0)
    assert.ok(s, 'the partition has a state')
    return s
  }

  get leader(): number {
    return this.state.leader
  }

  /** The replicas other than the current leader, in replica order. */
  get followers(): number[] {
    return this.state.replicas.filter((id) => id !== this.leader)
  }

  isr(): number[] {
    return this.state.isr.map((r) => r.id)
  }

  log(id: number): ReplicaLog {
    const l = this.cluster.replicaLog(id, TOPIC, 0)
    assert.ok(l, `broker ${id} is up and holds the partition`)
    return l
  }

  async until(cond: () => boolean, maxMs: number, what = 'the condition'): Promise<void> {
    await this.cluster.sim.run(this.cluster.sim.now + maxMs, cond)
    assert.ok(cond(), `${what} within ${maxMs} ms of simulated time\n${this.trace()}`)
  }

  /** Waits until a broker matching `pred` leads, and knows it (the election is complete). */
  async untilLeader(pred: (id: number) => boolean, maxMs: number, what = 'a new leader'): Promise<number> {
    await this.until(
      () => {
        const st = this.cluster.partitionState(TOPIC, 0)
        if (!st || st.leader < 0 || !pred(st.leader)) return false
        return (
          this.cluster.roles.some((r) => r.node === st.leader && r.role === 'leader' && r.epoch === st.leaderEpoch) &&
          this.cluster.elections.some((e) => e.next.leaderEpoch === st.leaderEpoch)
        )
      },
      maxMs,
      what,
    )
    return this.leader
  }

  async wait(ms: number): Promise<void> {
    await this.cluster.sim.run(this.cluster.sim.now + ms)
  }

  async initProducer(): Promise<void> {
    this.producer = await settle(this.cluster, this.client.call(brokerName(this.leader), 'client.initProducer', {}), 5000)
  }

  /**
   * Produces one record to broker `to` (the leader by default). With `idempotent` the record is
   * the producer's next sequence number (or `sequence`, to retry one).
   */
  async produce(
    value: string,
    opts: { acks?: 'all' | '1'; to?: number; idempotent?: boolean; sequence?: number; record?: boolean; retry?: boolean } = {},
  ): Promise<ProduceOutcome> {
    const sequence = opts.sequence ?? (opts.idempotent ? this.seq++ : -1)
    // As a Kafka producer does: a broker that does not lead (yet) is asked again, with fresh metadata.
    for (let attempt = 0; ; attempt++) {
      const r = await this.produceOnce(value, { ...opts, sequence, record: opts.record !== false && attempt === 0 })
      if (r.ok || opts.retry === false || opts.to !== undefined || attempt >= 30) return r
      if (r.code !== 'NOT_LEADER_OR_FOLLOWER' && r.code !== 'LEADER_NOT_AVAILABLE') return r
      await this.wait(100)
    }
  }

  private async produceOnce(value: string, opts: { acks?: 'all' | '1'; to?: number; idempotent?: boolean; sequence: number; record: boolean }): Promise<ProduceOutcome> {
    const acks = opts.acks ?? 'all'
    const to = opts.to ?? this.leader
    const sequence = opts.sequence
    const w: WriteRecord = { client: 'scenario', partition: 0, value, seq: sequence, idempotent: !!opts.idempotent, acks, status: 'unknown', attempts: 1 }
    let w2 = w
    if (opts.record) this.writes.push(w)
    else w2 = this.writes.find((x) => x.value === value) ?? w
    try {
      const payload: Record<string, unknown> = { topic: TOPIC, partition: 0, values: [value], acks }
      if (opts.idempotent) payload.producer = { id: this.producer!.producerId, epoch: this.producer!.producerEpoch, sequence }
      const r = await settle(this.cluster, this.client.call<{ baseOffset: number; duplicate: boolean }>(brokerName(to), 'client.produce', payload), 10_000)
      w2.status = 'ok'
      w2.offset = r.baseOffset
      return { ok: true, offset: r.baseOffset, duplicate: r.duplicate }
    } catch (err) {
      const code = err instanceof EdgelogError ? err.code : 'NETWORK'
      w2.error = code
      if ((code === 'NOT_ENOUGH_REPLICAS' || code === 'KAFKA_STORAGE_ERROR') && w2.status === 'unknown') w2.status = 'fail'
      return { ok: false, code }
    }
  }

  /** Heals everything, waits for convergence, and runs the random runs' checker over what this scenario did. */
  async finish(): Promise<void> {
    const c = this.cluster
    c.net.healAll()
    for (const id of c.brokerIds) {
      if (c.sim.isPaused(brokerName(id))) c.resume(id)
      if (c.status.get(id) === 'down') c.startBroker(id)
    }
    await this.until(() => converged(c, 1), 30_000, 'the replicas converge after the heal')
    const final = await readCommitted(c, this.client, 0, 10_000)
    const result = check({
      partitions: 1,
      writes: this.writes,
      reads: [],
      finalLogs: [final],
      replicaLogs: [c.brokerIds.map((id) => this.log(id))],
      roles: c.roles,
      elections: c.elections,
      liveness: [],
      bugs: [...c.sim.crashes, ...c.net.unexpected],
      anomalies: [],
      lossPermitted: c.elections.some((e) => e.kind === 'unclean'),
    })
    assert.deepEqual(result.violations, [], this.trace())
  }

  trace(): string {
    return this.cluster.trace.slice(-80).join('\n')
  }
}
