// Decoding whole batches into records: the sync path for uncompressed batches (no copies) and
// the async one that inflates compressed record data first, under a hard size bound so that a
// compression bomb is refused rather than decompressed. Async because gzip goes through the
// web-standard DecompressionStream.

import { BATCH_HEADER_SIZE, type BatchRecord } from './batch-layout.ts'
import { readWholeBatchHeader } from './batch-header.ts'
import { decompress } from './compression.ts'
import { CodecError } from './errors.ts'
import { readRecordsSection } from './record-decode.ts'

/**
 * Decodes every record of one uncompressed batch (the buffer must hold exactly that batch).
 * Does not verify the CRC: call verifyBatchCrc on bytes that arrive from outside.
 * Offsets are baseOffset + offsetDelta; timestamps are baseTimestamp + timestampDelta, or
 * maxTimestamp for every record when the batch has LogAppendTime (as Kafka's DefaultRecordBatch).
 * A compressed batch is refused with UNSUPPORTED_COMPRESSION_TYPE: decompressing is
 * asynchronous (gzip goes through DecompressionStream), so those go through decodeBatch.
 */
export function decodeRecords(batch: Uint8Array): BatchRecord[] {
  const header = readWholeBatchHeader(batch)
  if (header.compression !== 0) {
    throw new CodecError('UNSUPPORTED_COMPRESSION_TYPE', `record batch compression type ${header.compression} needs decodeBatch`)
  }
  return readRecordsSection(header, batch, BATCH_HEADER_SIZE, batch.length)
}

export interface DecodeBatchOptions {
  /** Most bytes the records of one batch may decompress to (a compression bomb is refused). */
  maxDecompressedBytes?: number
}

/** 64 MiB: far above any batch a producer writes (max.message.bytes defaults to 1 MiB). */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024

/**
 * Decodes every record of one batch, compressed or not. Compressed record data is inflated with
 * a hard bound (CodecError DECOMPRESSED_TOO_LARGE past it); uncompressed batches decode without
 * copying, as decodeRecords does.
 */
export async function decodeBatch(batch: Uint8Array, options: DecodeBatchOptions = {}): Promise<BatchRecord[]> {
  const header = readWholeBatchHeader(batch)
  if (header.compression === 0) return readRecordsSection(header, batch, BATCH_HEADER_SIZE, batch.length)
  const limit = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES
  const records = await decompress(header.compression, batch.subarray(BATCH_HEADER_SIZE), limit)
  return readRecordsSection(header, records, 0, records.length)
}

/** The records section of a batch, uncompressed (a copy-free view when it is not compressed). */
export async function batchRecordBytes(batch: Uint8Array, options: DecodeBatchOptions = {}): Promise<Uint8Array> {
  const header = readWholeBatchHeader(batch)
  if (header.compression === 0) return batch.subarray(BATCH_HEADER_SIZE)
  return decompress(header.compression, batch.subarray(BATCH_HEADER_SIZE), options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES)
}
