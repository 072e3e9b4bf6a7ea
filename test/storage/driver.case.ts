// The storage conformance suite: what every SQLite driver behind storage/driver.ts must do.
// Each driver runs it under its own runtime: bun:sqlite (bun.test.ts, `bun test`), node:sqlite
// on Deno (deno.deno.ts, `deno test`), better-sqlite3 on Node 20 and node:sqlite on Node 24
// (node.node.ts, `node --test`), and a Durable Object's ctx.storage.sql inside workerd
// (durable-object.mf.ts, Miniflare). The cases are plain functions, so this file imports no
// test runner: a runner passes its describe/test in, and the Durable Object runs the same
// cases inside a Worker, where there is no node:test.
import assert from 'node:assert/strict'
import type { SqlDriver, StorageProvider } from '../../storage/driver.ts'
import { decodeRecords, encodeRecordBatch, readBatchHeader, type NewRecord } from '../../src/codec/record-batch.ts'
import { PartitionLog } from '../../src/log/partition-log.ts'
import { formatHotPath, measureHotPath, SMALL_HOT_PATH } from '../../bench/storage-hot-path.ts'

export interface StorageFixture {
  /** A provider over empty storage. */
  provider: StorageProvider
  /** A new provider over the same storage, as a restarted process would open it. */
  reopen(): StorageProvider
  dispose(): void
  /** The names of the files the storage holds now (file drivers only). */
  files?(): string[]
}

export interface CaseContext {
  fixture: StorageFixture
  driver: string
  /** Where a case reports what it measured (the hot-path timings). */
  log(line: string): void
}

export interface StorageCase {
  name: string
  run(ctx: CaseContext): void
}

const enc = new TextEncoder()
const dec = new TextDecoder()

function withTable(db: SqlDriver, ddl = 'CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, s TEXT, b BLOB)'): SqlDriver {
  db.exec(ddl)
  return db
}

function bytesEqual(actual: unknown, expected: Uint8Array, what: string): void {
  assert.ok(actual instanceof Uint8Array, `${what} comes back as a Uint8Array (got ${Object.prototype.toString.call(actual)})`)
  assert.equal(actual.byteLength, expected.byteLength, `${what}: length`)
  // A loop, not deepEqual: better-sqlite3 hands out Buffers (which deepEqual tells apart from
  // Uint8Array), and workerd's node:assert takes seconds over a megabyte.
  for (let i = 0; i < expected.byteLength; i++) {
    if (actual[i] !== expected[i]) assert.fail(`${what}: byte ${i} is ${actual[i]}, expected ${expected[i]}`)
  }
}

function pseudoRandomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

// ---- the partition log's crash-safety, shared by every driver's crash test ----

/** Batches per transaction and records per batch the crash appender writes. */
export const CRASH_GROUP = { batches: 3, records: 50, valueBytes: 200 }

function crashRecords(group: number, batch: number): NewRecord[] {
  return Array.from({ length: CRASH_GROUP.records }, (_, r) => {
    const value = new Uint8Array(CRASH_GROUP.valueBytes).fill(97 + ((group + batch + r) % 26))
    value.set(enc.encode(`g${group}b${batch}r${r}:`))
    return { key: enc.encode(`g${group}`), value, timestamp: 1_700_000_000_000 + group }
  })
}

/** Appends group `group`: CRASH_GROUP.batches batches in one transaction. Returns the new log end offset. */
export function appendCrashGroup(log: PartitionLog, group: number): number {
  const requests = Array.from({ length: CRASH_GROUP.batches }, (_, b) => {
    const batch = encodeRecordBatch({ baseOffset: 0, records: crashRecords(group, b) })
    return { batch, header: readBatchHeader(batch) }
  })
  for (const r of log.appendAsLeader(requests, 0, 1_700_000_000_000 + group)) if (!r.ok) throw r.error
  return log.logEndOffset
}

/**
 * After a process appending groups was killed: every acknowledged group is there, and the log
 * holds only whole groups (no torn transaction), whole batches (CRC) and the exact records.
 */
