// Records between an edge and its region, as JSON. Out (the shipper): stored records as a
// produce request carries them, values always as base64 so the region stores exactly these
// bytes. In (the relay): records as the region sends them (/v1/ws and fetch) back into the bytes
// a partition log holds, for the relay cache. A broker renders stored bytes as text when they
// are UTF-8 and as a JSON value when they are JSON (src/api/record-json.ts); turning that
// rendering back into bytes and rendering it again gives exactly the same frame text, so a
// subscriber at an edge reads the same records, byte for byte on the wire, as one at a broker.
import type { BatchRecord, RecordHeader } from '../codec/record-batch.ts'
import type { ProduceRecord } from '../client/schemas.ts'
import { decodeBase64, encodeBase64 } from '../core/base64.ts'
import { EdgelogError } from '../core/errors.ts'

const encoder = new TextEncoder()
// ignoreBOM keeps a leading U+FEFF in the text, so the region encodes exactly these bytes again.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

type Bytes = string | { base64: string } | null

export interface WireRecordIn {
  offset: number
  timestamp: number
  key: Bytes
  value: unknown
  headers: Record<string, Bytes>
}

function isBase64Wrapper(v: unknown): v is { base64: string } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const keys = Object.keys(v)
  return keys.length === 1 && keys[0] === 'base64' && typeof (v as { base64: unknown }).base64 === 'string'
}

function bytes(v: Bytes, what: string): Uint8Array | null {
  if (v === null) return null
  if (typeof v === 'string') return encoder.encode(v)
  const out = decodeBase64(v.base64)
  if (!out) throw new EdgelogError('CORRUPT_MESSAGE', `upstream sent ${what} that is not valid base64`)
  return out
}

export function toBatchRecord(r: WireRecordIn): BatchRecord {
  const headers: RecordHeader[] = []
  for (const [key, value] of Object.entries(r.headers ?? {})) headers.push({ key, value: bytes(value, `header '${key}'`) })
  const value = r.value === null || r.value === undefined ? null : isBase64Wrapper(r.value) ? bytes(r.value, 'a value') : encoder.encode(JSON.stringify(r.value))
  return { offset: r.offset, timestamp: r.timestamp, key: bytes(r.key, 'a key'), value, headers }
}

/**
 * A stored record as a produce request carries it. Values and keys that are not text go as
 * base64; values always do, so the region stores exactly the bytes this edge holds (a JSON
 * value's text is not re-serialised on the way).
 */
export function toWire(r: BatchRecord): ProduceRecord {
  const out: ProduceRecord = { value: r.value === null ? null : { base64: encodeBase64(r.value) }, timestamp: r.timestamp }
  if (r.key !== null) out.key = textOrBase64(r.key)
  if (r.headers.length > 0) {
    const headers: Record<string, string | null> = {}
    for (const h of r.headers) {
      if (h.value === null) headers[h.key] = null
      else {
        const text = textOrBase64(h.value)
        // Produce requests carry text headers only; an edge takes nothing else in, so this holds.
        if (typeof text !== 'string') throw new EdgelogError('INVALID_RECORD', `header '${h.key}' is not UTF-8 text`)
        headers[h.key] = text
      }
    }
    out.headers = headers
  }
  return out
}

function textOrBase64(bytes: Uint8Array): string | { base64: string } {
  try {
    return strictUtf8.decode(bytes)
  } catch {
    return { base64: encodeBase64(bytes) }
  }
}
