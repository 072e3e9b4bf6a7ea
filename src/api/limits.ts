// Bounds on what one HTTP request may carry or ask for.
export interface ApiLimits {
  /** Largest request body, JSON or NDJSON. */
  maxRequestBytes: number
  /** Most records in one produce request. */
  maxRecordsPerRequest: number
  /** Most records one fetch returns. */
  maxFetchRecords: number
  /** Largest maxBytes a fetch may ask for. */
  maxFetchBytes: number
  /** Time a request body may take to arrive, from the end of the headers (REQUEST_TIMED_OUT). */
  bodyTimeoutMs: number
  /** Each this many body bytes received extends bodyTimeoutMs by one second. */
  bodyMinBytesPerSec: number
}

export const DEFAULT_LIMITS: ApiLimits = {
  maxRequestBytes: 32 * 1024 * 1024,
  maxRecordsPerRequest: 100_000,
  maxFetchRecords: 10_000,
  maxFetchBytes: 16 * 1024 * 1024,
  bodyTimeoutMs: 20_000,
  bodyMinBytesPerSec: 1000,
}
