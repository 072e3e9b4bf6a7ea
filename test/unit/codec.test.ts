// RecordBatch v2 is what we store, replicate and serve, so these tests pin three things:
// the exact byte layout (a batch assembled field by field, independently of the encoder),
// lossless round trips for every record shape, and that corrupt input is always refused with a
// CodecError — never decoded into plausible garbage, never an unrelated exception, never a hang.
// Structural corruption is tested with a correct CRC, so the decoder's own checks are exercised.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { crc32c } from '../../src/codec/crc32c.ts'
import { CodecError } from '../../src/codec/errors.ts'
import {
  BATCH_HEADER_SIZE,
  decodeRecords,
  encodeRecordBatch,
  readBatchHeader,
  setBaseOffset,
  setPartitionLeaderEpoch,
  splitBatches,
  verifyBatchCrc,
  type BatchRecord,
  type EncodeBatchOptions,
  type NewRecord,
} from '../../src/codec/record-batch.ts'
import { ByteWriter } from '../../src/codec/varint.ts'

const utf8 = (text: string) => new TextEncoder().encode(text)
const MAX_SAFE = Number.MAX_SAFE_INTEGER

function isCodecError(code: string) {
  return (error: unknown) => error instanceof CodecError && error.code === code
}

/** What decodeRecords must give back for records encoded at baseOffset. */
function expected(records: NewRecord[], baseOffset: number): BatchRecord[] {
  return records.map((record, i) => ({
    offset: baseOffset + i,
    timestamp: record.timestamp,
    key: record.key,
    value: record.value,
    headers: record.headers ?? [],
  }))
}

/** Typed arrays compare by content and by constructor; decode returns plain Uint8Array views. */
function plain(records: BatchRecord[]): unknown {
  const bytes = (b: Uint8Array | null) => (b === null ? null : [...b])
  return records.map((r) => ({ ...r, key: bytes(r.key), value: bytes(r.value), headers: r.headers.map((h) => ({ key: h.key, value: bytes(h.value) })) }))
}

function roundTrip(options: EncodeBatchOptions): BatchRecord[] {
  const batch = encodeRecordBatch(options)
  assert.equal(verifyBatchCrc(batch), true)
  const decoded = decodeRecords(batch)
  assert.deepEqual(plain(decoded), plain(expected(options.records, options.baseOffset)))
  return decoded
}

// ---------------------------------------------------------------------------------------------
// A batch assembled field by field with ByteWriter: the reference layout for the encoder and the
// tool for building structurally corrupt batches that still carry a correct CRC.

interface RawBatch {
  baseOffset?: number
  batchLengthAdjust?: number
  partitionLeaderEpoch?: number
  magic?: number
  attributes?: number
  lastOffsetDelta?: number
  baseTimestamp?: number
  maxTimestamp?: number
  producerId?: number
  producerEpoch?: number
  baseSequence?: number
  recordCount: number
  records: Uint8Array[]
}

function rawBatch(raw: RawBatch): Uint8Array {
  const body = new ByteWriter()
  body.int16(raw.attributes ?? 0).int32(raw.lastOffsetDelta ?? Math.max(0, raw.recordCount - 1))
  body.int64(raw.baseTimestamp ?? 1000).int64(raw.maxTimestamp ?? 1000).int64(raw.producerId ?? -1)
  body.int16(raw.producerEpoch ?? -1).int32(raw.baseSequence ?? -1).int32(raw.recordCount)
  for (const record of raw.records) body.bytes(record)
  const crcd = body.finish()
  const out = new ByteWriter()
  out.int64(raw.baseOffset ?? 0).int32(9 + crcd.length + (raw.batchLengthAdjust ?? 0))
  out.int32(raw.partitionLeaderEpoch ?? 0).int8(raw.magic ?? 2).uint32(crc32c(crcd)).bytes(crcd)
  return out.finish().slice()
}

/** A record: length varint, then the body the callback writes (or a declared length). */
function rawRecord(write: (w: ByteWriter) => void, declaredLength?: number): Uint8Array {
  const body = new ByteWriter()
  write(body)
  const bytes = body.finish()
  return new ByteWriter().varint(declaredLength ?? bytes.length).bytes(bytes).finish().slice()
}

/** attributes, timestampDelta, offsetDelta, null key, value "a", no headers. */
function simpleRecord(offsetDelta: number, timestampDelta = 0): Uint8Array {
  return rawRecord((w) => w.int8(0).varlong(timestampDelta).varint(offsetDelta).varint(-1).varint(1).bytes(utf8('a')).varint(0))
}

// ---------------------------------------------------------------------------------------------

