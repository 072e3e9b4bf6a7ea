// Kafka RecordBatch v2 (magic 2): the unit of storage, replication and fetch (DESIGN decision 1).
// Stored bytes are handed out unchanged, so this must agree with Kafka's DefaultRecordBatch and
// DefaultRecord bit for bit. All multi-byte fixed-width fields are big-endian.
//
// The encoder sits on the produce hot path: it measures every record first, then writes into one
// exactly-sized Uint8Array through a single DataView, with no per-record temporaries and no
// concatenation. The decoder returns keys, values and header values as views into the batch
// (no copies); copy them if the batch buffer is going to be reused.

import { compress, decompress, type CompressionType } from './compression.ts'
import { crc32c } from './crc32c.ts'
import { CodecError } from './errors.ts'
import {
  ByteReader,
  getInt64,
  setInt64,
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
} from './varint.ts'

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
const BATCH_LENGTH_AT = 8
const PARTITION_LEADER_EPOCH_AT = 12
const MAGIC_AT = 16
const CRC_AT = 17
const ATTRIBUTES_AT = 21 // the CRC covers everything from here to the end of the batch
const LAST_OFFSET_DELTA_AT = 23
const BASE_TIMESTAMP_AT = 27
const MAX_TIMESTAMP_AT = 35
const PRODUCER_ID_AT = 43
const PRODUCER_EPOCH_AT = 51
const BASE_SEQUENCE_AT = 53
const RECORD_COUNT_AT = 57

// baseOffset and batchLength themselves are not counted by batchLength.
const LOG_OVERHEAD = 12
const BATCH_LENGTH_MIN = BATCH_HEADER_SIZE - LOG_OVERHEAD
const BATCH_LENGTH_MAX = 0x7fff_ffff
const MAGIC = 2

const COMPRESSION_MASK = 0x07
const TIMESTAMP_TYPE_LOG_APPEND_TIME = 0x08
const TRANSACTIONAL_FLAG = 0x10

// attributes, timestampDelta, offsetDelta, keyLength, valueLength, headerCount: a byte each at
// least; plus at least one byte for the record's own length varint.
const RECORD_BODY_SIZE_MIN = 6
const RECORD_SIZE_MIN = RECORD_BODY_SIZE_MIN + 1
// A header is at least a key length and a value length.
const HEADER_SIZE_MIN = 2

const utf8Encoder = new TextEncoder()
// ignoreBOM keeps a leading U+FEFF in a header key, as Java's new String(bytes, UTF_8) does.
// Invalid UTF-8 becomes U+FFFD rather than an error, also as in Java: a header key written by a
// non-Java client must not make a whole partition unreadable.
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true })

function invalid(message: string): CodecError {
  return new CodecError('INVALID_RECORD', message)
}

