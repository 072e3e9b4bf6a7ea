// The group coordinator's view of this node (GroupHost): positions of user partitions, local
// or asked of their leader in a cluster, and reads and writes of `__consumer_offsets`. Separate
// because it is the one seam between src/groups/ and the broker; the Broker hands it the few
// things it needs (GroupHostBroker) and keeps the topics.
import { decodeRecords, type NewRecord } from '../codec/record-batch.ts'
import type { Runtime } from '../core/clock.ts'
import { fail } from '../core/errors.ts'
import type { GroupHost, Positions } from '../groups/coordinator.ts'
import { isInternalTopic, OFFSETS_TOPIC } from '../groups/offsets-topic.ts'
import { encodeAppend, packBatches } from './batching.ts'
import type { BrokerOptions } from './broker-options.ts'
import type { Topic } from './broker-types.ts'
import type { Partition } from './partition.ts'
import { maxMessageBytes } from './topic-admin.ts'

/** Partitions whose leader's log end the group coordinator remembers (commit bounds). */
const MAX_KNOWN_LOG_ENDS = 10_000

/** What the group host needs of the Broker. */
export interface GroupHostBroker {
  runtime: Runtime
  /** Read when a commit waits (requestTimeoutMs) and once at creation (groupCluster). */
  options: Pick<BrokerOptions, 'groupCluster' | 'requestTimeoutMs'>
  topics: ReadonlyMap<string, Topic>
  partition(topic: string, index: number): Partition
  offsetForTimestamp(topic: string, index: number, ts: number): Promise<number | null>
  /** `__consumer_offsets`, created on first use when `create`. */
  offsetsTopic(create: boolean): Topic | undefined
  checkOpen(): void
}

export function groupHost(b: GroupHostBroker): GroupHost {
  const userTopic = (name: string) => (isInternalTopic(name) ? undefined : b.topics.get(name))
  const cluster = b.options.groupCluster
  const localPositions = (p: Partition): Positions => ({ logStartOffset: p.log.logStartOffset, highWatermark: p.highWatermark, logEndOffset: p.log.logEndOffset })
  /** In a cluster, a partition this broker does not lead is asked of its leader. */
  const remote = (p: Partition) => cluster !== undefined && p.role !== undefined && !p.role.leads
  /** Log ends other brokers answered, per partition (bounded; the oldest entry goes first). */
  const knownLogEnds = new Map<string, number>()
  return {
    runtime: b.runtime,
    partitionCount: (topic) => userTopic(topic)?.partitions.length,
    topicId: (topic) => userTopic(topic)?.record.topicId,
    positions: async (topic, partition) => {
      if (isInternalTopic(topic)) fail('UNKNOWN_TOPIC_OR_PARTITION', `'${topic}' is an internal topic`)
      const p = b.partition(topic, partition)
      if (!remote(p)) return localPositions(p)
      const { logStartOffset, highWatermark, logEndOffset } = await cluster!.remotePositions(topic, partition)
      return { logStartOffset, highWatermark, logEndOffset }
    },
    logEndOffset: async (topic, partition, offset) => {
      if (isInternalTopic(topic)) fail('UNKNOWN_TOPIC_OR_PARTITION', `'${topic}' is an internal topic`)
      const p = b.partition(topic, partition)
      if (!remote(p)) return p.log.logEndOffset
      // Most commits are below a log end already seen: no request to the leader for those.
      const key = `${p.topic}/${p.index}/${b.topics.get(topic)!.record.topicId}`
      const known = knownLogEnds.get(key)
      if (known !== undefined && offset <= known) return known
      const { logEndOffset } = await cluster!.remotePositions(topic, partition)
      if (knownLogEnds.size >= MAX_KNOWN_LOG_ENDS && !knownLogEnds.has(key)) knownLogEnds.delete(knownLogEnds.keys().next().value!)
      knownLogEnds.set(key, Math.max(logEndOffset, known ?? 0))
      return logEndOffset
    },
    offsetForTimestamp: async (topic, partition, ts) => {
      const p = b.partition(topic, partition)
      if (!remote(p)) return b.offsetForTimestamp(topic, partition, ts)
      return (await cluster!.remotePositions(topic, partition, ts)).offset ?? null
    },
    offsetsTopicPartitions: (create) => {
      if (!cluster) return b.offsetsTopic(create)?.partitions.length
      const t = b.topics.get(OFFSETS_TOPIC)
      if (t || !create) return t?.partitions.length
      cluster.requestOffsetsTopic()
      fail('COORDINATOR_NOT_AVAILABLE', `${OFFSETS_TOPIC} is being created in the cluster; try again`)
    },
    // One node leads every partition; in a cluster, the replica role of the offsets partition says.
    // A leader that cannot confirm its lease (paused, cut off from etcd) answers nothing either.
    isLeader: (partition) => {
      if (!cluster) return true
      const role = b.topics.get(OFFSETS_TOPIC)?.partitions[partition]?.role
      if (!role?.leads) return false
      try {
        role.checkLeader()
        return true
      } catch {
        return false
      }
    },
    append: async (partition, records) => {
      b.checkOpen()
      const p = offsetsPartition(b, partition)
      // Kafka commits offsets with acks=-1: an answered commit is on every in-sync replica.
      p.role?.checkInSyncReplicas()
      const r = await p.append(offsetsBatch(b, records))
      if (!r.ok) throw r.error
      if (p.role) await p.awaitCommit(r.lastOffset + 1, b.options.requestTimeoutMs)
    },
    // Offsets batches are written uncompressed (and compaction keeps them so), so they
    // decode synchronously while the node opens. Up to the log end, not the high watermark:
    // a new leader's high watermark may trail records its ISR already acknowledged.
    replay: (partition, visit) => {
      const p = offsetsPartition(b, partition)
      const end = p.log.logEndOffset
      let next = p.log.logStartOffset
      while (next < end) {
        const batches = p.log.read(next, end, 4 * 1024 * 1024)
        if (batches.length === 0) break
        for (const b of batches) {
          for (const r of decodeRecords(b.data)) if (r.offset >= next && r.offset < end) visit(r.key, r.value)
          next = b.lastOffset + 1
        }
      }
    },
  }
}

function offsetsPartition(b: GroupHostBroker, index: number): Partition {
  const t = b.offsetsTopic(false)
  const p = t?.partitions[index]
  if (!p) fail('NOT_COORDINATOR', `${OFFSETS_TOPIC} has no partition ${index}`)
  return p
}

/** One change of a group is one batch, so it is stored whole or not at all. */
function offsetsBatch(b: GroupHostBroker, records: NewRecord[]) {
  const maxBytes = maxMessageBytes(b.offsetsTopic(false)!)
  if (packBatches(records, maxBytes).length > 1) {
    fail('RECORD_LIST_TOO_LARGE', `a group change of ${records.length} records does not fit in one batch of ${maxBytes} bytes`)
  }
  return encodeAppend(records)
}
