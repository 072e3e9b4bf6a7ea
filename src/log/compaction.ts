// Log compaction (`cleanup.policy=compact`) for one partition log, after Kafka's LogCleaner:
// only the latest record per key survives, tombstones (null values) go once they are older than
// `delete.retention.ms`, records without a key go (a compacted topic refuses them on produce,
// but a topic switched from `delete` may hold some), and offsets never change: a rewritten batch
// keeps its base offset and last offset, and each survivor keeps its offset.
//
// The log is split, as in Kafka, at the cleaner checkpoint: below it is the clean section, which
// a previous pass left with at most one record per key; from it to the high watermark is the
// dirty section. A pass
//   1. reads the dirty section into a key -> latest offset map (bounded: when the map is full the
//      pass covers only the part of the dirty section it read, like Kafka's dedupe buffer);
//   2. rewrites every batch from the log start to the end of what the map covers, dropping
//      records whose key has a later offset in the map, expired tombstones and keyless records;
//   3. moves the checkpoint to the end of what it covered.
// The newest batch is the equivalent of Kafka's active segment: its keys are in the map, but it
// is never rewritten, so the log end offset cannot move; it stays dirty for the next pass.
// Batches are rewritten oldest first, so a crash between steps never leaves a tombstone removed
// while an older value of its key survives. Every step handles a bounded number of batches and
// then yields, so appends (which only add batches after the newest) never wait long.
import { decodeBatch, encodeRetainedBatch, compressBatch, readBatchHeader, type BatchRecord } from '../codec/record-batch.ts'
import { COMPRESSION } from '../codec/compression.ts'
import type { PartitionLog } from './partition-log.ts'

/** Batches read from SQLite at a time (a step may span several pages, or end inside one). */
const PAGE = 8

export interface CompactionOptions {
  now: number
  deleteRetentionMs: number
  /** Batches read or rewritten per step before yielding. */
  batchesPerStep: number
  /** A step also ends once it has run this long (milliseconds of `monotonic`). */
  stepBudgetMs?: number
  monotonic?: () => number
  /** Bounds of the key map (distinct keys, and their bytes). */
  maxKeys: number
  maxKeyBytes: number
  maxDecompressedBytes: number
  /** Lets other work run between steps (the cleaner passes a deferred resolve). */
  yieldNow: () => Promise<void>
}

export interface CompactionStats {
  batchesRead: number
  batchesRewritten: number
  batchesRemoved: number
  recordsRemoved: number
  tombstonesRemoved: number
  bytesBefore: number
  bytesAfter: number
  /** The new cleaner checkpoint. */
  cleanedUpTo: number
  /** The pass stopped early because the partition was closed (topic deleted, node stopping). */
  aborted: boolean
}

/** Keys as JavaScript strings, one char per byte: exact (no hashing, so no collisions). */
function keyString(key: Uint8Array): string {
  let out = ''
  for (let at = 0; at < key.length; at += 4096) {
    out += String.fromCharCode.apply(null, key.subarray(at, at + 4096) as unknown as number[])
  }
  return out
}

/** Bytes of dirty data (from the checkpoint, excluding the newest batch) over all stored bytes. */
export function dirtyRatio(log: PartitionLog): number {
  const last = log.lastBatch()
  if (!last || log.sizeBytes === 0) return 0
  const from = Math.max(log.cleanerCheckpoint, log.logStartOffset)
  if (from >= last.baseOffset) return 0
  const newest = log.batchIndex(last.baseOffset, 1)[0]?.sizeBytes ?? 0
  return (log.sizeFrom(from) - newest) / log.sizeBytes
}

