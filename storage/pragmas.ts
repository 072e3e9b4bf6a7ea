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
    // 16 MiB page cache per database: the tail of the log being fetched stays in memory.
    'PRAGMA cache_size = -16000',
    'PRAGMA wal_autocheckpoint = 4000',
  ]
}
