// Topic admin rules that need no broker state: what a new topic may be, how a config change
// merges, how a topic is described and listed, and where its partition files live. The Broker
// keeps the topic map and meta.db and calls these, so the rules read in one place.
import type { Random } from '../core/clock.ts'
import { fail } from '../core/errors.ts'
import { isInternalTopic } from '../groups/offsets-topic.ts'
import type { Topic, TopicDescription } from './broker-types.ts'
import type { TopicRecord } from './metadata.ts'
import { effectiveConfig, validateConfigDeletes, validateTopicConfig } from './topic-config.ts'

export interface NewTopicInput {
  partitions?: number
  replicationFactor?: number
  config?: Record<string, unknown>
}

export interface NewTopicLimits {
  maxPartitionsPerTopic: number
  maxPartitions: number
  /** Partitions this node holds already, all topics together. */
  partitionsHeld: number
  exists: boolean
}

/** Validates a create request (in Kafka's order of complaints) and returns its partitions, replication factor and config. */
export function checkNewTopic(
  name: string,
  input: NewTopicInput,
  limits: NewTopicLimits,
): { partitions: number; replicationFactor: number; config: Record<string, string> } {
  const partitions = input.partitions ?? 1
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > limits.maxPartitionsPerTopic) {
    fail('INVALID_PARTITIONS', `partitions must be an integer from 1 to ${limits.maxPartitionsPerTopic}`)
  }
  const replicationFactor = input.replicationFactor ?? 1
  if (replicationFactor !== 1) {
    fail('INVALID_REPLICATION_FACTOR', `replicationFactor ${replicationFactor} needs ${replicationFactor} brokers; this node runs alone`)
  }
  const config = validateTopicConfig(input.config ?? {})
  if (limits.exists) fail('TOPIC_ALREADY_EXISTS', `topic '${name}' already exists`)
  if (limits.partitionsHeld + partitions > limits.maxPartitions) {
    fail('INVALID_PARTITIONS', `this node holds at most ${limits.maxPartitions} partitions`)
  }
  return { partitions, replicationFactor, config }
}

/**
 * A topic's config after an incremental alter: `set` overrides keys, `remove` returns keys to
 * their defaults. Validated whole before anything changes.
 */
export function alteredConfig(current: Record<string, string>, set: Record<string, unknown>, remove: string[]): Record<string, string> {
  const overrides = validateTopicConfig(set)
  validateConfigDeletes(remove)
  for (const key of remove) {
    if (key in overrides) fail('INVALID_CONFIG', `topic config '${key}' is both set and deleted`)
  }
  const config = { ...current, ...overrides }
  for (const key of remove) delete config[key]
  return config
}

/** A single node leads every partition itself; in a cluster the replica role says who does. */
export function describeTopic(t: Topic, nodeId: number): TopicDescription {
  return {
    name: t.record.name,
    topicId: t.record.topicId,
    config: effectiveConfig(t.record.config),
    partitions: t.partitions.map((p) => ({
      partition: p.index,
      ...(p.role?.describe() ?? { leader: nodeId, leaderEpoch: p.leaderEpoch, replicas: [nodeId], isr: [nodeId] }),
      logStartOffset: p.log.logStartOffset,
      highWatermark: p.highWatermark,
      logEndOffset: p.log.logEndOffset,
      sizeBytes: p.log.sizeBytes,
    })),
  }
}

/** User topics by name; internal topics (`__consumer_offsets`) only when asked for. */
export function listTopics(topics: Iterable<Topic>, includeInternal: boolean): Array<{ name: string; partitions: number; internal?: true }> {
  return [...topics]
    .filter((t) => includeInternal || !isInternalTopic(t.record.name))
    .map((t) => (isInternalTopic(t.record.name)
      ? { name: t.record.name, partitions: t.partitions.length, internal: true as const }
      : { name: t.record.name, partitions: t.partitions.length }))
    .sort((a, b) => (a.name < b.name ? -1 : 1))
}

export function maxMessageBytes(t: Topic): number {
  return Number(effectiveConfig(t.record.config)['max.message.bytes'])
}

export function newTopicId(random: Random): string {
  let id = ''
  for (let i = 0; i < 4; i++) id += Math.floor(random.next() * 0x10000).toString(16).padStart(4, '0')
  return id
}

export function partitionFile(t: TopicRecord, index: number): string {
  return `partitions/${t.topicId}-${index}`
}
