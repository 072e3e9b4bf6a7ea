// The replica fetch answer on the wire: a 4-byte big-endian length, that many bytes of JSON
// header, then the record batches exactly as stored (they delimit themselves). Batches are
// never re-encoded between leader and follower, so replicas stay byte-identical.
import { splitBatches } from '../codec/record-batch.ts'
import { ReplicaFetchResponseHeaderSchema, type ReplicaFetchResponse } from './protocol.ts'

/** Largest JSON header accepted: it holds a few numbers. */
const MAX_HEADER_BYTES = 4096

export function encodeFetchResponse(r: ReplicaFetchResponse): Uint8Array<ArrayBuffer> {
  const { batches, ...header } = r
  const json = new TextEncoder().encode(JSON.stringify(header))
  let size = 4 + json.byteLength
  for (const b of batches) size += b.byteLength
  const out = new Uint8Array(size)
  new DataView(out.buffer).setUint32(0, json.byteLength)
  out.set(json, 4)
  let at = 4 + json.byteLength
  for (const b of batches) {
    out.set(b, at)
    at += b.byteLength
  }
  return out
}

/** Throws on anything malformed (a bad length, a header that does not validate, a torn batch). */
export function decodeFetchResponse(bytes: Uint8Array): ReplicaFetchResponse {
  if (bytes.byteLength < 4) throw new Error('replica fetch answer shorter than its header length')
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0)
  if (length > MAX_HEADER_BYTES || 4 + length > bytes.byteLength) throw new Error(`replica fetch answer header of ${length} bytes`)
  const header = ReplicaFetchResponseHeaderSchema.parse(JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + length))))
  return { ...header, batches: splitBatches(bytes.subarray(4 + length)).map((b) => b.slice()) }
}
