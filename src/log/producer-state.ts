// Idempotent producer bookkeeping per partition (rules R6 and R7): per producer id, the
// current epoch, the last sequence appended and the last few batches, so that a retry of any
// of them is answered with its original offsets instead of being appended twice.
import { EdgelogError } from '../core/errors.ts'

/** Kafka keeps the last 5 batches per producer per partition; so do we. */
export const RECENT_BATCHES = 5

export interface RecentBatch {
  firstSeq: number
  lastSeq: number
  baseOffset: number
}

export interface ProducerEntry {
  producerId: number
  producerEpoch: number
  lastSequence: number
  recent: RecentBatch[]
  lastTimestamp: number
}

export type SequenceVerdict = { kind: 'append' } | { kind: 'duplicate'; baseOffset: number }

export class ProducerStateManager {
  private readonly committed = new Map<number, ProducerEntry>()
  /** Changes made inside the transaction being built; merged on commit, dropped on rollback. */
  private readonly staged = new Map<number, ProducerEntry>()

  load(entries: Iterable<ProducerEntry>): void {
    for (const e of entries) this.committed.set(e.producerId, e)
  }

  /** Every committed entry (a snapshot: safe to replace entries while iterating it). */
  entries(): ProducerEntry[] {
    return [...this.committed.values()]
  }

  get(producerId: number): ProducerEntry | undefined {
    return this.staged.get(producerId) ?? this.committed.get(producerId)
  }

  /** Decides whether a batch from an idempotent producer is appended, a duplicate, or refused. */
  check(producerId: number, producerEpoch: number, firstSeq: number, lastSeq: number): SequenceVerdict {
    const entry = this.get(producerId)
    if (entry === undefined || producerEpoch > entry.producerEpoch) {
      // A new producer, or a new epoch of a known one, starts its sequence at 0 (KIP-360:
      // a sequence reset only ever comes with an epoch bump).
      if (firstSeq !== 0) {
        throw new EdgelogError(
          'OUT_OF_ORDER_SEQUENCE_NUMBER',
          `producer ${producerId} epoch ${producerEpoch} must start at sequence 0, got ${firstSeq}`,
        )
      }
      return { kind: 'append' }
    }
    if (producerEpoch < entry.producerEpoch) {
      throw new EdgelogError(
        'INVALID_PRODUCER_EPOCH',
        `producer ${producerId} epoch ${producerEpoch} is fenced by epoch ${entry.producerEpoch}`,
      )
    }
    for (const b of entry.recent) {
      if (b.firstSeq === firstSeq && b.lastSeq === lastSeq) return { kind: 'duplicate', baseOffset: b.baseOffset }
    }
    if (firstSeq !== entry.lastSequence + 1) {
      throw new EdgelogError(
        'OUT_OF_ORDER_SEQUENCE_NUMBER',
        `producer ${producerId} expected sequence ${entry.lastSequence + 1}, got ${firstSeq}`,
      )
    }
    return { kind: 'append' }
  }

  /** Records an appended batch in the staged view and returns the entry to persist. */
  stage(producerId: number, producerEpoch: number, firstSeq: number, lastSeq: number, baseOffset: number, now: number): ProducerEntry {
    const prev = this.get(producerId)
    const recent = prev && prev.producerEpoch === producerEpoch ? prev.recent.slice(-(RECENT_BATCHES - 1)) : []
    recent.push({ firstSeq, lastSeq, baseOffset })
    const entry: ProducerEntry = { producerId, producerEpoch, lastSequence: lastSeq, recent, lastTimestamp: now }
    this.staged.set(producerId, entry)
    return entry
  }

  commit(): void {
    for (const [id, e] of this.staged) this.committed.set(id, e)
    this.staged.clear()
  }

  rollback(): void {
    this.staged.clear()
  }

  /** Replaces or removes one producer's committed state (rebuilt from the log after a truncation). */
  replace(producerId: number, entry: ProducerEntry | undefined): void {
    if (entry) this.committed.set(producerId, entry)
    else this.committed.delete(producerId)
  }

  /** Drops all state (the log was truncated or replaced; it is rebuilt from storage). */
  clear(): void {
    this.committed.clear()
    this.staged.clear()
  }
}
