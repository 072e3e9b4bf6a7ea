// The epoch → start offset table (KIP-101). Epochs and start offsets only ever grow (R2);
// every assignment is asserted so a bug can never write a cache that would mis-truncate.
import { assert } from '../core/errors.ts'

export interface EpochEntry {
  epoch: number
  startOffset: number
}

export class LeaderEpochCache {
  private readonly entries: EpochEntry[] = []

  constructor(entries: EpochEntry[] = []) {
    for (const e of entries) this.assign(e.epoch, e.startOffset)
  }

  get latest(): EpochEntry | undefined {
    return this.entries[this.entries.length - 1]
  }

  all(): readonly EpochEntry[] {
    return this.entries
  }

  /** Returns true when the entry is new (it must then be persisted). */
  assign(epoch: number, startOffset: number): boolean {
    const last = this.latest
    if (last && last.epoch === epoch) return false
    assert(!last || epoch > last.epoch, `leader epoch ${epoch} after ${last?.epoch}`)
    assert(!last || startOffset >= last.startOffset, `epoch start offset ${startOffset} after ${last?.startOffset}`)
    this.entries.push({ epoch, startOffset })
    return true
  }

  /**
   * The end offset of `epoch` as seen by this replica: the start offset of the first later
   * epoch, or logEndOffset for the latest one. For an epoch older than all known ones, the
   * answer is the start of the first known epoch (a follower truncates to it).
   */
  endOffsetFor(epoch: number, logEndOffset: number): { epoch: number; endOffset: number } {
    let found: EpochEntry | undefined
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i]!
      if (e.epoch > epoch) return found ? { epoch: found.epoch, endOffset: e.startOffset } : { epoch: -1, endOffset: e.startOffset }
      found = e
    }
    return found ? { epoch: found.epoch, endOffset: logEndOffset } : { epoch: -1, endOffset: logEndOffset }
  }

  /** Removes entries starting at or after `offset` (the log was truncated to `offset`). */
  truncateFromEnd(offset: number): EpochEntry[] {
    const removed: EpochEntry[] = []
    while (this.entries.length > 0 && this.latest!.startOffset >= offset) removed.push(this.entries.pop()!)
    return removed
  }
}
