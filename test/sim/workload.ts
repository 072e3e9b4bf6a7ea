// The clients of a simulated run, each a node on the simulated network: idempotent producers
// (acks=all, retrying each batch until it is acknowledged, as a Kafka producer does), one-shot
// writers (acks=all and acks=1, no retries, so a definite failure is a definite failure), and
// consumers that read below the high watermark and sometimes go back to re-read.
import { EdgelogError } from '../../src/core/errors.ts'
import { brokerName, type SimCluster } from './cluster.ts'
import { NetworkError } from './network.ts'
import type { Prng } from './prng.ts'

export interface WriteRecord {
  client: string
  partition: number
  value: string
  /** The producer sequence (idempotent producers), or -1. */
  seq: number
  idempotent: boolean
  acks: 'all' | '1'
  /** ok: acknowledged at `offset`; fail: certainly not written; unknown: may or may not be. */
  status: 'ok' | 'fail' | 'unknown'
  offset?: number
  attempts: number
  ackedAt?: number
  error?: string
}

export interface ReadRecord {
  client: string
  partition: number
  offset: number
  value: string
  t: number
  highWatermark: number
}

export interface WorkloadOptions {
  topic: string
  partitions: number
  idempotentProducers: number
  writesPerPartition: number
  oneShotWrites: number
  consumers: number
  requestTimeoutMs: number
}

/** Errors that prove the request did nothing (raised before any append). */
const DEFINITE = new Set(['NOT_ENOUGH_REPLICAS', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION', 'INVALID_REQUEST', 'KAFKA_STORAGE_ERROR'])
/** Errors an idempotent producer must never see in a correct cluster (KIP-192: they mean lost data). */
// KAFKA_STORAGE_ERROR is not one: a disk that refuses a write (F19) fails the produce, nothing appended.
const ANOMALIES = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'INVALID_PRODUCER_EPOCH', 'UNKNOWN_PRODUCER_ID', 'INTERNAL', 'CORRUPT_MESSAGE'])

export class Workload {
  readonly writes: WriteRecord[] = []
  readonly reads: ReadRecord[] = []
  readonly anomalies: string[] = []
  private stopped = false
  private writing = true
  private oneShotRunning = false
  private producersDone = 0

  constructor(
    private readonly cluster: SimCluster,
    private readonly rng: Prng,
    readonly opts: WorkloadOptions,
  ) {}

  start(): void {
    for (let i = 1; i <= this.opts.idempotentProducers; i++) this.spawn(`p${i}`, (c) => this.idempotentProducer(c))
    this.spawn('w1', (c) => this.oneShotWriter(c))
    for (let i = 1; i <= this.opts.consumers; i++) this.spawn(`c${i}`, (c) => this.consumer(c))
  }

  /** Every idempotent producer has had all its writes acknowledged. */
  get producersFinished(): boolean {
    return this.producersDone === this.opts.idempotentProducers
  }

  /** No one-shot write is in flight (its outcome is final). */
  get oneShotsIdle(): boolean {
    return !this.oneShotRunning
  }

  /** One-shot writers stop starting writes (the liveness phase needs only the producers). */
  stopOneShots(): void {
    this.writing = false
  }

  stop(): void {
    this.stopped = true
  }

  private spawn(name: string, body: (c: Client) => Promise<void>): void {
    const client = new Client(name, this.cluster, this.rng.fork(name), this.opts.requestTimeoutMs)
    this.cluster.sim.schedule(0, name, () => {
      body(client).catch((err) => this.anomalies.push(`${name} stopped: ${(err as Error).stack ?? err}`))
    })
  }

  private async idempotentProducer(c: Client): Promise<void> {
    let producer: { producerId: number; producerEpoch: number } | undefined
    while (!producer && !this.stopped) {
      try {
        producer = await c.call<{ producerId: number; producerEpoch: number }>(c.anyBroker(), 'client.initProducer', {})
      } catch {
        await c.sleep(100)
      }
    }
    if (!producer) return
    await Promise.all(
      Array.from({ length: this.opts.partitions }, async (_, partition) => {
        for (let seq = 0; seq < this.opts.writesPerPartition && !this.stopped; seq++) {
          const w: WriteRecord = { client: c.name, partition, value: `${c.name}/${partition}/${seq}`, seq, idempotent: true, acks: 'all', status: 'unknown', attempts: 0 }
          this.writes.push(w)
          while (!this.stopped) {
            w.attempts++
            try {
              const leader = await c.leader(this.opts.topic, partition)
              const r = await c.call<{ baseOffset: number }>(brokerName(leader), 'client.produce', {
                topic: this.opts.topic,
                partition,
                values: [w.value],
                acks: 'all',
                producer: { id: producer.producerId, epoch: producer.producerEpoch, sequence: seq },
              })
              w.status = 'ok'
              w.offset = r.baseOffset
              w.ackedAt = this.cluster.sim.now
              this.cluster.log(`${c.name}: ${w.value} acknowledged by b${leader} at ${partition}/${r.baseOffset}`)
              break
            } catch (err) {
              const code = err instanceof EdgelogError ? err.code : 'NETWORK'
              w.error = code
              if (ANOMALIES.has(code)) {
                this.anomalies.push(`${c.name} partition ${partition} seq ${seq}: ${code}: ${(err as Error).message}`)
                return
              }
              c.forgetLeader(partition)
              await c.sleep(c.rng.int(20, 150))
            }
          }
          await c.sleep(c.rng.int(5, 60))
        }
      }),
    )
    if (!this.stopped) this.producersDone++
  }

