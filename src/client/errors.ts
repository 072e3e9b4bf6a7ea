// The one error type the client raises. Callers branch on `code` (Kafka's error names, as
// the server sends them) and on `retriable`, never on message text or HTTP status.

/**
 * Codes a caller may retry unchanged: leadership moved, the ISR is briefly too small, the
 * server shed load or is draining, or the request never got an answer. Everything else needs a different
 * request (or a human).
 */
const retriableCodes: ReadonlySet<string> = new Set([
  'NOT_LEADER_OR_FOLLOWER',
  'REQUEST_TIMED_OUT',
  'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  'LEADER_NOT_AVAILABLE',
  'COORDINATOR_NOT_AVAILABLE',
  'THROTTLED',
  'NETWORK_EXCEPTION',
  'SHUTTING_DOWN',
  // An edge relay's outbox is full until its link to the region drains it (Retry-After).
  'OUTBOX_FULL',
])

export function isRetriableCode(code: string): boolean {
  return retriableCodes.has(code)
}

export interface EdgelogErrorOptions {
  /** HTTP status of the answer; 0 when there was no answer (network failure, timeout). */
  status?: number
  cause?: unknown
}

export class EdgelogError extends Error {
  override readonly name = 'EdgelogError'
  readonly code: string
  readonly status: number
  readonly retriable: boolean

  constructor(code: string, message: string, options: EdgelogErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.status = options.status ?? 0
    this.retriable = isRetriableCode(code)
  }
}

export function isEdgelogError(value: unknown): value is EdgelogError {
  // A duck check as well as instanceof, so errors survive a second copy of this module
  // (two bundles in one page, or the CLI and a test importing through different paths).
  return value instanceof EdgelogError ||
    (value instanceof Error && value.name === 'EdgelogError' && typeof (value as EdgelogError).code === 'string')
}
