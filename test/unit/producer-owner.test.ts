// Producer ids remember the principal they were issued to (RELIABILITY.md §5.4 item 11), in the
// single node's meta.db and in a cluster's metadata store alike, and an epoch bump keeps it.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { ClusterProducerIds } from '../../src/cluster/producer-ids.ts'
import { MemoryMetaStore } from '../../src/cluster/memory-store.ts'

describe('producer id owners in a cluster', () => {
  test('the owner is stored with the id, survives an epoch bump, and is unknown for ids never issued', async () => {
    let t = 0
    const store = new MemoryMetaStore({ now: () => t, monotonic: () => t++ })
    const ids = new ClusterProducerIds(store)
    const a = await ids.init(undefined, 'idp|alice')
    const b = await ids.init(undefined, '')
    assert.equal(await ids.owner(a.producerId), 'idp|alice')
    assert.equal(await ids.owner(b.producerId), '')
    const bumped = await ids.init(a.producerId)
    assert.equal(bumped.producerEpoch, 1)
    assert.equal(await ids.owner(a.producerId), 'idp|alice')
    // Another broker of the same cluster sees the same owner.
    assert.equal(await new ClusterProducerIds(store).owner(a.producerId), 'idp|alice')
    assert.equal(await ids.owner(999_999), undefined)
  })
})
