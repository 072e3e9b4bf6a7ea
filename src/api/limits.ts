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
}

export const DEFAULT_LIMITS: ApiLimits = {
  maxRequestBytes: 32 * 1024 * 1024,
  maxRecordsPerRequest: 100_000,
  maxFetchRecords: 10_000,
  maxFetchBytes: 16 * 1024 * 1024,
}
