// One partition replica's durable log: Kafka record batches stored whole in SQLite, with
// dense monotonic offsets, the leader epoch cache and idempotent producer state. Every append
// is one SQLite transaction, so after a crash a batch is either wholly there or not at all.
import type { SqlDriver, SqlRow } from '../../storage/driver.ts'
import { partitionMigrations } from '../../storage/migrations/index.ts'
import { migrate } from '../../storage/migrate.ts'
import { readBatchHeader, setBaseOffset, setPartitionLeaderEpoch, verifyBatchCrc, type BatchHeader } from '../codec/record-batch.ts'
import { assert, EdgelogError } from '../core/errors.ts'
import { LeaderEpochCache } from './leader-epoch-cache.ts'
import { ProducerStateManager, RECENT_BATCHES, type ProducerEntry, type RecentBatch } from './producer-state.ts'

export interface StoredBatch {
  baseOffset: number
  lastOffset: number
  data: Uint8Array
}

export interface AppendRequest {
  /** An encoded batch; its base offset and leader epoch are assigned by the log. */
  batch: Uint8Array
  header: BatchHeader
}

/** A batch's index row, without its bytes. */
export interface BatchIndexEntry {
  baseOffset: number
  lastOffset: number
  maxTimestamp: number
  sizeBytes: number
}

export type AppendResult =
  | { ok: true; baseOffset: number; lastOffset: number; duplicate: boolean }
  | { ok: false; error: EdgelogError }

/** Log recovery at open checks at most this many of the newest batches (plus none below the high watermark checkpoint). */
export const RECOVERY_BATCHES = 1000

const STATE_LOG_START = 'log_start_offset'
const STATE_HIGH_WATERMARK = 'high_watermark'
const STATE_CLEANER_CHECKPOINT = 'cleaner_checkpoint'
const STATE_TOMBSTONE_DUE = 'cleaner_tombstone_due'

export class PartitionLog {
  readonly epochs: LeaderEpochCache
  readonly producers = new ProducerStateManager()
  private _logStartOffset: number
  private _logEndOffset: number
  private _sizeBytes: number
  private _highWatermarkCheckpoint: number
  private _closed = false
  private readonly sql