describe('byte layout', () => {
  test('one record, every header field at its documented position', () => {
    const batch = encodeRecordBatch({
      baseOffset: 7,
      partitionLeaderEpoch: 5,
      producerId: 42,
      producerEpoch: 3,
      baseSequence: 9,
      records: [{ key: utf8('k'), value: utf8('v'), timestamp: 1000 }],
    })
    // prettier-ignore
    const layout = [
      0, 0, 0, 0, 0, 0, 0, 7, //          @0  baseOffset
      0, 0, 0, 58, //                     @8  batchLength: 70 bytes - 12
      0, 0, 0, 5, //                      @12 partitionLeaderEpoch
      2, //                               @16 magic
      -1, -1, -1, -1, //                  @17 crc (checked below)
      0, 0, //                            @21 attributes
      0, 0, 0, 0, //                      @23 lastOffsetDelta
      0, 0, 0, 0, 0, 0, 0x03, 0xe8, //    @27 baseTimestamp 1000
      0, 0, 0, 0, 0, 0, 0x03, 0xe8, //    @35 maxTimestamp 1000
      0, 0, 0, 0, 0, 0, 0, 42, //         @43 producerId
      0, 3, //                            @51 producerEpoch
      0, 0, 0, 9, //                      @53 baseSequence
      0, 0, 0, 1, //                      @57 recordCount
      // @61 record: length 8 (zigzag 0x10), attributes, timestampDelta 0, offsetDelta 0,
      // key length 1 (0x02) "k", value length 1 "v", header count 0
      0x10, 0, 0, 0, 0x02, 0x6b, 0x02, 0x76, 0,
    ]
    assert.equal(batch.length, layout.length)
    layout.forEach((byte, i) => {
      if (byte >= 0) assert.equal(batch[i], byte, `byte ${i}`)
    })
    const storedCrc = new DataView(batch.buffer).getUint32(17)
    assert.equal(storedCrc, crc32c(batch.subarray(21)))
  })

  test('the encoder produces exactly the field-by-field reference batch', () => {
    const records: NewRecord[] = [
      { key: utf8('key-0'), value: utf8('hello'), timestamp: 1_700_000_000_000, headers: [{ key: 'h', value: utf8('x') }, { key: 'é', value: null }] },
      { key: null, value: null, timestamp: 1_699_999_999_000 },
      { key: new Uint8Array(0), value: new Uint8Array(300), timestamp: 1_700_000_000_500 },
    ]
    const reference = rawBatch({
      baseOffset: 1234,
      partitionLeaderEpoch: 3,
      attributes: 0x10,
      baseTimestamp: 1_700_000_000_000,
      maxTimestamp: 1_700_000_000_500,
      producerId: 77,
      producerEpoch: 2,
      baseSequence: 100,
      recordCount: 3,
      records: [
        rawRecord((w) => w.int8(0).varlong(0).varint(0).varint(5).bytes(utf8('key-0')).varint(5).bytes(utf8('hello'))
          .varint(2).varint(1).bytes(utf8('h')).varint(1).bytes(utf8('x')).varint(2).bytes(utf8('é')).varint(-1)),
        rawRecord((w) => w.int8(0).varlong(-1000).varint(1).varint(-1).varint(-1).varint(0)),
        rawRecord((w) => w.int8(0).varlong(500).varint(2).varint(0).varint(300).bytes(new Uint8Array(300)).varint(0)),
      ],
    })
    const batch = encodeRecordBatch({ baseOffset: 1234, partitionLeaderEpoch: 3, isTransactional: true, producerId: 77, producerEpoch: 2, baseSequence: 100, records })
    assert.deepEqual([...batch], [...reference])
  })

  test('BATCH_HEADER_SIZE is the offset of the first record', () => {
    const batch = encodeRecordBatch({ baseOffset: 0, records: [{ key: null, value: null, timestamp: 0 }] })
    assert.equal(BATCH_HEADER_SIZE, 61)
    assert.equal(batch.length, BATCH_HEADER_SIZE + 7) // the smallest record: length + 6 one-byte fields
  })
})