export function verifyCrashedLog(storage: StorageProvider, name: string, ackedEndOffset: number): { groups: number; records: number } {
  const log = PartitionLog.open(storage.open(name))
  try {
    const perGroup = CRASH_GROUP.batches * CRASH_GROUP.records
    assert.ok(log.logEndOffset >= ackedEndOffset, `log end ${log.logEndOffset} keeps every acknowledged append (${ackedEndOffset})`)
    assert.equal(log.logEndOffset % perGroup, 0, `log end ${log.logEndOffset} is a whole number of transactions of ${perGroup} records`)
    let offset = 0
    while (offset < log.logEndOffset) {
      const batches = log.read(offset, log.logEndOffset, 1 << 20) // read() checks every batch's CRC
      assert.ok(batches.length > 0, `a read at ${offset} below the log end returns batches`)
      for (const b of batches) {
        const records = decodeRecords(b.data)
        assert.equal(records.length, CRASH_GROUP.records, `batch at ${b.baseOffset} is whole`)
        for (const r of records) {
          assert.equal(r.offset, offset, 'offsets are dense')
          const group = Math.floor(offset / perGroup)
          const batch = Math.floor((offset % perGroup) / CRASH_GROUP.records)
          const expected = crashRecords(group, batch)[offset % CRASH_GROUP.records]!
          bytesEqual(r.value, expected.value!, `record ${offset}`)
          offset++
        }
      }
    }
    return { groups: log.logEndOffset / perGroup, records: log.logEndOffset }
  } finally {
    log.close()
  }
}

// ---- the cases ----

