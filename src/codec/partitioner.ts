// Where records go (DESIGN decision 2). Keyed records: exactly the Java client's
// BuiltInPartitioner.partitionForKey, so a key lands on the same partition whichever client
// produced it. Keyless records: a sticky partition per topic, as Kafka's StickyPartitionCache,
// so a burst of keyless records fills one batch instead of spreading one record per partition.

import type { Random } from '../core/clock.ts'
import { murmur2 } from './murmur2.ts'

function checkPartitionCount(partitions: number): void {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 0x7fff_ffff) {
    throw new RangeError(`partition count must be an integer in [1, 2^31 - 1], got ${partitions}`)
  }
}

/** Utils.toPositive(Utils.murmur2(key)) % partitions. */
export function partitionForKey(keyBytes: Uint8Array, partitions: number): number {
  checkPartitionCount(partitions)
  // toPositive clears the sign bit rather than taking Math.abs, so that murmur2 = -2^31 maps to 0
  // and the result matches Java for every hash.
  return (murmur2(keyBytes) & 0x7fff_ffff) % partitions
}

/**
 * One current partition per topic for keyless records. It changes only when the producer
 * starts a new batch for the topic (onNewBatch), and then always to a different partition,
 * chosen uniformly among the others with the injected random source.
 */
export class StickyPartitioner {
  private readonly random: Random
  private readonly current = new Map<string, number>()

  constructor(random: Random) {
    this.random = random
  }

  /** The topic's sticky partition, choosing one at random the first time. */
  partition(topic: string, partitions: number): number {
    checkPartitionCount(partitions)
    const current = this.current.get(topic)
    // A partition count that shrank (or a topic re-created smaller) invalidates the choice.
    if (current !== undefined && current < partitions) return current
    return this.choose(topic, partitions, -1)
  }

  /** Moves the topic to a different partition and returns it; call when its batch is full. */
  onNewBatch(topic: string, partitions: number): number {
    checkPartitionCount(partitions)
    const current = this.current.get(topic)
    const previous = current !== undefined && current < partitions ? current : -1
    return this.choose(topic, partitions, previous)
  }

  private choose(topic: string, partitions: number, previous: number): number {
    let next: number
    if (previous < 0) {
      next = this.draw(partitions)
    } else if (partitions === 1) {
      next = 0
    } else {
      // One draw among the partitions - 1 others, then skip over the previous one. Kafka loops
      // until it draws a different partition; a single draw gives the same distribution with a
      // bounded amount of work and a predictable number of calls to the random source.
      const index = this.draw(partitions - 1)
      next = index >= previous ? index + 1 : index
    }
    this.current.set(topic, next)
    return next
  }

  private draw(bound: number): number {
    const r = this.random.next()
    if (!(r >= 0 && r < 1)) throw new RangeError(`random.next() must return a number in [0, 1), got ${r}`)
    // r * bound can round up to bound when r is within an ulp of 1.
    return Math.min(bound - 1, Math.floor(r * bound))
  }
}