function corrupt(message: string): CodecError {
  return new CodecError('CORRUPT_MESSAGE', message)
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** Encodes an uncompressed batch. baseTimestamp is the first record's, maxTimestamp the largest. */
export function encodeRecordBatch(opts: EncodeBatchOptions): Uint8Array {
  const records = opts.records
  if (!Array.isArray(records) || records.length < 1) throw invalid('a record batch needs at least one record')
  const count = records.length
  const header = checkBatchOptions(opts, count)

  const first = records[0]
  if (first === null || typeof first !== 'object') throw invalid('record 0 is not an object')
  const baseTimestamp = first.timestamp
  let maxTimestamp = baseTimestamp
  const bodySizes = new Int32Array(count)
  let size = BATCH_HEADER_SIZE
  for (let i = 0; i < count; i++) {
    const record = records[i]
    const bodySize = measureRecord(record, i, i, baseTimestamp)
    if (record.timestamp > maxTimestamp) maxTimestamp = record.timestamp
    bodySizes[i] = bodySize
    size += sizeOfVarint(bodySize) + bodySize
    if (size - LOG_OVERHEAD > BATCH_LENGTH_MAX) throw invalid('record batch exceeds 2^31 - 1 bytes')
  }

  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  setInt64(view, 0, opts.baseOffset)
  view.setInt32(BATCH_LENGTH_AT, size - LOG_OVERHEAD)
  view.setInt32(PARTITION_LEADER_EPOCH_AT, header.partitionLeaderEpoch)
  view.setInt8(MAGIC_AT, MAGIC)
  view.setInt16(ATTRIBUTES_AT, header.attributes)
  view.setInt32(LAST_OFFSET_DELTA_AT, count - 1)
  setInt64(view, BASE_TIMESTAMP_AT, baseTimestamp)
  setInt64(view, MAX_TIMESTAMP_AT, maxTimestamp)
  setInt64(view, PRODUCER_ID_AT, header.producerId)
  view.setInt16(PRODUCER_EPOCH_AT, header.producerEpoch)
  view.setInt32(BASE_SEQUENCE_AT, header.baseSequence)
  view.setInt32(RECORD_COUNT_AT, count)

  let position = BATCH_HEADER_SIZE
  for (let i = 0; i < count; i++) {
    position = writeRecord(out, position, records[i], i, baseTimestamp, bodySizes[i])
  }
  if (position !== size) throw new Error(`encodeRecordBatch: wrote ${position} bytes into ${size}`)

  view.setUint32(CRC_AT, crc32c(out, ATTRIBUTES_AT, size))
  return out
}

interface CheckedBatchFields {
  partitionLeaderEpoch: number
  producerId: number
  producerEpoch: number
  baseSequence: number
  attributes: number
}

function checkBatchOptions(opts: EncodeBatchOptions, count: number): CheckedBatchFields {
  const baseOffset = opts.baseOffset
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0) throw invalid(`baseOffset ${baseOffset} is not a non-negative safe integer`)
  // Every offset in the batch must stay exact when decoded.
  if (baseOffset + (count - 1) > Number.MAX_SAFE_INTEGER) throw invalid(`offsets from ${baseOffset} overflow the safe integer range`)
  const partitionLeaderEpoch = opts.partitionLeaderEpoch ?? 0
  const producerId = opts.producerId ?? -1
  const producerEpoch = opts.producerEpoch ?? -1
  const baseSequence = opts.baseSequence ?? -1
  const timestampType = opts.timestampType ?? 0
  checkInt(partitionLeaderEpoch, -0x8000_0000, 0x7fff_ffff, 'partitionLeaderEpoch')
  if (!Number.isSafeInteger(producerId)) throw invalid(`producerId ${producerId} is not a safe integer`)
  checkInt(producerEpoch, -0x8000, 0x7fff, 'producerEpoch')
  checkInt(baseSequence, -0x8000_0000, 0x7fff_ffff, 'baseSequence')
  if (timestampType !== 0 && timestampType !== 1) throw invalid(`timestampType must be 0 or 1, got ${timestampType}`)
  const attributes = (timestampType === 1 ? TIMESTAMP_TYPE_LOG_APPEND_TIME : 0) | (opts.isTransactional === true ? TRANSACTIONAL_FLAG : 0)
  return { partitionLeaderEpoch, producerId, producerEpoch, baseSequence, attributes }
}

function checkInt(value: number, min: number, max: number, name: string): void {
  if (!Number.isInteger(value) || value < min || value > max) throw invalid(`${name} ${value} is out of range [${min}, ${max}]`)
}

/** Validates one record and returns its body size (everything after its length varint). */
function measureRecord(record: NewRecord, index: number, offsetDelta: number, baseTimestamp: number): number {
  if (record === null || typeof record !== 'object') throw invalid(`record ${index} is not an object`)
  const timestamp = record.timestamp
  if (!Number.isSafeInteger(timestamp)) throw invalid(`record ${index} timestamp ${timestamp} is not a safe integer`)
  const timestampDelta = timestamp - baseTimestamp
  if (!Number.isSafeInteger(timestampDelta)) throw invalid(`record ${index} timestamp ${timestamp} is too far from the first record's ${baseTimestamp}`)
  return (
    1 + // attributes
    sizeOfVarlong(timestampDelta) +
    sizeOfVarint(offsetDelta) +
    sizeOfNullableBytes(record.key, index, 'key') +
    sizeOfNullableBytes(record.value, index, 'value') +
    sizeOfHeaders(record.headers, index)
  )
}

