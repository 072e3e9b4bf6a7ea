// A broker's link to the metadata store: it registers the broker under a lease and keeps the
// lease alive, polls the cluster metadata (one range, one request in flight) and hands every
// newer snapshot on, and performs partition-state compare-and-swaps for the leaders here.
// canLead() is what fences a paused or cut-off leader from acknowledging writes: it is true only
// while the last successful keepalive, by the monotonic clock, proves the lease is still alive.
import type { Runtime, TimerHandle } from '../core/clock.ts'
import type { ClusterAccess } from '../replication/cluster-access.ts'
import type { Compare, MetaStore } from './meta-store.ts'
import { brokerKey, parseJson, parseSnapshot, partitionKey, BrokerRegistrationSchema, PartitionStateSchema, PARTITIONS, ROOT, type BrokerRegistration, type ClusterSnapshot, type PartitionState, type Versioned } from './state.ts'

export interface ClusterConfig {
  /** The broker's lease: it is declared dead this long after its last keepalive. */
  leaseTtlSeconds: number
  /** How often the lease is renewed (a third of the TTL, as etcd clients do). */
  keepAliveIntervalMs: number
  /** How often the cluster metadata is read (leaders, ISRs, brokers, topics). */
  metadataIntervalMs: number
  /** Retry pause after a failed registration or campaign. */
  retryBackoffMs: number
}

export const DEFAULT_CLUSTER_CONFIG: ClusterConfig = {
  leaseTtlSeconds: 6,
  keepAliveIntervalMs: 2_000,
  metadataIntervalMs: 250,
  retryBackoffMs: 250,
}

/** Part of the TTL a leader gives up as a margin: it stops leading before the store could expire it. */
const LEASE_SAFETY = 0.2

export class BrokerAgent implements ClusterAccess {
  private lease: string | undefined
  private leaseValidUntil = -Infinity
  private snap: ClusterSnapshot | undefined
  private polling = false
  private pollAgain = false
  private registering = false
  private stopped = false
  private pollTimer: TimerHandle | undefined
  private keepAliveTimer: TimerHandle | undefined
  private refreshTimer: TimerHandle | undefined
  private readonly listeners: Array<(snap: ClusterSnapshot) => void> = []

  constructor(
    private readonly store: MetaStore,
    private readonly runtime: Runtime,
    /** Mutable until start(): the URL may be known only once the server listens. */
    readonly registrationValue: BrokerRegistration,
    readonly config: ClusterConfig,
    private readonly logger: (message: string) => void,
  ) {}

  get nodeId(): number {
    return this.registrationValue.id
  }
  get incarnation(): number {
    return this.registrationValue.incarnation
  }
  get snapshot(): ClusterSnapshot | undefined {
    return this.snap
  }
  get currentLease(): string | undefined {
    return this.lease
  }

  onSnapshot(listener: (snap: ClusterSnapshot) => void): void {
    this.listeners.push(listener)
  }

  /** Registers and reads the metadata once; keeps trying until both worked. */
  async start(): Promise<void> {
    while (!this.stopped && !(await this.register())) await this.pause(this.config.retryBackoffMs)
    while (!this.stopped && !(await this.poll())) await this.pause(this.config.retryBackoffMs)
    this.scheduleKeepAlive()
    this.schedulePoll()
  }

  stop(): void {
    this.stopped = true
    for (const t of [this.pollTimer, this.keepAliveTimer, this.refreshTimer]) if (t) this.runtime.timers.clearTimeout(t)
    this.leaseValidUntil = -Infinity
  }

  /** Gives the lease back (clean shutdown): the broker's key goes at once, so failover starts at once. */
  async resign(): Promise<void> {
    const lease = this.lease
    this.stop()
    this.lease = undefined
    if (lease) await this.store.revokeLease(lease).catch(() => {})
  }

  // ---- ClusterAccess ----

  canLead(): boolean {
    return !this.stopped && this.runtime.clock.monotonic() < this.leaseValidUntil
  }

  registration(id: number): Versioned<BrokerRegistration> | undefined {
    return this.snap?.brokers.get(id)
  }

  async alterPartition(topic: string, partition: number, expectedRevision: number, next: PartitionState, compares: Compare[]) {
    const key = partitionKey(topic, partition)
    const r = await this.store.txn([{ key, modRevision: expectedRevision }, ...compares], [{ op: 'put', key, value: JSON.stringify(next) }])
    return r.succeeded ? { ok: true as const, revision: r.revision } : { ok: false as const }
  }

  requestRefresh(): void {
    if (this.stopped || this.refreshTimer) return
    // Coalesced: many replicas asking at once cost one range.
    this.refreshTimer = this.runtime.timers.setTimeout(() => {
      this.refreshTimer = undefined
      void this.poll()
    }, Math.min(20, this.config.metadataIntervalMs))
  }

  log(message: string): void {
    this.logger(message)
  }

  // ---- lease ----

  /** Told when the first registration finds the cluster already saw this incarnation (persist it). */
  onIncarnationRaised: ((incarnation: number) => void) | undefined
  private registeredOnce = false

