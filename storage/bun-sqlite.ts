// bun:sqlite behind the driver contract.
import { Database, type Statement } from 'bun:sqlite'
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { FsyncPolicy, SqlDriver, SqlRow, SqlStatement, SqlValue, StorageProvider } from './driver.ts'
import { pragmasFor } from './pragmas.ts'

class BunStatement implements SqlStatement {
  constructor(private readonly stmt: Statement) {}
  run(...params: SqlValue[]) {
    const r = this.stmt.run(...(params as never[]))
    return { changes: r.changes }
  }
  all(...params: SqlValue[]) {
    return this.stmt.all(...(params as never[])) as SqlRow[]
  }
  get(...params: SqlValue[]) {
    return (this.stmt.get(...(params as never[])) ?? undefined) as SqlRow | undefined
  }
}

export class BunSqliteDriver implements SqlDriver {
  private readonly cache = new Map<string, BunStatement>()
  private readonly begin: Statement
  private readonly commit: Statement
  private readonly rollback: Statement

  constructor(readonly db: Database) {
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
      s = new BunStatement(this.db.prepare(sql))
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
      if (this.db.inTransaction) this.rollback.run()
      throw err
    }
  }

  close(): void {
    for (const s of this.cache.values()) (s as unknown as { stmt: Statement }).stmt.finalize()
    this.cache.clear()
    this.db.close()
  }
}

/** Databases as files under one data directory: `<dir>/<name>.db` (+ -wal, -shm). */
export function bunStorage(dir: string, fsync: FsyncPolicy): StorageProvider {
  const path = (name: string) => join(dir, `${name}.db`)
  return {
    open(name) {
      const file = path(name)
      mkdirSync(dirname(file), { recursive: true })
      const driver = new BunSqliteDriver(new Database(file, { create: true }))
      for (const p of pragmasFor(fsync)) driver.exec(p)
      return driver
    },
    remove(name) {
      for (const suffix of ['', '-wal', '-shm']) {
        const f = path(name) + suffix
        if (existsSync(f)) rmSync(f)
      }
    },
    sync(db) {
      db.exec('PRAGMA wal_checkpoint(PASSIVE)')
    },
  }
}
