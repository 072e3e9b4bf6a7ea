// The server-side assignor (KIP-848's "uniform" assignor): every partition of every subscribed
// topic goes to exactly one member subscribed to that topic; counts are balanced (with equal
// subscriptions they differ by at most one); it is sticky (a member keeps what it had unless
// balance needs it elsewhere, so a rebalance moves as few partitions as it can); and it is
// deterministic (the same members, subscriptions and previous assignment give the same answer,
// whatever order they arrive in), so every coordinator that replays the same log agrees.
import { compareTpKeys, tpKey, type TpKey } from './topic-partitions.ts'

export interface AssignorMember {
  memberId: string
  /** Subscribed topic names. */
  topics: readonly string[]
  /** The member's part of the previous target assignment. */
  previous: Iterable<TpKey>
}

/**
 * Computes the target assignment. `partitionCounts` holds the topics that exist; subscribed
 * topics missing from it contribute nothing.
 */
export function assignPartitions(
  members: readonly AssignorMember[],
  partitionCounts: ReadonlyMap<string, number>,
): Map<string, Set<TpKey>> {
  const ordered = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0))
  const subscribers = new Map<string, string[]>()
  for (const m of ordered) {
    for (const topic of new Set(m.topics)) {
      if (!partitionCounts.has(topic)) continue
      let list = subscribers.get(topic)
      if (!list) subscribers.set(topic, (list = []))
      list.push(m.memberId)
    }
  }
  const subscribed = new Map(ordered.map((m) => [m.memberId, new Set(m.topics)]))
  const result = new Map<string, Set<TpKey>>(ordered.map((m) => [m.memberId, new Set<TpKey>()]))
  const owner = new Map<TpKey, string>()
  const give = (tp: TpKey, memberId: string) => {
    owner.set(tp, memberId)
    result.get(memberId)!.add(tp)
  }

  // 1. Stickiness: a member keeps every previous partition that still exists and that it still
  //    subscribes to. Previous assignments are disjoint, but a replayed or hand-made input may
  //    not be: the first member (by id) keeps a contested partition.
  const previous = new Map<string, Set<TpKey>>()
  for (const m of ordered) {
    const kept = new Set<TpKey>()
    for (const tp of [...m.previous].sort(compareTpKeys)) {
      const at = tp.lastIndexOf(':')
      const topic = tp.slice(0, at)
      const partition = Number(tp.slice(at + 1))
      const count = partitionCounts.get(topic)
      if (count === undefined || !(partition < count) || !subscribed.get(m.memberId)!.has(topic) || owner.has(tp)) continue
      give(tp, m.memberId)
      kept.add(tp)
    }
    previous.set(m.memberId, kept)
  }

  // 2. Every unassigned partition goes to the least loaded member that can take it; partitions
  //    with the fewest candidates go first, so a narrow subscription is served before a wide one
  //    fills up.
  const unassigned: Array<{ tp: TpKey; candidates: string[] }> = []
  for (const [topic, candidates] of [...subscribers].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const count = partitionCounts.get(topic)!
    for (let p = 0; p < count; p++) {
      const tp = tpKey(topic, p)
      if (!owner.has(tp)) unassigned.push({ tp, candidates })
    }
  }
  unassigned.sort((a, b) => a.candidates.length - b.candidates.length || compareTpKeys(a.tp, b.tp))
  for (const { tp, candidates } of unassigned) {
    let best = candidates[0]!
    for (const c of candidates) if (result.get(c)!.size < result.get(best)!.size) best = c
    give(tp, best)
  }

  // 3. Balance: move a partition from a member to one with at least two fewer that subscribes
  //    to its topic, until no such move exists. Each move shrinks the spread, so this ends;
  //    partitions a member did not have before move first (they move anyway).
  for (;;) {
    const byLoad = [...ordered].sort((a, b) => result.get(b.memberId)!.size - result.get(a.memberId)!.size)
    let moved = false
    for (const from of byLoad) {
      const fromSet = result.get(from.memberId)!
      const targets = [...ordered]
        .filter((m) => result.get(m.memberId)!.size + 2 <= fromSet.size)
        .sort((a, b) => result.get(a.memberId)!.size - result.get(b.memberId)!.size)
      if (targets.length === 0) continue
      const candidates = [...fromSet].sort((a, b) => {
        const pa = previous.get(from.memberId)!.has(a) ? 1 : 0
        const pb = previous.get(from.memberId)!.has(b) ? 1 : 0
        return pa - pb || compareTpKeys(b, a)
      })
      for (const to of targets) {
        const topics = subscribed.get(to.memberId)!
        const tp = candidates.find((c) => topics.has(c.slice(0, c.lastIndexOf(':'))))
        if (tp === undefined) continue
        fromSet.delete(tp)
        result.get(to.memberId)!.add(tp)
        owner.set(tp, to.memberId)
        moved = true
        break
      }
      if (moved) break
    }
    if (!moved) return result
  }
}
