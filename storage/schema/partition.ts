// One database per partition replica. A batch row holds a whole Kafka RecordBatch v2 exactly
// as it is served, so fetch and replication hand out stored bytes unchanged.
import { blob, index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'

export const batches = sqliteTable('batches', {
  baseOffset: integer('base_offset').primaryKey(),
  lastOffset: integer('last_offset').notNull(),
  leaderEpoch: integer('leader_epoch').notNull(),
  maxTimestamp: integer('max_timestamp').notNull(),
  producerId: integer('producer_id').notNull(),
  sizeBytes: integer('size_bytes').notNull(),
  data: blob('data', { mode: 'buffer' }).notNull(),
})

/** Epoch → first offset written in it (KIP-101): truncation after failover is decided by this. */
export const leaderEpochs = sqliteTable('leader_epochs', {
  epoch: integer('epoch').primaryKey(),
  startOffset: integer('start_offset').notNull(),
})

/** Idempotent producer state, written in the same transaction as the batch (R6). */
export const producerState = sqliteTable(
  'producer_state',
  {
    producerId: integer('producer_id').primaryKey(),
    producerEpoch: integer('producer_epoch').notNull(),
    lastSequence: integer('last_sequence').notNull(),
    /** JSON: the last 5 batches as [firstSeq, lastSeq, baseOffset] for duplicate answers. */
    recentBatches: text('recent_batches').notNull(),
    lastTimestamp: integer('last_timestamp').notNull(),
  },
  (t) => [index('producer_state_last_timestamp').on(t.lastTimestamp)],
)

/** Small durable counters: log_start_offset, high_watermark. */
export const partitionState = sqliteTable('partition_state', {
  key: text('key').primaryKey(),
  value: integer('value').notNull(),
})
