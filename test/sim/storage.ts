// Simulated disks: each node's SQLite databases live in memory (bun:sqlite ':memory:'), with a
// durable copy taken at sync points (serialize()). A process crash keeps everything committed
// (SQLite survives an application crash, and the OS flushes its page cache); a power loss puts
// every database back to its last durable copy — losing what was never fsynced. With
// fsync=always every commit is durable, so a power loss loses nothing committed.
// Storage faults (RELIABILITY.md F16, F17, F19), each at the level the partition log sees it:
// a flipped bit in a stored batch, a torn tail (the newest batch row cut short, or the newest
// rows gone while the epochs and producer state that named them stay), and a disk that refuses
// every write transaction (SQLITE_FULL / SQLITE_IOERR after the statements ran: SQLite rolls
// the transaction back).
import { Database } from 'bun:sqlite'
import { storedBatchProblem } from '../../src/log/partition-log.ts'
import type { Prng } from './prng.ts'
import type { FsyncPolicy, SqlDriver, StorageProvider } from '../../storage/driver.ts'
import { SyncSqliteDriver, type NativeDatabase } from '../../storage/sync-driver.ts'

interface SimFile {
  live: Database
  durable: Uint8Array | undefined
}

/** A driver whose close() leaves the in-memory database alone: it is the disk. */
class SimDriver extends SyncSqliteDriver {
  constructor(
    db: Database,
    private readonly disk: SimDisk,
  ) {
    super(db as unknown as NativeDatabase, () => db.inTransaction)
  }
  override transaction<T>(fn: () => T): T {
    const failure = this.disk.failWrites
    if (!failure) return super.transaction(fn)
    return super.transaction(() => {
      fn()
      throw Object.assign(new Error(failure === 'SQLITE_FULL' ? 'database or disk is full' : 'disk I/O error'), { code: failure })
    })
  }
  override close(): void {}
}

/** A stored batch the nemesis corrupted: outstanding until the replica truncated or replaced it. */
export interface Corruption {
  file: string
  baseOffset: number
}

/** Partition logs of user topics (not __consumer_offsets, not the node's own databases). */
export type FileFilter = (name: string) => boolean

export class SimDisk {
  private readonly files = new Map<string, SimFile>()
  private readonly names = new WeakMap<SqlDriver, string>()
  /** Every write transaction fails with this (F19) while set. */
  failWrites: false | 'SQLITE_FULL' | 'SQLITE_IOERR' = false
  readonly corruptions: Corruption[] = []

  constructor(readonly fsync: FsyncPolicy) {}

  provider(): StorageProvider {
    return {
      open: (name) => {
        let f = this.files.get(name)
        if (!f) {
          f = { live: new Database(':memory:'), durable: undefined }
          this.files.set(name, f)
        }
        const driver = new SimDriver(f.live, this)
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

  private batchFiles(filter: FileFilter): string[] {
    return [...this.files.keys()].filter((name) => filter(name) && this.rows(name, 'SELECT COUNT(*) AS n FROM batches')[0]!.n > 0)
  }

  private rows(name: string, sql: string, ...params: Array<number | Uint8Array>): Array<Record<string, never>> {
    try {
      return this.files.get(name)!.live.query(sql).all(...params) as Array<Record<string, never>>
    } catch {
      return [{ n: 0 } as never]
    }
  }

  /** Applies a write to the live database and to its durable copy (the flip is on the disk itself). */
  private writeThrough(name: string, sql: string, ...params: Array<number | Uint8Array>): void {
    const f = this.files.get(name)!
    f.live.query(sql).run(...params)
    if (f.durable) {
      const copy = Database.deserialize(f.durable)
      copy.query(sql).run(...params)
      f.durable = copy.serialize()
      copy.close()
    }
  }

  /** F16: one bit of one stored batch flips, anywhere in it. */
  flipBit(rng: Prng, filter: FileFilter, baseOffset?: number): string | undefined {
    const files = this.batchFiles(filter)
    if (files.length === 0) return undefined
    const name = rng.pick(files)
    const batches = this.rows(name, 'SELECT base_offset, data FROM batches ORDER BY base_offset') as unknown as Array<{ base_offset: number; data: Uint8Array }>
    const row = baseOffset === undefined ? rng.pick(batches) : batches.find((b) => Number(b.base_offset) === baseOffset)
    if (!row) return undefined
    const data = new Uint8Array(row.data)
    const byte = rng.int(0, data.byteLength - 1)
    const bit = rng.int(0, 7)
    data[byte]! ^= 1 << bit
    this.writeThrough(name, 'UPDATE batches SET data = ? WHERE base_offset = ?', data, Number(row.base_offset))
    this.corruptions.push({ file: name, baseOffset: Number(row.base_offset) })
    return `${name} batch ${row.base_offset} byte ${byte} bit ${bit}`
  }

  /**
   * F17, after a crash: the newest batch row is cut short (a torn write), or the newest rows are
   * gone while the epoch and producer entries written with them stay (a truncated file).
   */
  tearTail(rng: Prng, filter: FileFilter, mode?: 'cut' | 'drop'): string | undefined {
    const files = this.batchFiles(filter)
    if (files.length === 0) return undefined
    const name = rng.pick(files)
    const batches = this.rows(name, 'SELECT base_offset, data FROM batches ORDER BY base_offset DESC LIMIT 3') as unknown as Array<{ base_offset: number; data: Uint8Array }>
    if (mode === 'cut' || (mode === undefined && rng.chance(0.5))) {
      const last = batches[0]!
      const keep = rng.int(0, last.data.byteLength - 1)
      this.writeThrough(name, 'UPDATE batches SET data = ? WHERE base_offset = ?', new Uint8Array(last.data).slice(0, keep), Number(last.base_offset))
      return `${name} batch ${last.base_offset} torn to ${keep} of ${last.data.byteLength} bytes`
    }
    const from = Number(batches[rng.int(0, batches.length - 1)]!.base_offset)
    this.writeThrough(name, 'DELETE FROM batches WHERE base_offset >= ?', from)
    return `${name} rows from ${from} missing`
  }

  /** Injected corruptions still on the disk (the batch is there with the flipped bytes). */
  outstandingCorruptions(): Corruption[] {
    // A repaired batch stays repaired: it is dropped from the list for good.
    const left = this.corruptions.filter((c) => {
      if (!this.files.has(c.file)) return false
      const row = this.rows(c.file, 'SELECT base_offset, last_offset, leader_epoch, data FROM batches WHERE base_offset = ?', c.baseOffset)[0]
      return row !== undefined && (row as { data?: unknown }).data !== undefined && storedBatchProblem(row) !== undefined
    })
    this.corruptions.splice(0, this.corruptions.length, ...left)
    return left
  }

  /** F18: a copy of every file as it is now (an operator's backup, a VM snapshot). */
  backup(): Map<string, Uint8Array> {
    return new Map([...this.files].map(([name, f]) => [name, f.live.serialize()]))
  }

  /** F18: the disk is put back to an old copy (files created since are gone). */
  restore(copy: Map<string, Uint8Array>): void {
    for (const f of this.files.values()) f.live.close()
    this.files.clear()
    for (const [name, bytes] of copy) this.files.set(name, { live: Database.deserialize(bytes), durable: bytes })
    this.corruptions.length = 0
  }

  /** Every database's bytes, for comparing replicas. */
  names_(): string[] {
    return [...this.files.keys()]
  }
}