describe('round trips', () => {
  test('null key, null value, empty key, empty value', () => {
    roundTrip({
      baseOffset: 0,
      records: [
        { key: null, value: utf8('v'), timestamp: 1 },
        { key: utf8('k'), value: null, timestamp: 2 },
        { key: new Uint8Array(0), value: new Uint8Array(0), timestamp: 3 },
        { key: null, value: null, timestamp: 4 },
      ],
    })
  })

  test('headers: null values, empty values, duplicates keep their order', () => {
    roundTrip({
      baseOffset: 10,
      records: [
        {
          key: null,
          value: utf8('v'),
          timestamp: 5,
          headers: [
            { key: 'trace', value: utf8('abc') },
            { key: 'nullable', value: null },
            { key: 'empty', value: new Uint8Array(0) },
            { key: 'trace', value: utf8('second') },
            { key: '', value: utf8('empty key') },
          ],
        },
        { key: null, value: utf8('no headers'), timestamp: 6, headers: [] },
      ],
    })
  })

  test('UTF-8 header keys: 2-, 3- and 4-byte characters, a leading BOM, long keys', () => {
    const keys = ['é', 'ключ', '键', '🔑', 'a🔑b', '\uFEFFbom', 'x'.repeat(200), 'ü'.repeat(100), '混合 mixed ✓ 🎉']
    const records = keys.map((key, i) => ({ key: null, value: null, timestamp: i, headers: [{ key, value: utf8(key) }] }))
    const decoded = roundTrip({ baseOffset: 0, records })
    for (let i = 0; i < keys.length; i++) assert.equal(decoded[i].headers[0].key, keys[i])
  })

  test('a lone surrogate in a header key is encoded as U+FFFD, as TextEncoder does', () => {
    const batch = encodeRecordBatch({ baseOffset: 0, records: [{ key: null, value: null, timestamp: 0, headers: [{ key: 'a\uD800b', value: null }] }] })
    assert.equal(decodeRecords(batch)[0].headers[0].key, 'a\uFFFDb')
  })

  test('timestamps before and after the first record, and maxTimestamp', () => {
    const records = [5_000, 4_000, 9_000, -20, 0, 5_000].map((timestamp) => ({ key: null, value: null, timestamp }))
    const batch = encodeRecordBatch({ baseOffset: 0, records })
    const header = readBatchHeader(batch)
    assert.equal(header.baseTimestamp, 5_000)
    assert.equal(header.maxTimestamp, 9_000)
    roundTrip({ baseOffset: 0, records })
  })

  test('timestamps and offsets near the ends of the safe integer range', () => {
    roundTrip({ baseOffset: MAX_SAFE - 2, records: [{ key: null, value: null, timestamp: MAX_SAFE }, { key: null, value: null, timestamp: 0 }, { key: null, value: null, timestamp: 1 }] })
    roundTrip({ baseOffset: 0, records: [{ key: null, value: null, timestamp: -(2 ** 52) }, { key: null, value: null, timestamp: 2 ** 52 - 1 }] })
  })

  test('many records of many sizes, crossing every varint length boundary', () => {
    const sizes = [0, 1, 63, 64, 65, 127, 128, 8191, 8192, 70_000]
    const records: NewRecord[] = []
    for (let i = 0; i < 5_000; i++) {
      const size = i < sizes.length ? sizes[i] : i % 300
      records.push({
        key: i % 3 === 0 ? null : utf8(`key-${i}`),
        value: Uint8Array.from({ length: size }, (_, j) => (i + j) & 0xff),
        timestamp: 1_700_000_000_000 + ((i * 7919) % 100_000) - 50_000,
        headers: i % 5 === 0 ? [{ key: `h${i}`, value: i % 10 === 0 ? null : utf8(String(i)) }] : undefined,
      })
    }
    const decoded = roundTrip({ baseOffset: 1_000_000, records })
    assert.equal(decoded.length, 5_000)
    const header = readBatchHeader(encodeRecordBatch({ baseOffset: 1_000_000, records }))
    assert.equal(header.recordCount, 5_000)
    assert.equal(header.lastOffsetDelta, 4_999)
  })

  test('header defaults and flags', () => {
    const records = [{ key: null, value: null, timestamp: 1 }]
    const plainHeader = readBatchHeader(encodeRecordBatch({ baseOffset: 3, records }))
    assert.deepEqual(
      { ...plainHeader, crc: 0, batchLength: 0 },
      { baseOffset: 3, batchLength: 0, partitionLeaderEpoch: 0, magic: 2, crc: 0, attributes: 0, compression: 0, lastOffsetDelta: 0, baseTimestamp: 1, maxTimestamp: 1, producerId: -1, producerEpoch: -1, baseSequence: -1, recordCount: 1 },
    )
    const flagged = readBatchHeader(encodeRecordBatch({ baseOffset: 3, records, isTransactional: true, timestampType: 1, producerId: 2 ** 40, producerEpoch: 32767, baseSequence: 2 ** 31 - 1, partitionLeaderEpoch: -1 }))
    assert.equal(flagged.attributes, 0x18)
    assert.equal(flagged.compression, 0)
    assert.equal(flagged.producerId, 2 ** 40)
    assert.equal(flagged.producerEpoch, 32767)
    assert.equal(flagged.baseSequence, 2 ** 31 - 1)
    assert.equal(flagged.partitionLeaderEpoch, -1)
  })

  test('LogAppendTime batches give every record maxTimestamp, as Kafka\'s DefaultRecordBatch', () => {
    const records = [3, 1, 2].map((timestamp) => ({ key: null, value: null, timestamp }))
    const decoded = decodeRecords(encodeRecordBatch({ baseOffset: 0, timestampType: 1, records }))
    assert.deepEqual(decoded.map((r) => r.timestamp), [3, 3, 3])
  })

  test('decoded bytes are views into the batch, not copies', () => {
    const batch = encodeRecordBatch({ baseOffset: 0, records: [{ key: utf8('k'), value: utf8('v'), timestamp: 0 }] })
    const [record] = decodeRecords(batch)
    assert.equal(record.key?.buffer, batch.buffer)
    assert.equal(record.value?.buffer, batch.buffer)
  })

  test('a batch inside a larger buffer (non-zero byteOffset) decodes', () => {
    const batch = encodeRecordBatch({ baseOffset: 9, records: [{ key: utf8('k'), value: utf8('v'), timestamp: 2 ** 41 }] })
    const backing = new Uint8Array(batch.length + 13)
    backing.set(batch, 5)
    const view = backing.subarray(5, 5 + batch.length)
    assert.equal(verifyBatchCrc(view), true)
    assert.deepEqual(plain(decodeRecords(view)), plain(decodeRecords(batch)))
  })
})

