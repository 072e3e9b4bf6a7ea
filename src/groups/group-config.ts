// The group coordinator's limits and defaults (Kafka's group.consumer.* and offsets.topic.*
// broker configs). Plain data, apart from the coordinator's logic: the server's option parsing
// (src/cli/serve-options.ts) reads the defaults too.

export interface GroupOptions {
  /** Partitions of `__consumer_offsets` when this node creates it (Kafka's offsets.topic.num.partitions). */
  offsetsTopicPartitions: number
  /** Members in one group (Kafka's group.consumer.max.size). */
  maxGroupSize: number
  /** Groups a node creates; existing ones are always loaded. */
  maxGroups: number
  heartbeatIntervalMs: number
  minSessionTimeoutMs: number
  maxSessionTimeoutMs: number
  defaultSessionTimeoutMs: number
  defaultRebalanceTimeoutMs: number
  maxRebalanceTimeoutMs: number
  /** Operations (joins, heartbeats, leaves, resets) waiting per group. */
  maxQueuedPerGroup: number
}

export const DEFAULT_GROUP_OPTIONS: GroupOptions = {
  offsetsTopicPartitions: 8,
  maxGroupSize: 1000,
  maxGroups: 10_000,
  heartbeatIntervalMs: 3000,
  minSessionTimeoutMs: 1000,
  maxSessionTimeoutMs: 300_000,
  defaultSessionTimeoutMs: 45_000,
  defaultRebalanceTimeoutMs: 300_000,
  maxRebalanceTimeoutMs: 1_800_000,
  maxQueuedPerGroup: 1000,
}

/** Topics one member may subscribe to. */
export const MAX_SUBSCRIBED_TOPICS = 100
