// The controller's decision for one partition, as a pure function of its state and the live
// brokers. The rules, in order (RELIABILITY.md R3–R5, KIP-966):
// 1. A replica that restarted uncleanly since it was in sync may have lost records it had
//    acknowledged: it leaves the ISR and the ELR (it comes back through the leader, by catching
//    up, R5).
// 2. A dead broker leaves the ISR; if that leaves the ISR below min.insync.replicas it joins the
//    ELR (the high watermark cannot have moved since, so it holds every committed record).
// 3. A leader that is dead, or alive in another incarnation, is replaced: from the ISR, else the
//    ELR, else (only with unclean.leader.election.enable) any live replica, counted as unclean.
//    Preferred order is the replica list. Every change of leader bumps the leader epoch.
import type { BrokerRegistration, PartitionState, ReplicaRef } from './state.ts'

export interface ElectionInput {
  state: PartitionState
  /** Live brokers (their lease is alive) by id. */
  brokers: Map<number, BrokerRegistration>
  minInsyncReplicas: number
  uncleanLeaderElection: boolean
}

export interface ElectionDecision {
  next: PartitionState
  /** How the leader was chosen, when it changed. */
  election?: 'isr' | 'elr' | 'unclean' | 'none'
}

const has = (refs: ReplicaRef[], id: number) => refs.some((r) => r.id === id)

export function decidePartition({ state: s, brokers, minInsyncReplicas: min, uncleanLeaderElection }: ElectionInput): ElectionDecision | undefined {
  const live = (id: number) => brokers.has(id)
  const fenced = (r: ReplicaRef) => {
    const b = brokers.get(r.id)
    return b !== undefined && b.incarnation !== r.incarnation && b.unclean
  }
  // 1. uncleanly restarted replicas
  let isr = s.isr.filter((r) => !fenced(r))
  let elr = s.elr.filter((r) => !fenced(r))
  // 2. dead replicas
  const dead = isr.filter((r) => !live(r.id))
  isr = isr.filter((r) => live(r.id))
  if (isr.length < min) for (const r of dead) if (!has(elr, r.id)) elr.push(r)
  if (isr.length >= min) elr = []
  // 3. the leader
  const leaderReg = s.leader >= 0 ? brokers.get(s.leader) : undefined
  const leaderOk = leaderReg !== undefined && leaderReg.incarnation === s.leaderIncarnation && has(isr, s.leader)
  let next: PartitionState
  let election: ElectionDecision['election']
  if (leaderOk) {
    next = { ...s, isr, elr }
  } else {
    const pick = (refs: ReplicaRef[]) => {
      for (const id of s.replicas) {
        const r = refs.find((x) => x.id === id)
        if (r && live(r.id)) return r
      }
      return undefined
    }
    const fromIsr = pick(isr)
    const fromElr = fromIsr ? undefined : pick(elr)
    const uncleanId = fromIsr || fromElr || !uncleanLeaderElection ? undefined : s.replicas.find(live)
    const chosen = fromIsr?.id ?? fromElr?.id ?? uncleanId
    if (chosen === undefined) {
      // No replica may lead. The epoch moves once, when the leader goes, so a returning old
      // leader is fenced; the ISR and ELR stay as they are for whoever comes back first.
      if (s.leader === -1 && sameRefs(isr, s.isr) && sameRefs(elr, s.elr)) return undefined
      next = { ...s, leader: -1, leaderEpoch: s.leader === -1 ? s.leaderEpoch : s.leaderEpoch + 1, leaderIncarnation: -1, isr, elr }
      election = s.leader === -1 ? undefined : 'none'
    } else {
      const incarnation = brokers.get(chosen)!.incarnation
      const ref = { id: chosen, incarnation }
      if (fromIsr) {
        isr = isr.map((r) => (r.id === chosen ? ref : r))
        elr = elr.filter((r) => r.id !== chosen)
        election = 'isr'
      } else if (fromElr) {
        isr = [...isr, ref]
        elr = elr.filter((r) => r.id !== chosen)
        election = 'elr'
      } else {
        isr = [ref]
        elr = []
        election = 'unclean'
      }
      if (isr.length >= min) elr = []
      next = {
        ...s,
        leader: chosen,
        leaderEpoch: s.leaderEpoch + 1,
        leaderIncarnation: incarnation,
        isr,
        elr,
        uncleanElections: s.uncleanElections + (election === 'unclean' ? 1 : 0),
      }
    }
  }
  if (sameState(next, s)) return undefined
  return { next, election }
}

function sameRefs(a: ReplicaRef[], b: ReplicaRef[]): boolean {
  return a.length === b.length && a.every((r, i) => r.id === b[i]!.id && r.incarnation === b[i]!.incarnation)
}

function sameState(a: PartitionState, b: PartitionState): boolean {
  return (
    a.leader === b.leader &&
    a.leaderEpoch === b.leaderEpoch &&
    a.leaderIncarnation === b.leaderIncarnation &&
    a.uncleanElections === b.uncleanElections &&
    sameRefs(a.isr, b.isr) &&
    sameRefs(a.elr, b.elr)
  )
}

/**
 * Spreads replicas round-robin from a starting broker, with Kafka's rack-unaware rule: the
 * followers of a partition are shifted from its leader by distinct amounts in [1, n-1], and the
 * shift moves on with every full round, so partitions p and p+n have different followers.
 */
export function assignReplicas(brokerIds: number[], partitions: number, replicationFactor: number, start: number): number[][] {
  const ids = [...brokerIds].sort((a, b) => a - b)
  const n = ids.length
  const out: number[][] = []
  for (let p = 0; p < partitions; p++) {
    const first = (start + p) % n
    const shift = start + Math.floor(p / n)
    const replicas = [ids[first]!]
    for (let j = 0; j < replicationFactor - 1; j++) replicas.push(ids[(first + 1 + ((shift + j) % (n - 1))) % n]!)
    out.push(replicas)
  }
  return out
}
