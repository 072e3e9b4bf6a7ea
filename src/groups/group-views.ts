// What the coordinator reports about groups without changing them: committed offsets, lag,
// the group list and a group's description (Kafka's kafka-consumer-groups --describe, and the
// metrics). Read-only projections of the in-memory groups, apart from the code that changes
// them; offsets of deleted topics or partitions are left out of every view.
import type { GroupHost } from './group-host.ts'
import type { ConsumerGroup, GroupState } from './group.ts'
import { memberState } from './member.ts'
import { compareTpKeys, parseTpKey, toTopicPartitions, type TpKey } from './topic-partitions.ts'

/** Does the partition behind `tp` still exist (its topic may have been deleted since)? */
export function partitionExists(host: GroupHost, tp: TpKey): boolean {
  const { topic, partition } = parseTpKey(tp)
  const n = host.partitionCount(topic)
  return n !== undefined && partition < n
}

export function committedOffsets(
  g: ConsumerGroup,
  exists: (tp: TpKey) => boolean,
): Array<{ topic: string; partition: number; offset: number; metadata: string; commitTimestamp: number }> {
  return [...g.offsets]
    .filter(([tp]) => exists(tp))
    .sort(([a], [b]) => compareTpKeys(a, b))
    .map(([tp, v]) => ({ ...parseTpKey(tp), offset: v.offset, metadata: v.metadata, commitTimestamp: v.commitTimestamp }))
}

/** Lag of every partition with a commit or an owner: unread records below the high watermark. */
export async function groupLag(host: GroupHost, groupId: string, g: ConsumerGroup | undefined, exists: (tp: TpKey) => boolean) {
  const tps = new Set<TpKey>()
  if (g) {
    for (const tp of g.offsets.keys()) tps.add(tp)
    for (const tp of g.memberPartitions()) tps.add(tp)
  }
  const partitions = await Promise.all([...tps]
    .filter((tp) => exists(tp))
    .sort(compareTpKeys)
    .map(async (tp) => {
      const { topic, partition } = parseTpKey(tp)
      const pos = await host.positions(topic, partition)
      const committed = g!.offsets.get(tp)?.offset ?? null
      // With no commit a member starts at the log start (or later): everything there is unread.
      const from = committed ?? pos.logStartOffset
      return {
        topic,
        partition,
        committed,
        logStartOffset: pos.logStartOffset,
        highWatermark: pos.highWatermark,
        lag: Math.max(0, pos.highWatermark - from),
        owner: g!.ownerOf(tp) ?? null,
      }
    }))
  return { group: groupId, state: g?.state ?? 'Empty', partitions, totalLag: partitions.reduce((s, p) => s + p.lag, 0) }
}

/** Committed offsets of every group (for metrics), at most `limit`, in group, topic, partition order. */
export function allCommittedOffsets(
  groups: Iterable<ConsumerGroup>,
  limit: number,
  exists: (tp: TpKey) => boolean,
): { offsets: Array<{ group: string; topic: string; partition: number; offset: number }>; total: number } {
  const offsets: Array<{ group: string; topic: string; partition: number; offset: number }> = []
  let total = 0
  for (const g of [...groups].sort((a, b) => (a.groupId < b.groupId ? -1 : 1))) {
    const live = [...g.offsets].filter(([tp]) => exists(tp))
    total += live.length
    if (offsets.length >= limit) continue
    for (const [tp, v] of live.sort(([a], [b]) => compareTpKeys(a, b))) {
      if (offsets.length >= limit) break
      offsets.push({ group: g.groupId, ...parseTpKey(tp), offset: v.offset })
    }
  }
  return { offsets, total }
}

export function listGroups(groups: Iterable<ConsumerGroup>) {
  return [...groups]
    .sort((a, b) => (a.groupId < b.groupId ? -1 : 1))
    .map((g) => ({ group: g.groupId, state: g.state, members: g.members.size, groupEpoch: g.groupEpoch }))
}

/** A group's members and epochs; `coordinator` is its partition of the offsets topic. */
export function describeGroup(groupId: string, g: ConsumerGroup, coordinator: number | null) {
  const members = [...g.members.values()]
    .sort((a, b) => (a.memberId < b.memberId ? -1 : 1))
    .map((m) => ({
      memberId: m.memberId,
      instanceId: m.instanceId,
      memberEpoch: m.memberEpoch,
      state: memberState(m, g.assignmentEpoch),
      topics: m.topics,
      assignment: toTopicPartitions(m.assigned.keys()),
      pendingRevocation: toTopicPartitions(m.pending.keys()),
      targetAssignment: toTopicPartitions(m.target),
      sessionTimeoutMs: m.sessionTimeoutMs,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
    }))
  return {
    group: groupId,
    state: g.state as GroupState,
    protocol: 'consumer',
    assignor: 'uniform',
    groupEpoch: g.groupEpoch,
    assignmentEpoch: g.assignmentEpoch,
    coordinator,
    members,
  }
}