describe('in-place header rewrites', () => {
  const records = [1, 2, 3].map((i) => ({ key: utf8(`k${i}`), value: utf8(`v${i}`), timestamp: i }))

  test('setBaseOffset moves every offset and keeps the CRC valid', () => {
    const batch = encodeRecordBatch({ baseOffset: 0, records })
    const before = batch.slice()
    setBaseOffset(batch, 2 ** 40)
    assert.equal(verifyBatchCrc(batch), true)
    assert.equal(readBatchHeader(batch).baseOffset, 2 ** 40)
    assert.deepEqual(decodeRecords(batch).map((r) => r.offset), [2 ** 40, 2 ** 40 + 1, 2 ** 40 + 2])
    assert.deepEqual([...batch.subarray(8)], [...before.subarray(8)], 'only the first 8 bytes change')
  })

  test('setPartitionLeaderEpoch keeps the CRC valid', () => {
    const batch = encodeRecordBatch({ baseOffset: 0, records })
    setPartitionLeaderEpoch(batch, 17)
    assert.equal(verifyBatchCrc(batch), true)
    assert.equal(readBatchHeader(batch).partitionLeaderEpoch, 17)
  })

  test('refuses offsets and epochs the format or a JS number cannot hold', () => {
    const batch = encodeRecordBatch({ baseOffset: 0, records })
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53, MAX_SAFE - 1]) {
      assert.throws(() => setBaseOffset(batch, bad), isCodecError('INVALID_RECORD'), `baseOffset ${bad}`)
    }
    for (const bad of [2 ** 31, -(2 ** 31) - 1, 0.5]) {
      assert.throws(() => setPartitionLeaderEpoch(batch, bad), isCodecError('INVALID_RECORD'), `epoch ${bad}`)
    }
    assert.equal(readBatchHeader(batch).baseOffset, 0)
    assert.throws(() => setBaseOffset(batch.subarray(0, 30), 1), isCodecError('CORRUPT_MESSAGE'))
  })
})

describe('splitBatches', () => {
  const batches = [1, 5, 2].map((count, b) =>
    encodeRecordBatch({ baseOffset: b * 100, records: Array.from({ length: count }, (_, i) => ({ key: null, value: utf8(`${b}:${i}`), timestamp: i })) }),
  )
  const concatenated = new Uint8Array(batches.reduce((n, b) => n + b.length, 0))
  batches.reduce((at, b) => (concatenated.set(b, at), at + b.length), 0)

  test('splits a concatenation back into its batches', () => {
    const split = splitBatches(concatenated)
    assert.equal(split.length, 3)
    split.forEach((batch, i) => assert.deepEqual([...batch], [...batches[i]]))
    assert.equal(readBatchHeader(concatenated, batches[0].length).baseOffset, 100)
    assert.equal(verifyBatchCrc(concatenated, batches[0].length), true)
  })

  test('empty input is no batches', () => {
    assert.deepEqual(splitBatches(new Uint8Array(0)), [])
  })

  test('a trailing partial batch or stray bytes are refused', () => {
    for (let cut = 1; cut < batches[2].length; cut += 7) {
      assert.throws(() => splitBatches(concatenated.subarray(0, concatenated.length - cut)), isCodecError('CORRUPT_MESSAGE'), `cut ${cut}`)
    }
    const withStray = new Uint8Array(concatenated.length + 3)
    withStray.set(concatenated)
    assert.throws(() => splitBatches(withStray), isCodecError('CORRUPT_MESSAGE'))
  })

  test('decodeRecords refuses a buffer holding more than one batch', () => {
    assert.throws(() => decodeRecords(concatenated), isCodecError('CORRUPT_MESSAGE'))
  })
})

