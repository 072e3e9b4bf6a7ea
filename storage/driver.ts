// The one storage contract every SQLite driver implements (bun:sqlite, better-sqlite3,
// node:sqlite, Durable Object ctx.storage.sql). It is deliberately small and synchronous:
// all four engines are synchronous, and a synchronous append lets a group commit run as one
// transaction without interleaving.

export type SqlValue = string | number | bigint | Uint8Array | null
export type SqlRow = Record<string, SqlValue>

export interface SqlStatement {
  run(...params: SqlValue[]): { changes: number }
  all(...params: SqlValue[]): SqlRow[]
  get(...params: SqlValue[]): SqlRow | undefined
}

export interface SqlDriver {
  /** Runs one or more statements without parameters (DDL, pragmas). */
  exec(sql: string): void
  /** Prepares (and caches) a statement. */
  prepare(sql: string): SqlStatement
  /** Runs fn inside BEGIN IMMEDIATE ... COMMIT; rolls back if it throws. Not re-entrant. */
  transaction<T>(fn: () => T): T
  close(): void
}

/**
 * How much a commit survives (README, "Durability"):
 * - always: synchronous=FULL, every commit is fsynced before it is acknowledged; survives
 *   process crash and power loss.
 * - batch: synchronous=NORMAL, the WAL is fsynced at checkpoints and every flush interval;
 *   survives a process crash, power loss can drop the last interval.
 * - off: synchronous=OFF; survives a process crash only.
 */
export type FsyncPolicy = 'always' | 'batch' | 'off'

/** Opens named databases: one file per partition log plus one for node metadata. */
export interface StorageProvider {
  open(name: string): SqlDriver
  /** Deletes a database and its WAL/SHM files. The database must be closed. */
  remove(name: string): void
  /** Asks the engine to make everything committed so far durable (the `batch` policy's tick). */
  sync(db: SqlDriver): void
}
