// Reading a batch's header without touching its records: bounds and magic checks, the header
// fields, the CRC check, the two in-place rewrites a leader makes on append (baseOffset,
// partitionLeaderEpoch: both outside the CRC) and splitting a run of stored batches. The log
// and the broker use these on every append and fetch, where decoding records would be waste.

import {
  ATTRIBUTES_AT,
  BASE_SEQUENCE_AT,
  BASE_TIMESTAMP_AT,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_AT,
  BATCH_LENGTH_MIN,
  checkInt,
  COMPRESSION_MASK,
  corrupt,
  CRC_AT,
  invalid,
  LAST_OFFSET_DELTA_AT,
  LOG_OVERHEAD,
  MAGIC,
  MAGIC_AT,
  MAX_TIMESTAMP_AT,
  PARTITION_LEADER_EPOCH_AT,
  PRODUCER_EPOCH_AT,
  PRODUCER_ID_AT,
  RECORD_COUNT_AT,
  viewOf,
  type BatchHeader,
} from './batch-layout.ts'
import { crc32c } from './crc32c.ts'
import { getInt64, setInt64 } from './varint.ts'

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

/** Reads the header of a buffer that must hold exactly one whole batch (no more, no less). */
export function readWholeBatchHeader(batch: Uint8Array): BatchHeader {
  const header = readBatchHeader(batch, 0)
  const end = LOG_OVERHEAD + header.batchLength
  if (batch.length !== end) {
    throw corrupt(`buffer holds ${batch.length} bytes but the record batch is ${end}; split concatenated batches with splitBatches`)
  }
  return header
}
