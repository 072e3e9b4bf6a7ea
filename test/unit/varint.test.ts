// The primitive encodings every record field goes through. Exact byte vectors come from Kafka's
// ByteUtilsTest (testVarintSerde / testVarlongSerde / testInvalidVar*); a BigInt reference
// implementation, independent of the number arithmetic under test, covers the rest of the
// safe-integer range and arbitrary (hostile) input bytes.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { CodecError } from '../../src/codec/errors.ts'
import {
  ByteReader,
  ByteWriter,
  getInt64,
  setInt64,
  sizeOfVarint,
  sizeOfVarlong,
  VARLONG_BYTES_MAX,
} from '../../src/codec/varint.ts'

const MAX_SAFE = Number.MAX_SAFE_INTEGER

function varintBytes(value: number): number[] {
  return [...new ByteWriter(1).varint(value).finish()]
}

function varlongBytes(value: number): number[] {
  return [...new ByteWriter(1).varlong(value).finish()]
}

function readAllVarint(bytes: number[]): number {
  const reader = new ByteReader(Uint8Array.from(bytes))
  const value = reader.varint()
  assert.equal(reader.remaining, 0, 'the whole encoding is consumed')
  return value
}

function readAllVarlong(bytes: number[]): number {
  const reader = new ByteReader(Uint8Array.from(bytes))
  const value = reader.varlong()
  assert.equal(reader.remaining, 0, 'the whole encoding is consumed')
  return value
}

function isCodecError(code: string) {
  return (error: unknown) => error instanceof CodecError && error.name === 'CodecError' && error.code === code
}

// Reference zigzag varlong over BigInt: encode any int64, decode any byte string.
function referenceEncode(value: bigint): number[] {
  let unsigned = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n))
  const out: number[] = []
  while (unsigned >= 0x80n) {
    out.push(Number(unsigned & 0x7fn) | 0x80)
    unsigned >>= 7n
  }
  out.push(Number(unsigned))
  return out
}

/** The value, or null when the bytes are truncated, longer than maxBytes, or out of range. */
function referenceDecode(bytes: Uint8Array, maxBytes: number, min: bigint, max: bigint): { value: number; length: number } | null {
  let unsigned = 0n
  for (let i = 0; i < maxBytes; i++) {
    if (i >= bytes.length) return null
    unsigned |= BigInt(bytes[i] & 0x7f) << BigInt(7 * i)
    if (bytes[i] < 0x80) {
      const value = (unsigned >> 1n) ^ -(unsigned & 1n)
      if (value < min || value > max) return null
      return { value: Number(value), length: i + 1 }
    }
  }
  return null
}

describe('varint (int32) byte vectors from Kafka ByteUtilsTest', () => {
  const vectors: Array<[number, number[]]> = [
    [0, [0x00]],
    [-1, [0x01]],
    [1, [0x02]],
    [63, [0x7e]],
    [-64, [0x7f]],
    [64, [0x80, 0x01]],
    [-65, [0x81, 0x01]],
    [300, [0xd8, 0x04]],
    [8191, [0xfe, 0x7f]],
    [-8192, [0xff, 0x7f]],
    [8192, [0x80, 0x80, 0x01]],
    [-8193, [0x81, 0x80, 0x01]],
    [1048575, [0xfe, 0xff, 0x7f]],
    [-1048576, [0xff, 0xff, 0x7f]],
    [1048576, [0x80, 0x80, 0x80, 0x01]],
    [-1048577, [0x81, 0x80, 0x80, 0x01]],
    [134217727, [0xfe, 0xff, 0xff, 0x7f]],
    [-134217728, [0xff, 0xff, 0xff, 0x7f]],
    [134217728, [0x80, 0x80, 0x80, 0x80, 0x01]],
    [-134217729, [0x81, 0x80, 0x80, 0x80, 0x01]],
    [2147483647, [0xfe, 0xff, 0xff, 0xff, 0x0f]],
    [-2147483648, [0xff, 0xff, 0xff, 0xff, 0x0f]],
  ]
  for (const [value, bytes] of vectors) {
    test(`${value}`, () => {
      assert.deepEqual(varintBytes(value), bytes)
      assert.equal(sizeOfVarint(value), bytes.length)
      assert.equal(readAllVarint(bytes), value)
      // A varint is also a valid varlong with the same bytes.
      assert.deepEqual(varlongBytes(value), bytes)
      assert.equal(readAllVarlong(bytes), value)
    })
  }
})

