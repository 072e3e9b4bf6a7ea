// Per-node facts that outlive a process: `node.db`, one per data directory. Kept apart from
// meta.db so that writing them never waits behind topic or offset changes.
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/**
 * Small durable counters (R5): `incarnation`, incremented on every start, and
 * `clean_shutdown`, 1 only between a clean stop and the next start.
 */
export const nodeState = sqliteTable('node_state', {
  key: text('key').primaryKey(),
  value: integer('value').notNull(),
})
