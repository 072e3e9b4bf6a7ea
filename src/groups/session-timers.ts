// The coordinator's per-member timers: the session timeout (a member not heard from for
// sessionTimeoutMs is removed) and the rebalance timeout (a member that holds partitions it
// must give up for longer than rebalanceTimeoutMs is removed). Kept apart from the request
// handling because only the timers know whether a fired timeout is still current: a heartbeat
// may have restarted one while its expiry waited in the group's queue.
import type { Timers, TimerHandle } from '../core/clock.ts'
import type { ConsumerGroup } from './group.ts'
import type { Member } from './member.ts'

export type ExpiryReason = 'session' | 'rebalance'

interface MemberTimers {
  session?: TimerHandle
  rebalance?: TimerHandle
}

export class SessionTimers {
  private readonly timers = new Map<string, Map<string, MemberTimers>>()
  private closed = false

  constructor(
    private readonly clock: Timers,
    /** A timer fired: the member is to be removed, unless something restarted it meanwhile. */
    private readonly expire: (groupId: string, memberId: string, why: ExpiryReason) => void,
  ) {}

  /** (Re)starts the member's session: it is removed if nothing is heard from it for sessionTimeoutMs. */
  armSession(g: ConsumerGroup, m: Member): void {
    if (this.closed) return
    const t = this.memberTimers(g.groupId, m.memberId)
    if (t.session) this.clock.clearTimeout(t.session)
    const handle = this.clock.setTimeout(() => {
      if (t.session !== handle) return
      t.session = undefined
      this.expire(g.groupId, m.memberId, 'session')
    }, m.sessionTimeoutMs)
    t.session = handle
  }

  /**
   * Rebalance timers follow the members: running while a member has partitions to give up.
   * `current` says whether `g` is still the group the coordinator holds under its id; when it
   * is not, every timer of the group stops.
   */
  sync(g: ConsumerGroup, current: boolean): void {
    const members = this.timers.get(g.groupId)
    if (members) {
      for (const [id, t] of members) {
        if (g.members.has(id) && current) continue
        this.clearTimers(t)
        members.delete(id)
      }
      if (members.size === 0) this.timers.delete(g.groupId)
    }
    if (this.closed || !current) return
    for (const m of g.members.values()) {
      const t = this.memberTimers(g.groupId, m.memberId)
      if (m.pending.size > 0 && !t.rebalance) {
        const handle = this.clock.setTimeout(() => {
          if (t.rebalance !== handle) return
          t.rebalance = undefined
          this.expire(g.groupId, m.memberId, 'rebalance')
        }, m.rebalanceTimeoutMs)
        t.rebalance = handle
      } else if (m.pending.size === 0 && t.rebalance) {
        this.clock.clearTimeout(t.rebalance)
        t.rebalance = undefined
      }
    }
  }

  /** Is the member's session timer running (restarted since an expiry was queued)? */
  hasSession(groupId: string, memberId: string): boolean {
    return this.timers.get(groupId)?.get(memberId)?.session !== undefined
  }

  /** Stops every timer of a group (it moved to another coordinator, or is being reloaded). */
  dropGroup(groupId: string): void {
    const members = this.timers.get(groupId)
    if (members) for (const t of members.values()) this.clearTimers(t)
    this.timers.delete(groupId)
  }

  /** Stops every timer and arms no new one. */
  close(): void {
    this.closed = true
    for (const members of this.timers.values()) {
      for (const t of members.values()) this.clearTimers(t)
    }
    this.timers.clear()
  }

  private memberTimers(groupId: string, memberId: string): MemberTimers {
    let members = this.timers.get(groupId)
    if (!members) this.timers.set(groupId, (members = new Map()))
    let t = members.get(memberId)
    if (!t) members.set(memberId, (t = {}))
    return t
  }

  private clearTimers(t: MemberTimers): void {
    if (t.session) this.clock.clearTimeout(t.session)
    if (t.rebalance) this.clock.clearTimeout(t.rebalance)
    t.session = undefined
    t.rebalance = undefined
  }
}