describe('varlong byte vectors', () => {
  // Kafka ByteUtilsTest.testVarlongSerde, every vector inside the safe integer range, plus the
  // ends of that range (computed with the BigInt reference encoder).
  const vectors: Array<[number, number[]]> = [
    [17179869183, [0xfe, 0xff, 0xff, 0xff, 0x7f]],
    [-17179869184, [0xff, 0xff, 0xff, 0xff, 0x7f]],
    [17179869184, [0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
    [-17179869185, [0x81, 0x80, 0x80, 0x80, 0x80, 0x01]],
    [2199023255551, [0xfe, 0xff, 0xff, 0xff, 0xff, 0x7f]],
    [-2199023255552, [0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
    [2199023255552, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
    [-2199023255553, [0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
    [281474976710655, [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
    [-281474976710656, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
    [281474976710656, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
    [-281474976710657, [0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
    [2147483648, [0x80, 0x80, 0x80, 0x80, 0x10]],
    [-2147483649, [0x81, 0x80, 0x80, 0x80, 0x10]],
    [1_700_000_000_000, [0x80, 0xa0, 0xab, 0xfe, 0xf9, 0x62]],
    [MAX_SAFE, [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f]],
    [-MAX_SAFE, [0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f]],
  ]
  for (const [value, bytes] of vectors) {
    test(`${value}`, () => {
      assert.deepEqual(referenceEncode(BigInt(value)), bytes, 'the vector itself agrees with the reference')
      assert.deepEqual(varlongBytes(value), bytes)
      assert.equal(sizeOfVarlong(value), bytes.length)
      assert.equal(readAllVarlong(bytes), value)
    })
  }

  test('Kafka vectors outside the safe range are refused, not rounded', () => {
    const outside: number[][] = [
      [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], // 36028797018963967
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], // -36028797018963968
      [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // Long.MAX_VALUE
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // Long.MIN_VALUE
      referenceEncode(2n ** 53n), // MAX_SAFE + 1
      referenceEncode(-(2n ** 53n)), // -MAX_SAFE - 1
    ]
    for (const bytes of outside) {
      assert.throws(() => readAllVarlong(bytes), isCodecError('CORRUPT_MESSAGE'), bytes.join(','))
    }
  })
})

describe('decoding refuses malformed varints', () => {
  test('a varint longer than 5 bytes (Kafka testInvalidVarint)', () => {
    assert.throws(() => readAllVarint([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), isCodecError('CORRUPT_MESSAGE'))
  })

  test('a 5-byte varint whose last byte overflows 32 bits', () => {
    assert.throws(() => readAllVarint([0x80, 0x80, 0x80, 0x80, 0x10]), isCodecError('CORRUPT_MESSAGE'))
    assert.throws(() => readAllVarint([0xfe, 0xff, 0xff, 0xff, 0x7f]), isCodecError('CORRUPT_MESSAGE'))
  })

  test('a varlong longer than 10 bytes (Kafka testInvalidVarlong)', () => {
    const bytes = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
    assert.throws(() => readAllVarlong(bytes), isCodecError('CORRUPT_MESSAGE'))
    assert.throws(() => readAllVarlong([...Array(VARLONG_BYTES_MAX).fill(0x80), 0x00]), isCodecError('CORRUPT_MESSAGE'))
  })

  test('truncated encodings', () => {
    for (const bytes of [[], [0x80], [0xff, 0xff], [0x80, 0x80, 0x80, 0x80]]) {
      assert.throws(() => readAllVarint(bytes), isCodecError('CORRUPT_MESSAGE'), `varint ${bytes}`)
      assert.throws(() => readAllVarlong(bytes), isCodecError('CORRUPT_MESSAGE'), `varlong ${bytes}`)
    }
  })

  test('non-minimal encodings are accepted, as the Java client accepts them', () => {
    assert.equal(readAllVarint([0x80, 0x00]), 0)
    assert.equal(readAllVarint([0x82, 0x80, 0x80, 0x80, 0x00]), 1)
    assert.equal(readAllVarlong([0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), 1)
  })

  test('a reader never reads past its end, even when the buffer continues', () => {
    const bytes = Uint8Array.from([0x80, 0x01, 0x02])
    assert.throws(() => new ByteReader(bytes, 0, 1).varint(), isCodecError('CORRUPT_MESSAGE'))
    assert.equal(new ByteReader(bytes, 0, 2).varint(), 64)
    assert.equal(new ByteReader(bytes, 2, 3).varint(), 1)
  })
})

describe('encoding refuses values it cannot represent', () => {
  test('varint needs an int32', () => {
    for (const value of [2 ** 31, -(2 ** 31) - 1, 1.5, Number.NaN, Infinity]) {
      assert.throws(() => new ByteWriter().varint(value), isCodecError('INVALID_RECORD'), `${value}`)
    }
  })

  test('varlong needs a safe integer', () => {
    for (const value of [2 ** 53, -(2 ** 53), 2 ** 60, 0.5, 2 ** 40 + 0.5, Number.NaN, -Infinity]) {
      assert.throws(() => new ByteWriter().varlong(value), isCodecError('INVALID_RECORD'), `${value}`)
    }
  })

  test('fixed-width writes check their ranges instead of wrapping', () => {
    const writer = new ByteWriter()
    assert.throws(() => writer.int8(128), isCodecError('INVALID_RECORD'))
    assert.throws(() => writer.int16(-32769), isCodecError('INVALID_RECORD'))
    assert.throws(() => writer.int32(2 ** 31), isCodecError('INVALID_RECORD'))
    assert.throws(() => writer.uint32(-1), isCodecError('INVALID_RECORD'))
    assert.throws(() => writer.int64(2 ** 53), isCodecError('INVALID_RECORD'))
    assert.equal(writer.position, 0, 'nothing was written by the refused calls')
  })
})

describe('int64', () => {
  const vectors: Array<[number, number[]]> = [
    [0, [0, 0, 0, 0, 0, 0, 0, 0]],
    [-1, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
    [2 ** 32, [0, 0, 0, 1, 0, 0, 0, 0]],
    [-(2 ** 32), [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]],
    [1_700_000_000_123, [0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x7b]],
    [MAX_SAFE, [0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
    [-MAX_SAFE, [0xff, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01]],
  ]
  for (const [value, bytes] of vectors) {
    test(`${value}`, () => {
      const view = new DataView(new ArrayBuffer(8))
      setInt64(view, 0, value)
      assert.deepEqual([...new Uint8Array(view.buffer)], bytes)
      assert.equal(getInt64(view, 0), value)
      assert.equal(view.getBigInt64(0), BigInt(value), 'agrees with the BigInt view')
    })
  }

  test('values outside the safe range are refused on read', () => {
    for (const bytes of [
      [0x00, 0x20, 0, 0, 0, 0, 0, 0], // 2^53
      [0xff, 0xe0, 0, 0, 0, 0, 0, 0], // -2^53
      [0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // Long.MAX_VALUE
      [0x80, 0, 0, 0, 0, 0, 0, 0], // Long.MIN_VALUE
    ]) {
      const view = new DataView(Uint8Array.from(bytes).buffer)
      assert.throws(() => getInt64(view, 0), isCodecError('CORRUPT_MESSAGE'), bytes.join(','))
    }
  })
})

describe('ByteWriter and ByteReader', () => {
  test('every write reads back, across buffer growth', () => {
    const writer = new ByteWriter(16)
    const payload = Uint8Array.from({ length: 100 }, (_, i) => i)
    for (let round = 0; round < 50; round++) {
      writer.int8(-5).int16(-300).int32(-70000).uint32(0xfedcba98).int64(-(2 ** 40) - round)
      writer.varint(round - 25).varlong(2 ** 45 + round).bytes(payload)
    }
    const reader = new ByteReader(writer.finish())
    for (let round = 0; round < 50; round++) {
      assert.equal(reader.int8(), -5)
      assert.equal(reader.int16(), -300)
      assert.equal(reader.int32(), -70000)
      assert.equal(reader.uint32(), 0xfedcba98)
      assert.equal(reader.int64(), -(2 ** 40) - round)
      assert.equal(reader.varint(), round - 25)
      assert.equal(reader.varlong(), 2 ** 45 + round)
      assert.deepEqual(reader.bytes(100), payload)
    }
    assert.equal(reader.remaining, 0)
    assert.equal(writer.position, writer.finish().length)
  })

  test('fixed-width writes are big-endian', () => {
    const bytes = new ByteWriter().int16(0x0102).int32(0x03040506).uint32(0xfffffffe).finish()
    assert.deepEqual([...bytes], [1, 2, 3, 4, 5, 6, 0xff, 0xff, 0xff, 0xfe])
  })

  test('bounded reads throw CodecError on truncation', () => {
    const reader = new ByteReader(Uint8Array.from([1, 2, 3]))
    assert.throws(() => reader.int32(), isCodecError('CORRUPT_MESSAGE'))
    assert.throws(() => reader.int64(), isCodecError('CORRUPT_MESSAGE'))
    assert.throws(() => reader.bytes(4), isCodecError('CORRUPT_MESSAGE'))
    assert.throws(() => reader.bytes(-1), isCodecError('CORRUPT_MESSAGE'))
    assert.equal(reader.position, 0, 'a failed read consumes nothing')
    assert.equal(reader.int16(), 0x0102)
    assert.throws(() => reader.int16(), isCodecError('CORRUPT_MESSAGE'))
    assert.equal(reader.uint8(), 3)
    assert.throws(() => reader.int8(), isCodecError('CORRUPT_MESSAGE'))
  })

  test('a reader over a subarray honours its byteOffset', () => {
    const backing = Uint8Array.from([9, 9, 0x00, 0x00, 0x01, 0x00, 9])
    const reader = new ByteReader(backing.subarray(2, 6))
    assert.equal(reader.int32(), 256)
    assert.throws(() => reader.int8(), isCodecError('CORRUPT_MESSAGE'))
  })
})

describe('properties', () => {
  test('varlong: decode(encode(v)) = v for every safe integer, in the reference byte form', () => {
    fc.assert(
      fc.property(fc.oneof(fc.maxSafeInteger(), fc.integer()), (value) => {
        const bytes = varlongBytes(value)
        assert.deepEqual(bytes, referenceEncode(BigInt(value)))
        assert.equal(bytes.length, sizeOfVarlong(value))
        assert.equal(readAllVarlong(bytes), value)
      }),
      { numRuns: 5000 },
    )
  })

  test('varint: decode(encode(v)) = v for every int32, in the reference byte form', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (value) => {
        const bytes = varintBytes(value)
        assert.deepEqual(bytes, referenceEncode(BigInt(value)))
        assert.equal(bytes.length, sizeOfVarint(value))
        assert.equal(readAllVarint(bytes), value)
      }),
      { numRuns: 5000 },
    )
  })

  test('int64: getInt64(setInt64(v)) = v for every safe integer', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (value) => {
        const view = new DataView(new ArrayBuffer(8))
        setInt64(view, 0, value)
        assert.equal(view.getBigInt64(0), BigInt(value))
        assert.equal(getInt64(view, 0), value)
      }),
    )
  })

  // Arbitrary bytes, biased towards continuation bits so long encodings are common.
  const hostileBytes = fc.array(fc.oneof(fc.integer({ min: 0x80, max: 0xff }), fc.integer({ min: 0, max: 0xff })), { maxLength: 12 })

  test('varlong on arbitrary bytes: the reference value, or a CodecError', () => {
    fc.assert(
      fc.property(hostileBytes, (list) => {
        const bytes = Uint8Array.from(list)
        const expected = referenceDecode(bytes, 10, -BigInt(MAX_SAFE), BigInt(MAX_SAFE))
        const reader = new ByteReader(bytes)
        if (expected === null) {
          assert.throws(() => reader.varlong(), isCodecError('CORRUPT_MESSAGE'))
        } else {
          assert.equal(reader.varlong(), expected.value)
          assert.equal(reader.position, expected.length)
        }
      }),
      { numRuns: 5000 },
    )
  })

  test('varint on arbitrary bytes: the reference value, or a CodecError', () => {
    fc.assert(
      fc.property(hostileBytes, (list) => {
        const bytes = Uint8Array.from(list)
        const expected = referenceDecode(bytes, 5, -(2n ** 31n), 2n ** 31n - 1n)
        const reader = new ByteReader(bytes)
        if (expected === null) {
          assert.throws(() => reader.varint(), isCodecError('CORRUPT_MESSAGE'))
        } else {
          assert.equal(reader.varint(), expected.value)
          assert.equal(reader.position, expected.length)
        }
      }),
      { numRuns: 5000 },
    )
  })
})
