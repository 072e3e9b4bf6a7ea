// Simulated disks: each node's SQLite databases live in memory (bun:sqlite ':memory:'), with a
// durable copy taken at sync points (serialize()). A process crash keeps everything committed
// (SQLite survives an application crash, and the OS flushes its page cache); a power loss puts
// every database back to its last durable copy — losing what was never fsynced. With
// fsync=always every commit is durable, so a power loss loses nothing committed.
import { Database } from 'bun:sqlite'
import type { FsyncPolicy, SqlDriver, StorageProvider } from '../../storage/driver.ts'
import { SyncSqliteDriver, type NativeDatabase } from '../../storage/sync-driver.ts'

interface SimFile {
  live: Database
  durable: Uint8Array | undefined
}

/** A driver whose close() leaves the in-memory database alone: it is the disk. */
class SimDriver extends SyncSqliteDriver {
  constructor(db: Database) {
    super(db as unknown as NativeDatabase, () => db.inTransaction)
  }
  override close(): void {}
}

export class SimDisk {
  private readonly files = new Map<string, SimFile>()
  private readonly names = new WeakMap<SqlDriver, string>()

  constructor(readonly fsync: FsyncPolicy) {}

  provider(): StorageProvider {
    return {
      open: (name) => {
        let f = this.files.get(name)
        if (!f) {
          f = { live: new Database(':memory:'), durable: undefined }
          this.files.set(name, f)
        }
        const driver = new SimDriver(f.live)
        this.names.set(driver, name)
        return driver
      },
      remove: (name) => {
        this.files.get(name)?.live.close()
        this.files.delete(name)
      },
      sync: (db) => {
        const name = this.names.get(db)
        const f = name === undefined ? undefined : this.files.get(name)
        if (f) f.durable = f.live.serialize()
      },
    }
  }

  /** The process died; the OS still writes back what SQLite committed. */
  processCrash(): void {
    for (const f of this.files.values()) f.durable = f.live.serialize()
  }

  /** Power loss: un-fsynced writes are gone (nothing is lost with fsync=always). */
  powerLoss(): void {
    if (this.fsync === 'always') return this.processCrash()
    for (const [name, f] of this.files) {
      f.live.close()
      if (f.durable) f.live = Database.deserialize(f.durable)
      else this.files.delete(name)
    }
  }

  /** Every database's bytes, for comparing replicas. */
  names_(): string[] {
    return [...this.files.keys()]
  }
}