function sizeOfNullableBytes(bytes: Uint8Array | null | undefined, index: number, field: string): number {
  if (bytes === null || bytes === undefined) return 1 // varint -1
  if (!(bytes instanceof Uint8Array)) throw invalid(`record ${index} ${field} must be a Uint8Array or null`)
  return sizeOfVarint(bytes.length) + bytes.length
}

function sizeOfHeaders(headers: RecordHeader[] | undefined, index: number): number {
  if (headers === undefined || headers === null) return 1 // varint 0
  if (!Array.isArray(headers)) throw invalid(`record ${index} headers must be an array`)
  let size = sizeOfVarint(headers.length)
  for (let h = 0; h < headers.length; h++) {
    const header = headers[h]
    if (header === null || typeof header !== 'object' || typeof header.key !== 'string') {
      throw invalid(`record ${index} header ${h} needs a string key`)
    }
    const keyLength = utf8Length(header.key)
    size += sizeOfVarint(keyLength) + keyLength + sizeOfNullableBytes(header.value, index, `header ${h} value`)
  }
  return size
}

/**
 * UTF-8 byte length of a string as TextEncoder will encode it (a lone surrogate becomes U+FFFD,
 * three bytes). Measuring instead of encoding keeps the size pass free of allocations.
 */
function utf8Length(text: string): number {
  let length = text.length
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x80) continue
    if (code < 0x800) {
      length += 1
    } else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      length += 2 // a surrogate pair: two code units, four bytes
      i++
    } else {
      length += 2
    }
  }
  return length
}

function writeRecord(out: Uint8Array, position: number, record: NewRecord, offsetDelta: number, baseTimestamp: number, bodySize: number): number {
  position = writeVarint(out, position, bodySize)
  out[position++] = 0 // record attributes: unused in v2
  position = writeVarlong(out, position, record.timestamp - baseTimestamp)
  position = writeVarint(out, position, offsetDelta)
  position = writeNullableBytes(out, position, record.key)
  position = writeNullableBytes(out, position, record.value)
  const headers = record.headers
  if (headers === undefined || headers === null) {
    out[position++] = 0 // varint 0
    return position
  }
  position = writeVarint(out, position, headers.length)
  for (let h = 0; h < headers.length; h++) {
    const header = headers[h]
    position = writeUtf8(out, position, header.key)
    position = writeNullableBytes(out, position, header.value)
  }
  return position
}

function writeNullableBytes(out: Uint8Array, position: number, bytes: Uint8Array | null | undefined): number {
  if (bytes === null || bytes === undefined) {
    out[position] = 0x01 // varint -1
    return position + 1
  }
  position = writeVarint(out, position, bytes.length)
  out.set(bytes, position)
  return position + bytes.length
}

function writeUtf8(out: Uint8Array, position: number, text: string): number {
  const length = utf8Length(text)
  position = writeVarint(out, position, length)
  if (length === text.length) {
    // All code units are ASCII: one byte each, no encoder call needed.
    for (let i = 0; i < length; i++) out[position + i] = text.charCodeAt(i)
  } else {
    const { written } = utf8Encoder.encodeInto(text, out.subarray(position, position + length))
    if (written !== length) throw new Error(`writeUtf8: encoded ${written} bytes, measured ${length}`)
  }
  return position + length
}

// ---------------------------------------------------------------------------------------------
// Header access

/**
 * Checks that a v2 batch starts at `offset` and fits in `bytes`; returns its batchLength.
 * The magic byte is checked first because v0/v1 message sets have a different, shorter layout.
 */
