// One partition replica on this broker and its role, decided by the partition state in the
// metadata store: leader (this broker, this incarnation, is the elected leader), follower (of the
// elected leader), or neither (no leader, not a replica, or elected in an earlier incarnation).
import type { Partition, ReplicaRole } from '../broker/partition.ts'
import type { TopicRecord } from '../broker/metadata.ts'
import { effectiveConfig } from '../broker/topic-config.ts'
import { isrIds, type PartitionState } from '../cluster/state.ts'
import type { Runtime } from '../core/clock.ts'
import { EdgelogError } from '../core/errors.ts'
import type { ClusterAccess } from './cluster-access.ts'
import type { ReplicationConfig } from './config.ts'
import { PartitionFollower } from './follower.ts'
import { PartitionLeader } from './leader.ts'
import type { OffsetsForLeaderEpochRequest, OffsetsForLeaderEpochResponse, ReplicaFetchRequest, ReplicaFetchResponse, ReplicaTransport } from './protocol.ts'

export interface ReplicaEvents {
  isrChange(replica: PartitionReplica, kind: 'expand' | 'shrink'): void
  truncate(replica: PartitionReplica, from: number, to: number): void
  followerAppend(replica: PartitionReplica, records: number, bytes: number): void
  roleChange(replica: PartitionReplica, role: 'leader' | 'follower' | 'none', epoch: number): void
  /** A stored batch of this replica failed its check (F16): it leaves the ISR and repairs. */
  corrupt(replica: PartitionReplica, baseOffset: number): void
}

export class PartitionReplica implements ReplicaRole {
  private leader: PartitionLeader | undefined
  private follower: PartitionFollower | undefined
  private state: PartitionState | undefined
  private revision = 0
  private epoch = -1
  private closed = false
  /** Live subscribers on this broker want the partition although it holds no replica (observe()). */
  private observing = false
  private fencing = false
  /** This replica led and its disk refused a write: it leaves the ISR before anything else. */
  private storageFailed = false
  /**
   * A corrupt replica's own CAS succeeded: the store, at that revision, counts it neither in
   * sync nor eligible. Only then does it truncate (a stale local view of the ISR is not enough).
   */
  private fenceConfirmed = false
  /** Where the background scrub (ReplicaManager) continues in this replica's log. */
  scrubCursor = 0

  constructor(
    readonly partition: Partition,
    private record: TopicRecord,
    readonly runtime: Runtime,
    readonly cluster: ClusterAccess,
    readonly transport: ReplicaTransport,
    readonly config: ReplicationConfig,
    private readonly events: ReplicaEvents,
  ) {
    // Until a leader says more, only what this replica knew was committed is visible.
    partition.resetHighWatermark(partition.log.highWatermarkCheckpoint)
    partition.log.onCorrupt = (baseOffset) => this.onCorrupt(baseOffset)
    // Recovery at open found a flipped batch: counted now; the first state read fences this replica.
    if (partition.log.corruptAt !== undefined) events.corrupt(this, partition.log.corruptAt)
  }

  /** A stored batch failed its CRC or header check and has not been truncated away yet. */
  get corrupt(): boolean {
    return this.partition.log.corruptAt !== undefined
  }

  get topic(): string {
    return this.record.name
  }
  get topicId(): string {
    return this.record.topicId
  }
  get index(): number {
    return this.partition.index
  }
  get name(): string {
    return `${this.record.name}-${this.partition.index}`
  }
  get minInsyncReplicas(): number {
    return Number(effectiveConfig(this.record.config)['min.insync.replicas'])
  }
  get role(): 'leader' | 'follower' | 'none' {
    return this.leader ? 'leader' : this.follower && !this.follower.observer ? 'follower' : 'none'
  }
  get leaderEpoch(): number {
    return this.epoch
  }
  get partitionState(): PartitionState | undefined {
    return this.state
  }
  get stateRevision(): number {
    return this.revision
  }
  /** Replicas of a leader partition missing from its ISR (Kafka's under-replicated partitions). */
  get underReplicated(): boolean {
    return this.leader !== undefined && this.state !== undefined && this.leader.isr.length < this.state.replicas.length
  }

