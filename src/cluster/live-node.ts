// Live subscriptions (WebSocket `sub`, SSE) at any broker of a cluster: the fan-out's node
// (src/fanout/node.ts) for a cluster member.
//
// The choice, at this seam: a subscription is always served by the broker it reaches, for every
// partition, as a NATS or Centrifugo user expects of any node (and as a browser behind a load
// balancer needs: it reaches one broker). Where the partition comes from:
// - a replica here (leader or follower) serves it from its own log, up to the high watermark it
//   knows — a follower's is the one the leader sent with its last fetch (Kafka's KIP-392
//   fetch-from-follower): only committed records, and the feed hears every move of it;
// - no replica here: the broker *observes* the partition (src/replication/replica.ts observe()):
//   one copy per partition, shared by every local subscriber, pulled from the leader with the
//   replica fetch protocol but only up to the high watermark, never counted in the ISR. The copy
//   is written into the broker's own, otherwise unused, log of that partition, so the fan-out's
//   feeds, cursors, catch-up pacing, gaps and resume work on it unchanged, and the copy follows
//   leader failovers as a follower does (by the leader epoch in the metadata). It stops a while
//   after its last local subscriber left. Records older than the copy (a later subscriber asks
//   for more history than the first one) are read from the leader (readBefore).
// A subscription's start (`earliest`, `latest`, a timestamp, an offset's range check) is
// resolved at the leader for observed partitions, so it is the same answer any broker gives.
// Answering NOT_LEADER_OR_FOLLOWER and having clients reconnect elsewhere was the alternative:
// it fails SSE and browsers that can reach one address, and splits one `sub` over sockets.
import type { Partition } from '../broker/partition.ts'
import { readBatchHeader, type BatchRecord } from '../codec/record-batch.ts'
import type { TimerHandle } from '../core/clock.ts'
import { EdgelogError } from '../core/errors.ts'
import type { FanoutHub } from '../fanout/hub.ts'
import { brokerNode, type EarlierRange, type FanoutNode, type MemberCoordinator } from '../fanout/node.ts'
import { planSubscription, startOffset } from '../fanout/plan.ts'
import type { StartPosition } from '../fanout/protocol.ts'
import type { PartitionReplica } from '../replication/replica.ts'
import type { ClusterNode } from './node.ts'

/** How long an observed partition is kept copying after its last local subscriber left (a reconnect finds it warm). */
const OBSERVER_LINGER_MS = 30_000
/** How long a read of older records from the leader keeps trying through a failover. */
const READ_BEFORE_WAIT_MS = 15_000
const RETRY_MS = 250

export class ClusterLiveNode implements FanoutNode {
  private hub: FanoutHub | undefined
  /** Partitions observed for local subscribers, with when they were last seen in use (monotonic). */
  private readonly observed = new Map<PartitionReplica, number>()
  private sweepTimer: TimerHandle | undefined
  private closed = false
  private readonly base: FanoutNode

  constructor(
    private readonly node: ClusterNode,
    private readonly lingerMs = OBSERVER_LINGER_MS,
  ) {
    const broker = node.broker
    this.base = brokerNode(broker, (group, offsets) => node.commitOffsets(group, { offsets }))
    broker.metrics.gauge('edgelog_observed_partitions', 'Partitions this broker copies from their leader for its live subscribers, holding no replica of them', () => [
      [{}, [...this.observed.keys()].filter((r) => r.observes).length],
    ])
  }

  /** The hub this node serves; set once it exists (it tells which partitions have live readers). */
  attach(hub: FanoutHub): void {
    this.hub = hub
  }

  plan(topic: string, partitions: number[] | undefined, from: StartPosition) {
    const broker = this.node.broker
    return planSubscription(broker, topic, partitions, from, async (p, f, explicit) => {
      const replica = this.replicaOf(p)
      if (!replica) return startOffset(broker, p, f, explicit)
      return this.observedStart(replica, p, f, explicit)
    })
  }

  produce: FanoutNode['produce'] = (topic, records, acks) => this.base.produce(topic, records, acks)
  produceIdempotent: FanoutNode['produceIdempotent'] = (topic, partition, records, acks, producer) => this.base.produceIdempotent(topic, partition, records, acks, producer)
  commitOffsets: FanoutNode['commitOffsets'] = (group, offsets) => this.base.commitOffsets(group, offsets)

  /**
   * A socket member at any broker: this broker is the member's agent (it heartbeats for the
   * socket and serves its partitions, replica here or not), and the membership goes to the
   * group's coordinator wherever it is, as the HTTP group API's requests are forwarded (README,
   * "Consumer groups in a cluster"). The choice over answering NOT_COORDINATOR with an address
   * is the same as there: a browser behind a load balancer reaches one broker, and the member
   * then lives through its coordinator's failover without reconnecting.
   */
  readonly members: MemberCoordinator = {
    join: async (group, req) => (await this.node.memberRequest({ op: 'join', group, join: req }))!,
    heartbeat: async (group, memberId, req) => (await this.node.memberRequest({ op: 'heartbeat', group, memberId, heartbeat: req }))!,
    leave: (group, memberId) => this.node.memberRequest({ op: 'leave', group, memberId }),
    commit: (group, req) => this.node.memberRequest({ op: 'commit', group, commit: req }),
    watch: (group, fn) => this.node.broker.groups.watch(group, fn),
  }

  prepare(p: Partition, next: number): void {
    const replica = this.replicaOf(p)
    if (replica) this.observe(replica, next)
  }