export async function compactLog(log: PartitionLog, highWatermark: number, opts: CompactionOptions): Promise<CompactionStats> {
  const stats: CompactionStats = {
    batchesRead: 0,
    batchesRewritten: 0,
    batchesRemoved: 0,
    recordsRemoved: 0,
    tombstonesRemoved: 0,
    bytesBefore: log.sizeBytes,
    bytesAfter: log.sizeBytes,
    cleanedUpTo: log.cleanerCheckpoint,
    aborted: false,
  }
  const last = log.lastBatch()
  if (!last) return stats
  const start = log.logStartOffset
  const clock = opts.monotonic
  const budget = opts.stepBudgetMs ?? Infinity
  let stepStarted = clock?.() ?? 0
  let inStep = 0
  // A step ends after batchesPerStep batches or stepBudgetMs, whichever comes first.
  const afterBatch = async () => {
    inStep++
    if (inStep < opts.batchesPerStep && (clock === undefined || clock() - stepStarted < budget)) return
    await opts.yieldNow()
    inStep = 0
    stepStarted = clock?.() ?? 0
  }
  const dirtyStart = Math.max(log.cleanerCheckpoint, start)

  // 1. The key map over the dirty section, up to the high watermark.
  const latest = new Map<string, number>()
  let keyBytes = 0
  let mapEnd = dirtyStart
  let cursor = dirtyStart
  scan: for (;;) {
    const batches = log.batchesFrom(cursor, PAGE)
    if (batches.length === 0) break
    for (const b of batches) {
      if (b.lastOffset >= highWatermark) break scan
      const records = await decodeBatch(b.data, { maxDecompressedBytes: opts.maxDecompressedBytes })
      if (log.closed) return { ...stats, aborted: true }
      let newKeys = 0
      let newBytes = 0
      for (const r of records) {
        if (r.key !== null && !latest.has(keyString(r.key))) {
          newKeys++
          newBytes += r.key.length
        }
      }
      // A full map ends the pass's reach here; a batch is never half in the map. The first batch
      // always goes in (its keys are bounded by max.message.bytes), so every pass makes progress.
      if (stats.batchesRead > 0 && (latest.size + newKeys > opts.maxKeys || keyBytes + newBytes > opts.maxKeyBytes)) break scan
      for (const r of records) if (r.key !== null) latest.set(keyString(r.key), r.offset)
      keyBytes += newBytes
      stats.batchesRead++
      mapEnd = b.lastOffset + 1
      cursor = b.lastOffset + 1
      await afterBatch()
      if (log.closed) return { ...stats, aborted: true }
    }
  }

  // 2. Rewrite [start, cleanEnd): never the newest batch, never past what the map covers.
  const cleanEnd = Math.min(mapEnd, last.baseOffset)
  const horizon = opts.now - opts.deleteRetentionMs
  let tombstoneDue = -1
  cursor = start
  while (cursor < cleanEnd) {
    const batches = log.batchesFrom(cursor, PAGE)
    if (batches.length === 0) break
    for (const b of batches) {
      if (b.baseOffset >= cleanEnd) {
        cursor = cleanEnd
        break
      }
      cursor = b.lastOffset + 1
      const records = await decodeBatch(b.data, { maxDecompressedBytes: opts.maxDecompressedBytes })
      if (log.closed) return { ...stats, aborted: true }
      const kept: BatchRecord[] = []
      for (const r of records) {
        if (r.key === null) {
          stats.recordsRemoved++
          continue
        }
        const newest = latest.get(keyString(r.key))
        if (newest !== undefined && newest > r.offset) {
          stats.recordsRemoved++
          continue
        }
        if (r.value === null) {
          if (r.timestamp < horizon) {
            stats.recordsRemoved++
            stats.tombstonesRemoved++
            continue
          }
          const due = r.timestamp + opts.deleteRetentionMs + 1
          if (tombstoneDue < 0 || due < tombstoneDue) tombstoneDue = due
        }
        kept.push(r)
      }
      if (kept.length === records.length) {
        await afterBatch()
        if (log.closed) return { ...stats, aborted: true }
        continue
      }
      const header = readBatchHeader(b.data)
      let data: Uint8Array | null = null
      if (kept.length > 0) {
        data = encodeRetainedBatch(header, kept)
        // gzip is written again; snappy, lz4 and zstd cannot be written here, so they are kept
        // uncompressed (a reader sees the same records either way).
        if (header.compression === COMPRESSION.gzip) data = await compressBatch(data, COMPRESSION.gzip)
        if (log.closed) return { ...stats, aborted: true }
      }
      log.replaceBatch(b.baseOffset, data)
      if (data === null) stats.batchesRemoved++
      else stats.batchesRewritten++
      await afterBatch()
      if (log.closed) return { ...stats, aborted: true }
    }
  }
  // Tombstones in the part of the log this pass did not rewrite are found by a later pass.
  stats.cleanedUpTo = Math.max(log.cleanerCheckpoint, cleanEnd)
  log.setCleanerState(stats.cleanedUpTo, tombstoneDue)
  stats.bytesAfter = log.sizeBytes
  return stats
}
