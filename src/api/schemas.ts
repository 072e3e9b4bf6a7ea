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

export const CommitOffsetsSchema = z
  .object({
    offsets: z
      .array(
        z
          .object({
            topic: z.string().min(1).max(249),
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

/** PATCH /v1/topics/{topic}/config: `set` overrides configs, `delete` returns them to their defaults. */
export const AlterTopicConfigSchema = z
  .object({
    set: z.record(z.string().max(256), z.union([z.string().max(4096), z.number(), z.boolean()])).optional(),
    delete: z.array(z.string().max(256)).max(64).optional(),
  })
  .strict()
  .refine((b) => Object.keys(b.set ?? {}).length + (b.delete?.length ?? 0) > 0, { message: 'name at least one config to set or delete' })