describe('corrupt input is refused', () => {
  const good = encodeRecordBatch({
    baseOffset: 5,
    records: [
      { key: utf8('a'), value: utf8('hello'), timestamp: 10, headers: [{ key: 'h', value: utf8('1') }] },
      { key: null, value: utf8('world'), timestamp: 12 },
    ],
  })

  test('every truncation of a batch', () => {
    for (let length = 0; length < good.length; length++) {
      const prefix = good.slice(0, length)
      assert.throws(() => decodeRecords(prefix), isCodecError('CORRUPT_MESSAGE'), `decode ${length}`)
      assert.throws(() => readBatchHeader(prefix), isCodecError('CORRUPT_MESSAGE'), `header ${length}`)
      assert.throws(() => verifyBatchCrc(prefix), isCodecError('CORRUPT_MESSAGE'), `crc ${length}`)
    }
  })

  test('a flipped bit after the CRC field fails verification', () => {
    for (let at = 21; at < good.length; at++) {
      const copy = good.slice()
      copy[at] ^= 0x04
      assert.equal(verifyBatchCrc(copy), false, `byte ${at}`)
    }
    const crcFlipped = good.slice()
    crcFlipped[19] ^= 0x80
    assert.equal(verifyBatchCrc(crcFlipped), false)
  })

  test('the reference builder makes valid batches (so the cases below test one fault each)', () => {
    const batch = rawBatch({ recordCount: 2, records: [simpleRecord(0), simpleRecord(1)] })
    assert.equal(verifyBatchCrc(batch), true)
    assert.deepEqual(decodeRecords(batch).map((r) => r.offset), [0, 1])
  })

  const headerFaults: Array<[string, RawBatch]> = [
    ['magic 1', { magic: 1, recordCount: 1, records: [simpleRecord(0)] }],
    ['magic 0', { magic: 0, recordCount: 1, records: [simpleRecord(0)] }],
    ['batchLength past the end of the buffer', { batchLengthAdjust: 1, recordCount: 1, records: [simpleRecord(0)] }],
    ['batchLength below the header size', { batchLengthAdjust: -8, recordCount: 0, records: [] }],
  ]
  for (const [name, raw] of headerFaults) {
    test(name, () => {
      const batch = rawBatch(raw)
      for (const call of [readBatchHeader, verifyBatchCrc, decodeRecords, splitBatches, (b: Uint8Array) => setBaseOffset(b, 1)]) {
        assert.throws(() => call(batch), isCodecError('CORRUPT_MESSAGE'), call.name)
      }
    })
  }

  const structural: Array<[string, RawBatch]> = [
    ['negative record count', { recordCount: -1, records: [simpleRecord(0)] }],
    ['record count above the records present', { recordCount: 2, lastOffsetDelta: 1, records: [simpleRecord(0)] }],
    ['record count below the records present (trailing bytes)', { recordCount: 1, records: [simpleRecord(0), simpleRecord(1)] }],
    ['record count no batch could hold', { recordCount: 0x7fffffff, records: [simpleRecord(0)] }],
    ['record length longer than its fields', { recordCount: 1, records: [rawRecord((w) => w.int8(0).varlong(0).varint(0).varint(-1).varint(-1).varint(0).int8(0))] }],
    ['record length shorter than its fields', { recordCount: 1, records: [rawRecord((w) => w.int8(0).varlong(0).varint(0).varint(-1).varint(1).bytes(utf8('a')).varint(0), 6)] }],
    // The next record would still parse: only the record length check can catch this one.
    ['record length one short, header present', { recordCount: 2, records: [rawRecord((w) => w.int8(0).varlong(0).varint(0).varint(-1).varint(-1).varint(1).varint(1).bytes(utf8('k')).varint(-1), 8), simpleRecord(1)] }],
    ['record length below the minimum', { recordCount: 1, records: [rawRecord((w) => w.int8(0).varlong(0).varint(0).varint(-1).varint(-1), 5)] }],
    ['record length past the batch', { recordCount: 1, records: [rawRecord((w) => w.int8(0).varlong(0).varint(0).varint(-1).varint(-1).varint(0), 100)] }],
    ['negative record length', { recordCount: 1, records: [rawRecord((w) => w.int8(0).varlong(0).varint(0).varint(-1).varint(-1).varint(0), -1)] }],
    ['key length below -1', { recordCount: 1, records: [rawRecord((w) => w.int8(0).varlong(0).varint(0).varint(-2).varint(-1).varint(0))] }],
    ['key length past the record', { recordCount: 1, records: [rawRecord((w) => w.int8(0).varlong(0).varint(0).varint(50).varint(-1).varint(0))] }],
    ['value length below -1', { recordCount: 1, records: [rawRecord((w) => w.int8(0).varlong(0).varint(0).varint(-1).varint(-7).varint(0))] }],
    ['negative header count', { recordCount: 1, records: [rawRecord((w) => w.int8(0).varlong(0).varint(0).varint(-1).varint(-1).varint(-1))] }],
    ['header count far above the bytes present', { recordCount: 1, records: [rawRecord((w) => w.int8(0).varlong(0).varint(0).varint(-1).varint(-1).varint(0x3fffffff))] }],
    ['null header key', { recordCount: 1, records: [rawRecord((w) => w.int8(0).varlong(0).varint(0).varint(-1).varint(-1).varint(1).varint(-1).varint(-1))] }],
    ['header value length below -1', { recordCount: 1, records: [rawRecord((w) => w.int8(0).varlong(0).varint(0).varint(-1).varint(-1).varint(1).varint(1).bytes(utf8('k')).varint(-3))] }],
    ['overlong varint record length', { recordCount: 1, records: [Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0, 0, 1, 1, 0)] }],
    ['duplicate offset delta', { recordCount: 2, records: [simpleRecord(0), simpleRecord(0)] }],
    ['decreasing offset delta', { recordCount: 2, lastOffsetDelta: 2, records: [simpleRecord(1), simpleRecord(0)] }],
    ['negative offset delta', { recordCount: 1, lastOffsetDelta: 0, records: [simpleRecord(-1)] }],
    ['offset delta above lastOffsetDelta', { recordCount: 2, lastOffsetDelta: 1, records: [simpleRecord(0), simpleRecord(2)] }],
    ['timestamp overflowing the safe integer range', { baseTimestamp: MAX_SAFE, maxTimestamp: MAX_SAFE, recordCount: 1, records: [simpleRecord(0, 1)] }],
  ]
  for (const [name, raw] of structural) {
    test(`${name} (with a valid CRC)`, () => {
      const batch = rawBatch(raw)
      assert.equal(verifyBatchCrc(batch), true, 'only the structure is wrong')
      assert.throws(() => decodeRecords(batch), isCodecError('CORRUPT_MESSAGE'))
    })
  }

  test('a baseOffset beyond 2^53 is refused rather than rounded', () => {
    const batch = rawBatch({ recordCount: 1, records: [simpleRecord(0)] })
    new DataView(batch.buffer).setBigInt64(0, 2n ** 60n) // outside the CRC
    assert.throws(() => readBatchHeader(batch), isCodecError('CORRUPT_MESSAGE'))
    assert.throws(() => decodeRecords(batch), isCodecError('CORRUPT_MESSAGE'))
  })

  test('a producer id beyond 2^53 is refused rather than rounded', () => {
    const batch = rawBatch({ recordCount: 1, records: [simpleRecord(0)] })
    new DataView(batch.buffer).setBigInt64(43, 2n ** 62n)
    assert.throws(() => readBatchHeader(batch), isCodecError('CORRUPT_MESSAGE'))
  })

  test('compressed batches are reported as unsupported, not corrupt', () => {
    for (let compression = 1; compression <= 7; compression++) {
      const batch = rawBatch({ attributes: compression, recordCount: 1, records: [new Uint8Array(20)] })
      assert.equal(readBatchHeader(batch).compression, compression)
      assert.equal(verifyBatchCrc(batch), true)
      assert.throws(() => decodeRecords(batch), isCodecError('UNSUPPORTED_COMPRESSION_TYPE'), `type ${compression}`)
    }
  })

  test('offset gaps left by compaction are valid', () => {
    const batch = rawBatch({ baseOffset: 100, recordCount: 2, lastOffsetDelta: 9, records: [simpleRecord(3), simpleRecord(7)] })
    assert.deepEqual(decodeRecords(batch).map((r) => r.offset), [103, 107])
    assert.equal(readBatchHeader(batch).lastOffsetDelta, 9)
  })

  test('an empty batch (kept by compaction for producer state) decodes to no records', () => {
    const batch = rawBatch({ recordCount: 0, lastOffsetDelta: 4, records: [] })
    assert.deepEqual(decodeRecords(batch), [])
  })

  test('non-zero record attributes are ignored, as Kafka ignores them', () => {
    const batch = rawBatch({ recordCount: 1, records: [rawRecord((w) => w.int8(0x7f).varlong(0).varint(0).varint(-1).varint(-1).varint(0))] })
    assert.equal(decodeRecords(batch).length, 1)
  })
})

