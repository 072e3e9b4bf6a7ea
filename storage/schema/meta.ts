// Node metadata: one `meta.db` per node. Partition data lives in one database per partition
// (./partition.ts) so that appends to different partitions never wait on one SQLite writer lock
// and a deleted topic is a deleted file.
import { integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core'

export const topics = sqliteTable('topics', {
  name: text('name').primaryKey(),
  /** Random id, so a topic deleted and re-created under the same name never reuses files. */
  topicId: text('topic_id').notNull(),
  partitions: integer('partitions').notNull(),
  replicationFactor: integer('replication_factor').notNull(),
  createdAt: integer('created_at').notNull(),
})

export const topicConfigs = sqliteTable(
  'topic_configs',
  {
    topic: text('topic').notNull(),
    key: text('key').notNull(),
    value: text('value').notNull(),
  },
  (t) => [primaryKey({ columns: [t.topic, t.key] })],
)

export const producerIds = sqliteTable('producer_ids', {
  producerId: integer('producer_id').primaryKey(),
  producerEpoch: integer('producer_epoch').notNull(),
  updatedAt: integer('updated_at').notNull(),
})

// Committed consumer offsets moved to the internal topic `__consumer_offsets`
// (src/groups/offsets-topic.ts); migration 0001 drops the old table after the broker imported
// its rows (src/broker/metadata.ts).
