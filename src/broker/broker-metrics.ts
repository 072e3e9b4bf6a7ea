// The broker's Prometheus series. Labels are bounded by what the node owns: topics and
// partitions it holds, a fixed set of error codes, reasons and codecs, and consumer groups with
// committed offsets on its partitions (at most MAX_LAG_SERIES of those series per scrape).
import type { Metrics } from '../core/metrics.ts'
import type { CompactionStats } from '../log/compaction.ts'

type Labels = Record<string, string | number>
type Series = Array<[Labels, number]>

/** Lag series rendered per scrape at most; the rest are counted in edgelog_consumer_lag_series_dropped. */
export const MAX_LAG_SERIES = 10_000

export interface PartitionView {
  topic: string
  partition: number
  logStartOffset: number
  logEndOffset: number
  highWatermark: number
  sizeBytes: number
}

export interface LagView {
  group: string
  topic: string
  partition: number
  committed: number
  lag: number
}

export interface BrokerMetricsSource {
  partitions(): PartitionView[]
  longPolls(): number
  /** Committed offsets with their lag, at most `limit` (plus whether more exist). */
  lag(limit: number): { series: LagView[]; dropped: number }
}

/** Why a request was refused with THROTTLED; quotas (issue 8, another branch) add theirs. */
export type ThrottleReason = 'long_polls' | 'partition_queue' | 'produce_bytes' | 'requests' | 'connections'

export class BrokerMetrics {
  readonly producedRecords
  readonly producedBytes
  readonly produceRequests
  readonly produceErrors
  readonly commits
  readonly fetchedRecords
  readonly fetchedBytes
  readonly fetchRequests
  readonly compressedBatches
  readonly throttled
  readonly retentionBatches
  readonly retentionBytes
  readonly compactionRuns
  readonly compactionRecordsRemoved
  readonly compactionTombstonesRemoved
  readonly compactionBytesReclaimed
  readonly compactionBatchesRewritten
  readonly cleanerRuns
  readonly cleanerErrors
  readonly decodeRefusals
  private lastCleanerRunSeconds = 0

  constructor(metrics: Metrics, source: BrokerMetricsSource) {
    this.producedRecords = metrics.counter('edgelog_produced_records_total', 'Records appended, per topic')
    this.producedBytes = metrics.counter('edgelog_produced_bytes_total', 'Record batch bytes appended (as stored, after compression), per topic')
    this.produceRequests = metrics.counter('edgelog_produce_requests_total', 'Produce requests accepted for appending, per topic')
    this.produceErrors = metrics.counter('edgelog_produce_errors_total', 'Produce failures, per topic and error code')
    this.commits = metrics.counter('edgelog_log_commits_total', 'Group commits (SQLite transactions) that appended records, per topic')
    this.fetchedRecords = metrics.counter('edgelog_fetched_records_total', 'Records returned by fetches, per topic')
    this.fetchedBytes = metrics.counter('edgelog_fetched_bytes_total', 'Stored batch bytes read by fetches, per topic')
    this.fetchRequests = metrics.counter('edgelog_fetch_requests_total', 'Fetch requests answered, per topic')
    this.compressedBatches = metrics.counter('edgelog_compressed_batches_total', 'Batches written compressed, per topic and codec')
    this.throttled = metrics.counter('edgelog_throttled_requests_total', 'Requests refused with THROTTLED, per reason')
    this.retentionBatches = metrics.counter('edgelog_retention_deleted_batches_total', 'Batches deleted by retention, per topic')
    this.retentionBytes = metrics.counter('edgelog_retention_deleted_bytes_total', 'Bytes deleted by retention, per topic and reason (time: retention.ms, size: retention.bytes)')
    this.compactionRuns = metrics.counter('edgelog_compaction_runs_total', 'Compaction passes completed, per topic')
    this.compactionRecordsRemoved = metrics.counter('edgelog_compaction_records_removed_total', 'Records removed by compaction (superseded, expired tombstones, keyless), per topic')
    this.compactionTombstonesRemoved = metrics.counter('edgelog_compaction_tombstones_removed_total', 'Tombstones removed after delete.retention.ms, per topic')
    this.compactionBytesReclaimed = metrics.counter('edgelog_compaction_bytes_reclaimed_total', 'Stored bytes freed by compaction, per topic')
    this.compactionBatchesRewritten = metrics.counter('edgelog_compaction_batches_rewritten_total', 'Batches rewritten (or removed, when emptied) by compaction, per topic')
    this.cleanerRuns = metrics.counter('edgelog_cleaner_runs_total', 'Log cleaner passes over every partition')
    this.cleanerErrors = metrics.counter('edgelog_cleaner_errors_total', 'Partitions the log cleaner failed on, per topic')
    this.decodeRefusals = metrics.counter('edgelog_decompression_refused_total', 'Stored batches refused because they decompress past the limit, per topic')
    metrics.gauge('edgelog_cleaner_last_run_seconds', 'Duration of the last log cleaner pass', () => [[{}, this.lastCleanerRunSeconds]])

    const per = (value: (p: PartitionView) => number) => (): Series => source.partitions().map((p) => [{ topic: p.topic, partition: p.partition }, value(p)])
    metrics.gauge('edgelog_partition_log_end_offset', 'Log end offset per partition', per((p) => p.logEndOffset))
    metrics.gauge('edgelog_partition_log_start_offset', 'Log start offset per partition', per((p) => p.logStartOffset))
    metrics.gauge('edgelog_partition_high_watermark', 'High watermark per partition', per((p) => p.highWatermark))
    metrics.gauge('edgelog_partition_size_bytes', 'Stored bytes per partition', per((p) => p.sizeBytes))
    metrics.gauge('edgelog_long_polls', 'Fetches waiting for data', () => [[{}, source.longPolls()]])
    // One query feeds the lag gauges of a scrape; the dropped count is read after them.
    let lastLag: { series: LagView[]; dropped: number } = { series: [], dropped: 0 }
    metrics.gauge('edgelog_consumer_group_committed_offset', 'Committed offset per consumer group and partition', () => {
      lastLag = source.lag(MAX_LAG_SERIES)
      return lastLag.series.map((l) => [{ group: l.group, topic: l.topic, partition: l.partition }, l.committed])
    })
    metrics.gauge('edgelog_consumer_group_lag', 'High watermark minus committed offset, per consumer group and partition', () =>
      lastLag.series.map((l) => [{ group: l.group, topic: l.topic, partition: l.partition }, l.lag]),
    )
    metrics.gauge('edgelog_consumer_lag_series_dropped', `Committed offsets left out of the lag series (more than ${MAX_LAG_SERIES})`, () => [[{}, lastLag.dropped]])
  }

  compaction(topic: string, s: CompactionStats): void {
    this.compactionRuns.inc({ topic })
    this.compactionRecordsRemoved.inc({ topic }, s.recordsRemoved)
    this.compactionTombstonesRemoved.inc({ topic }, s.tombstonesRemoved)
    this.compactionBytesReclaimed.inc({ topic }, Math.max(0, s.bytesBefore - s.bytesAfter))
    this.compactionBatchesRewritten.inc({ topic }, s.batchesRewritten + s.batchesRemoved)
  }

  cleanerRun(durationMs: number): void {
    this.cleanerRuns.inc()
    this.lastCleanerRunSeconds = durationMs / 1000
  }

  throttle(reason: ThrottleReason): void {
    this.throttled.inc({ reason })
  }
}