function checkBatchBounds(bytes: Uint8Array, offset: number): number {
  if (!Number.isInteger(offset) || offset < 0 || offset > bytes.length) {
    throw new RangeError(`batch offset ${offset} is outside a buffer of ${bytes.length} bytes`)
  }
  const available = bytes.length - offset
  if (available > MAGIC_AT && bytes[offset + MAGIC_AT] !== MAGIC) {
    throw corrupt(`unsupported record batch magic ${(bytes[offset + MAGIC_AT] << 24) >> 24} at byte ${offset}; only magic 2 is supported`)
  }
  if (available < BATCH_HEADER_SIZE) {
    throw corrupt(`truncated record batch header at byte ${offset}: ${available} of ${BATCH_HEADER_SIZE} bytes`)
  }
  const view = viewOf(bytes)
  const batchLength = view.getInt32(offset + BATCH_LENGTH_AT)
  if (batchLength < BATCH_LENGTH_MIN) {
    throw corrupt(`record batch at byte ${offset} has batchLength ${batchLength}, below the minimum ${BATCH_LENGTH_MIN}`)
  }
  if (batchLength > available - LOG_OVERHEAD) {
    throw corrupt(`record batch at byte ${offset} has batchLength ${batchLength} but only ${available - LOG_OVERHEAD} bytes follow`)
  }
  return batchLength
}

/** Reads and validates the 61-byte header of the batch at `offset`. Does not check the CRC. */
export function readBatchHeader(batch: Uint8Array, offset = 0): BatchHeader {
  const batchLength = checkBatchBounds(batch, offset)
  const view = viewOf(batch)
  const recordCount = view.getInt32(offset + RECORD_COUNT_AT)
  if (recordCount < 0) throw corrupt(`record batch at byte ${offset} has a negative record count ${recordCount}`)
  const attributes = view.getInt16(offset + ATTRIBUTES_AT)
  return {
    baseOffset: getInt64(view, offset),
    batchLength,
    partitionLeaderEpoch: view.getInt32(offset + PARTITION_LEADER_EPOCH_AT),
    magic: view.getInt8(offset + MAGIC_AT),
    crc: view.getUint32(offset + CRC_AT),
    attributes,
    compression: attributes & COMPRESSION_MASK,
    lastOffsetDelta: view.getInt32(offset + LAST_OFFSET_DELTA_AT),
    baseTimestamp: getInt64(view, offset + BASE_TIMESTAMP_AT),
    maxTimestamp: getInt64(view, offset + MAX_TIMESTAMP_AT),
    producerId: getInt64(view, offset + PRODUCER_ID_AT),
    producerEpoch: view.getInt16(offset + PRODUCER_EPOCH_AT),
    baseSequence: view.getInt32(offset + BASE_SEQUENCE_AT),
    recordCount,
  }
}

/**
 * True when the stored CRC-32C matches the bytes from attributes to the end of the batch.
 * Throws CodecError('CORRUPT_MESSAGE') when there is no whole v2 batch at `offset` to check.
 * baseOffset, batchLength and partitionLeaderEpoch are outside the CRC by design (the leader
 * rewrites them in place); batchLength is covered indirectly, as it decides the CRC's range.
 */
export function verifyBatchCrc(batch: Uint8Array, offset = 0): boolean {
  const batchLength = checkBatchBounds(batch, offset)
  const stored = viewOf(batch).getUint32(offset + CRC_AT)
  return stored === crc32c(batch, offset + ATTRIBUTES_AT, offset + LOG_OVERHEAD + batchLength)
}

