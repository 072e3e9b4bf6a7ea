// A socket's subscriptions in its WebSocket attachment, so they survive the Durable Object's
// hibernation (src/fanout/saved.ts says what is kept and why that is exactly-once).
//
// workerd keeps an attachment (`ws.serializeAttachment`) with each hibernatable socket across
// evictions, at most 16,384 bytes of structured-clone data (measured with miniflare
// 4.20260426.0: "A WebSocket 'attachment' cannot be larger than 16384 bytes"; a string of n
// Latin-1 characters takes n + 6 bytes, other strings two bytes a character). A `sub` whose
// subscriptions would not fit with every offset at its longest (16 digits) is refused with
// TOO_MANY_SUBSCRIPTIONS, so a socket's state always fits: about 700 partitions per socket in
// all, fewer with long topic names and subscription ids.
//
// Why the attachment and not a SQLite table: the attachment is written in memory with the
// socket (no storage write, billed or otherwise, per catch-up frame), it goes away with the
// socket (no cleanup of rows for sockets that closed while the object was evicted), and it is
// read back synchronously in the constructor, before the request that woke the object.
import { z } from 'zod'
import { EdgelogError } from '../../src/core/errors.ts'
import type { SavedSubscription, SessionStore } from '../../src/fanout/saved.ts'
import type { FanoutSocket } from '../../src/fanout/socket.ts'
import { StandardFanoutSocket, type StandardSocket } from '../shared/ws.ts'

/** workerd's limit on one socket's attachment. */
export const ATTACHMENT_MAX_BYTES = 16_384
/** Structured-clone header of a string, with room to spare (measured: 6). */
const STRING_HEADER_BYTES = 16
const VERSION = 1

/** A workerd WebSocket accepted with `ctx.acceptWebSocket` (the parts used here). */
export interface HibernatableWebSocket extends StandardSocket {
  serializeAttachment(value: unknown): void
  deserializeAttachment(): unknown
}

export class HibernatingSocket extends StandardFanoutSocket {
  constructor(override readonly ws: HibernatableWebSocket) {
    super(ws)
  }
}

// The stored form is short (an attachment is small): i = id, t = topic, u = topic id,
// c = cursors as flat [partition, next, live (0|1)] triples, g = consumer group.
const storedSub = z.union([
  z.strictObject({ i: z.string(), t: z.string(), u: z.string(), c: z.array(z.number().int().nonnegative()).refine((c) => c.length % 3 === 0) }),
  z.strictObject({ i: z.string(), t: z.string(), g: z.string() }),
])
const stored = z.strictObject({ v: z.literal(VERSION), s: z.array(storedSub) })

export function encodeAttachment(subs: SavedSubscription[]): string {
  return JSON.stringify({
    v: VERSION,
    s: subs.map((s) =>
      'group' in s ? { i: s.id, t: s.topic, g: s.group } : { i: s.id, t: s.topic, u: s.topicId, c: s.cursors.flatMap((c) => [c.partition, c.next, c.live ? 1 : 0]) },
    ),
  })
}

/** The subscriptions kept with a socket, or undefined when there are none to read (missing, not ours, corrupt). */
export function decodeAttachment(value: unknown): SavedSubscription[] | undefined {
  if (typeof value !== 'string') return undefined
  let json: unknown
  try {
    json = JSON.parse(value)
  } catch {
    return undefined
  }
  const parsed = stored.safeParse(json)
  if (!parsed.success) return undefined
  return parsed.data.s.map((s) => {
    if ('g' in s) return { id: s.i, topic: s.t, group: s.g }
    const cursors = []
    for (let i = 0; i < s.c.length; i += 3) cursors.push({ partition: s.c[i]!, next: s.c[i + 1]!, live: s.c[i + 2] === 1 })
    return { id: s.i, topic: s.t, topicId: s.u, cursors }
  })
}

/** Bytes an attachment string takes in workerd (structured clone: one or two bytes a character). */
export function attachmentBytes(text: string): number {
  // eslint-disable-next-line no-control-regex
  return (/[^\u0000-\u00ff]/.test(text) ? 2 * text.length : text.length) + STRING_HEADER_BYTES
}

/** Keeps each socket's positions in its attachment (FanoutOptions.sessionStore). */
export const attachmentStore: SessionStore = {
  check(subs) {
    // Offsets only grow: checked as if each were already at its longest.
    const longest = subs.map((s) => ('cursors' in s ? { ...s, cursors: s.cursors.map((c) => ({ ...c, next: Number.MAX_SAFE_INTEGER })) } : s))
    const bytes = attachmentBytes(encodeAttachment(longest))
    if (bytes > ATTACHMENT_MAX_BYTES) {
      throw new EdgelogError(
        'TOO_MANY_SUBSCRIPTIONS',
        `on Cloudflare a socket's subscriptions are kept in its ${ATTACHMENT_MAX_BYTES}-byte hibernation attachment, and these would need up to ${bytes} bytes: subscribe fewer partitions on this socket, or open another socket`,
      )
    }
  },
  save(socket: FanoutSocket, subs) {
    try {
      ;(socket as HibernatingSocket).ws.serializeAttachment(encodeAttachment(subs))
    } catch (err) {
      // Cannot happen after check(); if it did, a wake-up would resume from stale positions:
      // the client resumes from its own instead.
      console.error('edgelog: a socket\'s subscriptions could not be kept for hibernation', err)
      socket.close(1011, 'subscription state could not be kept')
    }
  },
}
