// One member of a consumer group as the coordinator tracks it (KIP-848). What it owns is
// `assigned` (given to it, not being taken back) plus `pending` (being revoked: it must stop
// processing them and say so in a heartbeat before anyone else may have them). Each owned
// partition remembers the member epoch in which the member got it, so a commit carrying an
// older epoch is still accepted for a partition held since then (KIP-1251).
import type { TpKey } from './topic-partitions.ts'

export interface Member {
  readonly memberId: string
  instanceId: string | null
  topics: string[]
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  memberEpoch: number
  previousMemberEpoch: number
  /** A static member that left: its partitions wait for its instance id to join again. */
  left: boolean
  /** Partition → the member epoch in which the member got it. */
  assigned: Map<TpKey, number>
  pending: Map<TpKey, number>
  /** The member's part of the group's target assignment. */
  target: Set<TpKey>
}

export type MemberState = 'stable' | 'unrevoked_partitions' | 'unreleased_partitions' | 'reconciling' | 'left'

export function memberState(m: Member, assignmentEpoch: number): MemberState {
  if (m.left) return 'left'
  if (m.pending.size > 0) return 'unrevoked_partitions'
  for (const tp of m.assigned.keys()) if (!m.target.has(tp)) return 'unrevoked_partitions'
  for (const tp of m.target) if (!m.assigned.has(tp)) return 'unreleased_partitions'
  return m.memberEpoch === assignmentEpoch ? 'stable' : 'reconciling'
}

/** The epoch in which the member got the partition, or undefined when it does not own it. */
export function ownedSince(m: Member, tp: TpKey): number | undefined {
  return m.assigned.get(tp) ?? m.pending.get(tp)
}
