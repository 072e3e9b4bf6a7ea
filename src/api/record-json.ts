// Records as JSON: `value` is any JSON value, stored as its UTF-8 JSON text; binary travels as
// {"base64": "..."} and is stored as raw bytes. On the way out, bytes that are valid UTF-8 JSON
// are shown as that JSON value, anything else as {"base64": "..."}.
import type { BatchRecord, RecordHeader } from '../codec/record-batch.ts'
import { decodeBase64, encodeBase64 } from '../core/base64.ts'
import { EdgelogError } from '../core/errors.ts'
import type { ProduceRecord } from '../broker/broker.ts'
import type { JsonRecord } from './schemas.ts'

const encoder = new TextEncoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

function isBase64Wrapper(v: unknown): v is { base64: string } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const keys = Object.keys(v)
  return keys.length === 1 && keys[0] === 'base64' && typeof (v as { base64: unknown }).base64 === 'string'
}

function base64Bytes(text: string, what: string, index: number): Uint8Array {
  const bytes = decodeBase64(text)
  if (!bytes) throw new EdgelogError('INVALID_RECORD', `records[${index}].${what} is not valid base64`)
  return bytes
}

export function toProduceRecord(r: JsonRecord, index: number, now: number): ProduceRecord {
  if (!('value' in r) || r.value === undefined) throw new EdgelogError('INVALID_RECORD', `records[${index}].value is required (null for a tombstone)`)
  const key =
    r.key === undefined || r.key === null ? null : typeof r.key === 'string' ? encoder.encode(r.key) : base64Bytes(r.key.base64, 'key', index)
  const value =
    r.value === null ? null : isBase64Wrapper(r.value) ? base64Bytes(r.value.base64, 'value', index) : encoder.encode(JSON.stringify(r.value))
  let headers: RecordHeader[] | undefined
  if (r.headers) {
    headers = []
    for (const [k, v] of Object.entries(r.headers)) headers.push({ key: k, value: v === null ? null : encoder.encode(v) })
  }
  return { key, value, headers, timestamp: r.timestamp ?? now, partition: r.partition }
}

function bytesOut(bytes: Uint8Array | null): string | { base64: string } | null {
  if (bytes === null) return null
  try {
    return strictUtf8.decode(bytes)
  } catch {
    return { base64: encodeBase64(bytes) }
  }
}

function valueOut(bytes: Uint8Array | null): unknown {
  if (bytes === null) return null
  let text: string
  try {
    text = strictUtf8.decode(bytes)
  } catch {
    return { base64: encodeBase64(bytes) }
  }
  try {
    return JSON.parse(text)
  } catch {
    return { base64: encodeBase64(bytes) }
  }
}

export interface JsonRecordOut {
  offset: number
  timestamp: number
  key: string | { base64: string } | null
  value: unknown
  headers: Record<string, string | { base64: string } | null>
}

export function renderRecord(r: BatchRecord): JsonRecordOut {
  const headers: JsonRecordOut['headers'] = {}
  for (const h of r.headers) headers[h.key] = bytesOut(h.value)
  return { offset: r.offset, timestamp: r.timestamp, key: bytesOut(r.key), value: valueOut(r.value), headers }
}
