// The fault schedule of a random run (RELIABILITY.md §5.3): crashes and power losses, clean
// restarts, process pauses longer than the lease (zombie leaders), network partitions (full,
// from the store only, from the brokers only, one-way), message delay/drop/duplication, and
// wall-clock jumps, and storage faults: a bit flip in a stored batch (F16), a crash that tears the
// tail of a log (F17), a disk that refuses writes for a while (F19), a disk put back to an old
// copy of itself (F18: the first 'stale' on a broker copies its disk, a later one restores it). Crashes and storage faults
// are only injected into a healthy cluster (every ISR full, no disk failing, no corrupt batch
// left), so at most one replica is impaired at a time: with min.insync.replicas=2 that is the
// fault budget under which acks=all promises no loss (F11/F12, F16, F17).
import { brokerName, STORE, type SimCluster } from './cluster.ts'
import { CALM } from './network.ts'
import type { Prng } from './prng.ts'

export type FaultKind = 'crash' | 'power' | 'stop' | 'pause' | 'isolate' | 'net' | 'clock' | 'bitflip' | 'torn' | 'diskfull' | 'stale'

export interface NemesisOptions {
  topic: string
  partitions: number
  kinds: FaultKind[]
  /** Mean pause between faults. */
  intervalMs: number
}

export class Nemesis {
  readonly log: string[] = []
  private active = false
  private lastPowerLoss = -Infinity
  private readonly backups = new Map<number, Map<string, Uint8Array>>()

  constructor(
    private readonly cluster: SimCluster,
    private readonly rng: Prng,
    private readonly opts: NemesisOptions,
  ) {}

  start(): void {
    this.active = true
    this.scheduleNext()
  }

  /** Faults stop; the network heals; every broker is resumed and restarted. */
  heal(): void {
    this.active = false
    const c = this.cluster
    c.net.healAll()
    c.net.faults = { ...CALM }
    for (const id of c.brokerIds) {
      if (c.disks.get(id)!.failWrites) c.failWrites(id, false)
      if (c.sim.isPaused(brokerName(id))) c.resume(id)
      if (c.status.get(id) === 'down') c.startBroker(id)
    }
    this.note('heal')
  }

  private note(what: string): void {
    this.log.push(`t=${this.cluster.sim.now} ${what}`)
    this.cluster.log(`nemesis: ${what}`)
  }

  private scheduleNext(): void {
    if (!this.active) return
    this.cluster.sim.schedule(this.rng.int(this.opts.intervalMs / 3, (this.opts.intervalMs * 5) / 3), null, () => {
      if (!this.active) return
      this.inject(this.rng.pick(this.opts.kinds))
      this.scheduleNext()
    })
  }

  /**
   * Every broker up and unpaused, and every partition's ISR complete with each member in its
   * current incarnation (a broker that restarted uncleanly is back in the ISR only once it
   * caught up; until then it does not count, even if the controller has not fenced it yet).
   */
  private healthy(): boolean {
    const c = this.cluster
    for (const id of c.brokerIds) if (c.status.get(id) !== 'up' || c.sim.isPaused(brokerName(id))) return false
    for (const d of c.disks.values()) if (d.failWrites || d.outstandingCorruptions().length > 0) return false
    for (let p = 0; p < this.opts.partitions; p++) {
      const s = c.partitionState(this.opts.topic, p)
      if (!s || s.leader < 0 || s.isr.length !== s.replicas.length) return false
      for (const r of s.isr) if (r.incarnation !== c.nodes.get(r.id)?.incarnation) return false
    }
    return true
  }

  /** Leaders are where the interesting failures are: they are picked more often. */
  private target(): number {
    const c = this.cluster
    if (this.rng.chance(0.6)) {
      const s = c.partitionState(this.opts.topic, this.rng.int(0, this.opts.partitions - 1))
      if (s && s.leader >= 0) return s.leader
    }
    return this.rng.pick(c.brokerIds)
  }

  private later(ms: number, fn: () => void): void {
    this.cluster.sim.schedule(ms, null, fn)
  }

