// Replication settings, named as Kafka names them. Every wait, size and window is bounded here.

export interface ReplicationConfig {
  /** A follower that has not caught up to the leader's log end for this long leaves the ISR (replica.lag.time.max.ms). */
  replicaLagTimeMaxMs: number
  /** How often a leader checks its followers against replicaLagTimeMaxMs. */
  isrCheckIntervalMs: number
  /** Most batch bytes in one replica fetch response; one batch is sent even if larger (replica.fetch.max.bytes). */
  replicaFetchMaxBytes: number
  /** How long a leader holds a follower's fetch when there is nothing new (replica.fetch.wait.max.ms). */
  replicaFetchWaitMaxMs: number
  /** Pause after a failed replica fetch before the next (replica.fetch.backoff.ms). */
  replicaFetchBackoffMs: number
  /** A replica request without an answer for this long has failed (replica.socket.timeout.ms). */
  replicaRequestTimeoutMs: number
  /** How often the background scrub checks stored batches' CRCs (0: never). */
  logScrubIntervalMs: number
  /** Batches per replica checked by one scrub pass. */
  logScrubBatches: number
}

export const DEFAULT_REPLICATION_CONFIG: ReplicationConfig = {
  replicaLagTimeMaxMs: 10_000,
  isrCheckIntervalMs: 1_000,
  replicaFetchMaxBytes: 1024 * 1024,
  replicaFetchWaitMaxMs: 500,
  replicaFetchBackoffMs: 200,
  replicaRequestTimeoutMs: 10_000,
  logScrubIntervalMs: 5_000,
  logScrubBatches: 16,
}
