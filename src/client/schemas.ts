// The v1 HTTP contract (DESIGN.md, "Public contract") as zod schemas. Responses are
// validated against them so that a server speaking another version, or a proxy answering
// in its place, surfaces as an EdgelogError instead of an undefined deep inside a caller.
// Response objects are loose: fields a newer server adds pass through untouched.
import { z } from 'zod'

const offset = z.number().int().min(0)
const partitionId = z.number().int().min(0)
/** Broker ids: numbers as in Kafka, but a node id given on the command line may be a name. */
const brokerId = z.union([z.number().int(), z.string()])

// ---- records ------------------------------------------------------------------------------

/** A key is text, or bytes as `{"base64": "..."}`; null means "no key" (sticky partitioning). */
export const RecordKey = z.union([z.string(), z.strictObject({ base64: z.string() }), z.null()])
export type RecordKey = z.infer<typeof RecordKey>

/** Header values as a producer sends them; null is a header with no value, as in Kafka. */
export const RecordHeaders = z.record(z.string(), z.string().nullable())
export type RecordHeaders = z.infer<typeof RecordHeaders>

/** Header values as a fetch returns them: text, or bytes that are not UTF-8 as base64. */
export const FetchedHeaders = z.record(z.string(), z.union([z.string(), z.strictObject({ base64: z.string() }), z.null()]))
export type FetchedHeaders = z.infer<typeof FetchedHeaders>

/** Any JSON value; binary values travel as `{"base64": "..."}`. */
export type RecordValue = unknown

/** One record as a producer sends it. Strict, so that a misspelt field is an error, not a value. */
export const ProduceRecord = z.strictObject({
  key: RecordKey.optional(),
  value: z.unknown(),
  headers: RecordHeaders.optional(),
  partition: partitionId.optional(),
  timestamp: z.number().int().min(0).optional(),
})
export type ProduceRecord = z.infer<typeof ProduceRecord>

export type Acks = 'all' | '1' | '0'

/** Idempotent producer state for one partition: the leader drops a batch it has already seen. */
export interface ProducerBatchState {
  id: number
  epoch: number
  /** Sequence number of the first record of this batch. */
  sequence: number
}

export const ProduceResponse = z.looseObject({
  offsets: z.array(z.looseObject({ partition: partitionId, offset: offset.nullable() })),
})
export type ProduceResponse = z.infer<typeof ProduceResponse>

export const InitProducerResponse = z.looseObject({
  producerId: z.number().int().min(0),
  producerEpoch: z.number().int().min(0),
})
export type InitProducerResponse = z.infer<typeof InitProducerResponse>

export const FetchedRecord = z.looseObject({
  offset,
  key: RecordKey,
  value: z.unknown(),
  headers: FetchedHeaders,
  timestamp: z.number().int(),
})
export type FetchedRecord = z.infer<typeof FetchedRecord>

export const FetchResponse = z.looseObject({
  records: z.array(FetchedRecord),
  nextOffset: offset,
  highWatermark: offset,
  logStartOffset: offset,
})
export type FetchResponse = z.infer<typeof FetchResponse>

/** Where to start a fetch: an offset, or the log start / high watermark resolved by the server. */
export type FetchPosition = number | 'earliest' | 'latest'

export const OffsetForTimestampResponse = z.looseObject({
  partition: partitionId,
  offset: offset.nullable(),
})
export type OffsetForTimestampResponse = z.infer<typeof OffsetForTimestampResponse>

// ---- topics -------------------------------------------------------------------------------

/** Topic config in Kafka's spelling and types: every value is a string (`"retention.ms": "60000"`). */
export const TopicConfig = z.record(z.string(), z.string())
export type TopicConfig = z.infer<typeof TopicConfig>

export interface CreateTopicRequest {
  name: string
  partitions: number
  replicationFactor?: number
  config?: TopicConfig
}

export const PartitionDescription = z.looseObject({
  partition: partitionId,
  leader: brokerId.nullable(),
  leaderEpoch: z.number().int(),
  replicas: z.array(brokerId),
  isr: z.array(brokerId),
  logStartOffset: offset,
  highWatermark: offset,
  logEndOffset: offset,
})
export type PartitionDescription = z.infer<typeof PartitionDescription>

export const TopicDescription = z.looseObject({
  name: z.string(),
  config: TopicConfig,
  partitions: z.array(PartitionDescription),
})
export type TopicDescription = z.infer<typeof TopicDescription>

