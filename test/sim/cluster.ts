// A simulated cluster: brokers (the real ClusterNode, Broker, replication and controller code)
// on simulated disks, a metadata store with etcd's semantics on its own node, all talking over
// the simulated network, all timed by the simulator. Faults: crash, power loss, clean stop,
// pause, clock jumps, and whatever the network does.
import type { BrokerOptions } from '../../src/broker/broker.ts'
import type { ClusterConfig } from '../../src/cluster/broker-agent.ts'
import type { ElectionEvent } from '../../src/cluster/controller.ts'
import { MemoryMetaStore } from '../../src/cluster/memory-store.ts'
import type { Compare, KeyValue, MetaStore, TxnOp, TxnResult } from '../../src/cluster/meta-store.ts'
import { ClusterNode } from '../../src/cluster/node.ts'
import { decodeRecords } from '../../src/codec/record-batch.ts'
import { EdgelogError } from '../../src/core/errors.ts'
import type { ReplicationConfig } from '../../src/replication/config.ts'
import type { OffsetsForLeaderEpochRequest, OffsetsForLeaderEpochResponse, ReplicaFetchRequest, ReplicaFetchResponse, ReplicaTransport } from '../../src/replication/protocol.ts'
import type { FsyncPolicy } from '../../storage/driver.ts'
import { SimNetwork } from './network.ts'
import { Prng } from './prng.ts'
import { Simulator } from './simulator.ts'
import { SimDisk } from './storage.ts'

export const STORE = 'etcd'
export const brokerName = (id: number) => `b${id}`

export interface SimClusterOptions {
  seed: number
  brokers: number
  fsync: FsyncPolicy
  cluster: Partial<ClusterConfig>
  replication: Partial<ReplicationConfig>
  broker: Partial<BrokerOptions>
  /** Round trip budget of a broker's request to the store. */
  storeTimeoutMs: number
  trace: boolean
}

export const DEFAULT_SIM_CLUSTER: Omit<SimClusterOptions, 'seed'> = {
  brokers: 3,
  fsync: 'always',
  cluster: { leaseTtlSeconds: 2, keepAliveIntervalMs: 400, metadataIntervalMs: 100, retryBackoffMs: 100 },
  replication: {
    replicaLagTimeMaxMs: 1500,
    isrCheckIntervalMs: 250,
    replicaFetchMaxBytes: 4096,
    replicaFetchWaitMaxMs: 200,
    replicaFetchBackoffMs: 50,
    replicaRequestTimeoutMs: 1000,
    logScrubIntervalMs: 200,
    logScrubBatches: 16,
  },
  broker: { requestTimeoutMs: 2000, fsyncIntervalMs: 200 },
  storeTimeoutMs: 1000,
  trace: false,
}

/** What happened, as the checker needs it (G9). */
export interface RoleEvent {
  t: number
  node: number
  incarnation: number
  topic: string
  partition: number
  role: 'leader' | 'follower' | 'none'
  epoch: number
}

export interface TruncationEvent {
  t: number
  node: number
  topic: string
  partition: number
  from: number
  to: number
}

export interface ReplicaLog {
  node: number
  logEndOffset: number
  highWatermark: number
  epochs: Array<{ epoch: number; startOffset: number }>
  batches: Array<{ baseOffset: number; lastOffset: number; epoch: number; data: Uint8Array }>
  records: Array<{ offset: number; value: string }>
}

export class SimCluster {
  readonly sim = new Simulator()
  readonly rng: Prng
  readonly net: SimNetwork
  readonly store: MemoryMetaStore
  readonly nodes = new Map<number, ClusterNode>()
  readonly disks = new Map<number, SimDisk>()
  readonly status = new Map<number, 'down' | 'starting' | 'up'>()
  readonly roles: RoleEvent[] = []
  readonly elections: ElectionEvent[] = []
  readonly truncations: TruncationEvent[] = []
  readonly corruptionsFound: Array<{ t: number; node: number; topic: string; partition: number; baseOffset: number }> = []
  readonly trace: string[] = []
  readonly opts: SimClusterOptions
  readonly brokerIds: number[]

