// The edge's own database (storage/schema/edge.ts): upstream metadata, the producer identity
// it ships under, the shipping cursor of every outbox partition and the client producer ids it
// issued. Cold paths, except `shipped`, which runs once per shipped batch.
import type { SqlDriver } from '../../storage/driver.ts'
import { edgeMigrations } from '../../storage/migrations/index.ts'
import { migrate } from '../../storage/migrate.ts'
import { EdgelogError } from '../core/errors.ts'

export type BrokerRef = number | string | null

export interface PartitionMeta {
  partition: number
  leader: BrokerRef
  leaderEpoch: number
  logStartOffset: number
  highWatermark: number
}

export interface TopicMeta {
  name: string
  /** '' until described. */
  topicId: string
  partitions: number
  /** Effective configs as upstream reported them; {} until described. */
  config: Record<string, string>
  /** Epoch ms of the last describe; 0 when only listed. */
  describedAt: number
  /** Per partition once described; [] before. */
  partitionInfo: PartitionMeta[]
}

export interface InflightBatch {
  from: number
  to: number
  sequence: number
}

export interface ShipState {
  topic: string
  partition: number
  /** The next outbox offset to ship; everything below it is confirmed upstream. */
  nextOffset: number
  /** This edge's next sequence number on the partition. */
  nextSequence: number
  /** Sent, not yet confirmed: after a restart the same records go again with the same sequence. */
  inflight: InflightBatch | null
}

export interface ProducerIdentity {
  producerId: number
  producerEpoch: number
}

/** Shipped ranges remembered per partition, to answer an acks=all retry after its batch shipped. */
export const SHIPPED_KEPT = 64

const PRODUCER_KEY = 'producer'

export class EdgeStore {
  private readonly sql
  private closed = false