/** Rewrites baseOffset in place (the leader assigns offsets on append); the CRC stays valid. */
export function setBaseOffset(batch: Uint8Array, baseOffset: number): void {
  checkBatchBounds(batch, 0)
  const view = viewOf(batch)
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0) throw invalid(`baseOffset ${baseOffset} is not a non-negative safe integer`)
  const lastOffsetDelta = view.getInt32(LAST_OFFSET_DELTA_AT)
  if (baseOffset + lastOffsetDelta > Number.MAX_SAFE_INTEGER) throw invalid(`offsets from ${baseOffset} overflow the safe integer range`)
  setInt64(view, 0, baseOffset)
}

/** Rewrites partitionLeaderEpoch in place (stamped by the leader on append); the CRC stays valid. */
export function setPartitionLeaderEpoch(batch: Uint8Array, epoch: number): void {
  checkBatchBounds(batch, 0)
  checkInt(epoch, -0x8000_0000, 0x7fff_ffff, 'partitionLeaderEpoch')
  viewOf(batch).setInt32(PARTITION_LEADER_EPOCH_AT, epoch)
}

/**
 * Splits a concatenation of whole batches (as stored, or as a fetch returns them) into views.
 * A trailing partial batch is an error here; note that a real Kafka broker may end a fetch
 * response with one, which Kafka clients skip.
 */
export function splitBatches(bytes: Uint8Array): Uint8Array[] {
  const batches: Uint8Array[] = []
  let offset = 0
  while (offset < bytes.length) {
    const end = offset + LOG_OVERHEAD + checkBatchBounds(bytes, offset)
    batches.push(bytes.subarray(offset, end))
    offset = end
  }
  return batches
}

// ---------------------------------------------------------------------------------------------
// Decoding

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

function readWholeBatchHeader(batch: Uint8Array): BatchHeader {
  const header = readBatchHeader(batch, 0)
  const end = LOG_OVERHEAD + header.batchLength
  if (batch.length !== end) {
    throw corrupt(`buffer holds ${batch.length} bytes but the record batch is ${end}; split concatenated batches with splitBatches`)
  }
  return header
}

/** Reads header.recordCount records from data[start, end) (the batch, or its inflated records). */
function readRecordsSection(header: BatchHeader, data: Uint8Array, start: number, end: number): BatchRecord[] {
  const count = header.recordCount
  // Bound the work by the bytes present before trusting a count read from the wire.
  if (count > (end - start) / RECORD_SIZE_MIN) {
    throw corrupt(`record count ${count} cannot fit in ${end - start} bytes of records`)
  }
  const lastOffset = header.baseOffset + header.lastOffsetDelta
  if (lastOffset > Number.MAX_SAFE_INTEGER) throw corrupt(`last offset of the batch overflows the safe integer range`)
  const logAppendTime = (header.attributes & TIMESTAMP_TYPE_LOG_APPEND_TIME) !== 0

  const reader = new ByteReader(data, start, end)
  const records: BatchRecord[] = []
  let previousOffset = header.baseOffset - 1
  for (let i = 0; i < count; i++) {
    const record = readRecord(reader, header.baseOffset, header.baseTimestamp, i)
    // Offsets rise strictly and stay within lastOffsetDelta; compaction may leave gaps.
    if (record.offset <= previousOffset || record.offset > lastOffset) {
      throw corrupt(`record ${i} has offset delta ${record.offset - header.baseOffset}, outside (${previousOffset - header.baseOffset}, ${header.lastOffsetDelta}]`)
    }
    if (logAppendTime) record.timestamp = header.maxTimestamp
    previousOffset = record.offset
    records.push(record)
  }
  if (reader.remaining !== 0) throw corrupt(`${reader.remaining} trailing bytes after record ${count - 1}`)
  return records
}

