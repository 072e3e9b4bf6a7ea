// One record of a v2 batch, written: the size pass (validate each record and measure it, with
// no allocation) and the write pass (into the batch's exactly-sized buffer). Both the batch
// encoder and compaction's re-encoder write records this way, so this is their shared part;
// the header around the records is theirs.

import type { NewRecord, RecordHeader } from './batch-layout.ts'
import { invalid } from './batch-layout.ts'
import { sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from './varint.ts'

const utf8Encoder = new TextEncoder()

/** Validates one record and returns its body size (everything after its length varint). */
export function measureRecord(record: NewRecord, index: number, offsetDelta: number, baseTimestamp: number): number {
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

export function writeRecord(out: Uint8Array, position: number, record: NewRecord, offsetDelta: number, baseTimestamp: number, bodySize: number): number {
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
