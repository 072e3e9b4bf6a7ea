// The idempotent producer an edge ships as (DESIGN decision 6): one producer id obtained from
// the region (`POST /v1/producers`) and kept in edge.db, numbering its batches per partition.
// A new id (upstream forgot ours) or a new epoch (a sequence about to wrap) restarts every
// partition's sequence at 0 (KIP-360: sequences reset only with a new epoch or id).
import type { Runtime } from '../core/clock.ts'
import type { Metrics } from '../core/metrics.ts'
import type { EdgeStore, ProducerIdentity } from './edge-store.ts'
import type { Upstream } from './upstream.ts'

/** Kafka's sequence numbers are int32. */
export const MAX_SEQUENCE = 2 ** 31 - 1

/** What the producer needs to know of the partition shippers. */
export interface SequenceHolder {
  /** Sent and not yet confirmed: its fate upstream is unknown. */
  readonly hasInflight: boolean
  /** Every sequence restarts at 0 (in memory; edge.db was updated already). */
  resetSequences(): void
  wake(): void
}

export class EdgeProducer {
  private identity: ProducerIdentity | undefined
  /** Changes with every new id or epoch; a batch sent under an older one does not move sequences. */
  generation = 0
  private obtaining: Promise<ProducerIdentity> | undefined
  /** An epoch bump is waiting for every in-flight batch to be confirmed first. */
  private bumpPending = false
  private readonly m

  constructor(
    private readonly store: EdgeStore,
    private readonly upstream: Upstream,
    private readonly runtime: Runtime,
    private readonly holders: () => Iterable<SequenceHolder>,
    private readonly logError: (message: string, err?: unknown) => void,
    metrics: Metrics,
  ) {
    this.identity = store.producer()
    this.m = { resets: metrics.counter('edgelog_edge_producer_resets_total', 'New producer ids or epochs this edge took upstream, per reason (sequences restart at 0)') }
    metrics.gauge('edgelog_edge_producer_id', 'The producer id and epoch this edge ships as (-1 before it has one)', () => [
      [{ epoch: this.identity?.producerEpoch ?? -1 }, this.identity?.producerId ?? -1],
    ])
  }

  get current(): ProducerIdentity | undefined {
    return this.identity
  }

  /** New batches wait while an epoch bump waits for in-flight batches to settle. */
  get mayStartBatch(): boolean {
    return !this.bumpPending
  }

  /** The identity to ship under; obtained from upstream (and persisted) the first time. */
  ensure(): Promise<ProducerIdentity> {
    if (this.identity) return Promise.resolve(this.identity)
    this.obtaining ??= this.upstream
      .call((http) => http.initProducer(), { idempotent: true })
      .then(
        (answer) => {
          this.obtaining = undefined
          const identity = { producerId: answer.producerId, producerEpoch: answer.producerEpoch }
          // A first id starts sequences at 0 anyway; a replacement id must reset them.
          const replacing = this.generation > 0
          this.store.setProducer(identity, replacing)
          if (replacing) for (const h of this.holders()) h.resetSequences()
          this.identity = identity
          return identity
        },
        (err: unknown) => {
          this.obtaining = undefined
          throw err
        },
      )
    return this.obtaining
  }

  /**
   * Upstream does not know our producer id (its producer state was lost): nothing it holds can
   * be deduplicated against that id any more, so a new id is the only way on. Reported.
   */
  lost(usedId: number): void {
    if (this.identity?.producerId !== usedId) return // already replaced
    this.logError(`edgelog edge: upstream no longer knows producer id ${usedId}; taking a new id (sequences restart at 0)`)
    this.m.resets.inc({ reason: 'unknown_producer_id' })
    this.identity = undefined
    this.generation++
  }

  /** A partition's sequence would pass 2^31 - 1: bump the epoch once nothing is in flight. */
  requestEpochBump(): void {
    if (this.bumpPending) return
    this.bumpPending = true
    this.maybeBump()
  }

  /** Called when a shipper's in-flight batch settled. */
  settled(): void {
    if (this.bumpPending) this.maybeBump()
  }

  private maybeBump(): void {
    if (this.obtaining) return
    for (const h of this.holders()) if (h.hasInflight) return
    const id = this.identity?.producerId
    this.obtaining = this.upstream
      .call((http) => http.initProducer(id === undefined ? {} : { producerId: id }), { idempotent: false })
      .then(
        (answer) => {
          this.obtaining = undefined
          const identity = { producerId: answer.producerId, producerEpoch: answer.producerEpoch }
          this.store.setProducer(identity, true)
          this.generation++
          this.identity = identity
          this.bumpPending = false
          this.m.resets.inc({ reason: 'sequence_wrap' })
          for (const h of this.holders()) {
            h.resetSequences()
            h.wake()
          }
          return identity
        },
        (err: unknown) => {
          this.obtaining = undefined
          this.logError('edgelog edge: bumping the producer epoch upstream failed; retrying', err)
          this.runtime.timers.setTimeout(() => this.maybeBump(), 1000)
          throw err
        },
      )
    this.obtaining.catch(() => {})
  }
}
