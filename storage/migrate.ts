// Applies embedded drizzle migrations through the driver interface. It keeps drizzle's own
// bookkeeping table and rules (apply every migration newer than the last applied one), so a
// database migrated here and one migrated by drizzle-kit agree.
import type { SqlDriver } from './driver.ts'

export interface Migration {
  tag: string
  folderMillis: number
  hash: string
  statements: string[]
}

export function migrate(db: SqlDriver, migrations: Migration[]): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS "__drizzle_migrations" (id INTEGER PRIMARY KEY AUTOINCREMENT, hash text NOT NULL, created_at numeric)',
  )
  const last = db.prepare('SELECT created_at FROM "__drizzle_migrations" ORDER BY created_at DESC LIMIT 1').get()
  const lastMillis = last ? Number(last.created_at) : -1
  const pending = migrations.filter((m) => m.folderMillis > lastMillis)
  if (pending.length === 0) return
  db.transaction(() => {
    for (const m of pending) {
      for (const statement of m.statements) db.exec(statement)
      db.prepare('INSERT INTO "__drizzle_migrations" (hash, created_at) VALUES (?, ?)').run(m.hash, m.folderMillis)
    }
  })
}
