// The record batch codec against random and mutated input (issue 8, bad-input suite): whatever
// the bytes, decoding returns records or throws CodecError, never another error, never hangs,
// and never builds more than the bytes could hold (a count read from the wire is not trusted).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { CodecError } from '../../src/codec/errors.ts'
import {
  BATCH_HEADER_SIZE,
  compressBatch,
  decodeBatch,
  decodeRecords,
  encodeRecordBatch,
  readBatchHeader,
  splitBatches,
  verifyBatchCrc,
  type NewRecord,
} from '../../src/codec/record-batch.ts'

/** Far above what any decode of these small inputs needs; a hang or a quadratic blow-up shows. */
const SLOW_MS = 2000

function decodeSafely(bytes: Uint8Array): { records?: number; error?: CodecError } {
  const started = performance.now()
  try {
    const records = decodeRecords(bytes)
    // Every record needs at least 7 bytes: more records than that is allocation out of thin air.
    assert.ok(records.length <= Math.max(0, (bytes.length - BATCH_HEADER_SIZE) / 7), `${records.length} records from ${bytes.length} bytes`)
    let payload = 0
    for (const r of records) payload += (r.key?.length ?? 0) + (r.value?.length ?? 0)
    assert.ok(payload <= bytes.length, 'decoded payload larger than the input')
    return { records: records.length }
  } catch (err) {
    if (!(err instanceof CodecError)) throw new Error(`decodeRecords threw a non-CodecError: ${String(err)}`, { cause: err })
    assert.ok(typeof err.message === 'string' && err.message.length > 0)
    return { error: err }
  } finally {
    const took = performance.now() - started
    assert.ok(took < SLOW_MS, `decoding ${bytes.length} bytes took ${took} ms`)
  }
}

function expectCodecErrorOrValue(fn: () => unknown): void {
  try {
    fn()
  } catch (err) {
    if (!(err instanceof CodecError)) throw new Error(`threw a non-CodecError: ${String(err)}`, { cause: err })
  }
}

const bytesArb = fc.uint8Array({ maxLength: 64 })
const recordArb: fc.Arbitrary<NewRecord> = fc.record({
  key: fc.option(bytesArb, { nil: null }),
  value: fc.option(bytesArb, { nil: null }),
  headers: fc.array(fc.record({ key: fc.string({ maxLength: 12 }), value: fc.option(bytesArb, { nil: null }) }), { maxLength: 3 }),
  timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
})
const batchArb = fc
  .record({ baseOffset: fc.integer({ min: 0, max: 2 ** 40 }), records: fc.array(recordArb, { minLength: 1, maxLength: 8 }) })
  .map((o) => encodeRecordBatch(o))

/** One change to a valid batch: a flipped bit, a byte set to an extreme, a cut or an extension. */
const mutationArb = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0x00, 0x7f, 0x80, 0xff, 0xfe, 0x01) }),
  // The header fields a decoder might trust: batchLength, magic, attributes, lastOffsetDelta, recordCount.
  fc.record({
    kind: fc.constant('field' as const),
    at: fc.constantFrom(8, 16, 21, 23, 57),
    value: fc.constantFrom(0, -1, 1, 0x7fffffff, -0x80000000, 0x10000, 61, 7),
  }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), tail: fc.uint8Array({ minLength: 1, maxLength: 32 }) }),
)

type Mutation = typeof mutationArb extends fc.Arbitrary<infer M> ? M : never

function mutate(batch: Uint8Array, m: Mutation): Uint8Array {
  const out = new Uint8Array(batch)
  if (out.length === 0 && m.kind !== 'extend') return out
  switch (m.kind) {
    case 'flip':
      out[m.at % out.length]! ^= 1 << m.bit
      return out
    case 'set':
      out[m.at % out.length] = m.value
      return out
    case 'field':
      if (m.at + 4 <= out.length) new DataView(out.buffer).setInt32(m.at, m.value)
      return out
    case 'cut':
      return out.subarray(0, m.at % out.length)
    case 'extend': {
      const longer = new Uint8Array(out.length + m.tail.length)
      longer.set(out)
      longer.set(m.tail, out.length)
      return longer
    }
  }
  return out
}