  private inject(kind: FaultKind): void {
    const c = this.cluster
    const r = this.rng
    const id = this.target()
    const name = brokerName(id)
    switch (kind) {
      case 'crash':
      case 'power': {
        if (!this.healthy()) return
        // Power losses far enough apart that no record is unsynced on two replicas at once.
        const power = kind === 'power' && c.opts.fsync !== 'always' && c.sim.now - this.lastPowerLoss > 10 * (c.opts.broker.fsyncIntervalMs ?? 1000)
        if (power) this.lastPowerLoss = c.sim.now
        this.note(`${power ? 'power loss' : 'crash'} ${name}`)
        c.crash(id, power)
        this.later(r.int(50, 2500), () => {
          this.note(`restart ${name}`)
          c.startBroker(id)
        })
        return
      }
      case 'stop': {
        if (!this.healthy()) return
        this.note(`clean stop ${name}`)
        void c.stopCleanly(id).then(() =>
          this.later(r.int(50, 2000), () => {
            this.note(`restart ${name}`)
            c.startBroker(id)
          }),
        )
        return
      }
      case 'pause': {
        if (c.status.get(id) !== 'up' || c.sim.isPaused(name)) return
        const ms = r.int(100, 4000)
        this.note(`pause ${name} for ${ms} ms`)
        c.pause(id)
        this.later(ms, () => {
          if (c.sim.isPaused(name)) c.resume(id)
        })
        return
      }
      case 'isolate': {
        const others = [...c.brokerIds.filter((b) => b !== id).map(brokerName), STORE, 'p1', 'p2', 'w1', 'c1', 'c2']
        const mode = r.pick(['all', 'store', 'brokers', 'out', 'in'] as const)
        const targets = mode === 'store' ? [STORE] : mode === 'brokers' ? c.brokerIds.filter((b) => b !== id).map(brokerName) : others
        const cuts: Array<[string, string]> = []
        for (const t of targets) {
          if (mode !== 'in') cuts.push([t, name]) // `name` cannot receive from t
          if (mode !== 'out') cuts.push([name, t]) // `name` cannot send to t
        }
        const ms = r.int(200, 3000)
        this.note(`isolate ${name} (${mode}) for ${ms} ms`)
        for (const [a, b] of cuts) c.net.cut(a, b)
        this.later(ms, () => {
          for (const [a, b] of cuts) c.net.uncut(a, b)
        })
        return
      }
      case 'net': {
        const faults = { minDelayMs: 1, maxDelayMs: r.int(5, 120), dropRate: r.next() * 0.1, duplicateRate: r.next() * 0.1 }
        const ms = r.int(500, 3000)
        this.note(`network ${JSON.stringify(faults)} for ${ms} ms`)
        c.net.faults = faults
        this.later(ms, () => (c.net.faults = { ...CALM }))
        return
      }
      case 'bitflip': {
        if (!this.healthy()) return
        const what = c.flipBit(id, this.opts.topic, r)
        if (what) this.note(`bit flip on ${name}: ${what}`)
        return
      }
      case 'torn': {
        if (!this.healthy()) return
        const what = c.crashTorn(id, this.opts.topic, r)
        this.note(`crash ${name} with a torn log tail: ${what ?? 'nothing to tear'}`)
        this.later(r.int(50, 2500), () => {
          this.note(`restart ${name}`)
          c.startBroker(id)
        })
        return
      }
      case 'stale': {
        const copy = this.backups.get(id)
        if (!copy) {
          if (c.status.get(id) !== 'up') return
          this.backups.set(id, c.backup(id))
          this.note(`copy the disk of ${name}`)
          return
        }
        if (!this.healthy()) return
        this.backups.delete(id)
        this.note(`crash ${name} and restore its disk from an old copy`)
        c.crashRestore(id, copy)
        this.later(r.int(50, 2500), () => {
          this.note(`restart ${name}`)
          c.startBroker(id)
        })
        return
      }
      case 'diskfull': {
        if (!this.healthy()) return
        const failure = r.pick(['SQLITE_FULL', 'SQLITE_IOERR'] as const)
        const ms = r.int(200, 3000)
        this.note(`disk of ${name} fails writes (${failure}) for ${ms} ms`)
        c.failWrites(id, failure)
        this.later(ms, () => {
          if (c.disks.get(id)!.failWrites) c.failWrites(id, false)
        })
        return
      }
      case 'clock': {
        const delta = r.pick([-1, 1]) * r.int(1000, 3_600_000)
        this.note(`clock of ${name} jumps ${delta} ms`)
        c.sim.jumpClock(name, delta)
        return
      }
    }
  }
}
