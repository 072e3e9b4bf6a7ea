// The broker's wiring of the log cleaner (src/log/cleaner.ts): which partitions it works on,
// with which live policy, and where its results are counted. Separate because the cleaner knows
// logs, not topics, and this is the one place that translates between them.
import type { Runtime } from '../core/clock.ts'
import { LogCleaner, DEFAULT_CLEANER_OPTIONS, type CleanerTarget } from '../log/cleaner.ts'
import type { BrokerMetrics } from './broker-metrics.ts'
import type { BrokerOptions } from './broker-options.ts'
import type { Topic } from './broker-types.ts'
import { cleanerPolicy, effectiveConfig } from './topic-config.ts'

export function openCleaner(runtime: Runtime, options: BrokerOptions, m: BrokerMetrics, targets: () => CleanerTarget[]): LogCleaner {
  return new LogCleaner(
    runtime,
    {
      ...DEFAULT_CLEANER_OPTIONS,
      intervalMs: options.cleanerIntervalMs,
      batchesPerStep: options.cleanerBatchesPerStep,
      maxDecompressedBytes: options.maxBatchDecompressedBytes,
    },
    targets,
    {
      retention: (t, d) => {
        m.retentionBatches.inc({ topic: t.topic }, d.batches)
        if (d.bytesByTime > 0) m.retentionBytes.inc({ topic: t.topic, reason: 'time' }, d.bytesByTime)
        if (d.bytes > d.bytesByTime) m.retentionBytes.inc({ topic: t.topic, reason: 'size' }, d.bytes - d.bytesByTime)
      },
      compaction: (t, stats) => m.compaction(t.topic, stats),
      error: (t, err) => {
        m.cleanerErrors.inc({ topic: t.topic })
        options.logError(`edgelog: log cleaner failed on ${t.topic}-${t.partition}`, err)
      },
      run: (ms) => m.cleanerRun(ms),
    },
  )
}

/** Every partition of every topic this node holds, each with its topic's live cleanup policy. */
export function cleanerTargets(topics: ReadonlyMap<string, Topic>): CleanerTarget[] {
  const out: CleanerTarget[] = []
  for (const t of topics.values()) {
    const name = t.record.name
    for (const p of t.partitions) {
      out.push({
        topic: name,
        partition: p.index,
        log: p.log,
        highWatermark: () => p.highWatermark,
        // The live config: a PATCH applies at the next run.
        policy: () => cleanerPolicy(effectiveConfig(topics.get(name)?.record.config ?? t.record.config)),
      })
    }
  }
  return out
}