describe('codec fuzz', () => {
  test('random bytes: records or a CodecError, from every entry point', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat({ max: 700 }), (bytes, offset) => {
        decodeSafely(bytes)
        expectCodecErrorOrValue(() => readBatchHeader(bytes, offset % (bytes.length + 1)))
        expectCodecErrorOrValue(() => verifyBatchCrc(bytes, offset % (bytes.length + 1)))
        expectCodecErrorOrValue(() => splitBatches(bytes))
      }),
      { numRuns: 3000 },
    )
  })

  test('random bytes behind a plausible header (magic 2, a fitting batchLength) reach the record decoder', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 400 }), fc.integer({ min: 0, max: 50 }), (body, count) => {
        const bytes = new Uint8Array(BATCH_HEADER_SIZE + body.length)
        const view = new DataView(bytes.buffer)
        view.setInt32(8, bytes.length - 12)
        bytes[16] = 2
        view.setInt32(57, count)
        bytes.set(body, BATCH_HEADER_SIZE)
        decodeSafely(bytes)
      }),
      { numRuns: 3000 },
    )
  })

  test('mutated valid batches: records or a CodecError; a mutation inside the CRC range is always noticed by the CRC', () => {
    fc.assert(
      fc.property(batchArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (batch, mutations) => {
        let bytes: Uint8Array = batch
        for (const m of mutations) bytes = mutate(bytes, m)
        decodeSafely(bytes)
        expectCodecErrorOrValue(() => splitBatches(bytes))
        // Same length, different bytes from attributes on: the CRC must say so.
        if (bytes.length === batch.length && !bytes.subarray(21).every((b, i) => b === batch[21 + i])) {
          let crcOk = false
          try {
            crcOk = verifyBatchCrc(bytes)
          } catch (err) {
            assert.ok(err instanceof CodecError)
          }
          const crcFieldChanged = !bytes.subarray(17, 21).every((b, i) => b === batch[17 + i])
          if (!crcFieldChanged) assert.equal(crcOk, false, 'a changed batch passed its CRC')
        }
      }),
      { numRuns: 3000 },
    )
  })

  test('compressed batches (gzip written here; snappy, lz4, zstd claimed) with mutated or random bodies: records or a CodecError, bounded', async () => {
    const LIMIT = 64 * 1024
    await fc.assert(
      fc.asyncProperty(
        batchArb,
        fc.array(mutationArb, { maxLength: 3 }),
        fc.constantFrom(1, 2, 3, 4),
        fc.uint8Array({ maxLength: 300 }),
        fc.boolean(),
        async (batch, mutations, codec, randomBody, useRandomBody) => {
          let bytes: Uint8Array
          if (useRandomBody || codec !== 1) {
            // A header that claims `codec` over bytes that are not (or barely) that codec's output.
            bytes = new Uint8Array(BATCH_HEADER_SIZE + randomBody.length)
            bytes.set(batch.subarray(0, BATCH_HEADER_SIZE))
            bytes.set(randomBody, BATCH_HEADER_SIZE)
            const view = new DataView(bytes.buffer)
            view.setInt32(8, bytes.length - 12)
            view.setInt16(21, codec)
          } else {
            bytes = await compressBatch(batch, 1)
          }
          for (const m of mutations) bytes = mutate(bytes, m)
          const started = performance.now()
          try {
            const records = await decodeBatch(bytes, { maxDecompressedBytes: LIMIT })
            assert.ok(records.length <= LIMIT / 7)
          } catch (err) {
            if (!(err instanceof CodecError)) throw new Error(`decodeBatch threw a non-CodecError: ${String(err)}`, { cause: err })
          }
          assert.ok(performance.now() - started < SLOW_MS)
        },
      ),
      { numRuns: 1500 },
    )
  })

  test('a gzip bomb is refused at the limit, not inflated', async () => {
    const big = encodeRecordBatch({ baseOffset: 0, records: [{ key: null, value: new Uint8Array(8 * 1024 * 1024), timestamp: 0 }] })
    const bomb = await compressBatch(big, 1)
    assert.ok(bomb.length < 64 * 1024, `the bomb is ${bomb.length} bytes`)
    await assert.rejects(decodeBatch(bomb, { maxDecompressedBytes: 1024 * 1024 }), (err: unknown) => err instanceof CodecError && err.code === 'DECOMPRESSED_TOO_LARGE')
  })

  test('a record count of 2^31 - 1 in a small batch fails at once instead of allocating', () => {
    const batch = encodeRecordBatch({ baseOffset: 0, records: [{ key: null, value: new Uint8Array([1]), timestamp: 0 }] })
    new DataView(batch.buffer).setInt32(57, 0x7fffffff)
    const started = performance.now()
    assert.throws(() => decodeRecords(batch), CodecError)
    assert.ok(performance.now() - started < SLOW_MS)
  })
})
