// Kafka's Java client hashes keys with this exact murmur2 variant (Utils.murmur2) to pick a
// partition (DESIGN decision 2). Any deviation, even in how the tail bytes or the sign are
// handled, would route a key to a different partition than a Java, librdkafka or kafkajs
// producer does, so this is a line-for-line port: Java's int arithmetic is Math.imul and `| 0`,
// and Java's `>>>` is JS's `>>>` (the `| 0` after it restores a signed int).

const SEED = 0x9747b28c
const M = 0x5bd1e995
const R = 24

/** Utils.murmur2: a signed 32-bit hash of the key bytes. */
export function murmur2(data: Uint8Array): number {
  const length = data.length
  let h = (SEED ^ length) | 0
  const length4 = length & ~3

  for (let i = 0; i < length4; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
    k = Math.imul(k, M)
    k ^= k >>> R
    k = Math.imul(k, M)
    h = Math.imul(h, M)
    h ^= k
  }

  // Java's switch falls through from the longest tail to the shortest.
  switch (length & 3) {
    case 3:
      h ^= data[length4 + 2] << 16
    // falls through
    case 2:
      h ^= data[length4 + 1] << 8
    // falls through
    case 1:
      h ^= data[length4]
      h = Math.imul(h, M)
  }

  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}
