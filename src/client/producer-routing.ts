// Which partition a record goes to, as Kafka's producer decides it: the one named in the
// record; else murmur2 of the key (exactly as the server and the Java client, so a key lands
// on the same partition whichever client wrote it); else a sticky partition for keyless
// records, which moves on only when a new batch would start.
import { partitionForKey, type StickyPartitioner } from '../codec/partitioner.ts'
import type { Batch } from './producer-batch.ts'
import type { Pending } from './producer-record.ts'

export function choosePartition(
  item: Pending,
  partitions: number,
  sticky: StickyPartitioner,
  /** The newest batch of a partition, if any. */
  lastBatch: (partition: number) => Batch | undefined,
  fits: (batch: Batch, item: Pending) => boolean,
): number {
  if (item.explicitPartition !== undefined) return item.explicitPartition
  if (item.keyBytes !== null) return partitionForKey(item.keyBytes, partitions)
  const partition = sticky.partition(item.topic, partitions)
  // A keyless record that would open a new batch moves the sticky partition first, as
  // Kafka's StickyPartitionCache does, so keyless load spreads batch by batch.
  const last = lastBatch(partition)
  if (last !== undefined && !fits(last, item)) return sticky.onNewBatch(item.topic, partitions)
  return partition
}
