// Everything that crosses the HTTP boundary is checked here. Objects are strict: an unknown
// field is a mistake the client wants to hear about, not something to drop silently.
import { z } from 'zod'

const offset = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const base64 = z.object({ base64: z.string() }).strict()

export const JsonRecordSchema = z
  .object({
    key: z.union([z.string(), base64, z.null()]).optional(),
    value: z.unknown(),
    headers: z.record(z.string().min(1).max(1024), z.string().nullable()).optional(),
    partition: z.number().int().min(0).max(1_000_000).optional(),
    timestamp: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .strict()
export type JsonRecord = z.infer<typeof JsonRecordSchema>

export const ProducerSchema = z
  .object({
    id: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    epoch: z.number().int().min(0).max(32767),
    sequence: z.number().int().min(0).max(2147483647),
  })
  .strict()

export const ProduceBodySchema = z.object({ records: z.array(JsonRecordSchema).min(1) }).strict()
export const PartitionProduceBodySchema = z.object({ records: z.array(JsonRecordSchema).min(1), producer: ProducerSchema.optional() }).strict()

export const CreateTopicSchema = z
  .object({
    name: z.string(),
    partitions: z.number().int().optional(),
    replicationFactor: z.number().int().optional(),
    config: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  })
  .strict()

export const InitProducerSchema = z.object({ producerId: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional() }).strict()

const groupName = z.string().min(1).max(255).regex(/^[a-zA-Z0-9._-]+$/, 'may contain only ASCII letters, digits, ., _ and -')
const topicName = z.string().min(1).max(249)
const partitionNumber = z.number().int().min(0).max(1_000_000)
export const memberId = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'is not a member id')
const memberEpoch = z.number().int().min(0).max(2 ** 31 - 1)

export const CommitOffsetsSchema = z
  .object({
    memberId: memberId.optional(),
    memberEpoch: memberEpoch.optional(),
    offsets: z
      .array(
        z
          .object({
            topic: topicName,
            partition: z.number().int().min(0),
            offset,
            metadata: z.string().max(4096).optional(),
          })
          .strict(),
      )
      .min(1)
      .max(10_000),
  })
  .strict()
  .refine((b) => (b.memberId === undefined) === (b.memberEpoch === undefined), {
    message: 'memberId and memberEpoch come together: both for a member\'s commit, neither for a group without members',
    path: ['memberEpoch'],
  })

/** KIP-848's TopicPartitions: `{topic, partitions: [..]}`. */
export const TopicPartitionsSchema = z
  .array(z.object({ topic: topicName, partitions: z.array(partitionNumber).max(10_000) }).strict())
  .max(10_000)

export const JoinGroupSchema = z
  .object({
    topics: z.array(topicName).min(1).max(100),
    instanceId: groupName.optional(),
    sessionTimeoutMs: z.number().int().min(0).max(2 ** 31 - 1).optional(),
    rebalanceTimeoutMs: z.number().int().min(0).max(2 ** 31 - 1).optional(),
  })
  .strict()

export const HeartbeatSchema = z
  .object({
    memberEpoch,
    ownedPartitions: TopicPartitionsSchema,
    topics: z.array(topicName).min(1).max(100).optional(),
  })
  .strict()

export const ResetOffsetsSchema = z
  .object({
    topics: z
      .array(z.object({ topic: topicName, partitions: z.array(partitionNumber).min(1).max(10_000).optional() }).strict())
      .min(1)
      .max(1000)
      .optional(),
    to: z.union([
      z.literal('earliest'),
      z.literal('latest'),
      z.object({ timestamp: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }).strict(),
      z.object({ offset }).strict(),
    ]),
    dryRun: z.boolean().optional(),
  })
  .strict()

/** PATCH /v1/topics/{topic}/config: `set` overrides configs, `delete` returns them to their defaults. */
export const AlterTopicConfigSchema = z
  .object({
    set: z.record(z.string().max(256), z.union([z.string().max(4096), z.number(), z.boolean()])).optional(),
    delete: z.array(z.string().max(256)).max(64).optional(),
  })
  .strict()
  .refine((b) => Object.keys(b.set ?? {}).length + (b.delete?.length ?? 0) > 0, { message: 'name at least one config to set or delete' })