  constructor(opts: Partial<SimClusterOptions> & { seed: number }) {
    this.opts = {
      ...DEFAULT_SIM_CLUSTER,
      ...opts,
      cluster: { ...DEFAULT_SIM_CLUSTER.cluster, ...opts.cluster },
      replication: { ...DEFAULT_SIM_CLUSTER.replication, ...opts.replication },
      broker: { ...DEFAULT_SIM_CLUSTER.broker, ...opts.broker },
    }
    this.rng = new Prng(opts.seed)
    this.net = new SimNetwork(this.sim, this.rng.fork('network'))
    this.store = new MemoryMetaStore(this.sim.runtime(STORE, this.rng.fork('etcd')).clock)
    this.brokerIds = Array.from({ length: this.opts.brokers }, (_, i) => i + 1)
    for (const id of this.brokerIds) {
      this.disks.set(id, new SimDisk(this.opts.fsync))
      this.status.set(id, 'down')
      this.net.listen(brokerName(id), (method, payload) => this.handleBroker(id, method, payload))
    }
    this.net.listen(STORE, (method, payload) => this.handleStore(method, payload))
  }

  log(line: string): void {
    if (this.opts.trace) this.trace.push(`${String(this.sim.now).padStart(6)} ${line}`)
  }

  /** The store, as broker `from` reaches it: over the simulated network. */
  storeClient(from: string): MetaStore {
    const call = <T>(method: string, payload: unknown) => this.net.request<T>(from, STORE, method, payload, this.opts.storeTimeoutMs)
    return {
      get: (key) => call<KeyValue | null>('get', { key }).then((v) => v ?? undefined),
      range: (prefix, limit) => call('range', { prefix, limit }),
      txn: (compares: Compare[], ops: TxnOp[]) => call<TxnResult>('txn', { compares, ops }),
      grantLease: (ttlSeconds) => call('grantLease', { ttlSeconds }),
      keepAlive: (lease) => call('keepAlive', { lease }),
      revokeLease: (lease) => call('revokeLease', { lease }),
    }
  }

  transport(from: string): ReplicaTransport {
    const timeout = this.opts.replication.replicaRequestTimeoutMs!
    return {
      fetch: (leader, req: ReplicaFetchRequest) => this.net.request<ReplicaFetchResponse>(from, brokerName(leader), 'replica.fetch', req, timeout),
      offsetsForLeaderEpoch: (leader, req: OffsetsForLeaderEpochRequest) =>
        this.net.request<OffsetsForLeaderEpochResponse>(from, brokerName(leader), 'replica.offsetsForLeaderEpoch', req, timeout),
    }
  }

  private handleStore(method: string, p: unknown): unknown {
    const a = p as Record<string, never>
    switch (method) {
      case 'get':
        return this.store.getSync(a.key) ?? null
      case 'range':
        return this.store.rangeSync(a.prefix, a.limit)
      case 'txn':
        return this.store.txnSync(a.compares, a.ops)
      case 'grantLease':
        return this.store.grantLease(a.ttlSeconds)
      case 'keepAlive':
        return this.store.keepAlive(a.lease)
      case 'revokeLease':
        return this.store.revokeLease(a.lease).then(() => null)
    }
    throw new EdgelogError('INVALID_REQUEST', `no store method ${method}`)
  }

  private handleBroker(id: number, method: string, payload: unknown): unknown {
    const node = this.nodes.get(id)
    if (!node) throw new EdgelogError('LEADER_NOT_AVAILABLE', `broker ${id} is starting`)
    const a = payload as Record<string, never>
    switch (method) {
      case 'replica.fetch':
        return node.handleReplicaFetch(payload as ReplicaFetchRequest)
      case 'replica.offsetsForLeaderEpoch':
        return node.handleOffsetsForLeaderEpoch(payload as OffsetsForLeaderEpochRequest)
      case 'client.metadata': {
        const snap = node.agent.snapshot
        const t = snap?.topics.get(a.topic)?.value
        if (!t) throw new EdgelogError('UNKNOWN_TOPIC_OR_PARTITION', `no topic ${a.topic}`)
        return Array.from({ length: t.partitions }, (_, i) => snap!.partitions.get(`${a.topic}/${i}`)?.value.leader ?? -1)
      }
      case 'client.initProducer':
        return node.broker.initProducer()
      case 'client.produce': {
        const records = (a.values as string[]).map((v) => ({ key: null, value: new TextEncoder().encode(v), timestamp: node.broker.runtime.clock.now() }))
        if (a.producer) return node.broker.produceIdempotent(a.topic, a.partition, records, a.acks, a.producer)
        return node.broker
          .produce(a.topic, records.map((r) => ({ ...r, partition: a.partition })), a.acks)
          .then((offsets) => ({ baseOffset: offsets[0]!.offset, duplicate: false }))
      }
      case 'client.fetch':
        return node.broker.fetch(a.topic, a.partition, { offset: a.offset, maxRecords: a.maxRecords, maxBytes: 1 << 20, waitMs: 0 }).then((r) => ({
          records: r.records.map((x) => ({ offset: x.offset, value: new TextDecoder().decode(x.value!) })),
          highWatermark: r.highWatermark,
          nextOffset: r.nextOffset,
        }))
      case 'admin.createTopic':
        return node.createTopic(payload as never)
      case 'client.commit':
        return node.commitOffsets(a.group, { offsets: a.offsets, ...(a.memberId ? { memberId: a.memberId, memberEpoch: a.memberEpoch } : {}) }).then(() => null)
      case 'client.join':
        return node.broker.groups.join(a.group, { topics: a.topics, sessionTimeoutMs: a.sessionTimeoutMs })
      case 'client.describeGroup':
        return node.broker.groups.describe(a.group)
      case 'client.committed':
        // Answered only by the coordinator: elsewhere the group is not loaded (NOT_COORDINATOR).
        return node.broker.groups.committed(a.group)
    }
    throw new EdgelogError('INVALID_REQUEST', `no broker method ${method}`)
  }

