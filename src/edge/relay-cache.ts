// One relay cache partition, fed by its topic's upstream subscription (topic-relay.ts).
import { recordSizeBound } from '../broker/batching.ts'
import type { Partition } from '../broker/partition.ts'
import { BATCH_HEADER_SIZE, encodeRetainedBatch, readBatchHeader, type BatchHeader, type BatchRecord } from '../codec/record-batch.ts'
import { assert } from '../core/errors.ts'
import type { TopicRelay } from './topic-relay.ts'

/** Records accepted from upstream and not yet in the cache, per partition, before the feed waits for the cache. */
const MAX_PENDING_RECORDS = 20_000
/** One cache append: at most this many bytes of records (by the broker's bound). */
const CACHE_BATCH_BYTES = 1024 * 1024

/** Moves an empty-or-behind cache partition forward to `offset` (its feed hears a gap if it had cursors). */
export function startAt(p: Partition, offset: number): void {
  if (offset <= p.log.logEndOffset) return
  p.log.truncateFullyAndStartAt(offset)
  p.setHighWatermark(offset)
}

/**
 * One cache partition fed by the upstream subscription: records are appended at their
 * regional offsets (a batch's base is where the cache ends, so an offset hole left by the
 * region's compaction stays a hole), gaps start the cache again further on, and every change
 * runs in order on one chain. The cache keeps about --relay-cache-bytes, trimmed only below what
 * its live feed has sent.
 */
export class MirrorPartition {
  readonly index: number
  /** Where the next record accepted from upstream must be: the cache's end plus what is on its way. */
  acceptedEnd: number
  private chain: Promise<void> = Promise.resolve()
  private open: BatchRecord[] | undefined
  private pending = 0
  private stopped = false

  constructor(
    private readonly topic: TopicRelay,
    readonly partition: Partition,
  ) {
    this.index = partition.index
    this.acceptedEnd = partition.log.logEndOffset
  }

  push(r: BatchRecord): void | Promise<void> {
    if (this.stopped || r.offset < this.acceptedEnd) return // a repeat after a resubscribe
    this.acceptedEnd = r.offset + 1
    if (!this.open) {
      const records: BatchRecord[] = []
      this.open = records
      this.enqueue(() => {
        if (this.open === records) this.open = undefined
        this.pending -= records.length
        return this.append(records)
      })
    }
    this.open.push(r)
    this.pending++
    // Far ahead of the cache: the upstream subscription waits (it queues, then pauses its feed).
    if (this.pending >= MAX_PENDING_RECORDS) return this.chain
  }

  /** The region no longer has [acceptedEnd, to): the cache starts again at `to` (live cursors hear a gap). */
  gap(to: number): void {
    if (this.stopped || to <= this.acceptedEnd) return
    this.acceptedEnd = to
    this.open = undefined
    this.enqueue(async () => startAt(this.partition, to))
  }

  stop(): void {
    this.stopped = true
    this.open = undefined
  }

  private enqueue(op: () => Promise<void> | void): void {
    this.chain = this.chain.then(async () => {
      if (this.stopped) return
      try {
        await op()
      } catch (err) {
        this.topic.failed(err)
      }
    })
  }

  private async append(records: BatchRecord[]): Promise<void> {
    const p = this.partition
    // Batches well under the cache's size, so trimming keeps most of what the cache may hold.
    const maxBatch = Math.min(CACHE_BATCH_BYTES, Math.max(4096, Math.floor(this.topic.relay.edge.options.relayCacheBytes / 8)))
    let at = 0
    while (at < records.length && !this.stopped) {
      const base = p.log.logEndOffset
      let bound = BATCH_HEADER_SIZE
      let end = at
      while (end < records.length && (end === at || bound + recordSizeBound(records[end]!) <= maxBatch)) bound += recordSizeBound(records[end++]!)
      const chunk = records.slice(at, end)
      at = end
      assert(chunk[0]!.offset >= base, `relay cache ${p.topic}-${p.index}: record ${chunk[0]!.offset} below the cache end ${base}`)
      const last = chunk[chunk.length - 1]!.offset
      if (last - base > 0x7fff_ffff) {
        // A hole wider than one batch can describe: the cache starts again at the first record.
        startAt(p, chunk[0]!.offset)
        at -= chunk.length
        continue
      }
      const header = syntheticHeader(base, last - base)
      const batch = encodeRetainedBatch(header, chunk)
      const r = await p.append({ batch, header: readBatchHeader(batch) })
      if (!r.ok) throw r.error
      assert(r.baseOffset === base && r.lastOffset === last, `relay cache ${p.topic}-${p.index}: batch placed at ${r.baseOffset}, expected ${base}`)
    }
    this.trim()
  }

  /** Keeps about --relay-cache-bytes, and nothing older than the region keeps; never past what the live feed sent. */
  private trim(): void {
    const p = this.partition
    const log = p.log
    const limit = this.topic.relay.edge.options.relayCacheBytes
    const regionStart = this.topic.relay.edge.metadata.get(p.topic)?.partitionInfo[p.index]?.logStartOffset ?? 0
    const published = this.topic.relay.publishedOffset(p) ?? p.highWatermark
    let cut = Math.min(Math.max(log.logStartOffset, regionStart), published)
    if (log.sizeBytes > limit) {
      let remaining = log.sizeBytes
      for (const b of log.batchIndex(log.logStartOffset, 10_000)) {
        if (remaining <= limit || b.lastOffset + 1 > published) break
        remaining -= b.sizeBytes
        cut = Math.max(cut, b.lastOffset + 1)
      }
    }
    if (cut > log.logStartOffset) log.advanceLogStart(cut)
  }
}

/** The header of a cache batch from `base` spanning `lastOffsetDelta` offsets (no producer, no compression). */
function syntheticHeader(base: number, lastOffsetDelta: number): BatchHeader {
  return {
    baseOffset: base,
    batchLength: 0,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0,
    attributes: 0,
    compression: 0,
    lastOffsetDelta,
    baseTimestamp: 0,
    maxTimestamp: 0,
    producerId: -1,
    producerEpoch: -1,
    baseSequence: -1,
    recordCount: 0,
  }
}