  // ---- ReplicaRole (the broker's view) ----

  get leads(): boolean {
    return this.leader !== undefined
  }

  checkLeader(): void {
    if (!this.leader) {
      const leader = this.state?.leader ?? -1
      throw new EdgelogError(
        'NOT_LEADER_OR_FOLLOWER',
        leader >= 0 ? `broker ${leader} leads ${this.name}, not this broker` : `${this.name} has no leader right now`,
      )
    }
    if (!this.cluster.canLead()) {
      throw new EdgelogError('NOT_LEADER_OR_FOLLOWER', `this broker cannot confirm its lease; it does not lead ${this.name} now`)
    }
  }

  checkInSyncReplicas(): void {
    this.checkLeader()
    this.leader!.checkInSyncReplicas()
  }

  onLeaderAppend(): void {
    this.leader?.onAppend()
  }

  get highWatermarkCheckpoint(): number {
    return this.partition.highWatermark
  }

  describe() {
    const s = this.state
    return {
      leader: s?.leader ?? -1,
      leaderEpoch: s?.leaderEpoch ?? this.partition.leaderEpoch,
      replicas: s?.replicas ?? [],
      isr: isrIds(this.leader ? this.leader.isr : (s?.isr ?? [])),
    }
  }

  // ---- state from the store ----

  /** The topic's record as the cluster has it now (configs change: min.insync.replicas). */
  updateTopic(record: TopicRecord): void {
    if (record.topicId === this.record.topicId) this.record = record
  }

  /** Applies the partition's state as read from the store at `revision` (older states are ignored). */
  applyState(state: PartitionState, revision: number): void {
    if (this.closed || state.leaderEpoch < this.epoch) return
    if (revision <= this.revision) {
      // A replica that must leave the ISR and whose CAS failed (store unreachable) tries again at every read.
      if ((this.corrupt || this.storageFailed) && this.state) this.decide(this.state, this.revision)
      return
    }
    this.state = state
    this.revision = revision
    this.decide(state, revision)
  }

  private decide(state: PartitionState, revision: number): void {
    const me = this.cluster.nodeId
    const inIsr = state.isr.some((r) => r.id === me)
    if (!state.replicas.includes(me)) {
      if (this.observing && state.leader >= 0) this.becomeObserver(state)
      else this.becomeNone(state.leaderEpoch)
    } else if ((this.corrupt && !this.fenceConfirmed) || (this.storageFailed && inIsr)) {
      // A replica with a corrupt batch neither leads nor follows until the store no longer
      // counts it in sync or eligible: only then may it truncate what it holds (F16). A leader
      // whose disk refused a write leaves the ISR, so that another replica leads (F19).
      this.becomeNone(state.leaderEpoch)
      void this.leaveIsr()
    } else if (state.leader === me && state.leaderIncarnation === this.cluster.incarnation && inIsr && !this.corrupt) {
      if (this.leader && this.leader.epoch === state.leaderEpoch) this.leader.update(state, revision)
      else this.becomeLeader(state, revision)
    } else if (state.leader >= 0 && state.leader !== me) {
      const f = this.follower
      if (!f || f.epoch !== state.leaderEpoch || f.leaderId !== state.leader) this.becomeFollower(state)
    } else {
      this.becomeNone(state.leaderEpoch)
    }
  }

  /** The leader's own CAS succeeded. */
  onIsrChange(kind: 'expand' | 'shrink', state: PartitionState, revision: number): void {
    if (revision > this.revision) {
      this.state = state
      this.revision = revision
    }
    this.events.isrChange(this, kind)
  }

  onTruncate(from: number, to: number): void {
    this.events.truncate(this, from, to)
  }

  onFollowerAppend(records: number, bytes: number): void {
    this.events.followerAppend(this, records, bytes)
  }

