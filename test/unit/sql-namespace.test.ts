// The table-name rewriting that lets many logical databases share a Durable Object's one
// SQLite database: a wrong rewrite would mix two partitions' batches or corrupt a literal.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Database } from 'bun:sqlite'
import { namespaceSql } from '../../storage/sql-namespace.ts'
import type { SqlDriver } from '../../storage/driver.ts'
import { SyncSqliteDriver, type NativeDatabase } from '../../storage/sync-driver.ts'
import { MetadataStore } from '../../src/broker/metadata.ts'
import { PartitionLog } from '../../src/log/partition-log.ts'
import { encodeRecordBatch, readBatchHeader } from '../../src/codec/record-batch.ts'

const ns = (sql: string) => namespaceSql(sql, 'p__')

describe('namespaceSql', () => {
  test('prefixes tables after FROM, INTO, UPDATE, TABLE and JOIN, and nothing else', () => {
    assert.equal(ns('SELECT a, b FROM t WHERE a = ?'), 'SELECT a, b FROM "p__t" WHERE a = ?')
    assert.equal(ns('INSERT INTO t (a) VALUES (?)'), 'INSERT INTO "p__t" (a) VALUES (?)')
    assert.equal(ns('update t set a = 1'), 'update "p__t" set a = 1')
    assert.equal(ns('UPDATE OR IGNORE t SET a = 1'), 'UPDATE OR IGNORE "p__t" SET a = 1')
    assert.equal(ns('DELETE FROM t WHERE x < ?'), 'DELETE FROM "p__t" WHERE x < ?')
    assert.equal(ns('SELECT * FROM a x JOIN b y ON x.id = y.id'), 'SELECT * FROM "p__a" x JOIN "p__b" y ON x.id = y.id')
    assert.equal(ns('SELECT * FROM a, b AS c, d WHERE a.x IN (1, 2)'), 'SELECT * FROM "p__a", "p__b" AS c, "p__d" WHERE a.x IN (1, 2)')
    assert.equal(ns('SELECT (SELECT MAX(x) FROM u) FROM t'), 'SELECT (SELECT MAX(x) FROM "p__u") FROM "p__t"')
  })

  test("SQLite's own tables (sqlite_master, sqlite_schema) are shared and never prefixed", () => {
    assert.equal(
      ns("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 't'"),
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 't'",
    )
    assert.equal(ns('SELECT * FROM "sqlite_schema"'), 'SELECT * FROM "sqlite_schema"')
  })

  test('DDL: CREATE TABLE / INDEX ... ON, IF NOT EXISTS, DROP, ALTER ... RENAME TO, REFERENCES', () => {
    assert.equal(ns('CREATE TABLE IF NOT EXISTS "t" (id INTEGER)'), 'CREATE TABLE IF NOT EXISTS "p__t" (id INTEGER)')
    assert.equal(ns('CREATE INDEX `i` ON `t` (`c`);'), 'CREATE INDEX "p__i" ON "p__t" (`c`);')
    assert.equal(ns('CREATE UNIQUE INDEX IF NOT EXISTS i ON t(c)'), 'CREATE UNIQUE INDEX IF NOT EXISTS "p__i" ON "p__t"(c)')
    assert.equal(ns('DROP TABLE IF EXISTS t'), 'DROP TABLE IF EXISTS "p__t"')
    assert.equal(ns('ALTER TABLE t RENAME TO u'), 'ALTER TABLE "p__t" RENAME TO "p__u"')
    assert.equal(ns('ALTER TABLE t RENAME COLUMN a TO b'), 'ALTER TABLE "p__t" RENAME COLUMN a TO b')
    assert.equal(ns('CREATE TABLE c (p INTEGER REFERENCES t(id))'), 'CREATE TABLE "p__c" (p INTEGER REFERENCES "p__t"(id))')
  })

  test('an upsert keeps ON CONFLICT, DO UPDATE SET and excluded.x as they are', () => {
    assert.equal(
      ns('INSERT INTO s (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v'),
      'INSERT INTO "p__s" (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v',
    )
  })

  test('string literals, comments and quoted names are never rewritten inside', () => {
    assert.equal(ns("SELECT 'FROM t' FROM t -- FROM t\n"), `SELECT 'FROM t' FROM "p__t" -- FROM t\n`)
    assert.equal(ns("INSERT INTO t VALUES ('it''s FROM x')"), `INSERT INTO "p__t" VALUES ('it''s FROM x')`)
    assert.equal(ns('SELECT "from" FROM /* FROM x */ t'), 'SELECT "from" FROM /* FROM x */ "p__t"')
    assert.equal(ns('SELECT * FROM "we""ird"'), 'SELECT * FROM "p__we""ird"')
    assert.equal(ns('SELECT * FROM [bracket name]'), 'SELECT * FROM "p__bracket name"')
  })

  test('the partition log and the metadata store run with every statement namespaced, side by side', () => {
    const sqlite = new Database(':memory:')
    const shared = new SyncSqliteDriver(sqlite as unknown as NativeDatabase, () => sqlite.inTransaction)
    // What durable-object.ts does, over bun:sqlite: one database, a prefix per logical database.
    const namespaced = (prefix: string): SqlDriver => ({
      exec: (sql) => shared.exec(namespaceSql(sql, prefix)),
      prepare: (sql) => shared.prepare(namespaceSql(sql, prefix)),
      transaction: (fn) => shared.transaction(fn),
      close() {},
    })
    const meta = new MetadataStore(namespaced('m__'))
    meta.insertTopic({ name: 't', topicId: 'x', partitions: 2, replicationFactor: 1, createdAt: 1, config: { 'retention.ms': '5' } })
    meta.finishMigrations()
    meta.replaceTopicConfig('t', { 'retention.ms': '7' })
    assert.deepEqual(meta.topics()[0]!.config, { 'retention.ms': '7' }, 'the config was replaced')
    assert.equal(meta.initProducer(1)?.producerId, 0)
    const logs = ['p0__', 'p1__'].map((prefix) => PartitionLog.open(namespaced(prefix)))
    logs.forEach((log, i) => {
      const batch = encodeRecordBatch({ baseOffset: 0, records: Array.from({ length: i + 1 }, () => ({ key: null, value: new Uint8Array([i]), timestamp: 1 })) })
      assert.ok(log.appendAsLeader([{ batch, header: readBatchHeader(batch) }], 0, 1)[0]!.ok)
    })
    assert.deepEqual(logs.map((l) => l.logEndOffset), [1, 2], 'each log counts only its own batches')
    const names = (sqlite.prepare("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").all() as { name: string }[]).map((r) => r.name)
    assert.ok(names.length >= 3 * 4)
    for (const name of names) assert.match(name, /^(m__|p0__|p1__)/, `${name} is namespaced`)
  })
})
