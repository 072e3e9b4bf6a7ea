import type { FsyncPolicy } from './driver.ts'

// WAL for every policy: readers never block the writer, and a commit is one append to the WAL.
// synchronous decides what a commit survives (see FsyncPolicy).
export function pragmasFor(fsync: FsyncPolicy): string[] {
  const synchronous = fsync === 'always' ? 'FULL' : fsync === 'batch' ? 'NORMAL' : 'OFF'
  return [
    'PRAGMA journal_mode = WAL',
    `PRAGMA synchronous = ${synchronous}`,
    'PRAGMA busy_timeout = 5000',
    'PRAGMA foreign_keys = ON',
    // SQLite's default 2 MiB page cache per database: a node may hold thousands of partitions,
    // and the tail being fetched is still in the OS page cache and the WAL.
    'PRAGMA wal_autocheckpoint = 4000',
  ]
}
