// The file-backed providers (bun:sqlite, node:sqlite, better-sqlite3): one SQLite file per
// database, `<dir>/<name>.db` with its -wal and -shm files next to it, and the fsync policy's
// pragmas applied on open. A driver module only says how to open one file.
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { FsyncPolicy, SqlDriver, StorageProvider } from './driver.ts'
import { pragmasFor } from './pragmas.ts'

export function fileStorage(dir: string, fsync: FsyncPolicy, openFile: (file: string) => SqlDriver): StorageProvider {
  const path = (name: string) => join(dir, `${name}.db`)
  return {
    open(name) {
      const file = path(name)
      mkdirSync(dirname(file), { recursive: true })
      const driver = openFile(file)
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
      // With synchronous=NORMAL a checkpoint is what fsyncs the WAL.
      db.exec('PRAGMA wal_checkpoint(PASSIVE)')
    },
  }
}
