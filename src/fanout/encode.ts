// Server → client frames as strings. A record is rendered to JSON once (`recordBody`); every
// frame shape (`msg`, `msgs`, an SSE event) is that text plus a short prefix, so fanning a
// record out to many sockets never renders it again.
import { renderRecord } from '../api/record-json.ts'
import type { BatchRecord } from '../codec/record-batch.ts'
import { assert, type EdgelogError } from '../core/errors.ts'

/** A record's JSON without its opening brace: `"offset":17,"key":...,"timestamp":0}`. */
export function recordBody(r: BatchRecord): string {
  const { offset, key, value, headers, timestamp } = renderRecord(r)
  return JSON.stringify({ offset, key, value, headers, timestamp }).slice(1)
}

/** Records of one partition in ascending offset order (with holes on a compacted topic), rendered once. */
export interface EncodedRecords {
  partition: number
  offsets: number[]
  bodies: string[]
  /** Sum of the bodies' lengths (a cheap size for send-buffer accounting). */
  chars: number
}

export function encodeRecords(partition: number, records: BatchRecord[]): EncodedRecords {
  assert(records.length > 0, 'an encoded range holds at least one record')
  const bodies = new Array<string>(records.length)
  const offsets = new Array<number>(records.length)
  let chars = 0
  for (let i = 0; i < records.length; i++) {
    if (i > 0) assert(records[i]!.offset > records[i - 1]!.offset, 'records of a range ascend')
    offsets[i] = records[i]!.offset
    bodies[i] = recordBody(records[i]!)
    chars += bodies[i]!.length
  }
  return { partition, offsets, bodies, chars }
}

/** `msg` for one record, `msgs` for several; `subJson` and `topicJson` are JSON strings. */
export function recordsFrame(subJson: string, topicJson: string, r: EncodedRecords): string {
  const head = `{"op":"${r.bodies.length === 1 ? 'msg' : 'msgs'}","sub":${subJson},"topic":${topicJson},"partition":${r.partition},`
  if (r.bodies.length === 1) return head + r.bodies[0]
  return `${head}"records":[{${r.bodies.join(',{')}]}`
}

export function okFrame(id: string, offsets?: Record<string, number>): string {
  return JSON.stringify(offsets ? { op: 'ok', id, offsets } : { op: 'ok', id })
}

export function errFrame(id: string | undefined, error: EdgelogError): string {
  return JSON.stringify(id === undefined ? { op: 'err', code: error.code, message: error.message } : { op: 'err', id, code: error.code, message: error.message })
}

export function gapFrame(sub: string, partition: number, from: number, to: number): string {
  return JSON.stringify({ op: 'gap', sub, partition, from, to })
}

export function ackFrame(id: string, partition: number, offset: number | null, duplicate: boolean, heldAt?: string): string {
  const frame: Record<string, unknown> = { op: 'ack', id, partition, offset }
  if (heldAt !== undefined) frame.heldAt = heldAt
  if (duplicate) frame.duplicate = true
  return JSON.stringify(frame)
}

export function batchAckFrame(id: string, offsets: Array<{ partition: number; offset: number | null }>, duplicate: boolean): string {
  return JSON.stringify(duplicate ? { op: 'ack', id, offsets, duplicate } : { op: 'ack', id, offsets })
}
