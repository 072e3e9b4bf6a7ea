// The log cleaner: one background task that applies each partition's cleanup policy —
// retention (`delete`: retention.ms / retention.bytes) and compaction (`compact`) — every
// `intervalMs` (30 s by default, `--cleaner-interval-ms`). Work is done in bounded steps (a
// bounded number of batches per SQLite transaction) with a yield to the event loop between steps,
// so produce and fetch keep flowing while it runs. One run at a time; timers come from the
// Runtime port, so tests drive it with a manual clock.
import type { Runtime, TimerHandle } from '../core/clock.ts'
import { compactLog, dirtyRatio, type CompactionStats } from './compaction.ts'
import type { PartitionLog } from './partition-log.ts'
import { retentionDueAt, retentionStep } from './retention.ts'

export interface CleanerPolicy {
  /** cleanup.policy contains `delete` / `compact`. */
  delete: boolean
  compact: boolean
  retentionMs: number
  retentionBytes: number
  deleteRetentionMs: number
  minCleanableDirtyRatio: number
}

export interface CleanerTarget {
  topic: string
  partition: number
  log: PartitionLog
  highWatermark(): number
  /** Read at every run, so a config change applies at the next run. */
  policy(): CleanerPolicy
}

export interface CleanerOptions {
  intervalMs: number
  /** Batches deleted, read or rewritten per step. */
  batchesPerStep: number
  /** A compaction step also ends after this many milliseconds, so appends never wait longer. */
  stepBudgetMs: number
  maxKeys: number
  maxKeyBytes: number
  maxDecompressedBytes: number
}

export const DEFAULT_CLEANER_OPTIONS: CleanerOptions = {
  intervalMs: 30_000,
  batchesPerStep: 256,
  stepBudgetMs: 5,
  maxKeys: 500_000,
  maxKeyBytes: 64 * 1024 * 1024,
  maxDecompressedBytes: 64 * 1024 * 1024,
}

export interface CleanerEvents {
  retention?(t: CleanerTarget, deleted: { batches: number; bytes: number; bytesByTime: number }): void
  compaction?(t: CleanerTarget, stats: CompactionStats): void
  error?(t: CleanerTarget, err: unknown): void
  run?(durationMs: number): void
}

export interface CleanerRunStats {
  partitions: number
  retentionBatches: number
  retentionBytes: number
  compactions: number
  errors: number
}

export class LogCleaner {
  private timer: TimerHandle | undefined
  private running: Promise<CleanerRunStats> | undefined
  private stopped = false

  constructor(
    private readonly runtime: Runtime,
    readonly options: CleanerOptions,
    private readonly targets: () => CleanerTarget[],
    private readonly events: CleanerEvents = {},
  ) {}

  start(): void {
    this.stopped = false
    this.schedule()
  }

  stop(): void {
    this.stopped = true
    if (this.timer) this.runtime.timers.clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Runs one pass over every partition now (or joins the pass under way). */
  runOnce(): Promise<CleanerRunStats> {
    this.running ??= this.run().finally(() => (this.running = undefined))
    return this.running
  }

  private schedule(): void {
    if (this.stopped) return
    this.timer = this.runtime.timers.setTimeout(() => {
      this.timer = undefined
      void this.runOnce().finally(() => this.schedule())
    }, this.options.intervalMs)
  }

  /**
   * When a run next has work (epoch ms, at the earliest `now`), or undefined when none is due
   * until something is appended or a config changes. For a host that schedules runs itself
   * (a Durable Object's alarm) instead of `start()`'s timer, which an evicted object loses.
   */
  nextDue(only: (t: CleanerTarget) => boolean = () => true): number | undefined {
    const now = this.runtime.clock.now()
    let due: number | undefined
    const consider = (at: number | undefined) => {
      if (at === undefined) return
      const when = Math.max(now, at)
      if (due === undefined || when < due) due = when
    }
    for (const t of this.targets()) {
      if (t.log.closed || !only(t)) continue
      const policy = t.policy()
      if (policy.delete) consider(retentionDueAt(t.log, t.highWatermark(), policy, now))
      if (policy.compact) {
        const ratio = dirtyRatio(t.log)
        if (ratio > 0 && ratio >= policy.minCleanableDirtyRatio) consider(now)
        if (t.log.tombstoneDue >= 0) consider(t.log.tombstoneDue)
      }
    }
    return due
  }

  private yieldNow = (): Promise<void> => new Promise((resolve) => this.runtime.timers.defer(resolve))

  private async run(): Promise<CleanerRunStats> {
    const started = this.runtime.clock.monotonic()
    const stats: CleanerRunStats = { partitions: 0, retentionBatches: 0, retentionBytes: 0, compactions: 0, errors: 0 }
    for (const t of this.targets()) {
      if (this.stopped) break
      if (t.log.closed) continue
      stats.partitions++
      try {
        await this.clean(t, stats)
      } catch (err) {
        if (t.log.closed || this.stopped) continue // deleted or stopping mid-step: nothing to report
        stats.errors++
        this.events.error?.(t, err)
      }
      await this.yieldNow()
    }
    this.events.run?.(this.runtime.clock.monotonic() - started)
    return stats
  }

  private async clean(t: CleanerTarget, stats: CleanerRunStats): Promise<void> {
    const policy = t.policy()
    if (policy.delete) {
      const deleted = { batches: 0, bytes: 0, bytesByTime: 0 }
      for (;;) {
        if (this.stopped || t.log.closed) return
        const step = retentionStep(t.log, t.highWatermark(), policy, this.runtime.clock.now(), this.options.batchesPerStep)
        deleted.batches += step.batches
        deleted.bytes += step.bytes
        deleted.bytesByTime += step.bytesByTime
        if (!step.more) break
        await this.yieldNow()
      }
      if (deleted.batches > 0) {
        stats.retentionBatches += deleted.batches
        stats.retentionBytes += deleted.bytes
        this.events.retention?.(t, deleted)
      }
    }
    if (policy.compact && !this.stopped && !t.log.closed) {
      const now = this.runtime.clock.now()
      const due = t.log.tombstoneDue
      const ratio = dirtyRatio(t.log)
      if ((ratio > 0 && ratio >= policy.minCleanableDirtyRatio) || (due >= 0 && now >= due)) {
        const result = await compactLog(t.log, t.highWatermark(), {
          now,
          deleteRetentionMs: policy.deleteRetentionMs,
          batchesPerStep: this.options.batchesPerStep,
          stepBudgetMs: this.options.stepBudgetMs,
          monotonic: () => this.runtime.clock.monotonic(),
          maxKeys: this.options.maxKeys,
          maxKeyBytes: this.options.maxKeyBytes,
          maxDecompressedBytes: this.options.maxDecompressedBytes,
          yieldNow: this.yieldNow,
        })
        if (!result.aborted) {
          stats.compactions++
          this.events.compaction?.(t, result)
        }
      }
    }
  }
}