describe('encoder input validation', () => {
  const record = { key: null, value: null, timestamp: 0 }
  const cases: Array<[string, EncodeBatchOptions]> = [
    ['no records', { baseOffset: 0, records: [] }],
    ['negative baseOffset', { baseOffset: -1, records: [record] }],
    ['fractional baseOffset', { baseOffset: 1.5, records: [record] }],
    ['baseOffset beyond 2^53', { baseOffset: 2 ** 53, records: [record] }],
    ['offsets running past 2^53', { baseOffset: MAX_SAFE, records: [record, record] }],
    ['partitionLeaderEpoch beyond int32', { baseOffset: 0, partitionLeaderEpoch: 2 ** 31, records: [record] }],
    ['producerId beyond 2^53', { baseOffset: 0, producerId: 2 ** 53, records: [record] }],
    ['producerEpoch beyond int16', { baseOffset: 0, producerEpoch: 32768, records: [record] }],
    ['baseSequence beyond int32', { baseOffset: 0, baseSequence: 2 ** 31, records: [record] }],
    ['unknown timestampType', { baseOffset: 0, timestampType: 2 as 0, records: [record] }],
    ['NaN timestamp', { baseOffset: 0, records: [{ ...record, timestamp: Number.NaN }] }],
    ['fractional timestamp', { baseOffset: 0, records: [{ ...record, timestamp: 1.5 }] }],
    ['timestamp beyond 2^53', { baseOffset: 0, records: [record, { ...record, timestamp: 2 ** 53 }] }],
    ['timestamp delta beyond 2^53', { baseOffset: 0, records: [{ ...record, timestamp: -MAX_SAFE }, { ...record, timestamp: MAX_SAFE }] }],
    ['string key', { baseOffset: 0, records: [{ ...record, key: 'k' as unknown as Uint8Array }] }],
    ['array value', { baseOffset: 0, records: [{ ...record, value: [1, 2] as unknown as Uint8Array }] }],
    ['headers not an array', { baseOffset: 0, records: [{ ...record, headers: {} as unknown as [] }] }],
    ['non-string header key', { baseOffset: 0, records: [{ ...record, headers: [{ key: 1 as unknown as string, value: null }] }] }],
    ['string header value', { baseOffset: 0, records: [{ ...record, headers: [{ key: 'k', value: 'v' as unknown as Uint8Array }] }] }],
    ['a null record', { baseOffset: 0, records: [record, null as unknown as NewRecord] }],
  ]
  for (const [name, options] of cases) {
    test(name, () => {
      assert.throws(() => encodeRecordBatch(options), isCodecError('INVALID_RECORD'))
    })
  }

  test('undefined key and value are treated as null', () => {
    const batch = encodeRecordBatch({ baseOffset: 0, records: [{ key: undefined as unknown as null, value: undefined as unknown as null, timestamp: 0 }] })
    const [decoded] = decodeRecords(batch)
    assert.equal(decoded.key, null)
    assert.equal(decoded.value, null)
  })
})

