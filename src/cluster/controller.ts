// The controller: one broker at a time, elected by creating the controller key under its lease.
// On every metadata snapshot it decides each partition (./election.ts) and writes the changes by
// compare-and-swap on the partition key AND on its own controller key, so a controller that lost
// its lease (paused, cut off) can no longer change anything.
import type { Runtime } from '../core/clock.ts'
import type { Metrics } from '../core/metrics.ts'
import { effectiveConfig } from '../broker/topic-config.ts'
import type { BrokerAgent } from './broker-agent.ts'
import { decidePartition } from './election.ts'
import type { MetaStore } from './meta-store.ts'
import { CONTROLLER, partitionKey, type BrokerRegistration, type ClusterSnapshot, type PartitionState } from './state.ts'

export interface ElectionEvent {
  topic: string
  partition: number
  kind: 'isr' | 'elr' | 'unclean' | 'none'
  previous: PartitionState
  next: PartitionState
}

export class Controller {
  private campaigning = false
  private reconciling = false
  private active = false
  private readonly m

  constructor(
    private readonly agent: BrokerAgent,
    private readonly store: MetaStore,
    private readonly runtime: Runtime,
    metrics: Metrics,
    private readonly onElection?: (e: ElectionEvent) => void,
  ) {
    this.m = {
      elections: metrics.counter('edgelog_leader_elections_total', 'Leader changes decided by this broker as controller, per topic and kind'),
      unclean: metrics.counter('edgelog_unclean_leader_elections_total', 'Leaders elected from outside the ISR and ELR (may lose acknowledged records), per topic'),
      changes: metrics.counter('edgelog_controller_partition_changes_total', 'Partition state changes written by this broker as controller'),
    }
    metrics.gauge('edgelog_active_controller', '1 on the broker that is the controller', () => [[{}, this.active ? 1 : 0]])
    metrics.gauge('edgelog_offline_partitions', 'Partitions without a leader (as the controller sees them)', () => [
      [{}, this.active && this.agent.snapshot ? [...this.agent.snapshot.partitions.values()].filter((p) => p.value.leader < 0).length : 0],
    ])
  }

  get isActive(): boolean {
    return this.active
  }

  onSnapshot(snap: ClusterSnapshot): void {
    const ctl = snap.controller
    const mine = ctl !== undefined && ctl.value.id === this.agent.nodeId && ctl.value.incarnation === this.agent.incarnation
    this.active = mine && this.agent.canLead()
    if (!ctl) void this.campaign()
    else if (this.active) void this.reconcile(snap, ctl.modRevision)
  }

  private async campaign(): Promise<void> {
    const lease = this.agent.currentLease
    if (this.campaigning || !lease || !this.agent.canLead()) return
    this.campaigning = true
    try {
      const r = await this.store.txn(
        [{ key: CONTROLLER, modRevision: 0 }],
        [{ op: 'put', key: CONTROLLER, value: JSON.stringify({ id: this.agent.nodeId, incarnation: this.agent.incarnation }), lease }],
      )
      if (r.succeeded) this.agent.log(`broker ${this.agent.nodeId} is the controller`)
      this.agent.requestRefresh()
    } catch (err) {
      this.agent.log(`controller campaign failed: ${(err as Error).message}`)
    } finally {
      this.campaigning = false
    }
  }

  private async reconcile(snap: ClusterSnapshot, controllerRevision: number): Promise<void> {
    if (this.reconciling) return
    this.reconciling = true
    try {
      const brokers = new Map<number, BrokerRegistration>()
      for (const [id, b] of snap.brokers) brokers.set(id, b.value)
      let changed = false
      for (const [key, { value: state, modRevision }] of snap.partitions) {
        if (!this.agent.canLead()) return
        const slash = key.lastIndexOf('/')
        const topic = key.slice(0, slash)
        const partition = Number(key.slice(slash + 1))
        const record = snap.topics.get(topic)?.value
        if (!record) continue
        const config = effectiveConfig(record.config)
        const decision = decidePartition({
          state,
          brokers,
          minInsyncReplicas: Number(config['min.insync.replicas']),
          uncleanLeaderElection: config['unclean.leader.election.enable'] === 'true',
        })
        if (!decision) continue
        const pk = partitionKey(topic, partition)
        const r = await this.store.txn(
          [
            { key: pk, modRevision },
            { key: CONTROLLER, modRevision: controllerRevision },
          ],
          [{ op: 'put', key: pk, value: JSON.stringify(decision.next) }],
        )
        if (!r.succeeded) continue
        changed = true
        this.m.changes.inc()
        if (decision.election) {
          this.m.elections.inc({ topic, kind: decision.election })
          if (decision.election === 'unclean') this.m.unclean.inc({ topic })
          this.agent.log(
            `controller: ${topic}-${partition} leader ${state.leader} → ${decision.next.leader} in epoch ${decision.next.leaderEpoch} (${decision.election})`,
          )
          this.onElection?.({ topic, partition, kind: decision.election, previous: state, next: decision.next })
        }
      }
      if (changed) this.agent.requestRefresh()
    } catch (err) {
      this.agent.log(`controller pass failed: ${(err as Error).message}`)
    } finally {
      this.reconciling = false
    }
  }
}
