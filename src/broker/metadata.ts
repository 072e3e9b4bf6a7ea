// The node's metadata database (meta.db): topics and their configs and issued producer ids.
// All cold paths; the hot paths live in the partition logs. Committed consumer offsets lived
// here until they became records of `__consumer_offsets`: the broker imports what an older
// node left in `consumer_offsets` once, then the last migration drops that table.
import type { SqlDriver } from '../../storage/driver.ts'
import { metaMigrations } from '../../storage/migrations/index.ts'
import { migrate } from '../../storage/migrate.ts'
import type { TopicConfig } from './topic-config.ts'

export interface TopicRecord {
  name: string
  topicId: string
  partitions: number
  replicationFactor: number
  createdAt: number
  config: TopicConfig
}

export interface LegacyCommittedOffset {
  group: string
  topic: string
  partition: number
  offset: number
  metadata: string
  commitTimestamp: number
}

/** The migration that drops the old offsets table; it runs only after the import. */
const DROP_LEGACY_OFFSETS = '0001_drop_consumer_offsets'

export class MetadataStore {
  constructor(private readonly db: SqlDriver) {
    const at = metaMigrations.findIndex((m) => m.tag === DROP_LEGACY_OFFSETS)
    migrate(db, at < 0 ? metaMigrations : metaMigrations.slice(0, at))
  }

  /** Offsets an older node committed to meta.db, still to be moved to `__consumer_offsets`. */
  legacyCommittedOffsets(): LegacyCommittedOffset[] {
    const table = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'consumer_offsets'").get()
    if (!table) return []
    return this.db
      .prepare('SELECT group_id, topic, partition, committed_offset, metadata, commit_timestamp FROM consumer_offsets ORDER BY group_id, topic, partition')
      .all()
      .map((r) => ({
        group: String(r.group_id),
        topic: String(r.topic),
        partition: Number(r.partition),
        offset: Number(r.committed_offset),
        metadata: String(r.metadata),
        commitTimestamp: Number(r.commit_timestamp),
      }))
  }

  /** Applies the remaining migrations, once the legacy offsets are safely in the offsets topic. */
  finishMigrations(): void {
    migrate(this.db, metaMigrations)
  }

  topics(): TopicRecord[] {
    const configs = new Map<string, TopicConfig>()
    for (const r of this.db.prepare('SELECT topic, key, value FROM topic_configs').all()) {
      const t = String(r.topic)
      if (!configs.has(t)) configs.set(t, {})
      configs.get(t)![String(r.key)] = String(r.value)
    }
    return this.db
      .prepare('SELECT name, topic_id, partitions, replication_factor, created_at FROM topics ORDER BY name')
      .all()
      .map((r) => ({
        name: String(r.name),
        topicId: String(r.topic_id),
        partitions: Number(r.partitions),
        replicationFactor: Number(r.replication_factor),
        createdAt: Number(r.created_at),
        config: configs.get(String(r.name)) ?? {},
      }))
  }

  insertTopic(t: TopicRecord): void {
    this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO topics (name, topic_id, partitions, replication_factor, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(t.name, t.topicId, t.partitions, t.replicationFactor, t.createdAt)
      const put = this.db.prepare('INSERT INTO topic_configs (topic, key, value) VALUES (?, ?, ?)')
      for (const [k, v] of Object.entries(t.config)) put.run(t.name, k, v)
    })
  }

  /** Replaces a topic's config overrides in one transaction. */
  replaceTopicConfig(name: string, config: TopicConfig): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM topic_configs WHERE topic = ?').run(name)
      const put = this.db.prepare('INSERT INTO topic_configs (topic, key, value) VALUES (?, ?, ?)')
      for (const [k, v] of Object.entries(config)) put.run(name, k, v)
    })
  }

  deleteTopic(name: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM topics WHERE name = ?').run(name)
      this.db.prepare('DELETE FROM topic_configs WHERE topic = ?').run(name)
    })
  }

  /** Issues a new producer id (epoch 0), or bumps the epoch of an existing one. */
  initProducer(now: number, existing?: number): { producerId: number; producerEpoch: number } | undefined {
    return this.db.transaction(() => {
      if (existing !== undefined) {
        const row = this.db.prepare('SELECT producer_epoch FROM producer_ids WHERE producer_id = ?').get(existing)
        if (!row) return undefined
        const epoch = Number(row.producer_epoch) + 1
        this.db.prepare('UPDATE producer_ids SET producer_epoch = ?, updated_at = ? WHERE producer_id = ?').run(epoch, now, existing)
        return { producerId: existing, producerEpoch: epoch }
      }
      const row = this.db.prepare('SELECT COALESCE(MAX(producer_id), -1) + 1 AS id FROM producer_ids').get()!
      const producerId = Number(row.id)
      this.db.prepare('INSERT INTO producer_ids (producer_id, producer_epoch, updated_at) VALUES (?, 0, ?)').run(producerId, now)
      return { producerId, producerEpoch: 0 }
    })
  }

  producerEpoch(producerId: number): number | undefined {
    const row = this.db.prepare('SELECT producer_epoch FROM producer_ids WHERE producer_id = ?').get(producerId)
    return row ? Number(row.producer_epoch) : undefined
  }

  close(): void {
    this.db.close()
  }
}