  /**
   * Records below the local log start. A replica's log start is the partition's (retention
   * removed the rest everywhere): a gap. An observed copy starts where its first subscriber
   * did: older records come from the leader.
   */
  async readBefore(p: Partition, from: number, upTo: number, maxRecords: number, maxBytes: number): Promise<EarlierRange> {
    const replica = this.replicaOf(p)
    if (!replica) return { gapTo: upTo }
    const runtime = this.node.broker.runtime
    const deadline = runtime.clock.monotonic() + READ_BEFORE_WAIT_MS
    let last = ''
    while (!this.closed && runtime.clock.monotonic() < deadline) {
      const state = replica.partitionState
      const leader = state?.leader ?? -1
      if (state && leader >= 0 && leader !== this.node.nodeId) {
        try {
          const resp = await replica.transport.fetch(leader, {
            replicaId: this.node.nodeId,
            incarnation: this.node.incarnation,
            topic: p.topic,
            topicId: replica.topicId,
            partition: p.index,
            currentLeaderEpoch: state.leaderEpoch,
            fetchOffset: from,
            lastFetchedEpoch: -1,
            maxBytes,
            maxWaitMs: 0,
            observer: true,
          })
          if (resp.error === 'OFFSET_OUT_OF_RANGE' && resp.logStartOffset > from) return { gapTo: Math.min(upTo, resp.logStartOffset) }
          if (!resp.error && resp.batches.length > 0) {
            const records: BatchRecord[] = []
            let next = from
            for (const batch of resp.batches) {
              if (records.length >= maxRecords) break
              for (const r of await this.node.broker.decode(p.topic, batch)) if (r.offset >= from && r.offset < upTo) records.push(r)
              const h = readBatchHeader(batch)
              next = Math.max(next, Math.min(upTo, h.baseOffset + h.lastOffsetDelta + 1))
            }
            if (next > from) return { records, next }
          }
          last = resp.error ?? 'nothing committed there yet'
          if (resp.error) replica.cluster.requestRefresh()
        } catch (err) {
          last = (err as Error).message
        }
      } else {
        last = 'no leader'
      }
      await new Promise<void>((resolve) => runtime.timers.setTimeout(resolve, RETRY_MS))
    }
    throw new EdgelogError('LEADER_NOT_AVAILABLE', `records ${from}..${upTo} of ${p.topic}-${p.index} could not be read from its leader (${last.slice(0, 200)})`)
  }

  close(): void {
    this.closed = true
    if (this.sweepTimer) this.node.broker.runtime.timers.clearTimeout(this.sweepTimer)
    this.sweepTimer = undefined
  }

  // ---- observed partitions ----

  /** The partition's replica object when this broker holds no replica of it (it observes instead). */
  private replicaOf(p: Partition): PartitionReplica | undefined {
    const replica = this.node.replicas.replica(p.topic, p.index)
    const state = replica?.partitionState
    if (!replica || replica.partition !== p || !state || state.replicas.includes(this.node.nodeId)) return undefined
    return replica
  }

  private async observedStart(replica: PartitionReplica, p: Partition, from: StartPosition, explicit: Record<string, number> | undefined): Promise<number> {
    const ts = typeof from === 'object' && 'timestamp' in from ? from.timestamp : undefined
    const pos = await this.node.leaderPositions({ topic: p.topic, partition: p.index, ...(ts === undefined ? {} : { timestamp: ts }) })
    let next: number
    if (from === 'earliest') next = pos.logStartOffset
    else if (from === 'latest') next = pos.highWatermark
    else if (ts !== undefined) next = pos.offset ?? pos.highWatermark
    else {
      next = explicit![String(p.index)] ?? pos.logStartOffset
      if (next > pos.logEndOffset) {
        throw new EdgelogError('OFFSET_OUT_OF_RANGE', `offset ${next} is beyond the end (${pos.logEndOffset}) of ${p.topic}-${p.index}; the log was replaced or lost`)
      }
    }
    this.observe(replica, next)
    return next
  }

  /**
   * Starts (or keeps) copying the partition. A copy nobody reads starts at this subscription's
   * offset when what it holds does not reach it, rather than copying history nobody asked for.
   */
  private observe(replica: PartitionReplica, next: number): void {
    const p = replica.partition
    const idle = !this.observed.has(replica) && this.hub?.publishedOffset(p) === undefined
    const log = p.log
    if (idle && (next > log.logEndOffset || next < log.logStartOffset)) {
      log.truncateFullyAndStartAt(next)
      p.resetHighWatermark(next)
    }
    this.observed.set(replica, this.node.broker.runtime.clock.monotonic())
    replica.observe(true)
    this.scheduleSweep()
  }

  private scheduleSweep(): void {
    if (this.sweepTimer !== undefined || this.closed) return
    const timers = this.node.broker.runtime.timers
    this.sweepTimer = timers.setTimeout(() => {
      this.sweepTimer = undefined
      const now = this.node.broker.runtime.clock.monotonic()
      for (const [replica, lastUsed] of [...this.observed]) {
        if (this.hub?.publishedOffset(replica.partition) !== undefined) this.observed.set(replica, now)
        else if (now - lastUsed >= this.lingerMs || replica.partition.isClosed) {
          this.observed.delete(replica)
          replica.observe(false)
        }
      }
      if (this.observed.size > 0) this.scheduleSweep()
    }, Math.max(100, Math.floor(this.lingerMs / 4)))
  }
}
