// Encoding a new batch from records: what the broker does on produce. This sits on the produce
// hot path: every record is measured first, then written into one exactly-sized Uint8Array
// through a single DataView, with no per-record temporaries and no concatenation.

import {
  ATTRIBUTES_AT,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_MAX,
  checkInt,
  CRC_AT,
  invalid,
  LOG_OVERHEAD,
  TIMESTAMP_TYPE_LOG_APPEND_TIME,
  TRANSACTIONAL_FLAG,
  writeBatchHeader,
  type EncodeBatchOptions,
} from './batch-layout.ts'
import { crc32c } from './crc32c.ts'
import { measureRecord, writeRecord } from './record-encode.ts'
import { sizeOfVarint } from './varint.ts'

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
  writeBatchHeader(view, {
    baseOffset: opts.baseOffset,
    batchLength: size - LOG_OVERHEAD,
    partitionLeaderEpoch: header.partitionLeaderEpoch,
    attributes: header.attributes,
    lastOffsetDelta: count - 1,
    baseTimestamp,
    maxTimestamp,
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
    recordCount: count,
  })

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