// ---------------------------------------------------------------------------------------------

const bytesArb = fc.uint8Array({ maxLength: 80 })
const headerArb = fc.record({ key: fc.string({ unit: 'binary', maxLength: 12 }), value: fc.option(bytesArb, { nil: null }) })
const timestampArb = fc.oneof(
  fc.integer({ min: 1_600_000_000_000, max: 1_800_000_000_000 }),
  fc.integer({ min: -(2 ** 52 - 1), max: 2 ** 52 - 1 }),
)
const recordArb: fc.Arbitrary<NewRecord> = fc.record(
  {
    key: fc.option(bytesArb, { nil: null }),
    value: fc.option(bytesArb, { nil: null }),
    headers: fc.array(headerArb, { maxLength: 4 }),
    timestamp: timestampArb,
  },
  { requiredKeys: ['key', 'value', 'timestamp'] },
)
const optionsArb: fc.Arbitrary<EncodeBatchOptions> = fc.record({
  baseOffset: fc.oneof(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: 2 ** 52 })),
  partitionLeaderEpoch: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
  producerId: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 2 ** 52 })),
  producerEpoch: fc.integer({ min: -1, max: 32767 }),
  baseSequence: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
  isTransactional: fc.boolean(),
  records: fc.array(recordArb, { minLength: 1, maxLength: 25 }),
})

