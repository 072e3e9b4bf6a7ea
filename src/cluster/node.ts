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
import type { GroupPeers, PeerCommitRequest, PeerMemberAnswer, PeerMemberRequest, PositionsRequest, PositionsResponse } from './group-peers.ts'
import { isInternalTopic, OFFSETS_TOPIC, OFFSETS_TOPIC_CONFIG, partitionForGroup } from '../groups/offsets-topic.ts'
import type { CommitRequest, MemberAnswer } from '../groups/coordinator.ts'
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
  /**
   * Replicas of `__consumer_offsets` (Kafka's offsets.topic.replication.factor). When set, the
   * topic is created only once that many brokers are live; by default with min(3, live brokers).
   */
  offsetsTopicReplicationFactor?: number
  /** How the group coordinator reaches other brokers; without it (the simulation) positions are read locally. */
  groupPeers?: GroupPeers
  /** Observers (the simulation's checker). */
  replicaEvents?: Partial<ReplicaEvents>
  onElection?: (e: ElectionEvent) => void
}

/** Where a group's coordinator is, as this broker's metadata has it. */
export type CoordinatorLocation =
  | { kind: 'local' }
  | { kind: 'remote'; nodeId: number; url: string }
  /** `__consumer_offsets` does not exist yet: no group has ever been used. */
  | { kind: 'absent' }
  | { kind: 'unavailable'; message: string }

/** How long a group request that creates `__consumer_offsets` waits for its partitions to get leaders. */
const OFFSETS_TOPIC_WAIT_MS = 15_000

