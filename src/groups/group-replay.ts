// Rebuilding groups from `__consumer_offsets`: every member, group and offset record of one
// partition, replayed in offset order. The coordinator does this at start, when it becomes the
// leader of an offsets partition, and after a failed append (so memory never runs ahead of
// what is stored); the groups it returns are not in service until the coordinator adopts them.
import type { GroupHost } from './group-host.ts'
import { ConsumerGroup } from './group.ts'
import { decodeOffsetsRecord } from './offsets-topic.ts'

/** The groups stored in one partition of the offsets topic (only `only`, when given). */
export function replayGroups(host: GroupHost, partition: number, only?: string): ConsumerGroup[] {
  const groups = new Map<string, ConsumerGroup>()
  const topicId = (t: string) => host.topicId(t)
  host.replay(partition, (key, value) => {
    const r = decodeOffsetsRecord(key, value)
    if (!r || (only !== undefined && r.group !== only)) return
    let g = groups.get(r.group)
    if (!g) groups.set(r.group, (g = new ConsumerGroup(r.group)))
    g.replay(r, topicId)
  })
  for (const g of groups.values()) g.finishReplay()
  return [...groups.values()]
}
