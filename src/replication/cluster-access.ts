// What replication needs from the cluster layer (src/cluster/): whether this broker may lead
// right now, who the other brokers are, and compare-and-swap on a partition's state.
import type { Compare } from '../cluster/meta-store.ts'
import type { BrokerRegistration, PartitionState, Versioned } from '../cluster/state.ts'

export interface ClusterAccess {
  readonly nodeId: number
  /** This boot's incarnation (R5): sent with every fetch, stored with ISR entries. */
  readonly incarnation: number
  /**
   * True while this broker's lease is surely alive by the monotonic clock. A leader whose lease
   * may have expired (a pause, a cut to etcd) stops accepting writes: another may lead by now.
   */
  canLead(): boolean
  /** The registration of a live broker, as last read from the store. */
  registration(id: number): Versioned<BrokerRegistration> | undefined
  /** CAS on the partition's key: succeeds only if it is still at expectedRevision (and every extra compare holds). */
  alterPartition(
    topic: string,
    partition: number,
    expectedRevision: number,
    next: PartitionState,
    compares: Compare[],
  ): Promise<{ ok: true; revision: number } | { ok: false }>
  /** Asks for fresh metadata soon (a CAS failed, a leader said our epoch is old). */
  requestRefresh(): void
  log(message: string): void
}
