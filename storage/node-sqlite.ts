// `node:sqlite` (DatabaseSync) behind the driver contract: Deno 2, and Node from 22.13 / 23.4
// (where it needs no flag). Node 20 has no node:sqlite; it uses better-sqlite3.ts.
import { DatabaseSync } from 'node:sqlite'
import type { FsyncPolicy, StorageProvider } from './driver.ts'
import { fileStorage } from './files.ts'
import { SyncSqliteDriver, type NativeDatabase } from './sync-driver.ts'

/** Databases as files under one data directory: `<dir>/<name>.db` (+ -wal, -shm). */
export function nodeSqliteStorage(dir: string, fsync: FsyncPolicy): StorageProvider {
  return fileStorage(dir, fsync, (file) => {
    const db = new DatabaseSync(file)
    return new SyncSqliteDriver(db as unknown as NativeDatabase, () => db.isTransaction)
  })
}
