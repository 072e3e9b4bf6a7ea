// The steps of a produce that need no broker state: choosing each record's partition, packing
// each partition's records into batches, refusing keyless records on a compacted topic, and
// waiting for acks=all. The Broker runs them in order (validate all, then append), so a
// request is refused whole or appended.
import type { NewRecord } from '../codec/record-batch.ts'
import { partitionForKey, type StickyPartitioner } from '../codec/partitioner.ts'
import { fail } from '../core/errors.ts'
import type { AppendRequest, AppendResult } from '../log/partition-log.ts'
import { encodeAppend, packBatches } from './batching.ts'
import type { ProduceRecord } from './broker-types.ts'
import type { Partition } from './partition.ts'
import { cleanerPolicy } from './topic-config.ts'

/**
 * Each record's partition: its explicit one, its key's (murmur2, as Kafka's Java client) or the
 * sticky one. Returns the partition per record and the record indexes per partition.
 */
export function assignPartitions(
  topicName: string,
  records: ProduceRecord[],
  n: number,
  sticky: StickyPartitioner,
): { assigned: number[]; byPartition: Map<number, number[]> } {
  const byPartition = new Map<number, number[]>()
  let usedSticky = false
  const assigned = records.map((r, i) => {
    let p: number
    if (r.partition !== undefined) {
      if (r.partition >= n) fail('UNKNOWN_TOPIC_OR_PARTITION', `topic '${topicName}' has no partition ${r.partition}`)
      p = r.partition
    } else if (r.key !== null) {
      p = partitionForKey(r.key, n)
    } else {
      p = sticky.partition(topicName, n)
      usedSticky = true
    }
    let list = byPartition.get(p)
    if (!list) byPartition.set(p, (list = []))
    list.push(i)
    return p
  })
  if (usedSticky) sticky.onNewBatch(topicName, n)
  return { assigned, byPartition }
}

export interface AppendPlan {
  partition: Partition
  /** Record indexes (in the request) of each batch. */
  indexes: number[][]
  requests: AppendRequest[]
}

/** Each partition's records packed into batches no larger than maxBytes, remembering which record went where. */
export function planAppends(
  byPartition: Map<number, number[]>,
  records: ProduceRecord[],
  partitions: Partition[],
  maxBytes: number,
): AppendPlan[] {
  const plans: AppendPlan[] = []
  for (const [p, indexes] of byPartition) {
    const groups = packBatches(indexes.map((i) => records[i]!), maxBytes)
    let at = 0
    const split = groups.map((g) => indexes.slice(at, (at += g.length)))
    plans.push({ partition: partitions[p]!, indexes: split, requests: groups.map((g) => encodeAppend(g)) })
  }
  return plans
}

/** A compacted topic keeps the latest record per key, so every record needs one (as in Kafka). */
export function checkKeys(topic: string, config: Record<string, string>, records: NewRecord[]): void {
  if (!cleanerPolicy(config).compact) return
  const i = records.findIndex((r) => r.key === null)
  if (i >= 0) fail('INVALID_RECORD', `records[${i}] has no key; topic '${topic}' is compacted (cleanup.policy=${config['cleanup.policy']}) and needs one`)
}

/** acks=all: waits until every appended batch is below its partition's high watermark. */
export async function awaitCommitted(
  appended: Array<{ partition: Partition; results: AppendResult[] }>,
  requestTimeoutMs: number,
): Promise<void> {
  const waits: Promise<void>[] = []
  for (const { partition, results } of appended) {
    let end = -1
    for (const r of results) if (r.ok) end = Math.max(end, r.lastOffset + 1)
    if (end >= 0) waits.push(partition.awaitCommit(end, requestTimeoutMs))
  }
  await Promise.all(waits)
}
