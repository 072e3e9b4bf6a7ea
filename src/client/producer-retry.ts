// How the producer judges a failed attempt: whether the batch was certainly not appended (so
// its sequence may be reused), how long to back off before the next attempt, and how any
// thrown value becomes an EdgelogError with a code the retry logic can read.
import { EdgelogError, isEdgelogError } from './errors.ts'

/** Failures after which the batch was certainly not appended, so its sequence can be reused. */
export const notAppendedCodes: ReadonlySet<string> = new Set([
  'INVALID_RECORD',
  'INVALID_REQUEST',
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'CORRUPT_MESSAGE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'INVALID_TOPIC',
  'UNAUTHORIZED',
])

/** Kafka's retry backoff: exponential from retryBackoffMs to retryBackoffMaxMs, ±20% jitter. */
export function retryDelay(options: { retryBackoffMs: number; retryBackoffMaxMs: number }, attempt: number): number {
  const base = Math.min(options.retryBackoffMaxMs, options.retryBackoffMs * 2 ** Math.min(attempt - 1, 30))
  return Math.round(base * (0.8 + 0.4 * Math.random()))
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

export function toEdgelogError(error: unknown): EdgelogError {
  if (isEdgelogError(error)) return error
  if (error instanceof RangeError || error instanceof TypeError) return new EdgelogError('INVALID_RECORD', error.message, { cause: error })
  return new EdgelogError('UNKNOWN_SERVER_ERROR', error instanceof Error ? error.message : String(error), { cause: error })
}