export class ClusterNode {
  private closed = false
  private creatingOffsetsTopic: Promise<void> | undefined
  private groupPeers: GroupPeers | undefined
  private offsetsTopicReplicationFactor: number | undefined

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
    let self: ClusterNode | undefined
    const opened: Array<[Partition, TopicRecord]> = []
    const broker = Broker.open(opts.storage, opts.runtime, {
      ...opts.broker,
      nodeId: opts.nodeId,
      producerIds: new ClusterProducerIds(store),
      onPartitionOpen: (p, record) => (replicas ? replicas.attach(p, record) : opened.push([p, record])),
      groupCluster: {
        requestOffsetsTopic: () => void self?.createOffsetsTopic().catch((err) => log(`creating ${OFFSETS_TOPIC} failed: ${(err as Error).message}`)),
        remotePositions: (topic, partition, timestamp) => {
          if (!self) throw new EdgelogError('LEADER_NOT_AVAILABLE', 'this broker has not joined its cluster yet')
          return self.leaderPositions({ topic, partition, ...(timestamp === undefined ? {} : { timestamp }) })
        },
      },
    })
    agent.onIncarnationRaised = (incarnation) => nodeState.raiseIncarnation(incarnation)
    // A log whose recovery removed a torn or corrupt tail lost records it may have acknowledged
    // or counted as in sync: this boot is unclean (R5) whatever the shutdown marker says.
    const recovered = broker.recoveredLogs()
    if (recovered.length > 0) {
      agent.registrationValue.unclean = true
      for (const r of recovered) log(`${r.topic}-${r.partition}: log recovery removed ${r.batches} batches from offset ${r.truncatedFrom ?? '-'}; registering as an unclean start`)
    }
    // The manager needs the broker's metrics registry, so the partitions Broker.open found in
    // meta.db get their roles right after it (synchronously: nothing is served in between).
    const transport = typeof opts.transport === 'function' ? opts.transport(agent) : opts.transport
    // The group coordinator follows the leadership of the offsets topic's partitions.
    const replicaEvents: Partial<ReplicaEvents> = {
      ...opts.replicaEvents,
      roleChange: (r, role, epoch) => {
        if (r.topic === OFFSETS_TOPIC) broker.groups.onLeadershipChange(r.index, role === 'leader')
        opts.replicaEvents?.roleChange?.(r, role, epoch)
      },
    }
    replicas = new ReplicaManager(opts.runtime, agent, transport, replication, broker.metrics, replicaEvents)
    replicas.bind(broker)
    for (const [p, record] of opened) replicas.attach(p, record)
    const controller = new Controller(agent, store, opts.runtime, broker.metrics, opts.onElection)
    agent.onSnapshot((snap) => replicas!.applySnapshot(snap))
    agent.onSnapshot((snap) => controller.onSnapshot(snap))
    self = new ClusterNode(opts.nodeId, broker, replicas, agent, controller, nodeState, store, opts.runtime)
    self.groupPeers = opts.groupPeers
    self.offsetsTopicReplicationFactor = opts.offsetsTopicReplicationFactor
    return self
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
    if (isInternalTopic(name)) fail('INVALID_TOPIC', `'${name}' is reserved for an internal topic`)
    const partitions = input.partitions ?? 1
    const maxPartitions = this.broker.options.maxPartitionsPerTopic
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > maxPartitions) {
      fail('INVALID_PARTITIONS', `partitions must be an integer from 1 to ${maxPartitions}`)
    }
    const config = validateTopicConfig(input.config ?? {})
    return this.createInStore(name, partitions, input.replicationFactor, config)
  }

  private async createInStore(name: string, partitions: number, replicationFactor: number | undefined, config: Record<string, string>): Promise<TopicDescription> {
    const { kvs, revision } = await this.store.range(ROOT)
    const snap = parseSnapshot(kvs, revision)
    if (snap.topics.has(name)) fail('TOPIC_ALREADY_EXISTS', `topic '${name}' already exists`)
    const live = [...snap.brokers.values()].map((b) => b.value)
    const rf = replicationFactor ?? Math.min(DEFAULT_REPLICATION_FACTOR, live.length)
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
    if (isInternalTopic(name)) fail('INVALID_TOPIC', `'${name}' is an internal topic and cannot be deleted`)
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

  // ---- consumer groups (DESIGN decision 8) ----

  /**
   * Creates `__consumer_offsets` in the cluster metadata (once; a concurrent creation by another
   * broker counts as done). Its partitions get leaders, replicas and ISRs like any topic's.
   */
  createOffsetsTopic(): Promise<void> {
    this.checkOpen()
    if (this.agent.snapshot?.topics.has(OFFSETS_TOPIC)) return Promise.resolve()
    this.creatingOffsetsTopic ??= (async () => {
      try {
        const live = this.agent.snapshot?.brokers.size ?? 0
        const wanted = this.offsetsTopicReplicationFactor
        if (wanted !== undefined && live < wanted) {
          fail('COORDINATOR_NOT_AVAILABLE', `${OFFSETS_TOPIC} needs ${wanted} live brokers (--offsets-topic-replication-factor); ${live} are registered`)
        }
        await this.createInStore(OFFSETS_TOPIC, this.broker.groups.options.offsetsTopicPartitions, wanted, { ...OFFSETS_TOPIC_CONFIG })
        this.agent.log(`created ${OFFSETS_TOPIC}`)
      } catch (err) {
        if (!(err instanceof EdgelogError && err.code === 'TOPIC_ALREADY_EXISTS')) throw err
      } finally {
        this.creatingOffsetsTopic = undefined
      }
    })()
    return this.creatingOffsetsTopic
  }

  /**
   * Where the coordinator of `group` is: the leader of partition hash(group) % N of
   * `__consumer_offsets`. With `create`, a missing offsets topic is created first and its
   * partition's leader waited for (the first join or commit of the cluster).
   */
  async coordinatorOf(group: string, create: boolean): Promise<CoordinatorLocation> {
    this.checkOpen()
    const deadline = this.runtime.clock.monotonic() + OFFSETS_TOPIC_WAIT_MS
    for (;;) {
      const at = this.locateCoordinator(group)
      if (at.kind === 'local' || at.kind === 'remote') return at
      if (!create) return at
      if (this.runtime.clock.monotonic() >= deadline) {
        return at.kind === 'absent' ? { kind: 'unavailable', message: `${OFFSETS_TOPIC} is not created yet` } : at
      }
      if (at.kind === 'absent') await this.createOffsetsTopic()
      this.agent.requestRefresh()
      await new Promise<void>((resolve) => this.runtime.timers.setTimeout(() => resolve(), 50))
    }
  }

  /**
   * A request another broker forwarded here: it saw this broker as the coordinator, so this
   * broker's own metadata is about to say so too (it polls the store on its own schedule).
   * Waits for that, at most `ms`, so the request is served rather than answered NOT_COORDINATOR.
   */
  async awaitCoordinator(group: string, create: boolean, ms: number): Promise<void> {
    const deadline = this.runtime.clock.monotonic() + ms
    while (!this.closed && this.runtime.clock.monotonic() < deadline) {
      const at = this.locateCoordinator(group)
      if (at.kind === 'local' || (at.kind === 'absent' && !create)) return
      this.agent.requestRefresh()
      await new Promise<void>((resolve) => this.runtime.timers.setTimeout(() => resolve(), 50))
    }
  }

  private locateCoordinator(group: string): CoordinatorLocation {
    const snap = this.agent.snapshot
    const topic = snap?.topics.get(OFFSETS_TOPIC)?.value
    // Until this broker has opened the topic (it applies each snapshot at once) it cannot serve it.
    if (!snap || !topic || !this.broker.topicRecords().some((t) => t.name === OFFSETS_TOPIC && t.topicId === topic.topicId)) return { kind: 'absent' }
    const partition = partitionForGroup(group, topic.partitions)
    const leader = snap.partitions.get(`${OFFSETS_TOPIC}/${partition}`)?.value.leader ?? -1
    if (leader < 0) return { kind: 'unavailable', message: `partition ${partition} of ${OFFSETS_TOPIC} has no leader right now` }
    if (leader === this.nodeId) {
      if (this.broker.groups.leadsPartition(partition)) return { kind: 'local' }
      return { kind: 'unavailable', message: `this broker is taking over partition ${partition} of ${OFFSETS_TOPIC}` }
    }
    const url = snap.brokers.get(leader)?.value.url
    if (!url) return { kind: 'unavailable', message: `broker ${leader}, the group's coordinator, is not registered` }
    return { kind: 'remote', nodeId: leader, url }
  }

  /** Positions of a partition from its leader (a commit's bounds, lag, resets on the coordinator). */
  async leaderPositions(req: PositionsRequest): Promise<PositionsResponse> {
    // Without a way to ask other brokers (the simulation), this replica's own view.
    if (!this.groupPeers) return this.positionsHere(req)
    const url = this.leaderUrl(req.topic, req.partition)
    if (!url) {
      const p = this.broker.partition(req.topic, req.partition)
      if (p.role?.leads) return this.localPositions(req)
      throw new EdgelogError('LEADER_NOT_AVAILABLE', `${req.topic}-${req.partition} has no leader this broker can reach right now`)
    }
    return this.groupPeers.positions(url, req)
  }

  /** Another broker asks this one, the leader, for a partition's positions. */
  async localPositions(req: PositionsRequest): Promise<PositionsResponse> {
    this.checkOpen()
    this.broker.partition(req.topic, req.partition).role?.checkLeader()
    return this.positionsHere(req)
  }

  private async positionsHere(req: PositionsRequest): Promise<PositionsResponse> {
    const p = this.broker.partition(req.topic, req.partition)
    const out: PositionsResponse = { logStartOffset: p.log.logStartOffset, highWatermark: p.highWatermark, logEndOffset: p.log.logEndOffset }
    if (req.timestamp !== undefined) out.offset = await this.broker.offsetForTimestamp(req.topic, req.partition, req.timestamp)
    return out
  }

  /**
   * A plain commit (a WebSocket `commit` frame of a socket that is not a member) for any group:
   * served here when this broker coordinates it, else handed to the coordinator.
   */
  async commitOffsets(group: string, req: CommitRequest): Promise<void> {
    const at = await this.coordinatorOf(group, true)
    if (at.kind === 'local' || !this.groupPeers) {
      await this.broker.groups.commit(group, req)
      return
    }
    if (at.kind !== 'remote') throw new EdgelogError('COORDINATOR_NOT_AVAILABLE', at.kind === 'unavailable' ? at.message : `${OFFSETS_TOPIC} does not exist yet`)
    await this.groupPeers.commit(at.url, { group, offsets: req.offsets } satisfies PeerCommitRequest)
  }

  /**
   * A WebSocket member's join, heartbeat, leave or commit, from the broker its socket is
   * connected to (its agent), to wherever the group's coordinator is: served here, or relayed
   * as a peer request. Each request finds the coordinator afresh, so a member survives its
   * coordinator's failover as an HTTP member does.
   */
  async memberRequest(req: PeerMemberRequest): Promise<PeerMemberAnswer | undefined> {
    const at = await this.coordinatorOf(req.group, req.op === 'join')
    if (at.kind === 'local' || !this.groupPeers) return this.memberHere(req)
    if (at.kind !== 'remote') throw new EdgelogError('COORDINATOR_NOT_AVAILABLE', at.kind === 'unavailable' ? at.message : `${OFFSETS_TOPIC} does not exist yet`)
    return this.groupPeers.member(at.url, req)
  }

  /** The coordinator's side of a relayed member request (its route, `/internal/v1/groups/member`). */
  async handlePeerMember(req: PeerMemberRequest): Promise<PeerMemberAnswer | undefined> {
    // The sender saw this broker as the coordinator: our metadata is about to say so too.
    await this.awaitCoordinator(req.group, req.op === 'join', 5000)
    return this.memberHere(req)
  }

  private async memberHere(req: PeerMemberRequest): Promise<PeerMemberAnswer | undefined> {
    const groups = this.broker.groups
    const withCommitted = (answer: MemberAnswer): PeerMemberAnswer => {
      const assigned = new Set(answer.assignment.flatMap((t) => t.partitions.map((p) => `${t.topic}:${p}`)))
      const committed = groups.committed(req.group).filter((o) => assigned.has(`${o.topic}:${o.partition}`)).map(({ topic, partition, offset }) => ({ topic, partition, offset }))
      return { ...answer, committed }
    }
    switch (req.op) {
      case 'join':
        return withCommitted(await groups.join(req.group, req.join))
      case 'heartbeat':
        return withCommitted(await groups.heartbeat(req.group, req.memberId, req.heartbeat))
      case 'leave':
        await groups.leave(req.group, req.memberId)
        return undefined
      case 'commit':
        await groups.commit(req.group, req.commit)
        return undefined
    }
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
