// A broker as a member of a cluster: the single-node Broker, with a replica role on every
// partition (src/replication/), registered in the metadata store under a lease, taking part in
// the controller election, and administering topics through the store. Runtime-agnostic: the
// store, the replica transport, storage and the clock all come in from outside, so the same
// class runs in `edgelog serve --etcd` and in the deterministic simulation.
import type { StorageProvider } from '../../storage/driver.ts'
import { Broker, type BrokerOpenOptions, type TopicDescription } from '../broker/broker.ts'
import type { TopicRecord } from '../broker/metadata.ts'
import type { Partition } from '../broker/partition.ts'
import { validateTopicName } from '../broker/names.ts'
import { effectiveConfig, validateConfigDeletes, validateTopicConfig } from '../broker/topic-config.ts'
import type { Runtime } from '../core/clock.ts'
import { EdgelogError, fail } from '../core/errors.ts'
import { DEFAULT_REPLICATION_CONFIG, type ReplicationConfig } from '../replication/config.ts'
import type { OffsetsForLeaderEpochRequest, OffsetsForLeaderEpochResponse, ReplicaFetchRequest, ReplicaFetchResponse, ReplicaTransport } from '../replication/protocol.ts'
import { ReplicaManager } from '../replication/replica-manager.ts'
import type { ReplicaEvents } from '../replication/replica.ts'
import { BrokerAgent, DEFAULT_CLUSTER_CONFIG, type ClusterConfig } from './broker-agent.ts'
import { Controller, type ElectionEvent } from './controller.ts'
import { assignReplicas } from './election.ts'
import { withStoreErrors, type MetaStore, type TxnOp } from './meta-store.ts'
import { NodeState } from './node-state.ts'
import { ClusterProducerIds } from './producer-ids.ts'
import { brokerKey, parseJson, parseSnapshot, partitionKey, PARTITIONS, ROOT, topicKey, TopicRecordSchema, type PartitionState } from './state.ts'

/** etcd refuses transactions of more than 128 operations (--max-txn-ops); topic creation stays below. */
const MAX_TXN_OPS = 100
/** Kafka's default.replication.factor is 1; a cluster that replicates by default is what one expects here. */
const DEFAULT_REPLICATION_FACTOR = 3

export interface ClusterNodeOptions {
  nodeId: number
  /** The URL other brokers and forwarded requests use to reach this broker. */
  advertisedUrl: string
  storage: StorageProvider
  runtime: Runtime
  store: MetaStore
  /** How followers reach leaders; a function gets the broker's view of the cluster (advertised URLs). */
  transport: ReplicaTransport | ((agent: BrokerAgent) => ReplicaTransport)
  broker?: BrokerOpenOptions
  replication?: Partial<ReplicationConfig>
  cluster?: Partial<ClusterConfig>
  log?: (message: string) => void
  /** Observers (the simulation's checker). */
  replicaEvents?: Partial<ReplicaEvents>
  onElection?: (e: ElectionEvent) => void
}

export class ClusterNode {
  private closed = false

  private constructor(
    readonly nodeId: number,
    readonly broker: Broker,
    readonly replicas: ReplicaManager,
    readonly agent: BrokerAgent,
    readonly controller: Controller,
    private readonly nodeState: NodeState,
    private readonly store: MetaStore,
    private readonly runtime: Runtime,
  ) {}

  /** Opens the node's storage, registers with the cluster and applies its metadata once. */
  static async start(opts: ClusterNodeOptions): Promise<ClusterNode> {
    const node = ClusterNode.open(opts)
    await node.join()
    return node
  }

  /**
   * Opens storage, the broker and the replica roles without contacting the cluster yet: a
   * server can listen first (its advertised URL may need the port it got), then join().
   * Until then every partition answers NOT_LEADER_OR_FOLLOWER.
   */
  static open(opts: ClusterNodeOptions): ClusterNode {
    const log = opts.log ?? (() => {})
    const store = withStoreErrors(opts.store)
    const replication = { ...DEFAULT_REPLICATION_CONFIG, ...opts.replication }
    const clusterConfig = { ...DEFAULT_CLUSTER_CONFIG, ...opts.cluster }
    const nodeState = NodeState.open(opts.storage)
    const agent = new BrokerAgent(
      store,
      opts.runtime,
      { id: opts.nodeId, incarnation: nodeState.boot.incarnation, url: opts.advertisedUrl, unclean: !nodeState.boot.cleanStart },
      clusterConfig,
      log,
    )
    let replicas: ReplicaManager | undefined
    const opened: Array<[Partition, TopicRecord]> = []
    const broker = Broker.open(opts.storage, opts.runtime, {
      ...opts.broker,
      nodeId: opts.nodeId,
      producerIds: new ClusterProducerIds(store),
      onPartitionOpen: (p, record) => (replicas ? replicas.attach(p, record) : opened.push([p, record])),
    })
    // The manager needs the broker's metrics registry, so the partitions Broker.open found in
    // meta.db get their roles right after it (synchronously: nothing is served in between).
    const transport = typeof opts.transport === 'function' ? opts.transport(agent) : opts.transport
    replicas = new ReplicaManager(opts.runtime, agent, transport, replication, broker.metrics, opts.replicaEvents)
    replicas.bind(broker)
    for (const [p, record] of opened) replicas.attach(p, record)
    const controller = new Controller(agent, store, opts.runtime, broker.metrics, opts.onElection)
    agent.onSnapshot((snap) => replicas!.applySnapshot(snap))
    agent.onSnapshot((snap) => controller.onSnapshot(snap))
    return new ClusterNode(opts.nodeId, broker, replicas, agent, controller, nodeState, store, opts.runtime)
  }

