// A Durable Object's SQLite (`ctx.storage.sql`) behind the driver contract.
//
// One object has exactly one SQLite database, and the broker asks for many (meta plus one per
// partition), so every database name becomes a table-name prefix inside the object's database:
// `batches` of database `partitions/ab12-0` is the table `"e_partitions_2fab12_2d0__batches"`.
// sql-namespace.ts rewrites the table and index names of each statement once, when it is
// prepared; remove() drops the tables under a prefix. A table name inside a string literal is
// not rewritten: the one such query, the legacy consumer_offsets lookup in
// src/broker/metadata.ts, finds nothing here, which is right (no Durable Object node ever
// stored offsets in meta; the table is created and dropped by the migrations in one go).
//
// What differs from the file drivers, and why:
// - no BEGIN/COMMIT: the platform forbids them; transactions go through transactionSync, which
//   also rolls back when fn throws.
// - no pragmas: journal mode and fsync belong to the platform. A write is durable before the
//   response that follows it leaves the object (the output gate), which is the `always` policy.
// - blobs come back as ArrayBuffer and are handed out as Uint8Array; bigint cannot be bound,
//   so a bigint parameter is passed as a number when it is exact and refused otherwise.
import type { SqlDriver, SqlRow, SqlStatement, SqlValue, StorageProvider } from './driver.ts'
import { namespaceSql, quoteIdentifier } from './sql-namespace.ts'

/** The part of `SqlStorageCursor` used here. */
export interface SqlCursorLike extends Iterator<Record<string, unknown>> {
  toArray(): Record<string, unknown>[]
  one(): Record<string, unknown>
  readonly rowsWritten: number
}

/** The part of `DurableObjectStorage` used here (structural, so no workers-types are needed). */
export interface DurableObjectStorageLike {
  sql: { exec(query: string, ...bindings: unknown[]): SqlCursorLike }
  transactionSync<T>(fn: () => T): T
}

/** An injective, identifier-safe prefix for a database name: `_` and every non-alphanumeric are hex-escaped. */
export function tablePrefix(database: string): string {
  return `e_${database.replace(/[^A-Za-z0-9]/g, (c) => `_${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}__`
}

function bindable(params: SqlValue[]): unknown[] {
  for (let i = 0; i < params.length; i++) {
    const p = params[i]
    if (typeof p === 'bigint') {
      if (p > BigInt(Number.MAX_SAFE_INTEGER) || p < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw new RangeError(`integer ${p} is outside what a Durable Object can bind exactly (2^53)`)
      }
      params[i] = Number(p)
    }
  }
  return params
}

function toRow(raw: Record<string, unknown>): SqlRow {
  for (const k in raw) {
    const v = raw[k]
    if (v instanceof ArrayBuffer) raw[k] = new Uint8Array(v)
  }
  return raw as SqlRow
}

class DurableObjectStatement implements SqlStatement {
  constructor(
    private readonly driver: DurableObjectDriver,
    private readonly sql: string,
  ) {}
  run(...params: SqlValue[]) {
    const cursor = this.driver.execute(this.sql, params)
    // Drain the cursor: the statement runs to completion only as it is read.
    while (!cursor.next().done) {}
    // Not cursor.rowsWritten: that counts index entries too.
    return { changes: this.driver.changes() }
  }
  all(...params: SqlValue[]) {
    return this.driver.execute(this.sql, params).toArray().map(toRow)
  }
  get(...params: SqlValue[]) {
    const first = this.driver.execute(this.sql, params).next()
    return first.done ? undefined : toRow(first.value)
  }
}

export class DurableObjectDriver implements SqlDriver {
  private readonly cache = new Map<string, DurableObjectStatement>()
  private closed = false

  constructor(
    private readonly storage: DurableObjectStorageLike,
    private readonly prefix: string,
  ) {}

  /** Runs one already-qualified statement. */
  execute(sql: string, params: SqlValue[]): SqlCursorLike {
    if (this.closed) throw new Error('the database is closed')
    return this.storage.sql.exec(sql, ...bindable(params))
  }

  changes(): number {
    return Number(this.storage.sql.exec('SELECT changes() AS n').one().n)
  }

  exec(sql: string): void {
    const cursor = this.execute(namespaceSql(sql, this.prefix), [])
    while (!cursor.next().done) {}
  }

  prepare(sql: string): SqlStatement {
    let s = this.cache.get(sql)
    if (!s) {
      // workerd keeps its own cache of compiled statements keyed by the SQL text.
      s = new DurableObjectStatement(this, namespaceSql(sql, this.prefix))
      this.cache.set(sql, s)
    }
    return s
  }

  transaction<T>(fn: () => T): T {
    return this.storage.transactionSync(fn)
  }

  close(): void {
    this.closed = true
    this.cache.clear()
  }
}

/**
 * Every database of a node inside one Durable Object's SQLite (see the top of this file).
 * `namespace` goes before every database name, so two providers in one object (an edge's
 * `edge`/`outbox/...` and its relay cache's `relay/meta`/`relay/partitions/...`) never share a table.
 */
export function durableObjectStorage(storage: DurableObjectStorageLike, namespace = ''): StorageProvider {
  return {
    open(name) {
      return new DurableObjectDriver(storage, tablePrefix(namespace + name))
    },
    remove(name) {
      const prefix = tablePrefix(namespace + name)
      storage.transactionSync(() => {
        const tables = storage.sql
          .exec("SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, ?) = ?", prefix.length, prefix)
          .toArray()
        // Dropping a table drops its indexes.
        for (const t of tables) storage.sql.exec(`DROP TABLE ${quoteIdentifier(String(t.name))}`)
      })
    },
    sync() {
      // Durability is the platform's: the output gate holds every response until the writes
      // before it are stored.
    },
  }
}
