// Wake-ups for group members that live in this process (WebSocket members): when a group's
// state changes they heartbeat at once instead of waiting for their interval, so a freed
// partition reaches its next owner without a heartbeat interval's delay. Apart from the
// coordinator because it is plain fan-out of a signal, with no group state of its own.
import type { Timers } from '../core/clock.ts'

export class GroupWatchers {
  private readonly watchers = new Map<string, Set<() => void>>()

  constructor(
    private readonly timers: Timers,
    private readonly logError: (err: unknown) => void,
  ) {}

  /** Calls `fn` (after the current turn) whenever the group's state changed; returns the unsubscribe function. */
  watch(groupId: string, fn: () => void): () => void {
    let set = this.watchers.get(groupId)
    if (!set) this.watchers.set(groupId, (set = new Set()))
    set.add(fn)
    return () => {
      set!.delete(fn)
      if (set!.size === 0 && this.watchers.get(groupId) === set) this.watchers.delete(groupId)
    }
  }

  notify(groupId: string): void {
    const set = this.watchers.get(groupId)
    if (!set || set.size === 0) return
    this.timers.defer(() => {
      for (const fn of [...(this.watchers.get(groupId) ?? [])]) {
        try {
          fn()
        } catch (err) {
          this.logError(err)
        }
      }
    })
  }
}
