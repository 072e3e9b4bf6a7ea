// The RecordBatch v2 layout shared by every part of the codec: the record and header types,
// where each header field sits, the attribute bits and the format's size bounds. Kept apart
// from the code that reads and writes batches so that the encoder, the decoder and the
// in-place header rewrites all agree on one table, which must match Kafka's DefaultRecordBatch
// byte for byte (all multi-byte fixed-width fields are big-endian).

import { CodecError } from './errors.ts'
import { setInt64 } from './varint.ts'

export const BATCH_HEADER_SIZE = 61

export interface RecordHeader { key: string; value: Uint8Array | null }
export interface NewRecord { key: Uint8Array | null; value: Uint8Array | null; headers?: RecordHeader[]; timestamp: number }
export interface BatchRecord { offset: number; timestamp: number; key: Uint8Array | null; value: Uint8Array | null; headers: RecordHeader[] }
export interface BatchHeader {
  baseOffset: number
  batchLength: number
  partitionLeaderEpoch: number
  magic: number
  crc: number
  attributes: number
  compression: number
  lastOffsetDelta: number
  baseTimestamp: number
  maxTimestamp: number
  producerId: number
  producerEpoch: number
  baseSequence: number
  recordCount: number
}
export interface EncodeBatchOptions {
  baseOffset: number
  partitionLeaderEpoch?: number /* default 0 */
  producerId?: number /* -1 */
  producerEpoch?: number /* -1 */
  baseSequence?: number /* -1 */
  timestampType?: 0 | 1
  isTransactional?: boolean
  records: NewRecord[]
}

// Field positions from the start of a batch.
export const BATCH_LENGTH_AT = 8
export const PARTITION_LEADER_EPOCH_AT = 12
export const MAGIC_AT = 16
export const CRC_AT = 17
export const ATTRIBUTES_AT = 21 // the CRC covers everything from here to the end of the batch
export const LAST_OFFSET_DELTA_AT = 23
export const BASE_TIMESTAMP_AT = 27
export const MAX_TIMESTAMP_AT = 35
export const PRODUCER_ID_AT = 43
export const PRODUCER_EPOCH_AT = 51
export const BASE_SEQUENCE_AT = 53
export const RECORD_COUNT_AT = 57

// baseOffset and batchLength themselves are not counted by batchLength.
export const LOG_OVERHEAD = 12
export const BATCH_LENGTH_MIN = BATCH_HEADER_SIZE - LOG_OVERHEAD
export const BATCH_LENGTH_MAX = 0x7fff_ffff
export const MAGIC = 2

export const COMPRESSION_MASK = 0x07
export const TIMESTAMP_TYPE_LOG_APPEND_TIME = 0x08
export const TRANSACTIONAL_FLAG = 0x10

// attributes, timestampDelta, offsetDelta, keyLength, valueLength, headerCount: a byte each at
// least; plus at least one byte for the record's own length varint.
export const RECORD_BODY_SIZE_MIN = 6
export const RECORD_SIZE_MIN = RECORD_BODY_SIZE_MIN + 1
// A header is at least a key length and a value length.
export const HEADER_SIZE_MIN = 2

export function invalid(message: string): CodecError {
  return new CodecError('INVALID_RECORD', message)
}

export function corrupt(message: string): CodecError {
  return new CodecError('CORRUPT_MESSAGE', message)
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

export function checkInt(value: number, min: number, max: number, name: string): void {
  if (!Number.isInteger(value) || value < min || value > max) throw invalid(`${name} ${value} is out of range [${min}, ${max}]`)
}

/** The fixed-width fields of a batch header as the encoders write them. */
export interface HeaderFields {
  baseOffset: number
  batchLength: number
  partitionLeaderEpoch: number
  attributes: number
  lastOffsetDelta: number
  baseTimestamp: number
  maxTimestamp: number
  producerId: number
  producerEpoch: number
  baseSequence: number
  recordCount: number
}

/** Writes every header field but the CRC, which covers the records and so is written last. */
export function writeBatchHeader(view: DataView, h: HeaderFields): void {
  setInt64(view, 0, h.baseOffset)
  view.setInt32(BATCH_LENGTH_AT, h.batchLength)
  view.setInt32(PARTITION_LEADER_EPOCH_AT, h.partitionLeaderEpoch)
  view.setInt8(MAGIC_AT, MAGIC)
  view.setInt16(ATTRIBUTES_AT, h.attributes)
  view.setInt32(LAST_OFFSET_DELTA_AT, h.lastOffsetDelta)
  setInt64(view, BASE_TIMESTAMP_AT, h.baseTimestamp)
  setInt64(view, MAX_TIMESTAMP_AT, h.maxTimestamp)
  setInt64(view, PRODUCER_ID_AT, h.producerId)
  view.setInt16(PRODUCER_EPOCH_AT, h.producerEpoch)
  view.setInt32(BASE_SEQUENCE_AT, h.baseSequence)
  view.setInt32(RECORD_COUNT_AT, h.recordCount)
}
