// Rewriting stored batches into new ones: compressing an uncompressed batch (the producer's or
// a topic's compression.type) and re-encoding the records compaction keeps. Both keep every
// header field a reader relies on (offsets, producer id/epoch/sequence, leader epoch) and
// write a new batchLength and CRC.

import {
  ATTRIBUTES_AT,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_AT,
  BATCH_LENGTH_MAX,
  COMPRESSION_MASK,
  CRC_AT,
  invalid,
  LOG_OVERHEAD,
  TIMESTAMP_TYPE_LOG_APPEND_TIME,
  viewOf,
  writeBatchHeader,
  type BatchHeader,
  type BatchRecord,
} from './batch-layout.ts'
import { readWholeBatchHeader } from './batch-header.ts'
import { compress, type CompressionType } from './compression.ts'
import { crc32c } from './crc32c.ts'
import { measureRecord, writeRecord } from './record-encode.ts'
import { sizeOfVarint } from './varint.ts'

/**
 * Compresses the records of an uncompressed batch with `type` (only gzip can be written; the
 * others are read-only here) and returns the new batch: same header fields, the compression
 * bits set, a new batchLength and CRC.
 */
export async function compressBatch(batch: Uint8Array, type: CompressionType): Promise<Uint8Array> {
  const header = readWholeBatchHeader(batch)
  if (header.compression !== 0) throw invalid('the batch is already compressed')
  if (type === 0) return batch
  const compressed = await compress(type, batch.subarray(BATCH_HEADER_SIZE))
  const size = BATCH_HEADER_SIZE + compressed.length
  if (size - LOG_OVERHEAD > BATCH_LENGTH_MAX) throw invalid('record batch exceeds 2^31 - 1 bytes')
  const out = new Uint8Array(size)
  out.set(batch.subarray(0, BATCH_HEADER_SIZE))
  out.set(compressed, BATCH_HEADER_SIZE)
  const view = viewOf(out)
  view.setInt32(BATCH_LENGTH_AT, size - LOG_OVERHEAD)
  view.setInt16(ATTRIBUTES_AT, (header.attributes & ~COMPRESSION_MASK) | type)
  view.setUint32(CRC_AT, crc32c(out, ATTRIBUTES_AT, size))
  return out
}

/**
 * Re-encodes a batch keeping only `records` (a subset of its records, in order) — what log
 * compaction writes. Offsets never change: the batch keeps its base offset and lastOffsetDelta
 * (so its last offset, and the log end, stay put), each record keeps its offset delta, and the
 * producer id, epoch, base sequence, leader epoch and timestamp type stay as they were. The
 * result is uncompressed; compress it with compressBatch to keep the original codec.
 */
export function encodeRetainedBatch(header: BatchHeader, records: BatchRecord[]): Uint8Array {
  const count = records.length
  if (count < 1) throw invalid('a retained batch needs at least one record')
  const logAppendTime = (header.attributes & TIMESTAMP_TYPE_LOG_APPEND_TIME) !== 0
  const baseTimestamp = records[0]!.timestamp
  let maxTimestamp = logAppendTime ? header.maxTimestamp : baseTimestamp
  const bodySizes = new Int32Array(count)
  let size = BATCH_HEADER_SIZE
  let previous = header.baseOffset - 1
  for (let i = 0; i < count; i++) {
    const r = records[i]!
    const delta = r.offset - header.baseOffset
    if (r.offset <= previous || delta > header.lastOffsetDelta) throw invalid(`retained record ${i} offset ${r.offset} is out of order or outside the batch`)
    previous = r.offset
    if (!logAppendTime && r.timestamp > maxTimestamp) maxTimestamp = r.timestamp
    const bodySize = measureRecord(r, i, delta, baseTimestamp)
    bodySizes[i] = bodySize
    size += sizeOfVarint(bodySize) + bodySize
  }
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  writeBatchHeader(view, {
    baseOffset: header.baseOffset,
    batchLength: size - LOG_OVERHEAD,
    partitionLeaderEpoch: header.partitionLeaderEpoch,
    attributes: header.attributes & ~COMPRESSION_MASK,
    lastOffsetDelta: header.lastOffsetDelta,
    baseTimestamp,
    maxTimestamp,
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
    recordCount: count,
  })
  let position = BATCH_HEADER_SIZE
  for (let i = 0; i < count; i++) {
    const r = records[i]!
    position = writeRecord(out, position, r, r.offset - header.baseOffset, baseTimestamp, bodySizes[i]!)
  }
  if (position !== size) throw new Error(`encodeRetainedBatch: wrote ${position} bytes into ${size}`)
  view.setUint32(CRC_AT, crc32c(out, ATTRIBUTES_AT, size))
  return out
}
