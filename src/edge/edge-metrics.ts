// The edge's own series (README "Edge relays", Metrics). Gauges are read at scrape time from
// the shippers and the outbox, so what they say is what is true now: a partition whose records
// wait reports their age, and a stalled shipper reports since when, never zero.
import type { Metrics } from '../core/metrics.ts'
import type { Outbox } from './outbox.ts'
import type { PartitionShipper, ShipperMetrics } from './shipper.ts'

export class EdgeMetrics implements ShipperMetrics {
  readonly produceRequests
  readonly producedRecords
  readonly outboxFull
  private readonly shippedRecords
  private readonly shippedBytes
  private readonly shippedBatches
  private readonly duplicates
  private readonly shipErrors
  private readonly sequenceErrors

  constructor(metrics: Metrics, outbox: Outbox, shippers: () => Iterable<PartitionShipper>) {
    this.produceRequests = metrics.counter('edgelog_edge_produce_requests_total', 'Produce requests accepted at this edge, per topic and acks')
    this.producedRecords = metrics.counter('edgelog_edge_produced_records_total', 'Records accepted into the outbox, per topic')
    this.outboxFull = metrics.counter('edgelog_edge_outbox_full_total', 'Produces refused with OUTBOX_FULL, per topic')
    this.shippedRecords = metrics.counter('edgelog_edge_shipped_records_total', 'Records confirmed by upstream (acks=all) and released from the outbox, per topic')
    this.shippedBytes = metrics.counter('edgelog_edge_shipped_bytes_total', 'Key and value bytes of the records shipped, per topic')
    this.shippedBatches = metrics.counter('edgelog_edge_shipped_batches_total', 'Batches confirmed by upstream, per topic')
    this.duplicates = metrics.counter('edgelog_edge_shipped_duplicates_total', 'Batches upstream already had (a retry after a lost answer or a crash), per topic')
    this.shipErrors = metrics.counter('edgelog_edge_ship_errors_total', 'Failed shipping attempts, per topic and error code')
    this.sequenceErrors = metrics.counter(
      'edgelog_edge_sequence_errors_total',
      'Lost-sequence answers from upstream (OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH) per partition: shipping halts, nothing is skipped',
    )
    const per = (value: (s: PartitionShipper) => number) => () => {
      const out: Array<[Record<string, string | number>, number]> = []
      for (const s of shippers()) out.push([{ topic: s.op.topic, partition: s.op.index }, value(s)])
      return out
    }
    metrics.gauge('edgelog_edge_outbox_limit_bytes', 'The outbox limit (--outbox-bytes)', () => [[{}, outbox.limitBytes]])
    metrics.gauge('edgelog_edge_outbox_used_bytes', 'Bytes the outbox holds and has queued, all partitions', () => [[{}, outbox.usedBytes]])
    metrics.gauge('edgelog_edge_outbox_records', 'Outbox depth: records accepted and not yet confirmed upstream (shipping lag in records), per partition', per((s) => s.depth))
    metrics.gauge('edgelog_edge_outbox_bytes', 'Outbox depth in stored bytes, per partition', per((s) => s.op.log.sizeBytes))
    metrics.gauge('edgelog_edge_shipping_lag_seconds', 'Age of the oldest record not yet confirmed upstream (0 only when none waits), per partition', per((s) => round(s.lagSeconds())))
    metrics.gauge(
      'edgelog_edge_shipping_stalled_since_seconds',
      'Epoch seconds since when records have waited with nothing shipped (0: not stalled), per partition',
      per((s) => round(s.stalledSince())),
    )
    metrics.gauge('edgelog_edge_shipping_halted', 'Partitions whose shipping halted on an answer no retry can change, per error code (1)', () => {
      const out: Array<[Record<string, string | number>, number]> = []
      for (const s of shippers()) if (s.halted) out.push([{ topic: s.op.topic, partition: s.op.index, code: s.halted.code }, 1])
      return out
    })
  }

  shipped(topic: string, records: number, bytes: number, duplicate: boolean): void {
    this.shippedRecords.inc({ topic }, records)
    this.shippedBytes.inc({ topic }, bytes)
    this.shippedBatches.inc({ topic })
    if (duplicate) this.duplicates.inc({ topic })
  }

  error(topic: string, partition: number, code: string, lostSequence: boolean): void {
    this.shipErrors.inc({ topic, code })
    if (lostSequence) this.sequenceErrors.inc({ topic, partition, code })
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000
}
