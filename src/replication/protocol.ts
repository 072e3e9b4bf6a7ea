// The two requests between brokers, as in Kafka: a follower's Fetch (with its log end offset and
// last fetched epoch, KIP-595's divergence check) and OffsetsForLeaderEpoch (KIP-101 / KIP-279).
// Transport-neutral: ./http-transport.ts carries them over HTTP, the simulation in memory.
import { z } from 'zod'

/** Errors a leader answers replica requests with (Kafka's names). */
export const REPLICA_ERRORS = [
  'NOT_LEADER_OR_FOLLOWER',
  /** The requester's leader epoch is older than the leader's: it must refresh its metadata. */
  'FENCED_LEADER_EPOCH',
  /** The requester's leader epoch is newer than the leader's (or it asked about a future epoch). */
  'UNKNOWN_LEADER_EPOCH',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'OFFSET_OUT_OF_RANGE',
  /** A fetch from an incarnation of the follower older than one already seen. */
  'STALE_BROKER_EPOCH',
  'CORRUPT_MESSAGE',
] as const
export type ReplicaError = (typeof REPLICA_ERRORS)[number]

const int = z.number().int()
const nonNegative = int.min(0).max(Number.MAX_SAFE_INTEGER)

export const ReplicaFetchRequestSchema = z
  .object({
    replicaId: int.min(0),
    /** The follower's incarnation (per boot): fetches of an older incarnation are refused. */
    incarnation: nonNegative,
    topic: z.string().min(1).max(249),
    topicId: z.string().min(1).max(64),
    partition: nonNegative,
    currentLeaderEpoch: nonNegative,
    /** The follower's log end offset: what it has, and where the leader continues. */
    fetchOffset: nonNegative,
    /** Epoch of the follower's last batch (-1: none); the leader checks the follower's log continues its own. */
    lastFetchedEpoch: int.min(-1),
    maxBytes: int.min(1).max(64 * 1024 * 1024),
    maxWaitMs: int.min(0).max(60_000),
    /**
     * An observer: a broker that holds no replica of the partition and copies it only to serve
     * its own live subscribers. It gets committed batches only (below the high watermark), is
     * never counted for the ISR or the high watermark, and its fetch waits for the high
     * watermark to move rather than for an append (Kafka's consumer fetch, replica id -1).
     */
    observer: z.literal(true).optional(),
    /**
     * The revision of the partition state the follower acts on. A leader adds a follower back to
     * the ISR only from a fetch sent with a state at least as new as its own: a fetch delayed
     * from before the follower left the ISR (to truncate a corrupt batch) cannot re-add it.
     */
    stateRevision: nonNegative.optional(),
  })
  .strict()
export type ReplicaFetchRequest = z.infer<typeof ReplicaFetchRequestSchema>

export const ReplicaFetchResponseHeaderSchema = z
  .object({
    error: z.enum(REPLICA_ERRORS).optional(),
    /** Set when the follower's log diverges from the leader's: truncate, then fetch again. */
    divergingEpoch: z.object({ epoch: int.min(-1), endOffset: nonNegative }).strict().optional(),
    highWatermark: nonNegative,
    logStartOffset: nonNegative,
    logEndOffset: nonNegative,
  })
  .strict()
export type ReplicaFetchResponseHeader = z.infer<typeof ReplicaFetchResponseHeaderSchema>
export type ReplicaFetchResponse = ReplicaFetchResponseHeader & { batches: Uint8Array[] }

export const OffsetsForLeaderEpochRequestSchema = z
  .object({
    replicaId: int.min(0),
    topic: z.string().min(1).max(249),
    topicId: z.string().min(1).max(64),
    partition: nonNegative,
    currentLeaderEpoch: nonNegative,
    /** The epoch whose end offset the follower asks for (its latest). */
    leaderEpoch: nonNegative,
  })
  .strict()
export type OffsetsForLeaderEpochRequest = z.infer<typeof OffsetsForLeaderEpochRequestSchema>

export const OffsetsForLeaderEpochResponseSchema = z
  .object({
    error: z.enum(REPLICA_ERRORS).optional(),
    /** The largest epoch ≤ the one asked for that the leader knows (-1: none). */
    epoch: int.min(-1),
    /** Where that epoch ends on the leader: the start of its next epoch, or its log end. */
    endOffset: nonNegative,
  })
  .strict()
export type OffsetsForLeaderEpochResponse = z.infer<typeof OffsetsForLeaderEpochResponseSchema>

/** How a follower reaches a leader. Rejects on a network failure or after the request timeout. */
export interface ReplicaTransport {
  fetch(leader: number, req: ReplicaFetchRequest): Promise<ReplicaFetchResponse>
  offsetsForLeaderEpoch(leader: number, req: OffsetsForLeaderEpochRequest): Promise<OffsetsForLeaderEpochResponse>
}