  // ---- lifecycle and faults ----

  startBroker(id: number): void {
    if (this.status.get(id) !== 'down') return
    this.status.set(id, 'starting')
    const name = brokerName(id)
    const gen = this.sim.gen(name)
    this.sim.schedule(0, name, () => {
      const runtime = this.sim.runtime(name, this.rng.fork(`${name}/${gen}`))
      ClusterNode.start({
        nodeId: id,
        advertisedUrl: `sim://${name}`,
        storage: this.disks.get(id)!.provider(),
        runtime,
        store: this.storeClient(name),
        transport: this.transport(name),
        broker: this.opts.broker,
        replication: this.opts.replication,
        cluster: this.opts.cluster,
        log: (m) => this.log(`${name}: ${m}`),
        replicaEvents: {
          roleChange: (r, role, epoch) => {
            this.roles.push({ t: this.sim.now, node: id, incarnation: r.cluster.incarnation, topic: r.topic, partition: r.index, role, epoch })
            this.log(`${name}: ${r.name} ${role} in epoch ${epoch}`)
          },
          truncate: (r, from, to) => {
            this.truncations.push({ t: this.sim.now, node: id, topic: r.topic, partition: r.index, from, to })
            this.log(`${name}: ${r.name} truncated ${from} → ${to}`)
          },
          isrChange: (r, kind) => this.log(`${name}: ${r.name} ISR ${kind} → ${JSON.stringify(r.describe().isr)}`),
          corrupt: (r, baseOffset) => {
            this.corruptionsFound.push({ t: this.sim.now, node: id, topic: r.topic, partition: r.index, baseOffset })
            this.log(`${name}: ${r.name} found the batch at ${baseOffset} corrupt`)
          },
        },
        onElection: (e) => this.elections.push(e),
      }).then(
        (node) => {
          if (this.sim.gen(name) !== gen) return
          this.nodes.set(id, node)
          this.status.set(id, 'up')
        },
        (err) => this.sim.crashes.push(`broker ${id} failed to start: ${(err as Error).stack ?? err}`),
      )
    })
  }

  /** The partition files of a user topic (a storage fault's target). */
  topicFiles(topic: string): (name: string) => boolean {
    const kv = this.store.getSync(`/edgelog/topics/${topic}`)
    const topicId = kv ? (JSON.parse(kv.value) as { topicId: string }).topicId : undefined
    return (name) => topicId !== undefined && name.startsWith(`partitions/${topicId}-`)
  }

  /** F16: a bit flips in one stored batch of `topic` on broker `id`'s disk. */
  flipBit(id: number, topic: string, rng: Prng = this.rng.fork('flip'), baseOffset?: number): string | undefined {
    const what = this.disks.get(id)!.flipBit(rng, this.topicFiles(topic), baseOffset)
    this.log(`${brokerName(id)}: bit flip ${what ?? '(no batch to flip)'}`)
    return what
  }

  /** F19: broker `id`'s disk refuses every write transaction until `failWrites(id, false)`. */
  failWrites(id: number, failure: false | 'SQLITE_FULL' | 'SQLITE_IOERR'): void {
    this.log(`${brokerName(id)}: disk ${failure ? `fails writes (${failure})` : 'writes again'}`)
    this.disks.get(id)!.failWrites = failure
  }