  /**
   * Corruption found (a read, the scrub): stop serving at once, then take this replica out of
   * the ISR and ELR by compare-and-swap, as Kafka's controller does for a replica whose log
   * directory failed. A leader leaving its own ISR makes the controller elect another.
   */
  private onCorrupt(baseOffset: number): void {
    if (this.closed) return
    this.cluster.log(`${this.name}: the stored batch at offset ${baseOffset} is corrupt; this replica stops serving and repairs from the leader`)
    this.events.corrupt(this, baseOffset)
    this.fenceConfirmed = false
    this.becomeNone(this.epoch)
    if (this.state) this.decide(this.state, this.revision)
  }

  /** The leader's disk refused an append (full, I/O error): it steps down and leaves the ISR (F19). */
  onStorageError(): void {
    if (this.closed || !this.leader) return
    this.cluster.log(`${this.name}: the disk refused an append; this broker stops leading until it can write again`)
    this.storageFailed = true
    this.becomeNone(this.epoch)
    if (this.state) this.decide(this.state, this.revision)
  }

  /**
   * Takes this replica out of the ISR by compare-and-swap on the partition's state (and out of
   * the ELR when it is corrupt). The write happens even when this replica's view says it is out
   * already: its success proves the view was current. A replica whose disk failed keeps every record it had, so,
   * as in KIP-966, it is an eligible leader replica when it leaves an ISR below
   * min.insync.replicas; a corrupt one is eligible for nothing.
   */
  private async leaveIsr(): Promise<void> {
    const s = this.state
    if (this.fencing || this.closed || !s) return
    const me = this.cluster.nodeId
    const isr = s.isr.filter((r) => r.id !== me)
    let elr = s.elr.filter((r) => r.id !== me)
    const ref = s.isr.find((r) => r.id === me)
    if (!this.corrupt && ref && isr.length < this.minInsyncReplicas) elr = [...elr, ref]
    const next: PartitionState = { ...s, isr, elr }
    this.fencing = true
    let revision: number | undefined
    try {
      const r = await this.cluster.alterPartition(this.topic, this.index, this.revision, next, [])
      if (r.ok) revision = r.revision
    } catch (err) {
      this.cluster.log(`${this.name}: leaving the ISR failed: ${(err as Error).message}`)
    } finally {
      this.fencing = false
    }
    if (this.closed) return
    if (revision !== undefined && revision > this.revision) {
      this.storageFailed = false
      if (this.corrupt) this.fenceConfirmed = true
      this.state = next
      this.revision = revision
      this.events.isrChange(this, 'shrink')
      this.decide(next, revision)
    } else {
      this.cluster.requestRefresh()
    }
  }

  private becomeLeader(state: PartitionState, revision: number): void {
    this.stopRoles(new EdgelogError('NOT_LEADER_OR_FOLLOWER', `${this.name} has a new leader epoch`))
    try {
      this.partition.log.beginLeaderEpoch(state.leaderEpoch)
    } catch (err) {
      // The disk refused the epoch entry (full, I/O error): this replica cannot lead; it leaves
      // the ISR so that the controller elects another (F19).
      this.cluster.log(`${this.name}: cannot begin leader epoch ${state.leaderEpoch}: ${(err as Error).message}`)
      this.storageFailed = true
      this.decide(state, revision)
      return
    }
    this.epoch = state.leaderEpoch
    this.partition.leaderEpoch = state.leaderEpoch
    this.leader = new PartitionLeader(this, state.leaderEpoch, state, revision)
    this.events.roleChange(this, 'leader', this.epoch)
  }

  private becomeFollower(state: PartitionState): void {
    this.stopRoles(new EdgelogError('NOT_LEADER_OR_FOLLOWER', `broker ${state.leader} leads ${this.name} now`))
    this.epoch = state.leaderEpoch
    this.partition.leaderEpoch = state.leaderEpoch
    this.follower = new PartitionFollower(this, state.leader, state.leaderEpoch)
    this.follower.start()
    this.events.roleChange(this, 'follower', this.epoch)
  }