  private async oneShotWriter(c: Client): Promise<void> {
    this.oneShotRunning = true
    try {
      await this.oneShotWrites(c)
    } finally {
      this.oneShotRunning = false
    }
  }

  private async oneShotWrites(c: Client): Promise<void> {
    for (let i = 0; i < this.opts.oneShotWrites && this.writing && !this.stopped; i++) {
      const partition = c.rng.int(0, this.opts.partitions - 1)
      const acks = c.rng.chance(0.7) ? 'all' : '1'
      const w: WriteRecord = { client: c.name, partition, value: `${c.name}/${i}`, seq: -1, idempotent: false, acks, status: 'unknown', attempts: 1 }
      this.writes.push(w)
      let leader: number
      try {
        leader = await c.leader(this.opts.topic, partition)
      } catch {
        // Nothing was sent.
        w.status = 'fail'
        w.error = 'NO_LEADER'
        c.forgetLeader(partition)
        await c.sleep(c.rng.int(30, 250))
        continue
      }
      try {
        const r = await c.call<{ baseOffset: number }>(brokerName(leader), 'client.produce', { topic: this.opts.topic, partition, values: [w.value], acks })
        w.status = 'ok'
        w.offset = r.baseOffset
        w.ackedAt = this.cluster.sim.now
        this.cluster.log(`${c.name}: ${w.value} acks=${acks} acknowledged by b${leader} at ${partition}/${r.baseOffset}`)
      } catch (err) {
        const code = err instanceof EdgelogError ? err.code : 'NETWORK'
        w.error = code
        if (DEFINITE.has(code) || (err instanceof NetworkError && err.neverDelivered)) w.status = 'fail'
        if (ANOMALIES.has(code)) this.anomalies.push(`${c.name} ${w.value}: ${code}: ${(err as Error).message}`)
        c.forgetLeader(partition)
      }
      await c.sleep(c.rng.int(30, 250))
    }
  }

  private async consumer(c: Client): Promise<void> {
    const cursor = new Array(this.opts.partitions).fill(0)
    while (!this.stopped) {
      const partition = c.rng.int(0, this.opts.partitions - 1)
      try {
        const leader = await c.leader(this.opts.topic, partition)
        const r = await c.call<{ records: Array<{ offset: number; value: string }>; highWatermark: number; nextOffset: number }>(
          brokerName(leader),
          'client.fetch',
          { topic: this.opts.topic, partition, offset: cursor[partition], maxRecords: 20 },
        )
        for (const rec of r.records) {
          this.reads.push({ client: c.name, partition, offset: rec.offset, value: rec.value, t: this.cluster.sim.now, highWatermark: r.highWatermark })
        }
        cursor[partition] = r.nextOffset
        if (c.rng.chance(0.05)) cursor[partition] = 0
      } catch (err) {
        if (err instanceof EdgelogError && err.code === 'OFFSET_OUT_OF_RANGE') {
          this.anomalies.push(`${c.name}: offset ${cursor[partition]} of partition ${partition} out of range: ${err.message}`)
          cursor[partition] = 0
        }
        // A replica that finds a corrupt batch steps down: consumers are sent on, never given it (F16).
        if (err instanceof EdgelogError && err.code === 'CORRUPT_MESSAGE') this.anomalies.push(`${c.name}: fetch of partition ${partition}: ${err.message}`)
        c.forgetLeader(partition)
      }
      await c.sleep(c.rng.int(20, 120))
    }
  }
}

class NoLeader extends Error {}

/** One client node: calls brokers over the simulated network and caches partition leaders. */
export class Client {
  private readonly leaders = new Map<number, number>()

  constructor(
    readonly name: string,
    private readonly cluster: SimCluster,
    readonly rng: Prng,
    private readonly timeoutMs: number,
  ) {}

  anyBroker(): string {
    return brokerName(this.rng.pick(this.cluster.brokerIds))
  }

  call<T>(to: string, method: string, payload: unknown): Promise<T> {
    return this.cluster.net.request<T>(this.name, to, method, payload, this.timeoutMs, false)
  }

  /** The partition's leader as some broker sees it; throws NoLeader when there is none. */
  async leader(topic: string, partition: number): Promise<number> {
    const known = this.leaders.get(partition)
    if (known !== undefined) return known
    const leaders = await this.call<number[]>(this.anyBroker(), 'client.metadata', { topic })
    leaders.forEach((l, i) => {
      if (l >= 0) this.leaders.set(i, l)
    })
    const l = leaders[partition] ?? -1
    if (l < 0) throw new NoLeader(`partition ${partition} has no leader`)
    return l
  }

  forgetLeader(partition: number): void {
    this.leaders.delete(partition)
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.cluster.sim.schedule(ms, this.name, resolve))
  }
}