  /** Registers with the cluster (under `advertisedUrl` if given now) and applies its metadata once. */
  async join(advertisedUrl?: string): Promise<void> {
    if (advertisedUrl !== undefined) this.agent.registrationValue.url = advertisedUrl
    await this.agent.start()
  }

  get incarnation(): number {
    return this.agent.incarnation
  }

  // ---- topics ----

  async createTopic(input: { name: unknown; partitions?: number; replicationFactor?: number; config?: Record<string, unknown> }): Promise<TopicDescription> {
    this.checkOpen()
    const name = validateTopicName(input.name)
    const partitions = input.partitions ?? 1
    const maxPartitions = this.broker.options.maxPartitionsPerTopic
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > maxPartitions) {
      fail('INVALID_PARTITIONS', `partitions must be an integer from 1 to ${maxPartitions}`)
    }
    const config = validateTopicConfig(input.config ?? {})
    const { kvs, revision } = await this.store.range(ROOT)
    const snap = parseSnapshot(kvs, revision)
    if (snap.topics.has(name)) fail('TOPIC_ALREADY_EXISTS', `topic '${name}' already exists`)
    const live = [...snap.brokers.values()].map((b) => b.value)
    const rf = input.replicationFactor ?? Math.min(DEFAULT_REPLICATION_FACTOR, live.length)
    if (!Number.isInteger(rf) || rf < 1 || rf > live.length) {
      fail('INVALID_REPLICATION_FACTOR', `replicationFactor ${rf} needs ${rf} live brokers; ${live.length} are registered`)
    }
    const minIsr = Number(effectiveConfig(config)['min.insync.replicas'])
    if (minIsr > rf) fail('INVALID_CONFIG', `min.insync.replicas ${minIsr} is more than the replication factor ${rf}: acks=all could never succeed`)
    const assignment = assignReplicas(
      live.map((b) => b.id),
      partitions,
      rf,
      Math.floor(this.runtime.random.next() * live.length),
    )
    const incarnation = new Map(live.map((b) => [b.id, b.incarnation]))
    const record: TopicRecord = { name, topicId: this.newTopicId(), partitions, replicationFactor: rf, createdAt: this.runtime.clock.now(), config }
    const states: PartitionState[] = assignment.map((replicas) => ({
      replicas,
      leader: replicas[0]!,
      leaderEpoch: 0,
      leaderIncarnation: incarnation.get(replicas[0]!)!,
      // Empty logs are all in sync.
      isr: replicas.map((id) => ({ id, incarnation: incarnation.get(id)! })),
      elr: [],
      uncleanElections: 0,
    }))
    const ops: TxnOp[] = states.map((s, i) => ({ op: 'put', key: partitionKey(name, i), value: JSON.stringify(s) }))
    // The topic key goes with the first chunk; brokers wait for partitions whose keys are not there yet.
    const first = ops.splice(0, MAX_TXN_OPS - 1)
    const used = [...new Set(assignment.flat())]
    const r = await this.store.txn(
      [{ key: topicKey(name), modRevision: 0 }, ...used.map((id) => ({ key: brokerKey(id), modRevision: snap.brokers.get(id)!.modRevision }))],
      [{ op: 'put', key: topicKey(name), value: JSON.stringify(record) }, ...first],
    )
    if (!r.succeeded) {
      if (await this.store.get(topicKey(name))) fail('TOPIC_ALREADY_EXISTS', `topic '${name}' already exists`)
      throw new EdgelogError('LEADER_NOT_AVAILABLE', 'the brokers changed while the topic was being created; try again')
    }
    while (ops.length > 0) {
      const chunk = ops.splice(0, MAX_TXN_OPS)
      await this.store.txn([], chunk)
    }
    this.agent.requestRefresh()
    return {
      name,
      topicId: record.topicId,
      config: effectiveConfig(config),
      partitions: states.map((s, i) => ({
        partition: i,
        leader: s.leader,
        leaderEpoch: s.leaderEpoch,
        replicas: s.replicas,
        isr: s.isr.map((x) => x.id),
        logStartOffset: 0,
        highWatermark: 0,
        logEndOffset: 0,
        sizeBytes: 0,
      })),
    }
  }

  async deleteTopic(name: string): Promise<void> {
    this.checkOpen()
    const kv = await this.store.get(topicKey(name))
    if (!kv) fail('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' does not exist`)
    const r = await this.store.txn(
      [{ key: kv.key, modRevision: kv.modRevision }],
      [
        { op: 'delete', key: kv.key },
        { op: 'deletePrefix', prefix: `${PARTITIONS}${name}/` },
      ],
    )
    if (!r.succeeded) fail('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' changed while it was being deleted; try again`)
    this.agent.requestRefresh()
  }

  /** Kafka's incremental alter configs, for the whole cluster: CAS on the topic's record. */
  async alterTopicConfig(name: string, set: Record<string, unknown>, remove: string[]): Promise<void> {
    this.checkOpen()
    const overrides = validateTopicConfig(set)
    validateConfigDeletes(remove)
    for (const key of remove) if (key in overrides) fail('INVALID_CONFIG', `topic config '${key}' is both set and deleted`)
    for (let attempt = 0; attempt < 10; attempt++) {
      const kv = await this.store.get(topicKey(name))
      const record = kv ? parseJson(TopicRecordSchema, kv.value) : undefined
      if (!kv || !record) fail('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' does not exist`)
      const config = { ...record.config, ...overrides }
      for (const key of remove) delete config[key]
      const minIsr = Number(effectiveConfig(config)['min.insync.replicas'])
      if (minIsr > record.replicationFactor) fail('INVALID_CONFIG', `min.insync.replicas ${minIsr} is more than the replication factor ${record.replicationFactor}`)
      const r = await this.store.txn([{ key: kv.key, modRevision: kv.modRevision }], [{ op: 'put', key: kv.key, value: JSON.stringify({ ...record, config }) }])
      if (r.succeeded) {
        this.agent.requestRefresh()
        return
      }
    }
    fail('THROTTLED', `topic '${name}' changed too often while its config was being altered; try again`)
  }

  /**
   * The live brokers and their advertised URLs, and the controller, as this broker's metadata
   * has them (Kafka's Metadata response: brokers, controller id). Clients route by it.
   */
  brokersView(): { brokers: Array<{ nodeId: number; url: string }>; controller: number | null } {
    const snap = this.agent.snapshot
    const brokers = [...(snap?.brokers.values() ?? [])].map((b) => ({ nodeId: b.value.id, url: b.value.url })).filter((b) => b.url !== '')
    brokers.sort((a, b) => a.nodeId - b.nodeId)
    return { brokers, controller: snap?.controller?.value.id ?? null }
  }

  /** The URL of the broker leading the partition, when another broker leads it. */
  leaderUrl(topic: string, partition: number): string | undefined {
    const snap = this.agent.snapshot
    const leader = snap?.partitions.get(`${topic}/${partition}`)?.value.leader
    if (leader === undefined || leader < 0 || leader === this.nodeId) return undefined
    return snap?.brokers.get(leader)?.value.url
  }

  // ---- requests from other brokers ----

  handleReplicaFetch(req: ReplicaFetchRequest): Promise<ReplicaFetchResponse> {
    return this.replicas.handleFetch(req)
  }

  handleOffsetsForLeaderEpoch(req: OffsetsForLeaderEpochRequest): OffsetsForLeaderEpochResponse {
    return this.replicas.handleOffsetsForLeaderEpoch(req)
  }

  // ---- lifecycle ----

  /**
   * Clean shutdown: stop following and leading, flush and sync every log, write the
   * clean-shutdown marker, then give the lease back so failover starts at once.
   */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.agent.stop()
    this.replicas.close()
    this.broker.close()
    this.nodeState.markCleanShutdown()
    this.nodeState.close()
    await this.agent.resign()
  }

  private checkOpen(): void {
    if (this.closed) throw new EdgelogError('SHUTTING_DOWN', 'the node is shutting down')
  }

  private newTopicId(): string {
    let id = ''
    for (let i = 0; i < 4; i++) id += Math.floor(this.runtime.random.next() * 0x10000).toString(16).padStart(4, '0')
    return id
  }
}
