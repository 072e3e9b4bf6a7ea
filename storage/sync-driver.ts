// The driver contract over a synchronous SQLite binding whose API has the shape bun:sqlite,
// better-sqlite3 and node:sqlite share: prepare(sql) → { run, all, get }, exec, close.
// Each file-backed driver only says how to open a database and whether it is in a transaction.
import type { SqlDriver, SqlRow, SqlStatement, SqlValue } from './driver.ts'

export interface NativeStatement {
  run(...params: never[]): { changes: number | bigint }
  all(...params: never[]): unknown[]
  get(...params: never[]): unknown
  finalize?(): void
}

export interface NativeDatabase {
  exec(sql: string): unknown
  prepare(sql: string): NativeStatement
  close(): unknown
}

class CachedStatement implements SqlStatement {
  constructor(readonly native: NativeStatement) {}
  run(...params: SqlValue[]) {
    return { changes: Number(this.native.run(...(params as never[])).changes) }
  }
  all(...params: SqlValue[]) {
    return this.native.all(...(params as never[])) as SqlRow[]
  }
  get(...params: SqlValue[]) {
    // bun:sqlite answers null for no row, the others undefined.
    return (this.native.get(...(params as never[])) ?? undefined) as SqlRow | undefined
  }
}

export class SyncSqliteDriver implements SqlDriver {
  private readonly cache = new Map<string, CachedStatement>()
  private readonly begin: NativeStatement
  private readonly commit: NativeStatement
  private readonly rollback: NativeStatement

  constructor(
    readonly db: NativeDatabase,
    private readonly inTransaction: () => boolean,
  ) {
    this.begin = db.prepare('BEGIN IMMEDIATE')
    this.commit = db.prepare('COMMIT')
    this.rollback = db.prepare('ROLLBACK')
  }

  exec(sql: string): void {
    this.db.exec(sql)
  }

  prepare(sql: string): SqlStatement {
    let s = this.cache.get(sql)
    if (!s) {
      s = new CachedStatement(this.db.prepare(sql))
      this.cache.set(sql, s)
    }
    return s
  }

  transaction<T>(fn: () => T): T {
    this.begin.run()
    try {
      const result = fn()
      this.commit.run()
      return result
    } catch (err) {
      // A failed COMMIT (disk full) can leave the transaction open; SQLite may also have
      // rolled back on its own (SQLITE_FULL, SQLITE_IOERR), and then ROLLBACK would throw.
      if (this.inTransaction()) this.rollback.run()
      throw err
    }
  }

  close(): void {
    // bun:sqlite keeps the database open while a statement is unfinalized: all of them go.
    for (const s of this.cache.values()) s.native.finalize?.()
    for (const s of [this.begin, this.commit, this.rollback]) s.finalize?.()
    this.cache.clear()
    this.db.close()
  }
}
