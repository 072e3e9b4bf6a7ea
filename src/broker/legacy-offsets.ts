// A one-time migration at open: committed offsets an older node kept in meta.db move into
// `__consumer_offsets`. Separate because it runs once per node's life and reads nothing else
// of the broker than its topics.
import type { StorageProvider } from '../../storage/driver.ts'
import type { Runtime } from '../core/clock.ts'
import { encodeOffsetsRecord, isInternalTopic, partitionForGroup, type OffsetsRecord } from '../groups/offsets-topic.ts'
import { encodeAppend, packBatches } from './batching.ts'
import type { Topic } from './broker-types.ts'
import type { LegacyCommittedOffset } from './metadata.ts'
import { maxMessageBytes } from './topic-admin.ts'

/**
 * Moves offsets an older node kept in meta.db into `__consumer_offsets` (once: the table is
 * dropped right after). Written and made durable before the drop, so a crash in between
 * only repeats the import.
 */
export function importLegacyOffsets(
  rows: LegacyCommittedOffset[],
  topics: ReadonlyMap<string, Topic>,
  offsetsTopic: (create: boolean) => Topic | undefined,
  storage: StorageProvider,
  runtime: Runtime,
): void {
  const live = rows.filter((r) => {
    const t = topics.get(r.topic)
    return t !== undefined && !isInternalTopic(r.topic) && r.partition < t.partitions.length
  })
  if (live.length === 0) return
  const topic = offsetsTopic(true)!
  const byPartition = new Map<number, OffsetsRecord[]>()
  for (const r of live) {
    const p = partitionForGroup(r.group, topic.partitions.length)
    let list = byPartition.get(p)
    if (!list) byPartition.set(p, (list = []))
    list.push({
      type: 'offset',
      group: r.group,
      topic: r.topic,
      partition: r.partition,
      value: { v: 1, offset: r.offset, metadata: r.metadata, commitTimestamp: r.commitTimestamp, memberEpoch: -1, topicId: topics.get(r.topic)!.record.topicId },
    })
  }
  for (const [index, records] of byPartition) {
    const p = topic.partitions[index]!
    const encoded = records.map((r) => encodeOffsetsRecord(r, runtime.clock.now()))
    // Nothing else is queued while the node opens: append now, not on the next tick.
    for (const chunk of packBatches(encoded, maxMessageBytes(topic))) {
      const [result] = p.log.appendAsLeader([encodeAppend(chunk)], p.leaderEpoch, runtime.clock.now())
      if (!result!.ok) throw result!.error
    }
    p.setHighWatermark(p.log.logEndOffset)
    storage.sync(p.log.db)
  }
}
