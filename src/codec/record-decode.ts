// The records section of a v2 batch, read: each record's fields as views into the bytes (no
// copies; copy them if the buffer is going to be reused), checked against the header (count,
// offset range, trailing bytes) before anything read from the wire is trusted. Shared by the
// sync decoder (uncompressed batches) and the async one (inflated records).

import {
  corrupt,
  HEADER_SIZE_MIN,
  RECORD_BODY_SIZE_MIN,
  RECORD_SIZE_MIN,
  TIMESTAMP_TYPE_LOG_APPEND_TIME,
  type BatchHeader,
  type BatchRecord,
  type RecordHeader,
} from './batch-layout.ts'
import { ByteReader } from './varint.ts'

// ignoreBOM keeps a leading U+FEFF in a header key, as Java's new String(bytes, UTF_8) does.
// Invalid UTF-8 becomes U+FFFD rather than an error, also as in Java: a header key written by a
// non-Java client must not make a whole partition unreadable.
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true })

/** Reads header.recordCount records from data[start, end) (the batch, or its inflated records). */
export function readRecordsSection(header: BatchHeader, data: Uint8Array, start: number, end: number): BatchRecord[] {
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