  private constructor(readonly db: SqlDriver) {
    migrate(db, partitionMigrations)
    this.sql = {
      insertBatch: db.prepare(
        'INSERT INTO batches (base_offset, last_offset, leader_epoch, max_timestamp, producer_id, size_bytes, data) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      insertEpoch: db.prepare('INSERT INTO leader_epochs (epoch, start_offset) VALUES (?, ?)'),
      upsertProducer: db.prepare(
        'INSERT INTO producer_state (producer_id, producer_epoch, last_sequence, recent_batches, last_timestamp) VALUES (?, ?, ?, ?, ?) ' +
          'ON CONFLICT (producer_id) DO UPDATE SET producer_epoch = excluded.producer_epoch, last_sequence = excluded.last_sequence, ' +
          'recent_batches = excluded.recent_batches, last_timestamp = excluded.last_timestamp',
      ),
      setState: db.prepare('INSERT INTO partition_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      containing: db.prepare('SELECT base_offset, last_offset FROM batches WHERE base_offset <= ? ORDER BY base_offset DESC LIMIT 1'),
      getState: db.prepare('SELECT value FROM partition_state WHERE key = ?'),
      indexFrom: db.prepare('SELECT base_offset, last_offset, max_timestamp, size_bytes FROM batches WHERE base_offset >= ? ORDER BY base_offset LIMIT ?'),
      lastBatch: db.prepare('SELECT base_offset, last_offset FROM batches ORDER BY base_offset DESC LIMIT 1'),
      sizeBelow: db.prepare('SELECT COALESCE(SUM(size_bytes), 0) AS s, COUNT(*) AS n FROM batches WHERE base_offset < ?'),
      sizeFrom: db.prepare('SELECT COALESCE(SUM(size_bytes), 0) AS s FROM batches WHERE base_offset >= ?'),
      deleteBelow: db.prepare('DELETE FROM batches WHERE base_offset < ?'),
      batchAt: db.prepare('SELECT last_offset, size_bytes FROM batches WHERE base_offset = ?'),
      updateBatch: db.prepare('UPDATE batches SET data = ?, size_bytes = ?, max_timestamp = ? WHERE base_offset = ?'),
      deleteBatch: db.prepare('DELETE FROM batches WHERE base_offset = ?'),
      readFrom: db.prepare('SELECT base_offset, last_offset, leader_epoch, data FROM batches WHERE base_offset >= ? ORDER BY base_offset LIMIT ?'),
      recoveryStart: db.prepare('SELECT base_offset FROM batches ORDER BY base_offset DESC LIMIT 1 OFFSET ?'),
      deleteBatchesFrom: db.prepare('DELETE FROM batches WHERE base_offset >= ?'),
      deleteEpochsFrom: db.prepare('DELETE FROM leader_epochs WHERE start_offset >= ?'),
      firstEndingAtOrAfter: db.prepare('SELECT base_offset FROM batches WHERE last_offset >= ? ORDER BY base_offset LIMIT 1'),
      producersFrom: db.prepare('SELECT DISTINCT producer_id FROM batches WHERE base_offset >= ? AND producer_id >= 0'),
      latestOfProducer: db.prepare('SELECT data FROM batches WHERE producer_id = ? ORDER BY base_offset DESC LIMIT ?'),
      deleteProducer: db.prepare('DELETE FROM producer_state WHERE producer_id = ?'),
      byTimestamp: db.prepare(
        'SELECT base_offset, last_offset, leader_epoch, data FROM batches WHERE max_timestamp >= ? AND last_offset >= ? ORDER BY base_offset LIMIT 1',
      ),
    }
    const start = db.prepare('SELECT value FROM partition_state WHERE key = ?').get(STATE_LOG_START)
    const last = db.prepare('SELECT last_offset FROM batches ORDER BY base_offset DESC LIMIT 1').get()
    const first = db.prepare('SELECT base_offset FROM batches ORDER BY base_offset LIMIT 1').get()
    const size = db.prepare('SELECT COALESCE(SUM(size_bytes), 0) AS s FROM batches').get()
    this._logStartOffset = start ? Number(start.value) : first ? Number(first.base_offset) : 0
    this._logEndOffset = last ? Number(last.last_offset) + 1 : this._logStartOffset
    this._sizeBytes = Number(size!.s)
    const hw = db.prepare('SELECT value FROM partition_state WHERE key = ?').get(STATE_HIGH_WATERMARK)
    this._highWatermarkCheckpoint = Math.min(hw ? Number(hw.value) : this._logStartOffset, this._logEndOffset)
    this.epochs = new LeaderEpochCache(
      db.prepare('SELECT epoch, start_offset FROM leader_epochs ORDER BY epoch').all().map((r) => ({
        epoch: Number(r.epoch),
        startOffset: Number(r.start_offset),
      })),
    )
    this.producers.load(
      db.prepare('SELECT * FROM producer_state').all().map((r) => ({
        producerId: Number(r.producer_id),
        producerEpoch: Number(r.producer_epoch),
        lastSequence: Number(r.last_sequence),
        recent: JSON.parse(String(r.recent_batches)),
        lastTimestamp: Number(r.last_timestamp),
      })),
    )
  }

  /**
   * Opens a log and recovers its tail (Kafka's log recovery): the newest batches are checked and
   * a torn or corrupt tail (every batch from the first bad one on) is truncated, with the epochs
   * and producer state that referred to what is gone. `recovered` says what recovery removed. A
   * bad batch with whole ones after it is a flipped bit, not a torn write: it is left, and
   * marked (corruptAt).
   */
  static open(db: SqlDriver): PartitionLog {
    const log = new PartitionLog(db)
    log.recover()
    return log
  }

  /** What recovery at open removed: batches truncated from a torn or corrupt tail, and stale epochs/producer entries. */
  recovered: { truncatedFrom: number | undefined; batches: number; inconsistencies: number } = { truncatedFrom: undefined, batches: 0, inconsistencies: 0 }

  /**
   * The lowest base offset of a stored batch found corrupt since the log opened (by a read or
   * the scrubber); cleared when truncation removes it. A replica that finds one must not serve
   * or lead until it has truncated there and fetched the rest again (src/replication/replica.ts).
   */
  get corruptAt(): number | undefined {
    return this._corruptAt
  }
  private _corruptAt: number | undefined
  /** Told once per corrupt batch found (replication fences the replica). */
  onCorrupt: ((baseOffset: number) => void) | undefined

  private recover(): void {
    const last = this.sql.lastBatch.get()
    if (last) {
      // The newest batches (at most RECOVERY_BATCHES of them) and everything above the last
      // known high watermark: a torn write can only be in what was written last.
      const deepest = this.sql.recoveryStart.get(RECOVERY_BATCHES - 1)
      const from = Math.max(Math.min(this._highWatermarkCheckpoint, Number(last.base_offset)), deepest ? Number(deepest.base_offset) : 0)
      let cursor = this.firstBaseFor(from)
      let bad: number | undefined
      let wholeAfterBad = false
      scan: for (;;) {
        const rows = this.sql.readFrom.all(cursor, 64)
        if (rows.length === 0) break
        for (const row of rows) {
          const problem = storedBatchProblem(row) !== undefined
          if (problem && bad === undefined) bad = Number(row.base_offset)
          if (!problem && bad !== undefined) {
            wholeAfterBad = true
            break scan
          }
          cursor = Number(row.last_offset) + 1
        }
      }
      if (bad !== undefined && wholeAfterBad) {
        // Whole batches after a bad one: not a torn write but a flipped bit. Nothing is cut
        // (on one node the records after it stay readable); the replica repairs it
        // (src/replication/replica.ts), a single node answers CORRUPT_MESSAGE for it.
        this._corruptAt = bad
      } else if (bad !== undefined) {
        const before = this._logEndOffset
        const n = Number(this.db.prepare('SELECT COUNT(*) AS n FROM batches WHERE base_offset >= ?').get(bad)!.n)
        this.truncateTo(bad)
        this.recovered = { truncatedFrom: bad, batches: n, inconsistencies: 0 }
        assert(this._logEndOffset <= before, 'recovery only shortens the log')
      }
    }
    // Rows missing at the tail (a truncated file): epochs that start past the log end and
    // producer state pointing at batches that are gone would make this replica claim records it
    // does not have.
    const end = this._logEndOffset
    let inconsistencies = 0
    if ((this.epochs.latest?.startOffset ?? -1) > end) {
      this.db.transaction(() => this.sql.deleteEpochsFrom.run(end + 1))
      this.epochs.truncateFromEnd(end + 1)
      inconsistencies++
    }
    for (const entry of this.producers.entries()) {
      if (!entry.recent.some((b) => b.baseOffset >= end)) continue
      const rebuilt = this.producerFromLog(entry.producerId)
      this.db.transaction(() => {
        if (rebuilt) this.sql.upsertProducer.run(rebuilt.producerId, rebuilt.producerEpoch, rebuilt.lastSequence, JSON.stringify(rebuilt.recent), rebuilt.lastTimestamp)
        else this.sql.deleteProducer.run(entry.producerId)
      })
      this.producers.replace(entry.producerId, rebuilt)
      inconsistencies++
    }
    if (inconsistencies > 0) this.recovered = { ...this.recovered, inconsistencies }
  }

  get logStartOffset(): number {
    return this._logStartOffset
  }
  get logEndOffset(): number {
    return this._logEndOffset
  }
  get sizeBytes(): number {
    return this._sizeBytes
  }
  /** The high watermark last written with an append (replicated partitions only). */
  get highWatermarkCheckpoint(): number {
    return this._highWatermarkCheckpoint
  }
  /** The leader epoch of the newest entry in the epoch cache, -1 when there is none. */
  get latestEpoch(): number {
    return this.epochs.latest?.epoch ?? -1
  }

  /**
   * Appends batches as the partition leader in one transaction: each gets the next offsets and
   * the leader epoch. Idempotent producer batches are checked against the producer state;
   * a refused or duplicate batch does not stop the others. If the transaction fails, nothing
   * was appended and every request fails with the same error.
   */
  appendAsLeader(requests: AppendRequest[], leaderEpoch: number, now: number, highWatermark?: number): AppendResult[] {
    const results: AppendResult[] = []
    const start = this._logEndOffset
    const latestEpoch = this.epochs.latest?.epoch ?? -1
    assert(leaderEpoch >= latestEpoch, `append in epoch ${leaderEpoch} after epoch ${latestEpoch}`)
    const newEpoch = leaderEpoch !== latestEpoch
    let next = start
    let added = 0
    try {
      this.db.transaction(() => {
        if (newEpoch) this.sql.insertEpoch.run(leaderEpoch, start)
        if (highWatermark !== undefined) this.sql.setState.run(STATE_HIGH_WATERMARK, Math.min(highWatermark, start))
        for (const { batch, header } of requests) {
          const count = header.lastOffsetDelta + 1
          let persist: ProducerEntry | undefined
          if (header.producerId >= 0) {
            const firstSeq = header.baseSequence
            const lastSeq = firstSeq + count - 1
            let verdict
            try {
              verdict = this.producers.check(header.producerId, header.producerEpoch, firstSeq, lastSeq)
            } catch (err) {
              if (!(err instanceof EdgelogError)) throw err
              results.push({ ok: false, error: err })
              continue
            }
            if (verdict.kind === 'duplicate') {
              results.push({ ok: true, baseOffset: verdict.baseOffset, lastOffset: verdict.baseOffset + count - 1, duplicate: true })
              continue
            }
            persist = this.producers.stage(header.producerId, header.producerEpoch, firstSeq, lastSeq, next, now)
          }
          setBaseOffset(batch, next)
          setPartitionLeaderEpoch(batch, leaderEpoch)
          const last = next + count - 1
          this.sql.insertBatch.run(next, last, leaderEpoch, header.maxTimestamp, header.producerId, batch.byteLength, batch)
          if (persist) {
            this.sql.upsertProducer.run(
              persist.producerId,
              persist.producerEpoch,
              persist.lastSequence,
              JSON.stringify(persist.recent),
              persist.lastTimestamp,
            )
          }
          results.push({ ok: true, baseOffset: next, lastOffset: last, duplicate: false })
          next = last + 1
          added += batch.byteLength
        }
      })
    } catch (err) {
      this.producers.rollback()
      const error = new EdgelogError('KAFKA_STORAGE_ERROR', 'the partition log could not be written')
      ;(error as { cause?: unknown }).cause = err
      return requests.map(() => ({ ok: false, error }))
    }
    this.producers.commit()
    if (newEpoch) this.epochs.assign(leaderEpoch, start)
    if (highWatermark !== undefined) this._highWatermarkCheckpoint = Math.min(highWatermark, start)
    assert(next >= start, 'log end offset moves forward')
    this._logEndOffset = next
    this._sizeBytes += added
    return results
  }

  /**
   * Batches holding offsets in [from, upTo), at most maxBytes of them but always at least one
   * batch when one exists (a batch larger than maxBytes must never stall a consumer).
   * Every batch's CRC is checked: a corrupt batch is an error, never data (the batches before
   * it are returned; a read that starts at it throws CORRUPT_MESSAGE).
   */
  read(from: number, upTo: number, maxBytes: number): StoredBatch[] {
    if (from >= upTo || from >= this._logEndOffset) return []
    // The batch holding `from`, unless `from` falls in a gap that compaction left between batches.
    const containing = this.sql.containing.get(from)
    const start = containing && Number(containing.last_offset) >= from ? Number(containing.base_offset) : from
    const out: StoredBatch[] = []
    let bytes = 0
    let cursor = start
    // Read in pages so a large maxBytes never loads an unbounded number of rows at once.
    for (;;) {
      const rows = this.sql.readFrom.all(cursor, 64)
      if (rows.length === 0) return out
      for (const row of rows) {
        if (Number(row.base_offset) >= upTo) return out
        let batch
        try {
          batch = this.toBatch(row)
        } catch (err) {
          // The whole batches before a corrupt one are served; the read that starts at it fails.
          if (out.length > 0 && err instanceof EdgelogError && err.code === 'CORRUPT_MESSAGE') return out
          throw err
        }
        if (out.length > 0 && bytes + batch.data.byteLength > maxBytes) return out
        out.push(batch)
        bytes += batch.data.byteLength
        cursor = batch.lastOffset + 1
        if (bytes >= maxBytes) return out
      }
    }
  }

  /** Up to `limit` whole batches holding offsets ≥ from, CRC-checked, in offset order. */
  batchesFrom(from: number, limit: number): StoredBatch[] {
    return this.sql.readFrom.all(this.firstBaseFor(from), limit).map((row) => this.toBatch(row))
  }

  /** Index rows (no data) of up to `limit` batches holding offsets ≥ from, in offset order. */
  batchIndex(from: number, limit: number): BatchIndexEntry[] {
    return this.sql.indexFrom.all(this.firstBaseFor(from), limit).map((r) => ({
      baseOffset: Number(r.base_offset),
      lastOffset: Number(r.last_offset),
      maxTimestamp: Number(r.max_timestamp),
      sizeBytes: Number(r.size_bytes),
    }))
  }

  /** The base offset to scan from so that the batch holding `from` (if any) is included. */
  private firstBaseFor(from: number): number {
    const containing = this.sql.containing.get(from)
    return containing && Number(containing.last_offset) >= from ? Number(containing.base_offset) : from
  }

  /** The newest batch's offsets, if the log holds any batch. */
  lastBatch(): { baseOffset: number; lastOffset: number } | undefined {
    const r = this.sql.lastBatch.get()
    return r ? { baseOffset: Number(r.base_offset), lastOffset: Number(r.last_offset) } : undefined
  }

  /** Stored bytes of the batches whose base offset is ≥ from. */
  sizeFrom(from: number): number {
    return Number(this.sql.sizeFrom.get(from)!.s)
  }

  /** The first batch with a record whose timestamp is ≥ ts, at or after `from`. */
  firstBatchWithTimestamp(ts: number, from: number): StoredBatch | undefined {
    const row = this.sql.byTimestamp.get(ts, from)
    return row ? this.toBatch(row) : undefined
  }

  private toBatch(row: SqlRow): StoredBatch {
    const data = row.data as Uint8Array
    const baseOffset = Number(row.base_offset)
    const problem = storedBatchProblem(row)
    if (problem !== undefined) {
      this.markCorrupt(baseOffset)
      throw new EdgelogError('CORRUPT_MESSAGE', `the batch at offset ${baseOffset} ${problem}`)
    }
    return { baseOffset, lastOffset: Number(row.last_offset), data }
  }

  private markCorrupt(baseOffset: number): void {
    if (this._corruptAt !== undefined && this._corruptAt <= baseOffset) return
    this._corruptAt = baseOffset
    this.onCorrupt?.(baseOffset)
  }

  /**
   * Checks up to `maxBatches` stored batches from `from` (a background scrub: a bit flip in a
   * batch nobody reads is found before this replica can be elected with it). Returns where the
   * next pass continues (the log start again once it reached the end).
   */
  scrub(from: number, maxBatches: number): number {
    if (this._closed) return from
    const rows = this.sql.readFrom.all(this.firstBaseFor(Math.max(from, this._logStartOffset)), maxBatches)
    for (const row of rows) {
      if (storedBatchProblem(row) !== undefined) {
        this.markCorrupt(Number(row.base_offset))
        return this._logStartOffset
      }
    }
    return rows.length < maxBatches ? this._logStartOffset : Number(rows.at(-1)!.last_offset) + 1
  }

  /**
   * Advances the log start offset (retention, or a consumer-visible delete of old records) and
   * deletes every batch that lies wholly below it; a batch holding the new start stays (reads
   * skip its head). Returns what was deleted. Retention passes a batch boundary (the offset
   * after a batch's last), so that only whole batches ever go.
   */
  advanceLogStart(offset: number): { batches: number; bytes: number } {
    this.checkOpen()
    if (offset <= this._logStartOffset) return { batches: 0, bytes: 0 }
    assert(offset <= this._logEndOffset, 'log start offset never passes the log end')
    // Every batch whose base is below `keepFrom` ends below `offset`: batches never overlap.
    const containing = this.sql.containing.get(offset)
    const keepFrom = containing && Number(containing.last_offset) >= offset ? Number(containing.base_offset) : offset
    let deleted = { batches: 0, bytes: 0 }
    this.db.transaction(() => {
      const below = this.sql.sizeBelow.get(keepFrom)!
      deleted = { batches: Number(below.n), bytes: Number(below.s) }
      this.sql.deleteBelow.run(keepFrom)
      this.sql.setState.run(STATE_LOG_START, offset)
    })
    this._logStartOffset = offset
    this._sizeBytes -= deleted.bytes
    assert(this._sizeBytes >= 0, 'partition size stays non-negative')
    return deleted
  }

  /**
   * Compaction's write: replaces the batch at `baseOffset` with `data` (the same base offset and
   * last offset, fewer records), or deletes it when `data` is null. The newest batch is never
   * touched, so the log end offset (and so the high watermark) cannot move.
   */
  replaceBatch(baseOffset: number, data: Uint8Array | null): void {
    this.checkOpen()
    const last = this.lastBatch()
    assert(last !== undefined && baseOffset < last.baseOffset, `compaction never rewrites the newest batch (${baseOffset})`)
    let delta = 0
    this.db.transaction(() => {
      const row = this.sql.batchAt.get(baseOffset)
      assert(row !== undefined, `batch ${baseOffset} exists`)
      if (data === null) {
        this.sql.deleteBatch.run(baseOffset)
        delta = -Number(row.size_bytes)
        return
      }
      const header = readBatchHeader(data)
      assert(header.baseOffset === baseOffset && header.baseOffset + header.lastOffsetDelta === Number(row.last_offset), 'a rewritten batch keeps its offsets')
      this.sql.updateBatch.run(data, data.byteLength, header.maxTimestamp, baseOffset)
      delta = data.byteLength - Number(row.size_bytes)
    })
    this._sizeBytes += delta
  }

  /** Where the next compaction pass starts reading new (dirty) data; see src/log/compaction.ts. */
  get cleanerCheckpoint(): number {
    return Number(this.sql.getState.get(STATE_CLEANER_CHECKPOINT)?.value ?? 0)
  }

  /** When the oldest tombstone kept by the last compaction pass may be removed (epoch ms), or -1. */
  get tombstoneDue(): number {
    return Number(this.sql.getState.get(STATE_TOMBSTONE_DUE)?.value ?? -1)
  }

  setCleanerState(checkpoint: number, tombstoneDue: number): void {
    this.checkOpen()
    this.db.transaction(() => {
      this.sql.setState.run(STATE_CLEANER_CHECKPOINT, checkpoint)
      this.sql.setState.run(STATE_TOMBSTONE_DUE, tombstoneDue)
    })
  }

  get closed(): boolean {
    return this._closed
  }

  private checkOpen(): void {
    if (this._closed) throw new EdgelogError('UNKNOWN_TOPIC_OR_PARTITION', 'the partition log is closed')
  }

  // ---- replication (KIP-101 / KIP-279) ----

  /**
   * Records that this replica leads from `epoch` on, starting at the log end (Kafka writes the
   * entry at election, so OffsetsForLeaderEpoch answers right even before the first append).
   */
  beginLeaderEpoch(epoch: number): void {
    this.checkOpen()
    const latest = this.latestEpoch
    assert(epoch >= latest, `leading in epoch ${epoch} after epoch ${latest} is in the log`)
    if (epoch === latest) return
    const start = this._logEndOffset
    this.db.transaction(() => this.sql.insertEpoch.run(epoch, start))
    this.epochs.assign(epoch, start)
  }

  /** The end offset of `epoch` on this replica: the start of the next epoch, or the log end. */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    return this.epochs.endOffsetFor(epoch, this._logEndOffset)
  }

  /**
   * Appends batches fetched from the leader, keeping the leader's offsets and epochs. The
   * batches must continue this log exactly; idempotent producer state is derived from their
   * producer fields and written in the same transaction, so it fails over with the log.
   * Nothing is written when one batch is refused.
   */
  appendAsFollower(batches: Uint8Array[], highWatermark: number): { records: number; bytes: number } {
    this.checkOpen()
    let next = this._logEndOffset
    let latest = this.latestEpoch
    const planned: Array<{ data: Uint8Array; header: BatchHeader }> = []
    const newEpochs: Array<{ epoch: number; startOffset: number }> = []
    for (const data of batches) {
      if (!verifyBatchCrc(data)) throw new EdgelogError('CORRUPT_MESSAGE', `a replicated batch at offset ${next} failed its CRC check`)
      const header = readBatchHeader(data)
      // A gap is possible only where compaction removed whole batches on the leader.
      if (header.baseOffset < next || (header.baseOffset > next && planned.length > 0)) {
        throw new EdgelogError('CORRUPT_MESSAGE', `a replicated batch starts at ${header.baseOffset}, the log ends at ${next}`)
      }
      if (header.partitionLeaderEpoch < latest) {
        throw new EdgelogError('CORRUPT_MESSAGE', `a replicated batch of epoch ${header.partitionLeaderEpoch} follows epoch ${latest}`)
      }
      if (header.partitionLeaderEpoch > latest) {
        latest = header.partitionLeaderEpoch
        newEpochs.push({ epoch: latest, startOffset: next })
      }
      planned.push({ data: data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice(), header })
      next = header.baseOffset + header.lastOffsetDelta + 1
    }
    if (planned.length === 0) return { records: 0, bytes: 0 }
    const start = this._logEndOffset
    const checkpoint = Math.max(0, Math.min(highWatermark, next))
    let bytes = 0
    try {
      this.db.transaction(() => {
        for (const e of newEpochs) this.sql.insertEpoch.run(e.epoch, e.startOffset)
        for (const { data, header } of planned) {
          const last = header.baseOffset + header.lastOffsetDelta
          this.sql.insertBatch.run(header.baseOffset, last, header.partitionLeaderEpoch, header.maxTimestamp, header.producerId, data.byteLength, data)
          if (header.producerId >= 0) {
            const e = this.producers.stage(
              header.producerId,
              header.producerEpoch,
              header.baseSequence,
              header.baseSequence + header.lastOffsetDelta,
              header.baseOffset,
              header.maxTimestamp,
            )
            this.sql.upsertProducer.run(e.producerId, e.producerEpoch, e.lastSequence, JSON.stringify(e.recent), e.lastTimestamp)
          }
          bytes += data.byteLength
        }
        this.sql.setState.run(STATE_HIGH_WATERMARK, checkpoint)
      })
    } catch (err) {
      this.producers.rollback()
      const error = new EdgelogError('KAFKA_STORAGE_ERROR', 'the partition log could not be written')
      ;(error as { cause?: unknown }).cause = err
      throw error
    }
    this.producers.commit()
    for (const e of newEpochs) this.epochs.assign(e.epoch, e.startOffset)
    this._logEndOffset = next
    this._sizeBytes += bytes
    this._highWatermarkCheckpoint = checkpoint
    return { records: next - start, bytes }
  }

  /**
   * Removes every batch holding an offset ≥ `offset` (a batch straddling it goes whole, as in
   * Kafka) and the epochs that started there, and rebuilds the state of every producer that had
   * batches in the removed suffix from its remaining batches. Returns the new log end offset.
   */
  truncateTo(offset: number): number {
    this.checkOpen()
    if (offset >= this._logEndOffset) {
      // No records go, but an epoch begun at the log end and never written to does (a former
      // leader's entry): it would make this replica claim an epoch the new leader never had.
      if (offset === this._logEndOffset && (this.epochs.latest?.startOffset ?? -1) >= offset) {
        this.db.transaction(() => this.sql.deleteEpochsFrom.run(offset))
        this.epochs.truncateFromEnd(offset)
      }
      return this._logEndOffset
    }
    const first = this.sql.firstEndingAtOrAfter.get(offset)
    const end = first ? Math.min(Number(first.base_offset), offset) : offset
    const affected = this.sql.producersFrom.all(end).map((r) => Number(r.producer_id))
    const rebuilt = new Map<number, ProducerEntry | undefined>()
    this.db.transaction(() => {
      this.sql.deleteBatchesFrom.run(end)
      this.sql.deleteEpochsFrom.run(end)
      for (const id of affected) {
        const entry = this.producerFromLog(id)
        rebuilt.set(id, entry)
        if (entry) this.sql.upsertProducer.run(entry.producerId, entry.producerEpoch, entry.lastSequence, JSON.stringify(entry.recent), entry.lastTimestamp)
        else this.sql.deleteProducer.run(id)
      }
      if (end < this._logStartOffset) this.sql.setState.run(STATE_LOG_START, end)
      if (this._highWatermarkCheckpoint > end) this.sql.setState.run(STATE_HIGH_WATERMARK, end)
    })
    for (const [id, entry] of rebuilt) this.producers.replace(id, entry)
    this.epochs.truncateFromEnd(end)
    if (this._corruptAt !== undefined && this._corruptAt >= end) this._corruptAt = undefined
    this._logEndOffset = end
    if (end < this._logStartOffset) this._logStartOffset = end
    this._highWatermarkCheckpoint = Math.min(this._highWatermarkCheckpoint, end)
    this._sizeBytes = Number(this.db.prepare('SELECT COALESCE(SUM(size_bytes), 0) AS s FROM batches').get()!.s)
    return end
  }

  /**
   * Kafka's truncateFullyAndStartAt: the leader no longer holds what this replica needs next
   * (retention moved its log start past our log end), so this replica starts over there.
   */
  truncateFullyAndStartAt(offset: number): void {
    this.checkOpen()
    this.db.transaction(() => {
      this.sql.deleteBatchesFrom.run(0)
      this.sql.deleteEpochsFrom.run(0)
      this.db.prepare('DELETE FROM producer_state').run()
      this.sql.setState.run(STATE_LOG_START, offset)
      this.sql.setState.run(STATE_HIGH_WATERMARK, offset)
    })
    this.producers.clear()
    this.epochs.truncateFromEnd(0)
    this._corruptAt = undefined
    this._logStartOffset = offset
    this._logEndOffset = offset
    this._highWatermarkCheckpoint = offset
    this._sizeBytes = 0
  }

  /** A producer's state as its latest batches in the log say (the last 5 of its newest epoch). */
  private producerFromLog(producerId: number): ProducerEntry | undefined {
    const rows = this.sql.latestOfProducer.all(producerId, RECENT_BATCHES)
    if (rows.length === 0) return undefined
    const headers = rows.map((r) => readBatchHeader(r.data as Uint8Array))
    const newest = headers[0]!
    const recent: RecentBatch[] = headers
      .filter((h) => h.producerEpoch === newest.producerEpoch)
      .reverse()
      .map((h) => ({ firstSeq: h.baseSequence, lastSeq: h.baseSequence + h.lastOffsetDelta, baseOffset: h.baseOffset }))
    return {
      producerId,
      producerEpoch: newest.producerEpoch,
      lastSequence: newest.baseSequence + newest.lastOffsetDelta,
      recent,
      lastTimestamp: newest.maxTimestamp,
    }
  }

  close(): void {
    this._closed = true
    this.db.close()
  }
}

/**
 * Why a stored batch row cannot be served, or undefined when it is whole: the CRC (which covers
 * the records and most of the header) and the header fields it does not cover — length, magic,
 * base offset and leader epoch — against the row's index columns.
 */
export function storedBatchProblem(row: SqlRow): string | undefined {
  const data = row.data as Uint8Array
  try {
    if (!(data instanceof Uint8Array) || !verifyBatchCrc(data)) return 'failed its CRC check'
    const header = readBatchHeader(data)
    if (new DataView(data.buffer, data.byteOffset, data.byteLength).getInt32(8) !== data.byteLength - 12) return 'has a wrong length'
    if (header.baseOffset !== Number(row.base_offset) || header.baseOffset + header.lastOffsetDelta !== Number(row.last_offset)) return 'does not match its index'
    if (row.leader_epoch !== undefined && header.partitionLeaderEpoch !== Number(row.leader_epoch)) return 'has a leader epoch its index does not'
  } catch {
    return 'is torn or unreadable'
  }
  return undefined
}
