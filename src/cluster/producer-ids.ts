// Idempotent producer ids for a cluster: ids come in blocks claimed from the metadata store by
// compare-and-swap (as Kafka's controller hands out producer id blocks), so two brokers never
// issue the same id; each id's newest epoch lives in the store, so any broker can fence an old
// epoch after a failover.
import type { ProducerIdService } from '../broker/broker.ts'
import { EdgelogError, fail } from '../core/errors.ts'
import type { MetaStore } from './meta-store.ts'
import { PRODUCER_ID_BLOCK, producerKey } from './state.ts'

/** Ids claimed per round trip to the store. */
export const PRODUCER_ID_BLOCK_SIZE = 1000
/** Epochs remembered per broker; older ones are read again from the store when needed. */
const MAX_CACHED_EPOCHS = 100_000
const CAS_ATTEMPTS = 20

export class ClusterProducerIds implements ProducerIdService {
  private next = 0
  private end = 0
  private readonly epochs = new Map<number, number>()

  constructor(private readonly store: MetaStore) {}

  async init(existing?: number): Promise<{ producerId: number; producerEpoch: number }> {
    if (existing === undefined) {
      const producerId = await this.nextId()
      const key = producerKey(producerId)
      const r = await this.store.txn([{ key, modRevision: 0 }], [{ op: 'put', key, value: JSON.stringify({ epoch: 0 }) }])
      if (!r.succeeded) fail('INTERNAL', `producer id ${producerId} was issued twice`)
      this.remember(producerId, 0)
      return { producerId, producerEpoch: 0 }
    }
    for (let i = 0; i < CAS_ATTEMPTS; i++) {
      const kv = await this.store.get(producerKey(existing))
      if (!kv) fail('UNKNOWN_PRODUCER_ID', `producer id ${existing} was not issued by this cluster`)
      const epoch = parseEpoch(kv.value) + 1
      if (epoch > 0x7fff) fail('INVALID_PRODUCER_EPOCH', `producer ${existing} has used every epoch`)
      const r = await this.store.txn([{ key: kv.key, modRevision: kv.modRevision }], [{ op: 'put', key: kv.key, value: JSON.stringify({ epoch }) }])
      if (r.succeeded) {
        this.remember(existing, epoch)
        return { producerId: existing, producerEpoch: epoch }
      }
    }
    throw new EdgelogError('THROTTLED', 'too many concurrent epoch bumps for this producer id; try again')
  }

  async currentEpoch(producerId: number, atLeast: number): Promise<number | undefined> {
    const cached = this.epochs.get(producerId)
    if (cached !== undefined && cached >= atLeast) return cached
    const kv = await this.store.get(producerKey(producerId))
    if (!kv) return undefined
    const epoch = parseEpoch(kv.value)
    this.remember(producerId, epoch)
    return epoch
  }

  private async nextId(): Promise<number> {
    if (this.next < this.end) return this.next++
    for (let i = 0; i < CAS_ATTEMPTS; i++) {
      const kv = await this.store.get(PRODUCER_ID_BLOCK)
      const start = kv ? Number(JSON.parse(kv.value).next) : 0
      const r = await this.store.txn(
        [{ key: PRODUCER_ID_BLOCK, modRevision: kv?.modRevision ?? 0 }],
        [{ op: 'put', key: PRODUCER_ID_BLOCK, value: JSON.stringify({ next: start + PRODUCER_ID_BLOCK_SIZE }) }],
      )
      if (r.succeeded) {
        this.next = start + 1
        this.end = start + PRODUCER_ID_BLOCK_SIZE
        return start
      }
    }
    throw new EdgelogError('THROTTLED', 'could not claim a block of producer ids; try again')
  }

  private remember(id: number, epoch: number): void {
    if (this.epochs.size >= MAX_CACHED_EPOCHS) this.epochs.clear()
    this.epochs.set(id, Math.max(epoch, this.epochs.get(id) ?? -1))
  }
}

function parseEpoch(value: string): number {
  const epoch = Number(JSON.parse(value).epoch)
  if (!Number.isInteger(epoch) || epoch < 0) fail('INTERNAL', 'a producer epoch in the metadata store is not valid')
  return epoch
}
