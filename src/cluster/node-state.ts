// R5: a per-boot incarnation and a clean-shutdown marker, in the node's own database. A boot
// that finds no marker may have lost writes that were never fsynced, so the broker registers as
// unclean and its replicas rejoin ISRs only by catching up.
import type { SqlDriver, StorageProvider } from '../../storage/driver.ts'
import { nodeMigrations } from '../../storage/migrations/index.ts'
import { migrate } from '../../storage/migrate.ts'

export interface BootState {
  incarnation: number
  /** False when the previous run did not stop cleanly (a fresh data directory is clean). */
  cleanStart: boolean
}

export class NodeState {
  private constructor(
    private readonly storage: StorageProvider,
    private readonly db: SqlDriver,
    readonly boot: BootState,
  ) {}

  /** Records this boot: the incarnation moves on and the marker is cleared, durably, before anything else. */
  static open(storage: StorageProvider): NodeState {
    const db = storage.open('node')
    migrate(db, nodeMigrations)
    const get = (key: string) => db.prepare('SELECT value FROM node_state WHERE key = ?').get(key)
    const put = db.prepare('INSERT INTO node_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
    const previous = get('incarnation')
    const marker = get('clean_shutdown')
    const boot: BootState = {
      incarnation: previous ? Number(previous.value) + 1 : 1,
      cleanStart: previous === undefined || Number(marker?.value ?? 0) === 1,
    }
    db.transaction(() => {
      put.run('incarnation', boot.incarnation)
      put.run('clean_shutdown', 0)
    })
    // Two boots must never share an incarnation, whatever the fsync policy.
    storage.sync(db)
    return new NodeState(storage, db, boot)
  }

  /**
   * The cluster already saw this broker in an incarnation at or past this boot's (the data
   * directory is an old copy, F18): this boot takes the next unseen one, durably.
   */
  raiseIncarnation(incarnation: number): void {
    this.db.prepare('INSERT INTO node_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run('incarnation', incarnation)
    this.storage.sync(this.db)
  }

  /** After every log is flushed and synced: the next boot may trust what is on disk. */
  markCleanShutdown(): void {
    this.db.prepare('INSERT INTO node_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run('clean_shutdown', 1)
    this.storage.sync(this.db)
  }

  close(): void {
    this.db.close()
  }
}
