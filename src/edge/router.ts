// Where a record produced at an edge goes: exactly where a broker of the region would put it
// (Broker.produce): its explicit partition, its key's partition (murmur2, as Kafka's Java
// client), or the topic's sticky partition. Validation matches the broker's too, so bad input
// gets the same answer at an edge as at a broker.
import type { ProduceRecord } from '../broker/broker.ts'
import { packBatches } from '../broker/batching.ts'
import { cleanerPolicy, effectiveConfig } from '../broker/topic-config.ts'
import { partitionForKey, type StickyPartitioner } from '../codec/partitioner.ts'
import type { NewRecord } from '../codec/record-batch.ts'
import { fail } from '../core/errors.ts'
import type { TopicMeta } from './edge-store.ts'

export interface RoutedPartition {
  partition: number
  /** Request indexes of the records, in request order, split into batches that fit max.message.bytes. */
  batches: number[][]
}

export interface Routing {
  /** The partition of every record, in request order. */
  assigned: number[]
  partitions: RoutedPartition[]
  config: Record<string, string>
}

/** The topic's configs with Kafka's defaults for what upstream has not told this edge yet. */
export function topicConfig(topic: TopicMeta): Record<string, string> {
  return effectiveConfig(topic.config)
}

export function routeRecords(topic: TopicMeta, records: ProduceRecord[], sticky: StickyPartitioner): Routing {
  const n = topic.partitions
  const config = topicConfig(topic)
  checkKeys(topic.name, config, records)
  const byPartition = new Map<number, number[]>()
  let usedSticky = false
  const assigned = records.map((r, i) => {
    let p: number
    if (r.partition !== undefined) {
      if (r.partition >= n) fail('UNKNOWN_TOPIC_OR_PARTITION', `topic '${topic.name}' has no partition ${r.partition}`)
      p = r.partition
    } else if (r.key !== null) {
      p = partitionForKey(r.key, n)
    } else {
      p = sticky.partition(topic.name, n)
      usedSticky = true
    }
    let list = byPartition.get(p)
    if (!list) byPartition.set(p, (list = []))
    list.push(i)
    return p
  })
  if (usedSticky) sticky.onNewBatch(topic.name, n)
  const maxBytes = Number(config['max.message.bytes'])
  const partitions: RoutedPartition[] = []
  for (const [partition, indexes] of byPartition) {
    const groups = packBatches(indexes.map((i) => records[i]!), maxBytes)
    let at = 0
    partitions.push({ partition, batches: groups.map((g) => indexes.slice(at, (at += g.length))) })
  }
  return { assigned, partitions, config }
}

/** A compacted topic keeps the latest record per key, so every record needs one (as the broker checks). */
export function checkKeys(topic: string, config: Record<string, string>, records: NewRecord[]): void {
  if (!cleanerPolicy(config).compact) return
  const i = records.findIndex((r) => r.key === null)
  if (i >= 0) fail('INVALID_RECORD', `records[${i}] has no key; topic '${topic}' is compacted (cleanup.policy=${config['cleanup.policy']}) and needs one`)
}