// ---------------------------------------------------------------------------------------------
// Compression and rewriting

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
  setInt64(view, 0, header.baseOffset)
  view.setInt32(BATCH_LENGTH_AT, size - LOG_OVERHEAD)
  view.setInt32(PARTITION_LEADER_EPOCH_AT, header.partitionLeaderEpoch)
  view.setInt8(MAGIC_AT, MAGIC)
  view.setInt16(ATTRIBUTES_AT, header.attributes & ~COMPRESSION_MASK)
  view.setInt32(LAST_OFFSET_DELTA_AT, header.lastOffsetDelta)
  setInt64(view, BASE_TIMESTAMP_AT, baseTimestamp)
  setInt64(view, MAX_TIMESTAMP_AT, maxTimestamp)
  setInt64(view, PRODUCER_ID_AT, header.producerId)
  view.setInt16(PRODUCER_EPOCH_AT, header.producerEpoch)
  view.setInt32(BASE_SEQUENCE_AT, header.baseSequence)
  view.setInt32(RECORD_COUNT_AT, count)
  let position = BATCH_HEADER_SIZE
  for (let i = 0; i < count; i++) {
    const r = records[i]!
    position = writeRecord(out, position, r, r.offset - header.baseOffset, baseTimestamp, bodySizes[i]!)
  }
  if (position !== size) throw new Error(`encodeRetainedBatch: wrote ${position} bytes into ${size}`)
  view.setUint32(CRC_AT, crc32c(out, ATTRIBUTES_AT, size))
  return out
}

function readRecord(reader: ByteReader, baseOffset: number, baseTimestamp: number, index: number): BatchRecord {
  const bodySize = reader.varint()
  if (bodySize < RECORD_BODY_SIZE_MIN || bodySize > reader.remaining) {
    throw corrupt(`record ${index} declares ${bodySize} bytes with ${reader.remaining} left in the batch`)
  }
  const bodyStart = reader.position
  reader.skip(1) // record attributes: unused in v2, ignored as Kafka does
  const timestampDelta = reader.varlong()
  const offsetDelta = reader.varint()
  const key = readNullableBytes(reader, index)
  const value = readNullableBytes(reader, index)
  const headers = readHeaders(reader, bodyStart + bodySize, index)
  if (reader.position !== bodyStart + bodySize) {
    throw corrupt(`record ${index} declares ${bodySize} bytes but its fields take ${reader.position - bodyStart}`)
  }
  const timestamp = baseTimestamp + timestampDelta
  if (timestamp > Number.MAX_SAFE_INTEGER || timestamp < Number.MIN_SAFE_INTEGER) {
    throw corrupt(`record ${index} timestamp overflows the safe integer range`)
  }
  return { offset: baseOffset + offsetDelta, timestamp, key, value, headers }
}

function readNullableBytes(reader: ByteReader, index: number): Uint8Array | null {
  const length = reader.varint()
  if (length === -1) return null
  if (length < -1) throw corrupt(`record ${index} has an invalid length ${length}`)
  return reader.bytes(length)
}

function readHeaders(reader: ByteReader, bodyEnd: number, index: number): RecordHeader[] {
  const count = reader.varint()
  if (count < 0) throw corrupt(`record ${index} has a negative header count ${count}`)
  if (count > (bodyEnd - reader.position) / HEADER_SIZE_MIN) {
    throw corrupt(`record ${index} header count ${count} cannot fit in its ${bodyEnd - reader.position} remaining bytes`)
  }
  const headers: RecordHeader[] = []
  for (let h = 0; h < count; h++) {
    const keyLength = reader.varint()
    if (keyLength < 0) throw corrupt(`record ${index} header ${h} has a negative key length ${keyLength}`)
    const keyStart = reader.position
    reader.skip(keyLength)
    const key = decodeUtf8(reader.data, keyStart, keyStart + keyLength)
    headers.push({ key, value: readNullableBytes(reader, index) })
  }
  return headers
}

function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  // Header keys are short and almost always ASCII; a char-code loop beats a TextDecoder call.
  if (end - start <= 64) {
    let text = ''
    for (let i = start; i < end; i++) {
      const byte = bytes[i]
      if (byte >= 0x80) return utf8Decoder.decode(bytes.subarray(start, end))
      text += String.fromCharCode(byte)
    }
    return text
  }
  return utf8Decoder.decode(bytes.subarray(start, end))
}
