// Topic configuration in Kafka's spelling, with Kafka's defaults. Values are kept as strings
// (as Kafka's admin API does) and validated on the way in.
import { EdgelogError } from '../core/errors.ts'

type Check = (v: string) => string | undefined

const long = (min: number): Check => (v) =>
  /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v)) && Number(v) >= min ? undefined : `must be an integer ≥ ${min}`
const oneOf = (...values: string[]): Check => (v) => (values.includes(v) ? undefined : `must be one of ${values.join(', ')}`)

export const TOPIC_CONFIG: Record<string, { default: string; check: Check; doc: string }> = {
  'retention.ms': { default: '604800000', check: long(-1), doc: 'how long records are kept; -1 keeps them forever' },
  'retention.bytes': { default: '-1', check: long(-1), doc: 'the most bytes a partition keeps; -1 is no limit' },
  'cleanup.policy': { default: 'delete', check: oneOf('delete', 'compact', 'compact,delete', 'delete,compact'), doc: 'delete old records, or keep the latest per key' },
  'min.insync.replicas': { default: '1', check: long(1), doc: 'replicas that must have a record before acks=all answers' },
  'max.message.bytes': { default: '1048588', check: long(64), doc: 'the largest record batch accepted' },
  'compression.type': { default: 'producer', check: oneOf('producer', 'uncompressed', 'none', 'gzip', 'snappy', 'lz4', 'zstd'), doc: 'how stored batches are compressed' },
  'delete.retention.ms': { default: '86400000', check: long(0), doc: 'how long tombstones are kept in a compacted topic' },
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