  /** F17: the process dies and the tail of one of `topic`'s logs on its disk is torn. */
  crashTorn(id: number, topic: string, rng: Prng, powerLoss = false, mode?: 'cut' | 'drop'): string | undefined {
    this.crash(id, powerLoss)
    return this.tearTail(id, topic, rng, mode)
  }

  /** F17 on a stopped broker's disk (a file cut short while it was down). */
  tearTail(id: number, topic: string, rng: Prng, mode?: 'cut' | 'drop'): string | undefined {
    const what = this.disks.get(id)!.tearTail(rng, this.topicFiles(topic), mode)
    this.log(`${brokerName(id)}: torn tail ${what ?? '(no batch to tear)'}`)
    return what
  }

  /** F18: copies broker `id`'s disk now (the copy is restored by crashRestore). */
  backup(id: number): Map<string, Uint8Array> {
    this.log(`${brokerName(id)}: disk copied`)
    return this.disks.get(id)!.backup()
  }

  /** F18: the process dies and its disk is put back to an old copy. */
  crashRestore(id: number, copy: Map<string, Uint8Array>): void {
    this.crash(id)
    this.disks.get(id)!.restore(copy)
    this.log(`${brokerName(id)}: disk restored from an old copy`)
  }

  /** SIGKILL: the process is gone; with powerLoss, so is whatever was not fsynced. */
  crash(id: number, powerLoss = false): void {
    const name = brokerName(id)
    this.log(`${name}: ${powerLoss ? 'power loss' : 'crash'}`)
    this.sim.kill(name)
    this.net.forget(name)
    this.nodes.delete(id)
    this.status.set(id, 'down')
    const disk = this.disks.get(id)!
    if (powerLoss) disk.powerLoss()
    else disk.processCrash()
  }

  /** SIGTERM: a clean shutdown (the clean-shutdown marker is written). */
  async stopCleanly(id: number): Promise<void> {
    const node = this.nodes.get(id)
    if (!node) return
    this.log(`${brokerName(id)}: clean stop`)
    this.nodes.delete(id)
    await node.close()
    this.sim.kill(brokerName(id))
    this.net.forget(brokerName(id))
    this.status.set(id, 'down')
  }

  pause(id: number): void {
    this.log(`${brokerName(id)}: pause`)
    this.sim.pause(brokerName(id))
  }

  resume(id: number): void {
    this.log(`${brokerName(id)}: resume`)
    this.sim.resume(brokerName(id))
  }

  // ---- inspection (a god's-eye view for the checker and the nemesis) ----

  partitionState(topic: string, partition: number) {
    const kv = this.store.getSync(`/edgelog/partitions/${topic}/${partition}`)
    return kv ? (JSON.parse(kv.value) as import('../../src/cluster/state.ts').PartitionState) : undefined
  }

  /** A replica's whole log as stored on the broker's disk right now. */
  replicaLog(id: number, topic: string, partition: number): ReplicaLog | undefined {
    const node = this.nodes.get(id)
    if (!node) return undefined
    let p
    try {
      p = node.broker.partition(topic, partition)
    } catch {
      return undefined
    }
    const log = p.log
    const batches: ReplicaLog['batches'] = []
    const records: ReplicaLog['records'] = []
    let from = log.logStartOffset
    // A replica holding a corrupt batch (found, or not yet) is not a replica to compare; and
    // this god's-eye read must not be what finds it (a read marks the replica corrupt).
    if (log.corruptAt !== undefined || this.disks.get(id)!.outstandingCorruptions().length > 0) return undefined
    while (from < log.logEndOffset) {
      let read
      try {
        read = log.read(from, log.logEndOffset, 1 << 20)
      } catch {
        return undefined
      }
      if (read.length === 0) break
      for (const b of read) {
        const recs = decodeRecords(b.data)
        batches.push({ baseOffset: b.baseOffset, lastOffset: b.lastOffset, epoch: new DataView(b.data.buffer, b.data.byteOffset).getInt32(12), data: b.data })
        for (const r of recs) records.push({ offset: r.offset, value: new TextDecoder().decode(r.value!) })
        from = b.lastOffset + 1
      }
    }
    return { node: id, logEndOffset: log.logEndOffset, highWatermark: p.highWatermark, epochs: [...log.epochs.all()], batches, records }
  }
}
