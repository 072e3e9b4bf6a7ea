// Picks and opens a file-backed SQLite driver by name, for the entry points and tools that run
// on more than one runtime (the Node entry, test children, the storage bench). Each driver is
// imported only when asked for: better-sqlite3 loads only in Node, bun:sqlite only in Bun.
import type { FsyncPolicy, StorageProvider } from './driver.ts'

export const FILE_DRIVERS = ['bun:sqlite', 'node:sqlite', 'better-sqlite3'] as const
export type FileDriverName = (typeof FILE_DRIVERS)[number]

export function isFileDriverName(name: string): name is FileDriverName {
  return (FILE_DRIVERS as readonly string[]).includes(name)
}

export async function openFileStorage(driver: FileDriverName, dir: string, fsync: FsyncPolicy): Promise<StorageProvider> {
  switch (driver) {
    case 'bun:sqlite':
      return (await import('./bun-sqlite.ts')).bunStorage(dir, fsync)
    case 'node:sqlite':
      return (await import('./node-sqlite.ts')).nodeSqliteStorage(dir, fsync)
    case 'better-sqlite3':
      return (await import('./better-sqlite3.ts')).betterSqliteStorage(dir, fsync)
  }
}

/**
 * The driver this runtime has built in: bun:sqlite on Bun, node:sqlite on Deno and on Node
 * versions that ship it unflagged (22.13+, 23.4+), better-sqlite3 on older Node (20).
 */
export async function defaultFileDriver(): Promise<FileDriverName> {
  const g = globalThis as { Bun?: unknown }
  if (g.Bun !== undefined) return 'bun:sqlite'
  try {
    await import('node:sqlite')
    return 'node:sqlite'
  } catch {
    return 'better-sqlite3'
  }
}