  /**
   * Live subscriptions on this broker need the partition, of which it holds no replica: it copies
   * the committed records from the leader into its own (otherwise unused) log for as long as
   * they do — Kafka's observer / fetch-from-follower, the other way round. The copy is never a
   * replica: not in the ISR, never elected, its fetches move nothing on the leader. The fan-out
   * reads it like any log, up to the high watermark the leader reported with each fetch.
   */
  observe(on: boolean): void {
    if (this.closed || on === this.observing) return
    this.observing = on
    const state = this.state
    if (!state || state.replicas.includes(this.cluster.nodeId)) return
    if (on && state.leader >= 0) this.becomeObserver(state)
    else if (!on && this.follower?.observer) this.becomeNone(state.leaderEpoch)
  }

  get observes(): boolean {
    return this.follower?.observer === true
  }

  private becomeObserver(state: PartitionState): void {
    const f = this.follower
    if (f && f.observer && f.epoch === state.leaderEpoch && f.leaderId === state.leader) return
    this.stopRoles(new EdgelogError('NOT_LEADER_OR_FOLLOWER', `broker ${state.leader} leads ${this.name} now`))
    this.epoch = Math.max(this.epoch, state.leaderEpoch)
    this.follower = new PartitionFollower(this, state.leader, state.leaderEpoch, true)
    this.follower.start()
  }

  private becomeNone(epoch: number): void {
    const had = this.leader || (this.follower && !this.follower.observer)
    this.stopRoles(new EdgelogError('NOT_LEADER_OR_FOLLOWER', `${this.name} has no leader on this broker`))
    this.epoch = Math.max(this.epoch, epoch)
    if (had) this.events.roleChange(this, 'none', this.epoch)
  }

  private stopRoles(reason: EdgelogError): void {
    this.leader?.stop(reason)
    this.leader = undefined
    this.follower?.stop()
    this.follower = undefined
  }

  close(): void {
    this.closed = true
    this.stopRoles(new EdgelogError('NOT_LEADER_OR_FOLLOWER', `${this.name} is closing`))
  }

  // ---- requests from followers ----

  handleFetch(req: ReplicaFetchRequest): Promise<ReplicaFetchResponse> {
    const p = this.partition
    const header = { highWatermark: p.highWatermark, logStartOffset: p.log.logStartOffset, logEndOffset: p.log.logEndOffset, batches: [] }
    const refused = this.refuse(req.currentLeaderEpoch)
    if (refused) return Promise.resolve({ ...header, error: refused })
    if (req.observer) {
      // Any other broker may observe; a replica of the partition follows instead.
      if (req.replicaId === this.cluster.nodeId) return Promise.resolve({ ...header, error: 'UNKNOWN_TOPIC_OR_PARTITION' })
      return this.leader!.handleObserverFetch(req)
    }
    if (req.replicaId === this.cluster.nodeId || !this.state?.replicas.includes(req.replicaId)) {
      return Promise.resolve({ ...header, error: 'UNKNOWN_TOPIC_OR_PARTITION' })
    }
    return this.leader!.handleFetch(req)
  }

  handleOffsetsForLeaderEpoch(req: OffsetsForLeaderEpochRequest): OffsetsForLeaderEpochResponse {
    const refused = this.refuse(req.currentLeaderEpoch)
    if (refused) return { error: refused, epoch: -1, endOffset: 0 }
    // KIP-279: an epoch newer than the leader's own is an error, never an answer to truncate by.
    if (req.leaderEpoch > this.epoch) return { error: 'UNKNOWN_LEADER_EPOCH', epoch: -1, endOffset: 0 }
    return this.partition.log.endOffsetForEpoch(req.leaderEpoch)
  }

  private refuse(currentLeaderEpoch: number): 'NOT_LEADER_OR_FOLLOWER' | 'FENCED_LEADER_EPOCH' | 'UNKNOWN_LEADER_EPOCH' | undefined {
    if (currentLeaderEpoch < this.epoch) return 'FENCED_LEADER_EPOCH'
    if (currentLeaderEpoch > this.epoch) {
      // The follower knows a newer epoch than this broker: our metadata is behind.
      this.cluster.requestRefresh()
      return 'UNKNOWN_LEADER_EPOCH'
    }
    if (!this.leader) return 'NOT_LEADER_OR_FOLLOWER'
    return undefined
  }
}