  /**
   * The highest incarnation of this broker the partition states remember (ISR, ELR, leader). A
   * boot at or below it runs on an old copy of its data directory (F18): it must not pass for
   * the in-sync replica that incarnation was. (A live registration of a newer incarnation is
   * refused below instead: that is the node id used twice.)
   */
  private async highestIncarnationSeen(): Promise<number> {
    let seen = 0
    const { kvs } = await this.store.range(PARTITIONS)
    for (const kv of kvs) {
      const s = parseJson(PartitionStateSchema, kv.value)
      if (!s) continue
      if (s.leader === this.nodeId) seen = Math.max(seen, s.leaderIncarnation)
      for (const r of [...s.isr, ...s.elr]) if (r.id === this.nodeId) seen = Math.max(seen, r.incarnation)
    }
    return seen
  }

  private async register(): Promise<boolean> {
    if (this.registering) return false
    this.registering = true
    try {
      const key = brokerKey(this.nodeId)
      if (!this.registeredOnce) {
        const seen = await this.highestIncarnationSeen()
        if (seen >= this.incarnation) {
          this.log(`broker ${this.nodeId}: the cluster saw incarnation ${seen}, this boot has ${this.incarnation}: the data directory is an old copy; starting unclean as incarnation ${seen + 1}`)
          this.registrationValue.incarnation = seen + 1
          this.registrationValue.unclean = true
          this.onIncarnationRaised?.(seen + 1)
        }
      }
      const existing = await this.store.get(key)
      if (existing) {
        const other = parseJson(BrokerRegistrationSchema, existing.value)
        if (other && other.incarnation > this.incarnation) {
          this.log(`broker ${this.nodeId} is registered by incarnation ${other.incarnation}, newer than this one (${this.incarnation}); is the node id used twice?`)
          return false
        }
      }
      const sentAt = this.runtime.clock.monotonic()
      const lease = await this.store.grantLease(this.config.leaseTtlSeconds)
      const r = await this.store.txn(
        [{ key, modRevision: existing?.modRevision ?? 0 }],
        [{ op: 'put', key, value: JSON.stringify(this.registrationValue), lease }],
      )
      if (!r.succeeded) {
        await this.store.revokeLease(lease).catch(() => {})
        return false
      }
      this.lease = lease
      this.registeredOnce = true
      this.leaseValidUntil = sentAt + this.config.leaseTtlSeconds * 1000 * (1 - LEASE_SAFETY)
      this.log(`broker ${this.nodeId} (incarnation ${this.incarnation}${this.registrationValue.unclean ? ', unclean start' : ''}) registered with lease ${lease}`)
      return true
    } catch (err) {
      this.log(`registration failed: ${(err as Error).message}`)
      return false
    } finally {
      this.registering = false
    }
  }

  private scheduleKeepAlive(): void {
    if (this.stopped) return
    this.keepAliveTimer = this.runtime.timers.setTimeout(() => void this.keepAlive(), this.config.keepAliveIntervalMs)
  }

  private async keepAlive(): Promise<void> {
    try {
      const lease = this.lease
      if (lease === undefined) {
        await this.register()
        return
      }
      const sentAt = this.runtime.clock.monotonic()
      const ttl = await this.store.keepAlive(lease)
      if (this.stopped || this.lease !== lease) return
      if (ttl > 0) {
        this.leaseValidUntil = Math.max(this.leaseValidUntil, sentAt + ttl * 1000 * (1 - LEASE_SAFETY))
      } else {
        // Expired while we were away (a pause, a cut): another broker may lead our partitions now.
        this.log(`lease ${lease} expired; registering again`)
        this.lease = undefined
        this.leaseValidUntil = -Infinity
        this.requestRefresh()
        await this.register()
      }
    } catch (err) {
      this.log(`keepalive failed: ${(err as Error).message}`)
    } finally {
      this.scheduleKeepAlive()
    }
  }

  // ---- metadata ----

  private schedulePoll(): void {
    if (this.stopped) return
    this.pollTimer = this.runtime.timers.setTimeout(async () => {
      await this.poll()
      this.schedulePoll()
    }, this.config.metadataIntervalMs)
  }

  /** One range over the cluster's keys; a newer snapshot goes to every listener. */
  private async poll(): Promise<boolean> {
    if (this.stopped) return false
    if (this.polling) {
      this.pollAgain = true
      return false
    }
    this.polling = true
    try {
      const { kvs, revision } = await this.store.range(ROOT)
      if (this.stopped) return false
      if (this.snap && revision < this.snap.revision) return true
      this.snap = parseSnapshot(kvs, revision, (key) => this.log(`ignoring an invalid value at ${key}`))
      for (const l of this.listeners) {
        try {
          l(this.snap)
        } catch (err) {
          this.log(`applying metadata failed: ${(err as Error).stack ?? err}`)
        }
      }
      return true
    } catch (err) {
      this.log(`metadata read failed: ${(err as Error).message}`)
      return false
    } finally {
      this.polling = false
      if (this.pollAgain && !this.stopped) {
        this.pollAgain = false
        this.requestRefresh()
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => this.runtime.timers.setTimeout(resolve, ms))
  }
}