/** `GET /v1/brokers`: the live brokers' advertised URLs (Kafka's Metadata brokers) and the controller. */
export const BrokerList = z.looseObject({
  brokers: z
    .array(z.looseObject({ nodeId: z.number().int().min(0), url: z.string().max(2048).regex(/^https?:\/\//) }))
    .max(10_000),
  controller: z.number().int().nullable(),
})
export type BrokerList = z.infer<typeof BrokerList>

export const TopicList = z.looseObject({
  topics: z.array(z.looseObject({ name: z.string(), partitions: z.number().int().min(0) })),
})
export type TopicList = z.infer<typeof TopicList>

export const DeleteTopicResponse = z.looseObject({ name: z.string(), deleted: z.boolean() })
export type DeleteTopicResponse = z.infer<typeof DeleteTopicResponse>

// ---- groups -------------------------------------------------------------------------------

export interface OffsetCommit {
  topic: string
  partition: number
  /** The next offset the group will read: last processed offset + 1, as in Kafka. */
  offset: number
  metadata?: string
}

const CommittedOffset = z.looseObject({
  topic: z.string(),
  partition: partitionId,
  offset,
  metadata: z.string().nullable().optional(),
})

export const CommitOffsetsResponse = z.looseObject({ offsets: z.array(CommittedOffset) })
export type CommitOffsetsResponse = z.infer<typeof CommitOffsetsResponse>

export const CommittedOffsetsResponse = z.looseObject({
  group: z.string(),
  offsets: z.array(CommittedOffset),
})
export type CommittedOffsetsResponse = z.infer<typeof CommittedOffsetsResponse>

export const GroupLagResponse = z.looseObject({
  group: z.string(),
  partitions: z.array(z.looseObject({
    topic: z.string(),
    partition: partitionId,
    committed: offset.nullable(),
    highWatermark: offset,
    lag: z.number().int().min(0),
    /** The member that owns the partition now, if any. */
    owner: z.string().nullable().optional(),
  })),
  totalLag: z.number().int().min(0),
})
export type GroupLagResponse = z.infer<typeof GroupLagResponse>

/** KIP-848's TopicPartitions: an assignment or the partitions a member owns. */
export const TopicPartitions = z.array(z.looseObject({ topic: z.string(), partitions: z.array(partitionId) }))
export type TopicPartitions = Array<{ topic: string; partitions: number[] }>

export interface JoinGroupRequest {
  topics: string[]
  /** Static membership: an instance that comes back within its session keeps its partitions. */
  instanceId?: string
  sessionTimeoutMs?: number
  rebalanceTimeoutMs?: number
}

export interface HeartbeatRequest {
  memberEpoch: number
  /** What the member owns now: its assignment minus what it has given up. */
  ownedPartitions: TopicPartitions
  /** A new subscription, if it changed. */
  topics?: string[]
}

export const MemberResponse = z.looseObject({
  memberId: z.string(),
  memberEpoch: z.number().int().min(0),
  assignment: TopicPartitions,
  heartbeatIntervalMs: z.number().int().min(1),
})
export type MemberResponse = z.infer<typeof MemberResponse>

export const LeaveGroupResponse = z.looseObject({ memberId: z.string(), memberEpoch: z.number().int() })
export type LeaveGroupResponse = z.infer<typeof LeaveGroupResponse>

export const GroupList = z.looseObject({
  groups: z.array(z.looseObject({ group: z.string(), state: z.string(), members: z.number().int().min(0), groupEpoch: z.number().int() })),
})
export type GroupList = z.infer<typeof GroupList>

export const GroupDescription = z.looseObject({
  group: z.string(),
  state: z.string(),
  groupEpoch: z.number().int(),
  assignmentEpoch: z.number().int(),
  members: z.array(z.looseObject({
    memberId: z.string(),
    instanceId: z.string().nullable(),
    memberEpoch: z.number().int(),
    state: z.string(),
    topics: z.array(z.string()),
    assignment: TopicPartitions,
    pendingRevocation: TopicPartitions,
    targetAssignment: TopicPartitions,
  })),
})
export type GroupDescription = z.infer<typeof GroupDescription>

export type ResetTo = 'earliest' | 'latest' | { timestamp: number } | { offset: number }

export interface ResetOffsetsRequest {
  /** Partitions to move; every partition the group has committed offsets for when omitted. */
  topics?: Array<{ topic: string; partitions?: number[] }>
  to: ResetTo
  /** Compute and return the new offsets without storing them. */
  dryRun?: boolean
}

export const ResetOffsetsResponse = z.looseObject({
  group: z.string(),
  dryRun: z.boolean(),
  offsets: z.array(z.looseObject({ topic: z.string(), partition: partitionId, previous: offset.nullable(), offset })),
})
export type ResetOffsetsResponse = z.infer<typeof ResetOffsetsResponse>

export const DeleteGroupResponse = z.looseObject({ group: z.string(), deleted: z.boolean() })
export type DeleteGroupResponse = z.infer<typeof DeleteGroupResponse>

// ---- errors -------------------------------------------------------------------------------

export const ErrorBody = z.object({
  error: z.object({ code: z.string().min(1), message: z.string() }),
})
