// Planning an offset reset (Kafka's kafka-consumer-groups --reset-offsets): which partitions it
// covers and where each one moves to. Pure lookups against the host; the coordinator applies
// the plan inside the group's operation, where no member can join meanwhile.
import { fail } from '../core/errors.ts'
import type { GroupHost } from './group-host.ts'
import type { ResetRequest, ResetTo } from './group-requests.ts'
import type { ConsumerGroup } from './group.ts'
import { compareTpKeys, tpKey, type TpKey } from './topic-partitions.ts'

/** The partitions a reset covers: those named, or every live one the group has committed. */
export function resetTargets(host: GroupHost, g: ConsumerGroup, req: ResetRequest, exists: (tp: TpKey) => boolean): TpKey[] {
  const out = new Set<TpKey>()
  if (req.topics === undefined) {
    for (const tp of g.offsets.keys()) if (exists(tp)) out.add(tp)
    if (out.size === 0) fail('INVALID_REQUEST', `group '${g.groupId}' has no committed offsets; name the topics to reset`)
  } else {
    for (const t of req.topics) {
      const n = host.partitionCount(t.topic)
      if (n === undefined) fail('UNKNOWN_TOPIC_OR_PARTITION', `topic '${t.topic}' does not exist`)
      const partitions = t.partitions ?? Array.from({ length: n }, (_, i) => i)
      for (const p of partitions) {
        if (p >= n) fail('UNKNOWN_TOPIC_OR_PARTITION', `topic '${t.topic}' has no partition ${p}`)
        out.add(tpKey(t.topic, p))
      }
    }
  }
  return [...out].sort(compareTpKeys)
}

/** The offset a partition resets to. */
export async function resetOffset(host: GroupHost, topic: string, partition: number, to: ResetTo): Promise<number> {
  const pos = await host.positions(topic, partition)
  if (to === 'earliest') return pos.logStartOffset
  if (to === 'latest') return pos.highWatermark
  if ('timestamp' in to) return (await host.offsetForTimestamp(topic, partition, to.timestamp)) ?? (await host.positions(topic, partition)).highWatermark
  if (to.offset < pos.logStartOffset || to.offset > pos.logEndOffset) {
    fail('OFFSET_OUT_OF_RANGE', `offset ${to.offset} is outside ${topic}-${partition}: log start ${pos.logStartOffset}, log end ${pos.logEndOffset}`)
  }
  return to.offset
}
