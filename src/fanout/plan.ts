// Where a new subscription starts on each of its partitions (WebSocket `sub` and SSE alike).
import type { Broker } from '../broker/broker.ts'
import type { Partition } from '../broker/partition.ts'
import { EdgelogError, fail } from '../core/errors.ts'
import type { StartPosition } from './protocol.ts'

export interface StartPlan {
  topic: string
  starts: Array<{ partition: Partition; next: number }>
}

/**
 * Resolves `partitions` (default: every partition the topic has now) and `from` to the next
 * offset per partition. Offsets below the log start are kept (the cursor sends a `gap`);
 * offsets beyond the log end are OFFSET_OUT_OF_RANGE. Nothing is registered here.
 */
/** The next offset of one partition of a new subscription (a cluster resolves some at the leader). */
export type StartResolver = (p: Partition, from: StartPosition, explicit: Record<string, number> | undefined) => Promise<number>

export async function planSubscription(
  broker: Broker,
  topic: string,
  partitions: number[] | undefined,
  from: StartPosition,
  resolveStart: StartResolver = (p, f, explicit) => startOffset(broker, p, f, explicit),
): Promise<StartPlan> {
  const count = broker.describeTopic(topic).partitions.length
  const indexes = partitions ?? Array.from({ length: count }, (_, i) => i)
  if (new Set(indexes).size !== indexes.length) fail('INVALID_REQUEST', 'partitions lists a partition twice')
  const chosen = indexes.map((i) => broker.partition(topic, i))
  const explicit = typeof from === 'object' && 'offsets' in from ? from.offsets : undefined
  if (explicit) {
    for (const key of Object.keys(explicit)) {
      if (!indexes.includes(Number(key))) {
        fail(partitions ? 'INVALID_REQUEST' : 'UNKNOWN_TOPIC_OR_PARTITION', `from.offsets names partition ${key}, which is not part of the subscription`)
      }
    }
  }
  const starts = []
  for (const p of chosen) starts.push({ partition: p, next: await resolveStart(p, from, explicit) })
  // A partition of a deleted topic is closed: the subscription would never see a record.
  if (starts.some((s) => s.partition.isClosed)) fail('UNKNOWN_TOPIC_OR_PARTITION', `topic '${topic}' was deleted`)
  return { topic, starts }
}

/** Where a subscription starts on this broker's own replica of the partition. */
export async function startOffset(broker: Broker, p: Partition, from: StartPosition, explicit: Record<string, number> | undefined): Promise<number> {
  if (from === 'earliest') return p.log.logStartOffset
  if (from === 'latest') return p.highWatermark
  // Decoding may await (compressed batches), so this is the one asynchronous start.
  if ('timestamp' in from) return (await broker.offsetForTimestamp(p.topic, p.index, from.timestamp)) ?? p.highWatermark
  // A partition missing from the map starts at the log start: a client that lost track of a
  // partition (or a partition added since) gets everything rather than a silent skip.
  const next = explicit![String(p.index)] ?? p.log.logStartOffset
  if (next > p.log.logEndOffset) {
    throw new EdgelogError(
      'OFFSET_OUT_OF_RANGE',
      `offset ${next} is beyond the end (${p.log.logEndOffset}) of ${p.topic}-${p.index}; the log was replaced or lost`,
    )
  }
  return next
}
