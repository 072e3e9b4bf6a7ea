// Topic configuration in Kafka's spelling, with Kafka's defaults. Values are kept as strings
// (as Kafka's admin API does) and validated on the way in.
import { EdgelogError } from '../core/errors.ts'

type Check = (v: string) => string | undefined

const long = (min: number): Check => (v) =>
  /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v)) && Number(v) >= min ? undefined : `must be an integer ≥ ${min}`
const oneOf = (...values: string[]): Check => (v) => (values.includes(v) ? undefined : `must be one of ${values.join(', ')}`)
const ratio: Check = (v) => (/^(0(\.\d+)?|1(\.0+)?)$/.test(v) ? undefined : 'must be a number from 0 to 1')
// snappy, lz4 and zstd batches from Kafka clients are read, but this node cannot write them.
const compressionType: Check = (v) =>
  ['snappy', 'lz4', 'zstd'].includes(v)
    ? 'is not supported: this node writes gzip only (snappy, lz4 and zstd batches are read, not written)'
    : oneOf('producer', 'uncompressed', 'none', 'gzip')(v)

export const TOPIC_CONFIG: Record<string, { default: string; check: Check; doc: string }> = {
  'retention.ms': { default: '604800000', check: long(-1), doc: 'how long records are kept; -1 keeps them forever' },
  'retention.bytes': { default: '-1', check: long(-1), doc: 'the most bytes a partition keeps; -1 is no limit' },
  'cleanup.policy': { default: 'delete', check: oneOf('delete', 'compact', 'compact,delete', 'delete,compact'), doc: 'delete old records, or keep the latest per key' },
  'min.insync.replicas': { default: '1', check: long(1), doc: 'replicas that must have a record before acks=all answers' },
  'max.message.bytes': { default: '1048588', check: long(64), doc: 'the largest record batch accepted' },
  'compression.type': { default: 'producer', check: compressionType, doc: 'how stored batches are compressed: producer (as each request asks), uncompressed, gzip' },
  'delete.retention.ms': { default: '86400000', check: long(0), doc: 'how long tombstones are kept in a compacted topic' },
  'min.cleanable.dirty.ratio': { default: '0.5', check: ratio, doc: 'compact a partition once this share of its bytes is new since the last compaction' },
  'message.timestamp.type': { default: 'CreateTime', check: oneOf('CreateTime', 'LogAppendTime'), doc: 'which timestamp a record keeps' },
  'unclean.leader.election.enable': { default: 'false', check: oneOf('true', 'false'), doc: 'may an out-of-sync replica lead (loses data)' },
}

export type TopicConfig = Record<string, string>

/** Validates overrides and returns them as strings; unknown keys and bad values are refused. */
export function validateTopicConfig(input: Record<string, unknown>): TopicConfig {
  const out: TopicConfig = {}
  for (const [key, raw] of Object.entries(input)) {
    const spec = TOPIC_CONFIG[key]
    if (!spec) throw new EdgelogError('INVALID_CONFIG', `unknown topic config '${key}'`)
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      throw new EdgelogError('INVALID_CONFIG', `topic config '${key}' must be a string or a number`)
    }
    const value = String(raw)
    const problem = spec.check(value)
    if (problem) throw new EdgelogError('INVALID_CONFIG', `topic config '${key}' ${problem}, got '${value}'`)
    out[key] = value
  }
  return out
}

/** Every config with its effective value: the override, or Kafka's default. */
export function effectiveConfig(overrides: TopicConfig): TopicConfig {
  const out: TopicConfig = {}
  for (const [key, spec] of Object.entries(TOPIC_CONFIG)) out[key] = overrides[key] ?? spec.default
  return out
}

/** Removing an override is as strict as setting one: an unknown key is a mistake. */
export function validateConfigDeletes(keys: string[]): void {
  for (const key of keys) {
    if (!TOPIC_CONFIG[key]) throw new EdgelogError('INVALID_CONFIG', `unknown topic config '${key}'`)
  }
}

/** What the cleaner does with a topic, from its effective config. */
export function cleanerPolicy(config: TopicConfig) {
  const policies = (config['cleanup.policy'] ?? 'delete').split(',')
  return {
    delete: policies.includes('delete'),
    compact: policies.includes('compact'),
    retentionMs: Number(config['retention.ms']),
    retentionBytes: Number(config['retention.bytes']),
    deleteRetentionMs: Number(config['delete.retention.ms']),
    minCleanableDirtyRatio: Number(config['min.cleanable.dirty.ratio']),
  }
}

/** A producer's compression choice (the `compression` query parameter). */
export type ProduceCompression = 'none' | 'gzip'

/**
 * The codec a produce is stored with: the topic's compression.type, or with `producer` what the
 * request asked for (Kafka keeps the producer's codec then; over HTTP the request names it).
 */
export function writeCompression(topicType: string, requested: ProduceCompression | undefined): ProduceCompression {
  if (topicType === 'gzip') return 'gzip'
  if (topicType === 'producer') return requested ?? 'none'
  return 'none' // uncompressed, none
}
