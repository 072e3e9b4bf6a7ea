// The WebSocket frames of `/v1/ws` (DESIGN.md, "Public contract") as the client sees them.
// Server frames are validated with zod before anything acts on them, so a proxy or a server of
// another version surfaces as a reported protocol error, never as an undefined deep inside a
// subscriber. Objects are loose: fields a newer server adds pass through untouched, and a frame
// whose `op` this client does not know is ignored rather than fatal.
import { z } from 'zod'
import { FetchedHeaders, type RecordHeaders, RecordKey } from './schemas.ts'

const offset = z.number().int().min(0)
const partitionId = z.number().int().min(0)

/** One record as a `msg` frame or an element of a `msgs` frame carries it. */
export const WireRecord = z.looseObject({
  offset,
  key: RecordKey,
  value: z.unknown(),
  headers: FetchedHeaders.default({}),
  timestamp: z.number().int(),
})
export type WireRecord = z.infer<typeof WireRecord>

/** `offsets` (on a `sub`'s answer): the resolved start position of every partition subscribed. */
export const OkFrame = z.looseObject({
  op: z.literal('ok'),
  id: z.string(),
  offsets: z.record(z.string().regex(/^\d+$/), offset).optional(),
})
export const MsgFrame = WireRecord.extend({
  op: z.literal('msg'),
  sub: z.string(),
  topic: z.string(),
  partition: partitionId,
})
export const MsgsFrame = z.looseObject({
  op: z.literal('msgs'),
  sub: z.string(),
  topic: z.string(),
  partition: partitionId,
  records: z.array(WireRecord),
})
/**
 * A single-record `pub` is answered with `partition` and `offset`, a `records` batch with
 * `offsets` in request order. Offsets are null when nobody waited for them (acks=0).
 */
export const AckFrame = z.looseObject({
  op: z.literal('ack'),
  id: z.string(),
  partition: partitionId.optional(),
  offset: offset.nullable().optional(),
  offsets: z.array(z.looseObject({ partition: partitionId, offset: offset.nullable() })).optional(),
  /** A retry of an idempotent pub the server had already appended. */
  duplicate: z.boolean().optional(),
})
export const ErrFrame = z.looseObject({
  op: z.literal('err'),
  id: z.string().optional(),
  code: z.string().min(1),
  message: z.string(),
})
/** Offsets [from, to) of a partition are no longer retained; delivery continues at `to`. */
export const GapFrame = z.looseObject({
  op: z.literal('gap'),
  sub: z.string(),
  partition: partitionId,
  from: offset,
  to: offset,
})

export const ServerFrame = z.discriminatedUnion('op', [OkFrame, MsgFrame, MsgsFrame, AckFrame, ErrFrame, GapFrame])
export type ServerFrame = z.infer<typeof ServerFrame>
export type OkFrame = z.infer<typeof OkFrame>
export type MsgFrame = z.infer<typeof MsgFrame>
export type MsgsFrame = z.infer<typeof MsgsFrame>
export type AckFrame = z.infer<typeof AckFrame>
export type ErrFrame = z.infer<typeof ErrFrame>
export type GapFrame = z.infer<typeof GapFrame>

const knownOps: ReadonlySet<string> = new Set(['ok', 'msg', 'msgs', 'ack', 'err', 'gap'])

export type ParsedFrame =
  | { kind: 'frame'; frame: ServerFrame }
  | { kind: 'unknown'; op: string }
  | { kind: 'invalid'; reason: string }

/** Parses one text frame from the server. Never throws. */
export function parseServerFrame(text: string): ParsedFrame {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { kind: 'invalid', reason: 'a frame is not JSON' }
  }
  const op = typeof json === 'object' && json !== null ? (json as { op?: unknown }).op : undefined
  if (typeof op === 'string' && !knownOps.has(op)) return { kind: 'unknown', op }
  const result = ServerFrame.safeParse(json)
  if (!result.success) {
    const issue = result.error.issues[0]
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : ''
    return { kind: 'invalid', reason: `unexpected ${String(op ?? 'frame')} frame${where}: ${issue?.message ?? 'invalid'}` }
  }
  return { kind: 'frame', frame: result.data }
}

// ---- client → server ------------------------------------------------------------------------

/** Where a subscription starts; DESIGN's `from`. Offsets are the next offset to deliver. */
export type StartPosition =
  | 'earliest'
  | 'latest'
  | { offsets: Record<string, number> }
  | { timestamp: number }

export interface SubFrame {
  op: 'sub'
  id: string
  topic: string
  partitions?: number[]
  from?: StartPosition
}

export interface UnsubFrame {
  op: 'unsub'
  id: string
}

export interface PubRecord {
  key?: RecordKey
  value: unknown
  headers?: RecordHeaders
  partition?: number
  timestamp?: number
}

/** One record inline (`key`, `value`, ...) or a batch in `records`. */
export interface PubFrame extends Partial<PubRecord> {
  op: 'pub'
  id: string
  topic: string
  records?: PubRecord[]
  acks?: '0' | '1' | 'all'
  /** Idempotent producer state: the record(s) are one batch starting at this sequence. */
  producer?: { id: number; epoch: number; sequence: number }
}

export interface CommitFrame {
  op: 'commit'
  id: string
  group: string
  offsets: Array<{ topic: string; partition: number; offset: number }>
}

export type ClientFrame = SubFrame | UnsubFrame | PubFrame | CommitFrame
