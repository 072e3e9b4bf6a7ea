// What the fan-out asks of the node it runs on. On a broker: its own broker (brokerNode). On an
// edge relay (src/edge/relay.ts): subscriptions start at the region's offsets, records older
// than the relay cache come from upstream, and `pub` / `commit` frames go where the edge sends
// produces and commits. The hub, feeds and cursors are the same on both.
import type { Acks, Broker, ProduceRecord, ProducerId } from '../broker/broker.ts'
import type { Partition } from '../broker/partition.ts'
import type { BatchRecord, NewRecord } from '../codec/record-batch.ts'
import type { GroupCoordinator, JoinRequest, MemberAnswer, CommitRequest } from '../groups/coordinator.ts'
import type { TopicPartitions } from '../groups/topic-partitions.ts'
import { planSubscription, type StartPlan } from './plan.ts'
import type { StartPosition } from './protocol.ts'

/** Records read from before a partition's local log start, or the range that is gone for good. */
export type EarlierRange = { records: BatchRecord[]; next: number } | { gapTo: number }

export interface PubResult {
  partition: number
  offset: number | null
  /** Where a record is held when its offset is not known yet (an edge: `edge-outbox`). */
  heldAt?: string
}

/** A member answer with the group's committed offsets of the partitions it assigns (where they start). */
export type MemberAnswerWithOffsets = MemberAnswer & { committed: Array<{ topic: string; partition: number; offset: number }> }

/**
 * The group coordinator as a WebSocket member's agent (group-subscription.ts) reaches it: this
 * node's own, or in a cluster wherever the group's coordinator is (src/cluster/live-node.ts).
 */
export interface MemberCoordinator {
  join(group: string, req: JoinRequest): Promise<MemberAnswerWithOffsets>
  heartbeat(group: string, memberId: string, req: { memberEpoch: number; ownedPartitions: TopicPartitions[] }): Promise<MemberAnswerWithOffsets>
  leave(group: string, memberId: string): Promise<unknown>
  commit(group: string, req: CommitRequest): Promise<unknown>
  /** Calls fn when the group changed, when this node coordinates it (a remote coordinator: the heartbeat interval). */
  watch(group: string, fn: () => void): () => void
}

/** The coordinator of this node. */
export function localMembers(groups: GroupCoordinator): MemberCoordinator {
  const withCommitted = (group: string, answer: MemberAnswer): MemberAnswerWithOffsets => {
    const assigned = new Set(answer.assignment.flatMap((t) => t.partitions.map((p) => `${t.topic}:${p}`)))
    const committed = groups.committed(group).filter((o) => assigned.has(`${o.topic}:${o.partition}`)).map(({ topic, partition, offset }) => ({ topic, partition, offset }))
    return { ...answer, committed }
  }
  return {
    join: async (group, req) => withCommitted(group, await groups.join(group, req)),
    heartbeat: async (group, memberId, req) => withCommitted(group, await groups.heartbeat(group, memberId, req)),
    leave: (group, memberId) => groups.leave(group, memberId),
    commit: (group, req) => groups.commit(group, req),
    watch: (group, fn) => groups.watch(group, fn),
  }
}

export interface FanoutNode {
  /** Resolves a new subscription's partitions and the next offset of each. */
  plan(topic: string, partitions: number[] | undefined, from: StartPosition): Promise<StartPlan>
  /**
   * Records in [from, upTo) when `upTo` is the local log start (an edge's relay cache holds
   * only recent records). Without it, a cursor below the log start gets a `gap`.
   */
  readBefore?(partition: Partition, from: number, upTo: number, maxRecords: number, maxBytes: number): Promise<EarlierRange>
  produce(topic: string, records: ProduceRecord[], acks: Acks): Promise<PubResult[]>
  produceIdempotent(
    topic: string,
    partition: number,
    records: NewRecord[],
    acks: Acks,
    producer: ProducerId,
  ): Promise<{ partition: number; offsets: Array<number | null>; duplicate: boolean; heldAt?: string }>
  commitOffsets(group: string, offsets: Array<{ topic: string; partition: number; offset: number; metadata?: string }>): void | Promise<void>
  /**
   * Refuses a producer id that was not issued to `principal` (UNKNOWN_PRODUCER_ID, as if it did
   * not exist). Without it the hub's broker checks: an edge issues its clients' ids itself.
   */
  checkProducerOwner?(producerId: number, principal: string, anyOwner: boolean): void | Promise<void>
  /**
   * A subscription starts reading `partition` at `next` without a plan (a group member at its
   * committed offset): the node makes it readable from there (a cluster broker with no replica
   * of it starts copying it).
   */
  prepare?(partition: Partition, next: number): void
  /** Where a socket member's membership goes; default: this node's broker's coordinator. */
  readonly members?: MemberCoordinator
  /** False where there is no group coordinator (an edge relay): `sub` frames with a group are refused. */
  readonly groupSubscriptions?: boolean
  /** A topic's live subscriptions on this node changed (an edge keeps one upstream feed per topic while any exist). */
  subscriptionsChanged?(topic: string, count: number): void
}

/**
 * The fan-out of a broker: everything from its own logs. In a cluster, `commitOffsets` hands a
 * plain `commit` frame to the group's coordinator (which may be another broker).
 */
export function brokerNode(broker: Broker, commitOffsets?: FanoutNode['commitOffsets']): FanoutNode {
  return {
    plan: (topic, partitions, from) => planSubscription(broker, topic, partitions, from),
    produce: (topic, records, acks) => broker.produce(topic, records, acks),
    async produceIdempotent(topic, partition, records, acks, producer) {
      const r = await broker.produceIdempotent(topic, partition, records, acks, producer)
      return { partition: r.partition, offsets: records.map((_, i) => (r.baseOffset === null ? null : r.baseOffset + i)), duplicate: r.duplicate }
    },
    commitOffsets: commitOffsets ?? (async (group, offsets) => {
      await broker.groups.commit(group, { offsets })
    }),
    members: localMembers(broker.groups),
  }
}
