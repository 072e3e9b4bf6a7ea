// An edge node's own database (`edge.db`): what it learned from upstream (topics, partition
// counts, configs, leaders), its identity as an idempotent producer there, and the shipping
// state of every outbox partition. The outbox records themselves live in one partition log per
// outbox partition (storage/schema/partition.ts), the relay cache in a broker of its own.
import { integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/** Topics as upstream last described them; an edge restarted while the region is away routes by these. */
export const upstreamTopics = sqliteTable('upstream_topics', {
  name: text('name').primaryKey(),
  /** '' until the topic was described (a listing carries no id). */
  topicId: text('topic_id').notNull(),
  partitions: integer('partitions').notNull(),
  /** JSON object: the topic's effective configs, Kafka's spelling; '{}' until described. */
  config: text('config').notNull(),
  /** Epoch ms of the last describe; 0 when only listed so far. */
  describedAt: integer('described_at').notNull(),
})

/** Per partition as upstream last reported it: leader and the offsets that bound it. */
export const upstreamPartitions = sqliteTable(
  'upstream_partitions',
  {
    topic: text('topic').notNull(),
    partition: integer('partition').notNull(),
    /** JSON: a broker id (number or name), or null when the partition has no leader. */
    leader: text('leader').notNull(),
    leaderEpoch: integer('leader_epoch').notNull(),
    logStartOffset: integer('log_start_offset').notNull(),
    highWatermark: integer('high_watermark').notNull(),
  },
  (t) => [primaryKey({ columns: [t.topic, t.partition] })],
)

/** Small named values: the producer id and epoch this edge ships under. */
export const edgeState = sqliteTable('edge_state', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
})

/**
 * One row per outbox partition: the next outbox offset to ship, the next sequence number of
 * this edge's producer on that partition, and the batch in flight (sent, not yet confirmed).
 * The in-flight batch is written before it is sent, so after a crash the same records go again
 * with the same sequence numbers and upstream recognises them (KIP-98 duplicate detection).
 */
export const shipState = sqliteTable(
  'ship_state',
  {
    topic: text('topic').notNull(),
    partition: integer('partition').notNull(),
    nextOffset: integer('next_offset').notNull(),
    nextSequence: integer('next_sequence').notNull(),
    inflightFrom: integer('inflight_from'),
    inflightTo: integer('inflight_to'),
    inflightSequence: integer('inflight_sequence'),
  },
  (t) => [primaryKey({ columns: [t.topic, t.partition] })],
)

/** The last shipped ranges per outbox partition and where upstream put them (acks=all answers to retries). */
export const shippedBatches = sqliteTable(
  'shipped_batches',
  {
    topic: text('topic').notNull(),
    partition: integer('partition').notNull(),
    outboxBase: integer('outbox_base').notNull(),
    outboxEnd: integer('outbox_end').notNull(),
    regionalBase: integer('regional_base').notNull(),
  },
  (t) => [primaryKey({ columns: [t.topic, t.partition, t.outboxBase] })],
)

/** Producer ids this edge issued to its own clients (their retries are deduplicated in the outbox). */
export const clientProducers = sqliteTable('client_producers', {
  producerId: integer('producer_id').primaryKey(),
  producerEpoch: integer('producer_epoch').notNull(),
  updatedAt: integer('updated_at').notNull(),
  /** The principal the id was issued to ('' when issued without authentication), as on a broker. */
  principal: text('principal').notNull().default(''),
})
