// The records of the internal compacted topic `__consumer_offsets` (DESIGN decision 8). Keys
// and values are JSON so a fetch of the topic is readable; a key is a small array in a fixed
// order, so the same logical key is always the same bytes (compaction keeps the last value
// per key; a null value is a tombstone).
//
//   ["offset", group, topic, partition] → {v, offset, metadata, commitTimestamp, memberEpoch, topicId}
//   ["group", group]                    → {v, groupEpoch, assignmentEpoch}
//   ["member", group, memberId]         → {v, instanceId, topics, ..., assigned, pending, target}
//
// A group's records all live in partition partitionForGroup(group), so one replay of that
// partition rebuilds the group, and one batch (one SQLite transaction) writes a group change.
import { z } from 'zod'
import type { NewRecord } from '../codec/record-batch.ts'

export const OFFSETS_TOPIC = '__consumer_offsets'

/** Topics only the node writes: hidden from listings, refused to producers. */
export const INTERNAL_TOPICS: ReadonlySet<string> = new Set([OFFSETS_TOPIC])

export function isInternalTopic(name: string): boolean {
  return INTERNAL_TOPICS.has(name)
}

/** Config of the offsets topic: compacted, and batches large enough for a whole group's change. */
export const OFFSETS_TOPIC_CONFIG = {
  'cleanup.policy': 'compact',
  'max.message.bytes': String(16 * 1024 * 1024),
  // Replay at start decodes synchronously: the node never compresses this topic.
  'compression.type': 'uncompressed',
}

/** Java's String.hashCode, as Kafka computes it for a group id. */
function javaStringHash(s: string): number {
  let h = 0
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0
  return h
}

/** Kafka's `Utils.abs(groupId.hashCode) % offsets.topic.num.partitions`. */
export function partitionForGroup(group: string, partitions: number): number {
  const h = javaStringHash(group)
  const abs = h === -2147483648 ? 0 : Math.abs(h)
  return abs % partitions
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const offset = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const epoch = z.number().int().min(-1).max(2 ** 31 - 1)
const name = z.string().min(1).max(255)

export const OffsetValue = z.object({
  v: z.literal(1),
  offset,
  metadata: z.string(),
  commitTimestamp: z.number().int(),
  memberEpoch: epoch,
  topicId: z.string(),
})
export type OffsetValue = z.infer<typeof OffsetValue>

export const GroupValue = z.object({ v: z.literal(1), groupEpoch: epoch, assignmentEpoch: epoch })
export type GroupValue = z.infer<typeof GroupValue>

/** [topic, partition, epoch in which the member got it] */
const ownedPartition = z.tuple([name, z.number().int().min(0), epoch])

export const MemberValue = z.object({
  v: z.literal(1),
  instanceId: name.nullable(),
  topics: z.array(name),
  sessionTimeoutMs: z.number().int().min(1),
  rebalanceTimeoutMs: z.number().int().min(1),
  memberEpoch: epoch,
  previousMemberEpoch: epoch,
  /** A static member that left and whose partitions wait for it to come back. */
  left: z.boolean(),
  assigned: z.array(ownedPartition),
  pending: z.array(ownedPartition),
  target: z.array(z.tuple([name, z.number().int().min(0)])),
})
export type MemberValue = z.infer<typeof MemberValue>

export type OffsetsRecord =
  | { type: 'offset'; group: string; topic: string; partition: number; value: OffsetValue | null }
  | { type: 'group'; group: string; value: GroupValue | null }
  | { type: 'member'; group: string; memberId: string; value: MemberValue | null }

function keyOf(r: OffsetsRecord): unknown[] {
  switch (r.type) {
    case 'offset': return ['offset', r.group, r.topic, r.partition]
    case 'group': return ['group', r.group]
    case 'member': return ['member', r.group, r.memberId]
  }
}

export function encodeOffsetsRecord(r: OffsetsRecord, timestamp: number): NewRecord {
  return {
    key: encoder.encode(JSON.stringify(keyOf(r))),
    value: r.value === null ? null : encoder.encode(JSON.stringify(r.value)),
    timestamp,
  }
}

const Key = z.union([
  z.tuple([z.literal('offset'), name, name, z.number().int().min(0)]),
  z.tuple([z.literal('group'), name]),
  z.tuple([z.literal('member'), name, name]),
])

/**
 * Decodes a stored record; undefined for a record this version does not understand (a newer
 * node's record type), which replay skips rather than failing the whole group.
 */
export function decodeOffsetsRecord(key: Uint8Array | null, value: Uint8Array | null): OffsetsRecord | undefined {
  if (key === null) return undefined
  let k: z.infer<typeof Key>
  try {
    const parsed = Key.safeParse(JSON.parse(decoder.decode(key)))
    if (!parsed.success) return undefined
    k = parsed.data
  } catch {
    return undefined
  }
  const json = value === null ? null : parseJson(value)
  if (json === undefined) return undefined
  switch (k[0]) {
    case 'offset': {
      const v = json === null ? null : OffsetValue.safeParse(json)
      if (v && !v.success) return undefined
      return { type: 'offset', group: k[1], topic: k[2], partition: k[3], value: v ? v.data! : null }
    }
    case 'group': {
      const v = json === null ? null : GroupValue.safeParse(json)
      if (v && !v.success) return undefined
      return { type: 'group', group: k[1], value: v ? v.data! : null }
    }
    case 'member': {
      const v = json === null ? null : MemberValue.safeParse(json)
      if (v && !v.success) return undefined
      return { type: 'member', group: k[1], memberId: k[2], value: v ? v.data! : null }
    }
  }
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(bytes))
  } catch {
    return undefined
  }
}
