// Kafka RecordBatch v2 (magic 2): the unit of storage, replication and fetch (DESIGN decision 1).
// Stored bytes are handed out unchanged, so this must agree with Kafka's DefaultRecordBatch and
// DefaultRecord bit for bit.
//
// This module is the codec's one entry point; the work lives in files with one job each:
//   batch-layout.ts   types, header field positions, attribute bits, size bounds
//   batch-encode.ts   encodeRecordBatch (the produce hot path)
//   record-encode.ts  measuring and writing one record (shared with compaction's re-encoder)
//   batch-header.ts   readBatchHeader, verifyBatchCrc, in-place header rewrites, splitBatches
//   batch-decode.ts   decodeRecords (sync, uncompressed) and decodeBatch (async, any codec)
//   record-decode.ts  reading the records section, views into the batch with no copies
//   batch-rewrite.ts  compressBatch and encodeRetainedBatch (compaction)
export {
  BATCH_HEADER_SIZE,
  type BatchHeader,
  type BatchRecord,
  type EncodeBatchOptions,
  type NewRecord,
  type RecordHeader,
} from './batch-layout.ts'
export { encodeRecordBatch } from './batch-encode.ts'
export { readBatchHeader, setBaseOffset, setPartitionLeaderEpoch, splitBatches, verifyBatchCrc } from './batch-header.ts'
export { batchRecordBytes, decodeBatch, decodeRecords, DEFAULT_MAX_DECOMPRESSED_BYTES, type DecodeBatchOptions } from './batch-decode.ts'
export { compressBatch, encodeRetainedBatch } from './batch-rewrite.ts'
