// bun:sqlite behind the driver contract (Bun, and the single `dist/edgelog` binary).
import { Database } from 'bun:sqlite'
import type { FsyncPolicy, StorageProvider } from './driver.ts'
import { fileStorage } from './files.ts'
import { SyncSqliteDriver, type NativeDatabase } from './sync-driver.ts'

/** Databases as files under one data directory: `<dir>/<name>.db` (+ -wal, -shm). */
export function bunStorage(dir: string, fsync: FsyncPolicy): StorageProvider {
  return fileStorage(dir, fsync, (file) => {
    const db = new Database(file, { create: true })
    return new SyncSqliteDriver(db as unknown as NativeDatabase, () => db.inTransaction)
  })
}
