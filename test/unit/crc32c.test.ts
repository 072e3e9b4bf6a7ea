// CRC-32C guards every stored and fetched batch. Known answers pin the algorithm (polynomial,
// reflection, init and final xor); a table-free bitwise reference pins the slicing-by-8 loop at
// every length and alignment, where table code usually goes wrong.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { crc32c } from '../../src/codec/crc32c.ts'

const ascii = (text: string) => new TextEncoder().encode(text)
const filled = (length: number, byteAt: (i: number) => number) => Uint8Array.from({ length }, (_, i) => byteAt(i))

// One bit at a time, straight from the definition; shares nothing with the table code.
function crc32cBitwise(bytes: Uint8Array): number {
  let crc = 0xffffffff
  for (const byte of bytes) {
    crc ^= byte
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1
  }
  return (crc ^ 0xffffffff) >>> 0
}

// Deterministic pseudo-random bytes (xorshift32), so failures reproduce.
function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed | 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

describe('crc32c known answers', () => {
  // RFC 3720 appendix B.4 prints CRCs in wire (little-endian) byte order: "aa 36 91 8a" is the
  // register value 0x8A9136AA. All values were also recomputed with OpenJDK 17's
  // java.util.zip.CRC32C, the implementation Kafka's Crc32C delegates to.
  const iscsiReadPdu = new Uint8Array(48)
  for (const [at, byte] of [[0, 0x01], [1, 0xc0], [16, 0x14], [22, 0x04], [27, 0x14], [31, 0x18], [32, 0x28], [40, 0x02]]) {
    iscsiReadPdu[at] = byte
  }
  const cases: Array<[string, Uint8Array, number]> = [
    ['"123456789" (the CRC catalogue check value)', ascii('123456789'), 0xe3069283],
    ['empty input', new Uint8Array(0), 0],
    ['32 zero bytes (RFC 3720)', new Uint8Array(32), 0x8a9136aa],
    ['32 0xff bytes (RFC 3720)', new Uint8Array(32).fill(0xff), 0x62a8ab43],
    ['32 ascending bytes 00..1f (RFC 3720)', filled(32, (i) => i), 0x46dd794e],
    ['32 descending bytes 1f..00 (RFC 3720)', filled(32, (i) => 31 - i), 0x113fdb5c],
    ['iSCSI read PDU (RFC 3720)', iscsiReadPdu, 0xd9963a56],
    ['"Some String" (Kafka Crc32CTest.testValue)', ascii('Some String'), 608512271],
  ]
  for (const [name, input, expected] of cases) {
    test(name, () => {
      assert.equal(crc32c(input), expected)
      assert.equal(crc32cBitwise(input), expected)
    })
  }
})

describe('crc32c against the bitwise reference', () => {
  test('every length 0..300, so each tail length meets each 8-byte block count', () => {
    const data = pseudoRandomBytes(300, 0x1234)
    for (let length = 0; length <= 300; length++) {
      const input = data.subarray(0, length)
      assert.equal(crc32c(input), crc32cBitwise(input), `length ${length}`)
    }
  })

  test('large random buffers', () => {
    for (const [length, seed] of [[4096, 7], [65_537, 99], [1 << 20, 12345]]) {
      const input = pseudoRandomBytes(length, seed)
      assert.equal(crc32c(input), crc32cBitwise(input), `length ${length}`)
    }
  })

  test('subarrays with a non-zero byteOffset', () => {
    const data = pseudoRandomBytes(200, 42)
    for (let offset = 0; offset < 17; offset++) {
      const view = data.subarray(offset, offset + 150)
      assert.equal(crc32c(view), crc32cBitwise(data.slice(offset, offset + 150)))
    }
  })
})

describe('crc32c ranges', () => {
  test('crc32c(bytes, start, end) equals crc32c of the slice', () => {
    const data = pseudoRandomBytes(97, 5)
    for (let start = 0; start <= data.length; start += 3) {
      for (let end = start; end <= data.length; end += 5) {
        assert.equal(crc32c(data, start, end), crc32c(data.slice(start, end)), `[${start}, ${end})`)
      }
    }
    assert.equal(crc32c(data, 10), crc32c(data.slice(10)))
  })

  test('a range outside the buffer is a programming error', () => {
    const data = new Uint8Array(8)
    assert.throws(() => crc32c(data, -1, 4), RangeError)
    assert.throws(() => crc32c(data, 0, 9), RangeError)
    assert.throws(() => crc32c(data, 5, 4), RangeError)
    assert.throws(() => crc32c(data, 0.5, 4), RangeError)
  })
})

test('crc32c throughput (printed, not asserted)', () => {
  const input = pseudoRandomBytes(1 << 20, 3)
  for (let i = 0; i < 20; i++) crc32c(input) // warm up the JIT
  const rounds = 100
  const started = performance.now()
  let sink = 0
  for (let i = 0; i < rounds; i++) sink = (sink + crc32c(input)) >>> 0
  const seconds = (performance.now() - started) / 1000
  console.log(`crc32c: ${(rounds / seconds).toFixed(0)} MiB/s over 1 MiB (sink ${sink})`)
})
