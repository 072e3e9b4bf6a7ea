// Resetting a group's committed offsets. A node with consumer groups (issue 4) has
// `POST /v1/groups/{g}/offsets/reset`, which refuses while the group has members; an older node
// only has `POST /v1/groups/{g}/offsets`: there the console works out the offsets itself from
// the topic's description (and, for a timestamp, the offsets-for-times endpoint) and commits
// them, the way `kafka-consumer-groups --reset-offsets` does on the client side.
import { ApiError, enc, getJson, sendJson } from './api.ts'
import type { PartitionInfo, ResetAnswer, TopicInfo } from './types.ts'

export type ResetTo = 'earliest' | 'latest' | { offset: number } | { timestamp: number }

export interface ResetRequest {
  group: string
  topic: string
  /** Every partition of the topic when empty. */
  partitions: number[]
  to: ResetTo
  dryRun: boolean
}

export interface ResetResult extends ResetAnswer {
  /** How it was done: the reset endpoint, or a plain commit on a node without one. */
  via: 'reset' | 'commit'
}

export async function resetOffsets(req: ResetRequest): Promise<ResetResult> {
  const body = {
    to: req.to,
    topics: [{ topic: req.topic, ...(req.partitions.length > 0 ? { partitions: req.partitions } : {}) }],
    ...(req.dryRun ? { dryRun: true } : {}),
  }
  try {
    const answer = await sendJson<ResetAnswer>('POST', `/v1/groups/${enc(req.group)}/offsets/reset`, body)
    return { ...answer, via: 'reset' }
  } catch (err) {
    if (!(err instanceof ApiError && err.missingRoute)) throw err
  }
  return commitInstead(req)
}

async function commitInstead(req: ResetRequest): Promise<ResetResult> {
  const info = await getJson<TopicInfo>(`/v1/topics/${enc(req.topic)}`)
  const committed = await getJson<{ offsets: Array<{ topic: string; partition: number; offset: number }> }>(
    `/v1/groups/${enc(req.group)}/offsets?topic=${enc(req.topic)}`,
  )
  const chosen = choosePartitions(info.partitions, req.partitions)
  const offsets = []
  for (const p of chosen) {
    const offset = await targetOffset(req.topic, p, req.to)
    const previous = committed.offsets.find((o) => o.topic === req.topic && o.partition === p.partition)?.offset ?? null
    offsets.push({ topic: req.topic, partition: p.partition, previous, offset })
  }
  if (!req.dryRun && offsets.length > 0) {
    await sendJson('POST', `/v1/groups/${enc(req.group)}/offsets`, {
      offsets: offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })),
    })
  }
  return { group: req.group, dryRun: req.dryRun, offsets, via: 'commit' }
}

export function choosePartitions(all: readonly PartitionInfo[], wanted: readonly number[]): PartitionInfo[] {
  if (wanted.length === 0) return [...all]
  return wanted.map((n) => {
    const p = all.find((q) => q.partition === n)
    if (p === undefined) throw new Error(`the topic has no partition ${n}`)
    return p
  })
}

/** Where a partition's committed offset goes: the next offset the group will read. */
export async function targetOffset(topic: string, p: PartitionInfo, to: ResetTo): Promise<number> {
  if (to === 'earliest') return p.logStartOffset
  if (to === 'latest') return p.highWatermark
  if ('offset' in to) {
    if (to.offset < p.logStartOffset || to.offset > p.highWatermark) {
      throw new Error(`offset ${to.offset} is outside partition ${p.partition}'s log (${p.logStartOffset}–${p.highWatermark})`)
    }
    return to.offset
  }
  const found = await getJson<{ offset: number | null }>(`/v1/topics/${enc(topic)}/partitions/${p.partition}/offsets?timestamp=${to.timestamp}`)
  // No record at or after the time: the group starts at the end, as Kafka does.
  return found.offset ?? p.highWatermark
}

/** "0, 2, 5" → [0, 2, 5]; blank → every partition. */
export function parsePartitionList(text: string): number[] {
  const trimmed = text.trim()
  if (trimmed === '') return []
  return [
    ...new Set(
      trimmed.split(/[\s,]+/).map((part) => {
        if (!/^\d{1,7}$/.test(part)) throw new Error(`"${part}" is not a partition number`)
        return Number(part)
      }),
    ),
  ]
}
