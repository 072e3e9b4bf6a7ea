// A socket's subscriptions as a runtime can keep them outside memory, and the way back.
// A Durable Object that hibernates (edge/cloudflare/hibernation.ts) is evicted from memory while
// its WebSockets stay connected; it wakes with the sockets and must carry on each socket's
// subscriptions where they were. Other runtimes do not set a SessionStore and never see this.
//
// What a position means (the reasoning the Durable Object relies on):
// - A cursor in catch-up or waiting is saved with `next`, the first offset it has not delivered.
//   The save follows every catch-up step in the same turn as the frames it sent, so the saved
//   `next` and the frames on the wire agree whenever the object can be evicted (it is evicted
//   only when idle, never in the middle of a turn).
// - A live cursor is saved as `live` (with the offset it went live at, for the check below).
//   Live cursors receive everything the partition's feed publishes, and the feed publishes up to
//   the high watermark one deferred turn after it moves. An object is evicted only after
//   seconds with no event and no pending timer (a pending setTimeout keeps workerd from
//   hibernating: measured), so by then the feed has published up to the high watermark. On a
//   single node the high watermark is the log end, and a reopened partition starts with it at
//   the log end: a live cursor resumes exactly at the reopened partition's high watermark.
// Restored positions are checked against the log: a position beyond the log end means the log
// is not the one the socket was reading (it cannot happen on one node) and is refused.
import type { Broker } from '../broker/broker.ts'
import { assert, EdgelogError } from '../core/errors.ts'
import type { StartPlan } from './plan.ts'
import type { FanoutSocket } from './socket.ts'

export interface SavedCursor {
  partition: number
  /** Catch-up / waiting: the next offset to deliver. Live: the offset it joined the live fan-out at. */
  next: number
  live: boolean
}

/** One `sub` of a socket: its partitions' positions, or a consumer-group membership. */
export type SavedSubscription =
  | { id: string; topic: string; topicId: string; cursors: SavedCursor[] }
  | { id: string; topic: string; group: string }

/**
 * Where a runtime keeps each socket's subscriptions (FanoutOptions.sessionStore). Sessions call
 * `save` at every change of a subscription's position (sub answered, unsub, a catch-up step, a
 * cursor going live or waiting, a subscription ending), and `check` before answering a `sub`.
 */
export interface SessionStore {
  /** Throws (TOO_MANY_SUBSCRIPTIONS) when these subscriptions could not be kept for this socket. */
  check(subs: SavedSubscription[]): void
  save(socket: FanoutSocket, subs: SavedSubscription[]): void
}

/**
 * The start plan of a saved subscription, synchronously: no `plan` round trip, so a restored
 * subscription's live cursors join before any request is handled. A topic or partition that is
 * gone (or was deleted and created again) is UNKNOWN_TOPIC_OR_PARTITION, as for a running one.
 */
export function planFromSaved(broker: Broker, saved: Extract<SavedSubscription, { cursors: SavedCursor[] }>): StartPlan {
  const gone = () => new EdgelogError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${saved.topic}' was deleted`)
  let topicId: string
  try {
    topicId = broker.describeTopic(saved.topic).topicId
  } catch {
    throw gone()
  }
  if (topicId !== saved.topicId) throw gone()
  const starts = saved.cursors.map((c) => {
    const p = broker.partition(saved.topic, c.partition)
    if (p.isClosed) throw gone()
    const end = p.log.logEndOffset
    assert(c.next <= end, `restored position ${c.next} of ${saved.topic}-${c.partition} is beyond the log end ${end}`)
    if (!c.live) return { partition: p, next: c.next }
    assert(c.next <= p.highWatermark, `restored live position ${c.next} of ${saved.topic}-${c.partition} is beyond the high watermark ${p.highWatermark}`)
    return { partition: p, next: p.highWatermark }
  })
  return { topic: saved.topic, starts }
}