  constructor(private readonly db: SqlDriver) {
    migrate(db, edgeMigrations)
    this.sql = {
      putShip: db.prepare(
        'INSERT INTO ship_state (topic, partition, next_offset, next_sequence, inflight_from, inflight_to, inflight_sequence) VALUES (?, ?, ?, ?, ?, ?, ?) ' +
          'ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset, next_sequence = excluded.next_sequence, ' +
          'inflight_from = excluded.inflight_from, inflight_to = excluded.inflight_to, inflight_sequence = excluded.inflight_sequence',
      ),
      putShipped: db.prepare('INSERT OR REPLACE INTO shipped_batches (topic, partition, outbox_base, outbox_end, regional_base) VALUES (?, ?, ?, ?, ?)'),
      trimShipped: db.prepare(
        'DELETE FROM shipped_batches WHERE topic = ? AND partition = ? AND outbox_base < ' +
          '(SELECT MIN(outbox_base) FROM (SELECT outbox_base FROM shipped_batches WHERE topic = ? AND partition = ? ORDER BY outbox_base DESC LIMIT ?))',
      ),
      findShipped: db.prepare(
        'SELECT outbox_base, regional_base FROM shipped_batches WHERE topic = ? AND partition = ? AND outbox_base <= ? AND outbox_end > ? LIMIT 1',
      ),
      getState: db.prepare('SELECT value FROM edge_state WHERE key = ?'),
      putState: db.prepare('INSERT INTO edge_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    }
  }

  // ---- upstream metadata ----

  topics(): TopicMeta[] {
    this.checkOpen()
    const parts = new Map<string, PartitionMeta[]>()
    for (const r of this.db.prepare('SELECT * FROM upstream_partitions ORDER BY topic, partition').all()) {
      const t = String(r.topic)
      if (!parts.has(t)) parts.set(t, [])
      parts.get(t)!.push({
        partition: Number(r.partition),
        leader: JSON.parse(String(r.leader)) as BrokerRef,
        leaderEpoch: Number(r.leader_epoch),
        logStartOffset: Number(r.log_start_offset),
        highWatermark: Number(r.high_watermark),
      })
    }
    return this.db
      .prepare('SELECT name, topic_id, partitions, config, described_at FROM upstream_topics ORDER BY name')
      .all()
      .map((r) => ({
        name: String(r.name),
        topicId: String(r.topic_id),
        partitions: Number(r.partitions),
        config: JSON.parse(String(r.config)) as Record<string, string>,
        describedAt: Number(r.described_at),
        partitionInfo: parts.get(String(r.name)) ?? [],
      }))
  }

  /** Replaces what is known of some topics and forgets others, in one transaction. */
  saveTopics(put: TopicMeta[], remove: string[] = []): void {
    this.checkOpen()
    if (put.length === 0 && remove.length === 0) return
    this.db.transaction(() => {
      const delParts = this.db.prepare('DELETE FROM upstream_partitions WHERE topic = ?')
      for (const name of remove) {
        this.db.prepare('DELETE FROM upstream_topics WHERE name = ?').run(name)
        delParts.run(name)
      }
      const putTopic = this.db.prepare(
        'INSERT INTO upstream_topics (name, topic_id, partitions, config, described_at) VALUES (?, ?, ?, ?, ?) ' +
          'ON CONFLICT (name) DO UPDATE SET topic_id = excluded.topic_id, partitions = excluded.partitions, config = excluded.config, described_at = excluded.described_at',
      )
      const putPart = this.db.prepare(
        'INSERT INTO upstream_partitions (topic, partition, leader, leader_epoch, log_start_offset, high_watermark) VALUES (?, ?, ?, ?, ?, ?)',
      )
      for (const t of put) {
        putTopic.run(t.name, t.topicId, t.partitions, JSON.stringify(t.config), t.describedAt)
        delParts.run(t.name)
        for (const p of t.partitionInfo) putPart.run(t.name, p.partition, JSON.stringify(p.leader), p.leaderEpoch, p.logStartOffset, p.highWatermark)
      }
    })
  }

  // ---- the producer this edge ships as ----

  producer(): ProducerIdentity | undefined {
    this.checkOpen()
    const row = this.sql.getState.get(PRODUCER_KEY)
    return row ? (JSON.parse(String(row.value)) as ProducerIdentity) : undefined
  }

  /**
   * Stores a new producer identity. With `resetSequences` (a new producer id: upstream forgot
   * the old one), every partition's sequence restarts at 0, in-flight batches included.
   */
  setProducer(p: ProducerIdentity, resetSequences: boolean): void {
    this.checkOpen()
    this.db.transaction(() => {
      this.sql.putState.run(PRODUCER_KEY, JSON.stringify(p))
      if (resetSequences) {
        this.db.prepare('UPDATE ship_state SET next_sequence = 0, inflight_sequence = CASE WHEN inflight_from IS NULL THEN NULL ELSE 0 END').run()
      }
    })
  }

  /** A small named value (the relay records which incarnation of a topic its cache holds). */
  getState(key: string): string | undefined {
    this.checkOpen()
    const row = this.sql.getState.get(key)
    return row ? String(row.value) : undefined
  }

  setState(key: string, value: string): void {
    this.checkOpen()
    this.sql.putState.run(key, value)
  }

  deleteState(key: string): void {
    this.checkOpen()
    this.db.prepare('DELETE FROM edge_state WHERE key = ?').run(key)
  }

  // ---- shipping cursors ----

  shipStates(): ShipState[] {
    this.checkOpen()
    return this.db
      .prepare('SELECT * FROM ship_state ORDER BY topic, partition')
      .all()
      .map((r) => ({
        topic: String(r.topic),
        partition: Number(r.partition),
        nextOffset: Number(r.next_offset),
        nextSequence: Number(r.next_sequence),
        inflight:
          r.inflight_from === null || r.inflight_from === undefined
            ? null
            : { from: Number(r.inflight_from), to: Number(r.inflight_to), sequence: Number(r.inflight_sequence) },
      }))
  }

  putShipState(s: ShipState): void {
    this.checkOpen()
    this.sql.putShip.run(s.topic, s.partition, s.nextOffset, s.nextSequence, s.inflight?.from ?? null, s.inflight?.to ?? null, s.inflight?.sequence ?? null)
  }

  /** Upstream confirmed `inflight` at `regionalBase`: the cursor moves past it and the range is remembered. */
  shipped(s: ShipState, confirmed: InflightBatch, regionalBase: number): void {
    this.checkOpen()
    this.db.transaction(() => {
      this.putShipState(s)
      this.sql.putShipped.run(s.topic, s.partition, confirmed.from, confirmed.to, regionalBase)
      this.sql.trimShipped.run(s.topic, s.partition, s.topic, s.partition, SHIPPED_KEPT)
    })
  }

  /** Where upstream put an outbox offset that shipped recently, if it is still remembered. */
  regionalOffset(topic: string, partition: number, outboxOffset: number): number | undefined {
    this.checkOpen()
    const row = this.sql.findShipped.get(topic, partition, outboxOffset, outboxOffset)
    return row ? Number(row.regional_base) + (outboxOffset - Number(row.outbox_base)) : undefined
  }

  // ---- producer ids issued to this edge's clients ----

  /**
   * A new client producer id (epoch 0) bound to `principal`, or the next epoch of one this edge
   * issued. Undefined when the id was not issued here, or (unless `anyOwner`) to another
   * principal: as on a broker, another principal's id is answered as if it did not exist.
   */
  initClientProducer(now: number, principal: string, existing?: number, anyOwner = false): ProducerIdentity | undefined {
    this.checkOpen()
    return this.db.transaction(() => {
      if (existing !== undefined) {
        const row = this.db.prepare('SELECT producer_epoch, principal FROM client_producers WHERE producer_id = ?').get(existing)
        if (!row || (!anyOwner && String(row.principal) !== principal)) return undefined
        const epoch = Number(row.producer_epoch) + 1
        this.db.prepare('UPDATE client_producers SET producer_epoch = ?, updated_at = ? WHERE producer_id = ?').run(epoch, now, existing)
        return { producerId: existing, producerEpoch: epoch }
      }
      const row = this.db.prepare('SELECT COALESCE(MAX(producer_id), -1) + 1 AS id FROM client_producers').get()!
      const producerId = Number(row.id)
      this.db.prepare('INSERT INTO client_producers (producer_id, producer_epoch, updated_at, principal) VALUES (?, 0, ?, ?)').run(producerId, now, principal)
      return { producerId, producerEpoch: 0 }
    })
  }

  clientProducerEpoch(producerId: number): number | undefined {
    this.checkOpen()
    const row = this.db.prepare('SELECT producer_epoch FROM client_producers WHERE producer_id = ?').get(producerId)
    return row ? Number(row.producer_epoch) : undefined
  }

  /** The principal a client producer id was issued to, or undefined when this edge did not issue it. */
  clientProducerOwner(producerId: number): string | undefined {
    this.checkOpen()
    const row = this.db.prepare('SELECT principal FROM client_producers WHERE producer_id = ?').get(producerId)
    return row ? String(row.principal) : undefined
  }

  close(): void {
    this.closed = true
    this.db.close()
  }

  /** Work that was in flight when the node closed must not write any more. */
  private checkOpen(): void {
    if (this.closed) throw new EdgelogError('SHUTTING_DOWN', 'the edge is shutting down')
  }
}