export const STORAGE_CASES: StorageCase[] = [
  {
    name: 'prepare, run, all and get',
    run({ fixture }) {
      const db = withTable(fixture.provider.open('basic'))
      const insert = db.prepare('INSERT INTO t (id, i, s) VALUES (?, ?, ?)')
      assert.deepEqual(insert.run(1, 10, 'one'), { changes: 1 })
      assert.deepEqual(insert.run(2, 20, 'two'), { changes: 1 }, 'a prepared statement runs again with new parameters')
      insert.run(3, 30, null)
      assert.equal(db.prepare('INSERT INTO t (id, i, s) VALUES (?, ?, ?)'), insert, 'prepare caches by SQL text')
      const rows = db.prepare('SELECT id, i, s FROM t ORDER BY id').all()
      assert.deepEqual(
        rows.map((r) => ({ ...r })),
        [
          { id: 1, i: 10, s: 'one' },
          { id: 2, i: 20, s: 'two' },
          { id: 3, i: 30, s: null },
        ],
      )
      assert.deepEqual({ ...db.prepare('SELECT s FROM t WHERE id = ?').get(2) }, { s: 'two' })
      assert.equal(db.prepare('SELECT s FROM t WHERE id = ?').get(99), undefined, 'get with no row is undefined')
      assert.deepEqual(db.prepare('SELECT s FROM t WHERE id > ?').all(99), [], 'all with no row is []')
      db.exec('CREATE INDEX t_i ON t (i)')
      assert.deepEqual(db.prepare('UPDATE t SET i = i + 1 WHERE id <= ?').run(2), { changes: 2 }, 'changes counts rows, not index entries')
      assert.equal(Number(db.prepare('SELECT SUM(i) AS total FROM t').get()!.total), 62)
      db.exec('CREATE TABLE u (x INTEGER); INSERT INTO u VALUES (1); INSERT INTO u VALUES (2)')
      assert.equal(Number(db.prepare('SELECT COUNT(*) AS n FROM u').get()!.n), 2, 'exec runs every statement it is given')
      db.close()
    },
  },
  {
    name: 'a transaction commits and returns what fn returns',
    run({ fixture }) {
      const db = withTable(fixture.provider.open('commit'))
      const insert = db.prepare('INSERT INTO t (id, s) VALUES (?, ?)')
      const result = db.transaction(() => {
        insert.run(1, 'a')
        insert.run(2, 'b')
        return 'done'
      })
      assert.equal(result, 'done')
      assert.equal(db.prepare('SELECT COUNT(*) AS n FROM t').get()!.n, 2)
      db.close()
      const again = fixture.reopen().open('commit')
      assert.equal(again.prepare('SELECT COUNT(*) AS n FROM t').get()!.n, 2, 'committed rows are there after a reopen')
      again.close()
    },
  },
  {
    name: 'a transaction rolls back when fn throws, and the driver stays usable',
    run({ fixture }) {
      const db = withTable(fixture.provider.open('rollback'))
      const insert = db.prepare('INSERT INTO t (id, s) VALUES (?, ?)')
      insert.run(1, 'before')
      const boom = new Error('boom')
      assert.throws(
        () =>
          db.transaction(() => {
            insert.run(2, 'inside')
            db.prepare('UPDATE t SET s = ? WHERE id = 1').run('changed')
            throw boom
          }),
        (err) => err === boom,
        'the error from fn is rethrown as it is',
      )
      assert.deepEqual(
        db.prepare('SELECT id, s FROM t ORDER BY id').all().map((r) => ({ ...r })),
        [{ id: 1, s: 'before' }],
        'nothing done inside the transaction remains',
      )
      // A constraint violation half-way rolls back the rows before it too.
      assert.throws(() =>
        db.transaction(() => {
          insert.run(3, 'three')
          insert.run(1, 'duplicate primary key')
        }),
      )
      assert.equal(db.prepare('SELECT COUNT(*) AS n FROM t').get()!.n, 1, 'the first row of the failed transaction is gone')
      db.transaction(() => insert.run(4, 'after'))
      assert.equal(db.prepare('SELECT COUNT(*) AS n FROM t').get()!.n, 2, 'a transaction after a rollback commits')
      db.close()
    },
  },
  {
    name: 'blobs round trip byte-exact',
    run({ fixture }) {
      const db = withTable(fixture.provider.open('blobs'))
      const every = Uint8Array.from({ length: 256 }, (_, i) => i)
      const big = pseudoRandomBytes(1 << 20, 7)
      const backing = pseudoRandomBytes(64, 9)
      const view = backing.subarray(16, 48) // a view with a non-zero byteOffset
      const zeros = new Uint8Array(1000)
      const cases: Array<[number, Uint8Array]> = [
        [1, every],
        [2, big],
        [3, view],
        [4, zeros],
        [5, enc.encode('\u0000text-looking\u0000bytes')],
      ]
      const insert = db.prepare('INSERT INTO t (id, b) VALUES (?, ?)')
      for (const [id, bytes] of cases) insert.run(id, bytes)
      for (const [id, bytes] of cases) bytesEqual(db.prepare('SELECT b FROM t WHERE id = ?').get(id)!.b, bytes, `blob ${id}`)
      const all = db.prepare('SELECT id, b FROM t ORDER BY id').all()
      all.forEach((row, i) => bytesEqual(row.b, cases[i]![1], `blob ${cases[i]![0]} from all()`))
      assert.equal(Number(db.prepare('SELECT length(b) AS n FROM t WHERE id = 2').get()!.n), 1 << 20, 'SQLite stored every byte')
      db.close()
    },
  },
  {
    name: 'integers are exact up to 2^53 - 1',
    run({ fixture }) {
      const db = withTable(fixture.provider.open('integers'))
      const values = [0, 1, -1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 1, 2 ** 52 + 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]
      const insert = db.prepare('INSERT INTO t (id, i) VALUES (?, ?)')
      values.forEach((v, k) => insert.run(k + 1, v))
      insert.run(100, BigInt(Number.MAX_SAFE_INTEGER)) // a bigint parameter binds too
      const rows = db.prepare('SELECT id, i FROM t ORDER BY id').all()
      values.forEach((v, k) => {
        assert.equal(typeof rows[k]!.i, 'number', 'integers come back as numbers')
        assert.equal(rows[k]!.i, v, `${v} round trips`)
      })
      assert.equal(rows[values.length]!.i, Number.MAX_SAFE_INTEGER, 'a bigint parameter reads back as the same number')
      assert.equal(db.prepare('SELECT i FROM t WHERE i = ?').get(Number.MAX_SAFE_INTEGER)!.i, Number.MAX_SAFE_INTEGER, 'and compares exactly')
      assert.equal(
        db.prepare('SELECT MAX(i) - 1 AS m FROM t').get()!.m,
        Number.MAX_SAFE_INTEGER - 1,
        'SQLite arithmetic on it is 64-bit, not floating point',
      )
      db.close()
    },
  },
  {
    name: 'text and null round trip',
    run({ fixture }) {
      const db = withTable(fixture.provider.open('text'))
      const texts = ['', 'plain', 'ünïcödé', '日本語', '🦀 emoji', 'quote \' and "double"', 'line\nbreak', 'x'.repeat(100_000)]
      const insert = db.prepare('INSERT INTO t (id, s) VALUES (?, ?)')
      texts.forEach((s, k) => insert.run(k + 1, s))
      insert.run(1000, null)
      const rows = db.prepare('SELECT s FROM t ORDER BY id').all()
      texts.forEach((s, k) => assert.equal(rows[k]!.s, s))
      assert.equal(rows[texts.length]!.s, null)
      db.close()
    },
  },
  {
    name: 'databases are separate, and remove deletes one',
    run({ fixture }) {
      const a = withTable(fixture.provider.open('partitions/0001-0'))
      const b = withTable(fixture.provider.open('partitions/0001-1'))
      a.prepare('INSERT INTO t (id, s) VALUES (?, ?)').run(1, 'in a')
      assert.equal(b.prepare('SELECT COUNT(*) AS n FROM t').get()!.n, 0, 'a row in one database is not in another')
      a.close()
      fixture.provider.remove('partitions/0001-0')
      const fresh = fixture.provider.open('partitions/0001-0')
      fresh.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT)') // would fail if the old table survived
      assert.equal(fresh.prepare('SELECT COUNT(*) AS n FROM t').get()!.n, 0)
      assert.equal(b.prepare('SELECT COUNT(*) AS n FROM t').get()!.n, 0, 'removing one database leaves the others')
      fresh.close()
      b.close()
    },
  },
  {
    name: 'the partition log migrates, appends, reads and reopens',
    run({ fixture }) {
      let log = PartitionLog.open(fixture.provider.open('log'))
      const values = ['a', 'b', 'c', 'd', 'e']
      const batch = encodeRecordBatch({ baseOffset: 0, records: values.map((v, i) => ({ key: null, value: enc.encode(v), timestamp: 1000 + i })) })
      const results = log.appendAsLeader([{ batch, header: readBatchHeader(batch) }], 0, 1000)
      assert.deepEqual(results, [{ ok: true, baseOffset: 0, lastOffset: 4, duplicate: false }])
      log.close()
      log = PartitionLog.open(fixture.reopen().open('log')) // migrations run again: a no-op
      assert.equal(log.logEndOffset, 5)
      const [stored] = log.read(0, 5, 1 << 20)
      assert.deepEqual(decodeRecords(stored!.data).map((r) => dec.decode(r.value!)), values)
      log.close()
    },
  },
  {
    name: 'close releases the database: no -wal or -shm file is left behind',
    run({ fixture }) {
      // A statement left unfinalized keeps bun:sqlite's connection open after close(), and with
      // it the WAL: a later remove() or copy of the data directory would race a live database.
      const db = withTable(fixture.provider.open('closing'))
      db.transaction(() => db.prepare('INSERT INTO t (i) VALUES (?)').run(1))
      assert.equal(db.prepare('SELECT count(*) AS n FROM t').get()?.n, 1)
      assert.ok(fixture.files!().some((f) => f.startsWith('closing.db')), 'the database is a file')
      db.close()
      assert.deepEqual(fixture.files!().filter((f) => f.startsWith('closing.db')), ['closing.db'])
    },
  },
  {
    name: 'hot path: append and read timings',
    run({ fixture, driver, log }) {
      log(formatHotPath(driver, measureHotPath(fixture.provider, 'hot', SMALL_HOT_PATH)))
    },
  },
]

