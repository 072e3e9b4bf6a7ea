// Retry and dead-letter topics for a group consumer (the pattern Uber and Spring Kafka use):
// a record whose handler failed is republished to `<topic>.retry` with headers saying which
// attempt comes next, where it came from, why it failed and when it may run again; the group
// consumes the retry topic too and runs it after that time; after `maxAttempts` the record goes
// to `<topic>.dlq` for a person to look at. The failed record's offset is committed only after
// the republish was acknowledged, so nothing is lost, and the main partition moves on at once.
import type { FetchedRecord, ProduceRecord, RecordHeaders } from './schemas.ts'

export interface RetryOptions {
  /** Attempts in all, the first delivery included (at least 1; 1 sends failures straight to the DLQ). */
  maxAttempts: number
  /** Wait before the first retry; each later retry waits twice as long as the one before. Default 1000. */
  backoffMs?: number
  /** The longest wait between attempts. Default 60,000. */
  maxBackoffMs?: number
  /** Name of a topic's retry topic. Default `<topic>.retry`. */
  retryTopic?: (topic: string) => string
  /** Name of a topic's dead-letter topic. Default `<topic>.dlq`. */
  deadLetterTopic?: (topic: string) => string
}

/** Headers a retried or dead-lettered record carries (values are decimal strings or text). */
export const RETRY_HEADERS = {
  /** The attempt this delivery is: 2 for the first retry. On a DLQ record: the attempts made. */
  attempt: 'edgelog-attempt',
  originalTopic: 'edgelog-original-topic',
  originalPartition: 'edgelog-original-partition',
  originalOffset: 'edgelog-original-offset',
  /** The last handler error, cut to 1,000 characters. */
  error: 'edgelog-error',
  /** Epoch milliseconds before which the retry must not run. */
  notBefore: 'edgelog-not-before',
} as const

const ownHeaders: ReadonlySet<string> = new Set(Object.values(RETRY_HEADERS))
const errorLengthMax = 1000

export function retryTopicOf(options: RetryOptions, topic: string): string {
  return options.retryTopic ? options.retryTopic(topic) : `${topic}.retry`
}

export function deadLetterTopicOf(options: RetryOptions, topic: string): string {
  return options.deadLetterTopic ? options.deadLetterTopic(topic) : `${topic}.dlq`
}

/** Wait after `failedAttempt` (1-based) failed: backoffMs · 2^(failedAttempt − 1), capped. */
export function backoffDelayMs(options: RetryOptions, failedAttempt: number): number {
  const base = options.backoffMs ?? 1000
  const max = options.maxBackoffMs ?? 60_000
  return Math.min(max, base * 2 ** Math.min(failedAttempt - 1, 30))
}

/** Where a fetched record stands: its attempt number and where it was first produced. */
export interface RetryState {
  attempt: number
  originalTopic: string
  originalPartition: number
  originalOffset: number
  notBefore: number
}

export function retryStateOf(record: FetchedRecord, topic: string, partition: number): RetryState {
  const h = record.headers
  const text = (name: string) => (typeof h[name] === 'string' ? (h[name] as string) : undefined)
  const num = (name: string) => {
    const v = text(name)
    return v !== undefined && /^\d{1,16}$/.test(v) ? Number(v) : undefined
  }
  const attempt = num(RETRY_HEADERS.attempt)
  const originalTopic = text(RETRY_HEADERS.originalTopic)
  if (attempt === undefined || originalTopic === undefined) {
    return { attempt: 1, originalTopic: topic, originalPartition: partition, originalOffset: record.offset, notBefore: 0 }
  }
  return {
    attempt,
    originalTopic,
    originalPartition: num(RETRY_HEADERS.originalPartition) ?? partition,
    originalOffset: num(RETRY_HEADERS.originalOffset) ?? record.offset,
    notBefore: num(RETRY_HEADERS.notBefore) ?? 0,
  }
}

/**
 * The record to republish after `state.attempt` failed: the same key and value, the record's
 * own text headers, and ours. `nextAttempt` is the attempt number it will be (for a DLQ
 * record, the attempts made).
 */
export function republished(
  record: FetchedRecord,
  state: RetryState,
  error: unknown,
  nextAttempt: number,
  notBefore: number,
): ProduceRecord {
  const headers: RecordHeaders = {}
  for (const [k, v] of Object.entries(record.headers)) {
    // Binary header values cannot travel through the JSON produce API; they are dropped.
    if (!ownHeaders.has(k) && (typeof v === 'string' || v === null)) headers[k] = v
  }
  headers[RETRY_HEADERS.attempt] = String(nextAttempt)
  headers[RETRY_HEADERS.originalTopic] = state.originalTopic
  headers[RETRY_HEADERS.originalPartition] = String(state.originalPartition)
  headers[RETRY_HEADERS.originalOffset] = String(state.originalOffset)
  headers[RETRY_HEADERS.error] = describeError(error).slice(0, errorLengthMax)
  headers[RETRY_HEADERS.notBefore] = String(notBefore)
  // A fresh timestamp: retention must not count an old record's age against its retry.
  return { key: record.key, value: record.value, headers }
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`
  return String(error)
}
