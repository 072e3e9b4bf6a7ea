// Any broker accepts any request (DESIGN: clients behind a load balancer work): what another
// broker leads goes there, one hop, marked so that it is never forwarded twice.
//
// A produce the broker splits by partition (a topic-wide produce, a WebSocket `pub`) reaches a
// leader as a peer request (`/internal/v1/produce`, guarded by the peer token like the replica
// routes): the caller was authenticated, authorized and charged its quota where it arrived, and
// that broker has no token of the caller's to pass on (a socket's token was spent on its upgrade).
// Requests for one partition's route are forwarded whole instead (src/api/forward.ts), token
// included, and the leader checks them itself.
import { z } from 'zod'
import type { Acks, Broker, ProducerId } from '../broker/broker.ts'
import type { ProduceCompression } from '../broker/topic-config.ts'
import type { NewRecord } from '../codec/record-batch.ts'
import { decodeBase64, encodeBase64 } from '../core/base64.ts'
import { EdgelogError } from '../core/errors.ts'
import { peerRequest } from './peer-request.ts'

/** Set on a forwarded request (to the forwarding broker's id): the receiver does not forward it again. */
export const FORWARDED_HEADER = 'x-edgelog-forwarded'

export interface ForwardOptions {
  nodeId: number
  /** The leader's advertised URL when another broker leads the partition. */
  leaderUrl: (topic: string, partition: number) => string | undefined
  timeoutMs: number
  maxResponseBytes: number
  /** The cluster's shared secret for broker-to-broker routes, when it has one. */
  peerToken?: string
  onForward?: () => void
}

const nonNegative = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const bytes = z.string().max(256 * 1024 * 1024).nullable()

/** One partition's records, handed on by the broker the produce arrived at. */
export const ForwardedProduceSchema = z
  .object({
    topic: z.string().min(1).max(249),
    partition: z.number().int().min(0).max(1_000_000),
    acks: z.enum(['0', '1', 'all']),
    compression: z.enum(['none', 'gzip']).optional(),
    records: z
      .array(
        z
          .object({
            key: bytes,
            value: bytes,
            headers: z.array(z.tuple([z.string().max(32 * 1024), bytes])).max(10_000),
            timestamp: nonNegative,
          })
          .strict(),
      )
      .min(1)
      .max(1_000_000),
    producer: z.object({ id: nonNegative, epoch: z.number().int().min(0).max(32767), sequence: z.number().int().min(0).max(2147483647) }).strict().optional(),
  })
  .strict()
export type ForwardedProduce = z.infer<typeof ForwardedProduceSchema>

/** Per record, in order (null with acks=0), and whether the batch was a retry already appended. */
const ForwardedProduceAnswerSchema = z.object({ offsets: z.array(nonNegative.nullable()), duplicate: z.boolean() }).strict()
export type ForwardedProduceAnswer = z.infer<typeof ForwardedProduceAnswerSchema>

/**
 * A forwarded request is a request's largest body in base64 (4/3) plus JSON framing: twice
 * the client limit is a bound the forwarding broker never reaches.
 */
export const forwardedProduceMaxBytes = (maxRequestBytes: number) => 2 * maxRequestBytes + 64 * 1024

/** The leader's side of `/internal/v1/produce`: appended here, never forwarded again. */
export async function handleForwardedProduce(broker: Broker, req: ForwardedProduce): Promise<ForwardedProduceAnswer> {
  const records = forwardedRecords(req)
  const options = { noForward: true, ...(req.compression ? { compression: req.compression } : {}) }
  if (req.producer) {
    const r = await broker.produceIdempotent(req.topic, req.partition, records, req.acks, req.producer, options)
    return { offsets: records.map((_, i) => (r.baseOffset === null ? null : r.baseOffset + i)), duplicate: r.duplicate }
  }
  const offsets = await broker.produce(req.topic, records.map((r) => ({ ...r, partition: req.partition })), req.acks, options)
  return { offsets: offsets.map((o) => o.offset), duplicate: false }
}

const b64 = (v: Uint8Array | null) => (v === null ? null : encodeBase64(v))

function unb64(v: string | null, what: string): Uint8Array | null {
  if (v === null) return null
  const out = decodeBase64(v)
  if (out === undefined) throw new EdgelogError('INVALID_REQUEST', `${what} is not valid base64`)
  return out
}

/** The records of a forwarded produce, as the leader appends them (header bytes exact). */
export function forwardedRecords(req: ForwardedProduce): NewRecord[] {
  return req.records.map((r, i) => ({
    key: unb64(r.key, `records[${i}].key`),
    value: unb64(r.value, `records[${i}].value`),
    headers: r.headers.map(([key, value], j) => ({ key, value: unb64(value, `records[${i}].headers[${j}]`) })),
    timestamp: r.timestamp,
  }))
}

/** Broker.produce's forwardProduce: records for a partition led elsewhere, sent to its leader. */
export function forwardProduce(opts: ForwardOptions) {
  return async (
    topic: string,
    partition: number,
    records: NewRecord[],
    acks: Acks,
    producer?: ProducerId,
    compression?: ProduceCompression,
  ): Promise<ForwardedProduceAnswer> => {
    const url = opts.leaderUrl(topic, partition)
    if (!url) throw new EdgelogError('NOT_LEADER_OR_FOLLOWER', `${topic}-${partition} has no leader this broker can reach right now`)
    opts.onForward?.()
    const body: ForwardedProduce = {
      topic,
      partition,
      acks,
      ...(compression ? { compression } : {}),
      records: records.map((r) => ({
        key: b64(r.key),
        value: b64(r.value),
        headers: (r.headers ?? []).map((h) => [h.key, b64(h.value)] as [string, string | null]),
        timestamp: r.timestamp,
      })),
      ...(producer ? { producer } : {}),
    }
    const who = `the leader of ${topic}-${partition}`
    const answer = ForwardedProduceAnswerSchema.safeParse(
      await peerRequest(url, '/internal/v1/produce', body, {
        peerToken: opts.peerToken,
        timeoutMs: opts.timeoutMs,
        maxAnswerBytes: opts.maxResponseBytes,
        who,
        headers: { [FORWARDED_HEADER]: String(opts.nodeId) },
      }),
    )
    if (!answer.success || answer.data.offsets.length !== records.length) throw new EdgelogError('INTERNAL', `${who} answered no offsets for the records`)
    return answer.data
  }
}
