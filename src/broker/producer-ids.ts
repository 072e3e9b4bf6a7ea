// Producer ids on a single node (KIP-98 InitProducerId), kept apart from the broker because a
// cluster replaces them with its metadata store's (BrokerOptions.producerIds).
import type { Runtime } from '../core/clock.ts'
import { fail } from '../core/errors.ts'
import type { ProducerIdService } from './broker-options.ts'
import type { MetadataStore } from './metadata.ts'

/** Producer ids issued from this node's meta.db: a single node is the whole cluster. */
export function localProducerIds(meta: MetadataStore, runtime: Runtime): ProducerIdService {
  return {
    async init(existing, principal = '') {
      const r = meta.initProducer(runtime.clock.now(), existing, principal)
      if (!r) fail('UNKNOWN_PRODUCER_ID', `producer id ${existing} was not issued by this cluster`)
      return r
    },
    async owner(producerId) {
      return meta.producerPrincipal(producerId)
    },
    async currentEpoch(producerId) {
      return meta.producerEpoch(producerId)
    },
  }
}