export const CRASH_CASE_NAME = 'a killed process mid-append leaves no torn batch and keeps every acknowledged one'

export interface DriverUnderTest {
  /** The driver and runtime, e.g. "better-sqlite3 on Node 20.20.2". */
  name: string
  /** Runs each case here, on a fresh fixture. */
  fixture?(): StorageFixture
  /** Or runs case `index` of STORAGE_CASES where the driver lives (a Durable Object), returning its log lines. */
  runCase?(index: number): Promise<string[]>
  /** Case name → why this driver skips it. */
  skip?: Record<string, string>
  /** Runs the crash scenario (an appender child killed with SIGKILL, then verifyCrashedLog). */
  crash?: () => Promise<{ groups: number; records: number; ackedEndOffset: number }>
}

type Describe = (name: string, fn: () => void) => unknown
type Test = (name: string, options: { skip?: string | boolean; timeout?: number }, fn: () => unknown) => unknown

/** Registers every case for one driver with a node:test-compatible runner. */
export function registerStorageSuite(d: DriverUnderTest, t: { describe: Describe; test: Test }): void {
  t.describe(`storage driver conformance: ${d.name}`, () => {
    STORAGE_CASES.forEach((c, index) => {
      t.test(c.name, { skip: d.skip?.[c.name] ?? false }, async () => {
        if (d.runCase) {
          for (const line of await d.runCase(index)) console.log(`      ${line}`)
          return
        }
        const fixture = d.fixture!()
        try {
          c.run({ fixture, driver: d.name, log: (line) => console.log(`      ${line}`) })
        } finally {
          fixture.dispose()
        }
      })
    })
    const crashSkip = d.skip?.[CRASH_CASE_NAME] ?? (d.crash ? false : 'this driver has no crash scenario')
    t.test(CRASH_CASE_NAME, { skip: crashSkip, timeout: 120_000 }, async () => {
      const r = await d.crash!()
      assert.ok(r.groups > 0, 'the appender committed something before it was killed')
      console.log(`      ${d.name}: killed after ${r.ackedEndOffset} acknowledged records; reopened with ${r.records} records in ${r.groups} whole transactions`)
    })
  })
}
