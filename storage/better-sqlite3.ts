// better-sqlite3 behind the driver contract: Node 20, which has no node:sqlite. It is a native
// addon built for one Node ABI, so it loads neither in Bun nor in Deno (RUNTIMES.md §2.1).
import Database from 'better-sqlite3'
import type { FsyncPolicy, StorageProvider } from './driver.ts'
import { fileStorage } from './files.ts'
import { SyncSqliteDriver, type NativeDatabase } from './sync-driver.ts'

/** Databases as files under one data directory: `<dir>/<name>.db` (+ -wal, -shm). */
export function betterSqliteStorage(dir: string, fsync: FsyncPolicy): StorageProvider {
  return fileStorage(dir, fsync, (file) => {
    const db = new Database(file)
    return new SyncSqliteDriver(db as unknown as NativeDatabase, () => db.inTransaction)
  })
}