describe('properties', () => {
  test('encode then decode gives every record and header field back', () => {
    fc.assert(
      fc.property(optionsArb, (options) => {
        const batch = encodeRecordBatch(options)
        const header = readBatchHeader(batch)
        assert.equal(header.baseOffset, options.baseOffset)
        assert.equal(header.batchLength, batch.length - 12)
        assert.equal(header.partitionLeaderEpoch, options.partitionLeaderEpoch)
        assert.equal(header.producerId, options.producerId)
        assert.equal(header.producerEpoch, options.producerEpoch)
        assert.equal(header.baseSequence, options.baseSequence)
        assert.equal(header.attributes, options.isTransactional ? 0x10 : 0)
        assert.equal(header.recordCount, options.records.length)
        assert.equal(header.lastOffsetDelta, options.records.length - 1)
        assert.equal(header.baseTimestamp, options.records[0].timestamp)
        assert.equal(header.maxTimestamp, Math.max(...options.records.map((r) => r.timestamp)))
        assert.equal(verifyBatchCrc(batch), true)
        assert.deepEqual(plain(decodeRecords(batch)), plain(expected(options.records, options.baseOffset)))
      }),
      { numRuns: 500 },
    )
  })

  // baseOffset and partitionLeaderEpoch sit outside the CRC by design (the leader rewrites them).
  const outsideCrc = (at: number) => at < 8 || (at >= 12 && at < 16)

  test('a mutated batch is caught by the CRC or refused; it is never silently misread', () => {
    fc.assert(
      fc.property(optionsArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (options, where, flip) => {
        const batch = encodeRecordBatch(options)
        const original = decodeRecords(batch)
        const at = where % batch.length
        batch[at] ^= flip
        let crcOk: boolean
        try {
          crcOk = verifyBatchCrc(batch)
        } catch (error) {
          assert.ok(error instanceof CodecError, String(error))
          return
        }
        if (!outsideCrc(at)) {
          assert.equal(crcOk, false, `mutation at byte ${at} went undetected`)
        } else {
          // Only offsets (or the epoch) may change; every other field decodes as before.
          let decoded: BatchRecord[]
          try {
            decoded = decodeRecords(batch)
          } catch (error) {
            assert.ok(error instanceof CodecError, String(error))
            return
          }
          const shift = readBatchHeader(batch).baseOffset - options.baseOffset
          assert.deepEqual(plain(decoded), plain(original.map((r) => ({ ...r, offset: r.offset + shift }))))
        }
      }),
      { numRuns: 2000 },
    )
  })

  test('the decoder itself (no CRC check) only ever returns or throws CodecError on mutated input', () => {
    fc.assert(
      fc.property(optionsArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (options, mutations) => {
        const batch = encodeRecordBatch(options)
        for (const [where, byte] of mutations) batch[BATCH_HEADER_SIZE - 40 + (where % (batch.length - BATCH_HEADER_SIZE + 40))] = byte
        for (const call of [() => readBatchHeader(batch), () => verifyBatchCrc(batch), () => splitBatches(batch), () => decodeRecords(batch)]) {
          try {
            call()
          } catch (error) {
            assert.ok(error instanceof CodecError, `${(error as Error).name}: ${(error as Error).message}`)
          }
        }
      }),
      { numRuns: 2000 },
    )
  })

  test('arbitrary bytes only ever return or throw CodecError', () => {
    const header = rawBatch({ recordCount: 1, records: [] }).subarray(0, BATCH_HEADER_SIZE)
    const inputArb = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      // A plausible header followed by random record bytes, with batchLength patched to match.
      fc.uint8Array({ maxLength: 200 }).map((tail) => {
        const bytes = new Uint8Array(BATCH_HEADER_SIZE + tail.length)
        bytes.set(header)
        bytes.set(tail, BATCH_HEADER_SIZE)
        new DataView(bytes.buffer).setInt32(8, bytes.length - 12)
        new DataView(bytes.buffer).setInt32(57, tail[0] ?? 0)
        return bytes
      }),
    )
    fc.assert(
      fc.property(inputArb, (bytes) => {
        for (const call of [() => readBatchHeader(bytes), () => verifyBatchCrc(bytes), () => splitBatches(bytes), () => decodeRecords(bytes)]) {
          try {
            call()
          } catch (error) {
            assert.ok(error instanceof CodecError, `${(error as Error).name}: ${(error as Error).message}`)
          }
        }
      }),
      { numRuns: 3000 },
    )
  })
})
