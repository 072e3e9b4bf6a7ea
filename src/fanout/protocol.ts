// Client → server frames of `/v1/ws` (DESIGN.md "Public contract"; docs/ws-protocol.md), checked
// with strict zod objects: an unknown field or op is an error the client hears about.
import { z } from 'zod'
import { parseJsonText } from '../api/body.ts'
import { toEdgelogError } from '../api/errors.ts'
import { JsonRecordSchema, ProducerSchema } from '../api/schemas.ts'
import { EdgelogError } from '../core/errors.ts'

export const MAX_ID_LENGTH = 128
const id = z.string().min(1).max(MAX_ID_LENGTH)
const topic = z.string().min(1).max(249)
const partition = z.number().int().min(0).max(1_000_000)
const offset = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const acks = z.enum(['0', '1', 'all'])

export const StartPositionSchema = z.union([
  z.enum(['earliest', 'latest']),
  z.object({ offsets: z.record(z.string().regex(/^(0|[1-9][0-9]{0,6})$/, 'a partition number'), offset) }).strict(),
  z.object({ timestamp: offset }).strict(),
])
export type StartPosition = z.infer<typeof StartPositionSchema>

const groupName = z.string().min(1).max(255).regex(/^[a-zA-Z0-9._-]+$/, 'may contain only ASCII letters, digits, ., _ and -')
const timeoutMs = z.number().int().min(0).max(2 ** 31 - 1)

export const SubFrameSchema = z
  .object({
    op: z.literal('sub'),
    id,
    topic,
    partitions: z.array(partition).min(1).max(1024).optional(),
    from: StartPositionSchema.optional(),
    // A consumer group member: the group assigns the partitions (README "Consumer groups").
    group: groupName.optional(),
    instanceId: groupName.optional(),
    sessionTimeoutMs: timeoutMs.optional(),
    rebalanceTimeoutMs: timeoutMs.optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.group === undefined) {
      for (const k of ['instanceId', 'sessionTimeoutMs', 'rebalanceTimeoutMs'] as const) {
        if (f[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: `${k} belongs to a group subscription (give group)` })
      }
      return
    }
    if (f.partitions !== undefined) ctx.addIssue({ code: 'custom', path: ['partitions'], message: 'a group subscription gets its partitions from the group' })
    if (f.from !== undefined && f.from !== 'earliest' && f.from !== 'latest') {
      ctx.addIssue({ code: 'custom', path: ['from'], message: 'a group subscription starts at committed offsets; from is earliest or latest, for partitions without one' })
    }
  })

export const UnsubFrameSchema = z.object({ op: z.literal('unsub'), id }).strict()

// One record inline (DESIGN's shape) or `records` (a batch); never both.
const recordFields = JsonRecordSchema.shape
export const PubFrameSchema = z
  .object({
    op: z.literal('pub'),
    id,
    topic,
    key: recordFields.key,
    value: recordFields.value.optional(),
    headers: recordFields.headers,
    partition: recordFields.partition,
    timestamp: recordFields.timestamp,
    records: z.array(JsonRecordSchema).min(1).max(10_000).optional(),
    acks: acks.optional(),
    producer: ProducerSchema.optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    // JSON has no undefined: a present `value` (null included) is never undefined here.
    const inline = f.key !== undefined || f.value !== undefined || f.headers !== undefined || f.timestamp !== undefined
    if (f.records !== undefined && inline) {
      ctx.addIssue({ code: 'custom', message: 'a pub carries either records or one record (key, value, headers, timestamp), not both' })
    }
    if (f.records === undefined && f.value === undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: 'value is required (null for a tombstone)' })
    if (f.producer !== undefined && f.partition === undefined) {
      ctx.addIssue({ code: 'custom', path: ['partition'], message: 'an idempotent pub (producer) names its partition' })
    }
  })

export const CommitFrameSchema = z
  .object({
    op: z.literal('commit'),
    id,
    group: z.string().min(1).max(255),
    offsets: z
      .array(z.object({ topic, partition, offset, metadata: z.string().max(4096).optional() }).strict())
      .min(1)
      .max(10_000),
  })
  .strict()

export type SubFrame = z.infer<typeof SubFrameSchema>
export type UnsubFrame = z.infer<typeof UnsubFrameSchema>
export type PubFrame = z.infer<typeof PubFrameSchema>
export type CommitFrame = z.infer<typeof CommitFrameSchema>
export type ClientFrame = SubFrame | UnsubFrame | PubFrame | CommitFrame

const schemas = { sub: SubFrameSchema, unsub: UnsubFrameSchema, pub: PubFrameSchema, commit: CommitFrameSchema } as const
export type ClientOp = keyof typeof schemas

export type ParsedClientFrame = { ok: true; frame: ClientFrame } | { ok: false; id: string | undefined; op: string | undefined; error: EdgelogError }

/**
 * Parses one inbound text frame. Never throws: a bad frame comes back with the error to send
 * and the frame's `id` when it had a usable one, so the `err` can answer it.
 */
export function parseClientFrame(text: string): ParsedClientFrame {
  let json: unknown
  try {
    json = parseJsonText(text, 'the frame')
  } catch (err) {
    return { ok: false, id: undefined, op: undefined, error: toEdgelogError(err) }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, id: undefined, op: undefined, error: new EdgelogError('INVALID_REQUEST', 'a frame is one JSON object') }
  }
  const raw = json as Record<string, unknown>
  const frameId = typeof raw.id === 'string' && raw.id.length > 0 && raw.id.length <= MAX_ID_LENGTH ? raw.id : undefined
  const op = typeof raw.op === 'string' ? raw.op : undefined
  if (op === undefined || !Object.hasOwn(schemas, op)) {
    const what = op === undefined ? 'a frame needs a string op' : `unknown op '${op.slice(0, 32)}'`
    return { ok: false, id: frameId, op, error: new EdgelogError('INVALID_REQUEST', `${what}: sub, unsub, pub or commit`) }
  }
  const parsed = schemas[op as ClientOp].safeParse(json)
  if (!parsed.success) {
    const error = toEdgelogError(parsed.error)
    // The shared zod describer names the top level "body" (an HTTP body); here it is a frame.
    return { ok: false, id: frameId, op, error: new EdgelogError(error.code, error.message.replace(/^body: /, 'frame: ')) }
  }
  return { ok: true, frame: parsed.data as ClientFrame }
}
