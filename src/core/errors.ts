// Every failure a client can see carries one of these codes (Kafka's error names where one
// fits) and an HTTP status. Nothing else reaches a client: unknown errors become
// KAFKA_STORAGE_ERROR / INTERNAL with a generic message, never a stack trace or SQL.

export const ERROR_STATUS = {
  INVALID_REQUEST: 400,
  INVALID_TOPIC: 400,
  INVALID_PARTITIONS: 400,
  INVALID_REPLICATION_FACTOR: 400,
  INVALID_CONFIG: 400,
  INVALID_RECORD: 400,
  UNKNOWN_PRODUCER_ID: 400,
  INVALID_SESSION_TIMEOUT: 400,
  UNAUTHORIZED: 401,
  TOPIC_AUTHORIZATION_FAILED: 403,
  GROUP_AUTHORIZATION_FAILED: 403,
  CLUSTER_AUTHORIZATION_FAILED: 403,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  UNKNOWN_TOPIC_OR_PARTITION: 404,
  GROUP_ID_NOT_FOUND: 404,
  UNKNOWN_MEMBER_ID: 404,
  METHOD_NOT_ALLOWED: 405,
  UPGRADE_REQUIRED: 426,
  TOPIC_ALREADY_EXISTS: 409,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 409,
  INVALID_PRODUCER_EPOCH: 409,
  FENCED_LEADER_EPOCH: 409,
  UNKNOWN_LEADER_EPOCH: 409,
  STALE_MEMBER_EPOCH: 409,
  FENCED_MEMBER_EPOCH: 409,
  FENCED_INSTANCE_ID: 409,
  NON_EMPTY_GROUP: 409,
  GROUP_MAX_SIZE_REACHED: 409,
  REQUEST_TIMED_OUT: 408,
  MESSAGE_TOO_LARGE: 413,
  RECORD_LIST_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNSUPPORTED_COMPRESSION_TYPE: 415,
  OFFSET_OUT_OF_RANGE: 416,
  THROTTLED: 429,
  TOO_MANY_SUBSCRIPTIONS: 429,
  CORRUPT_MESSAGE: 500,
  KAFKA_STORAGE_ERROR: 500,
  INTERNAL: 500,
  /** The node's own configuration is invalid (a Worker's vars): it refuses every request until it is fixed. */
  NODE_MISCONFIGURED: 500,
  NOT_ENOUGH_REPLICAS: 503,
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 503,
  LEADER_NOT_AVAILABLE: 503,
  COORDINATOR_NOT_AVAILABLE: 503,
  NOT_LEADER_OR_FOLLOWER: 503,
  NOT_COORDINATOR: 503,
  SHUTTING_DOWN: 503,
  /** An edge could not reach its upstream for a request that needs it (Kafka's NETWORK_EXCEPTION). */
  NETWORK_EXCEPTION: 503,
  /** An edge's outbox holds its --outbox-bytes: retry after Retry-After (src/edge/outbox.ts). */
  OUTBOX_FULL: 503,
} as const

export type ErrorCode = keyof typeof ERROR_STATUS

export class EdgelogError extends Error {
  override readonly name = 'EdgelogError'
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Response headers the answer must carry (WWW-Authenticate, Retry-After, Connection). */
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message)
  }

  get status(): number {
    return ERROR_STATUS[this.code]
  }
}

/** A code received from elsewhere (an upstream broker) as one of ours, if it is one. */
export function knownErrorCode(code: string): ErrorCode | undefined {
  return Object.hasOwn(ERROR_STATUS, code) ? (code as ErrorCode) : undefined
}

export function fail(code: ErrorCode, message: string): never {
  throw new EdgelogError(code, message)
}

/** An invariant that must hold; a violation is a bug, never a client error. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`invariant violated: ${message}`)
}
