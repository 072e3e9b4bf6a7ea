// Cross-checks our RecordBatch v2 codec against an independent implementation that talks to real
// Kafka brokers: kafkajs 2.2.4's protocol encoder and decoder (CommonJS, Node Buffer based).
// Both directions are checked field by field, and the two encoders must agree byte for byte.
//
// What kafkajs cannot express, and where it is covered instead:
// - a null header value: its encoder measures header values with Buffer.byteLength, which throws
//   on null. Covered here in the ours -> kafkajs direction (its decoder reads null fine) and in
//   codec.test.ts round trips.
// - LogAppendTime: its encoder always writes timestampType 0. Covered in the ours -> kafkajs
//   direction and in codec.test.ts.
// - producerEpoch/baseSequence -1 defaults: its defaults are 0, so every case passes them.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import fc from 'fast-check'
import {
  decodeRecords,
  encodeRecordBatch,
  readBatchHeader,
  verifyBatchCrc,
  type NewRecord,
  type RecordHeader,
} from '../../src/codec/record-batch.ts'

const require = createRequire(import.meta.url)
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js')
const KafkajsRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js')
const decodeKafkajsBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js')
const KafkajsDecoder = require('kafkajs/src/protocol/decoder.js')
const kafkajsCrc32C: (buffer: Buffer) => number = require('kafkajs/src/protocol/recordBatch/crc32C/index.js')

interface BatchSpec {
  baseOffset: number
  partitionLeaderEpoch: number
  producerId: number
  producerEpoch: number
  baseSequence: number
  isTransactional: boolean
  records: NewRecord[]
}

interface KafkajsDecodedRecord {
  offset: string
  timestamp: string
  key: Buffer | null
  value: Buffer | null
  headers: Record<string, Buffer | null | Array<Buffer | null>>
}

interface KafkajsDecodedBatch {
  firstOffset: string
  firstTimestamp: string
  maxTimestamp: string
  partitionLeaderEpoch: number
  inTransaction: boolean
  lastOffsetDelta: number
  producerId: string
  producerEpoch: number
  firstSequence: number
  timestampType: number
  records: KafkajsDecodedRecord[]
}

const buffer = (bytes: Uint8Array | null) => (bytes === null ? null : Buffer.from(bytes))
const utf8 = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'))

/** kafkajs takes headers as an object; repeated keys become arrays, in insertion order. */
function kafkajsHeaders(headers: RecordHeader[] = []): Record<string, Buffer | Buffer[]> {
  const out: Record<string, Buffer | Buffer[]> = Object.create(null)
  for (const { key, value } of headers) {
    if (value === null) throw new Error('kafkajs cannot encode a null header value')
    const existing = out[key]
    if (existing === undefined) out[key] = Buffer.from(value)
    else out[key] = Array.isArray(existing) ? [...existing, Buffer.from(value)] : [existing, Buffer.from(value)]
  }
  return out
}

/** The header list our decoder should produce from a kafkajs-style header object. */
function headersAsList(headers: KafkajsDecodedRecord['headers']): Array<{ key: string; value: number[] | null }> {
  const list: Array<{ key: string; value: number[] | null }> = []
  for (const [key, value] of Object.entries(headers)) {
    for (const one of Array.isArray(value) ? value : [value]) list.push({ key, value: one === null ? null : [...one] })
  }
  return list
}

async function encodeWithKafkajs(spec: BatchSpec): Promise<Uint8Array> {
  const firstTimestamp = spec.records[0].timestamp
  const records = spec.records.map((record, i) =>
    KafkajsRecord({
      offsetDelta: i,
      timestampDelta: record.timestamp - firstTimestamp,
      key: buffer(record.key),
      value: buffer(record.value),
      headers: kafkajsHeaders(record.headers),
    }),
  )
  const encoder = await RecordBatch({
    firstOffset: spec.baseOffset,
    firstTimestamp,
    maxTimestamp: Math.max(...spec.records.map((r) => r.timestamp)),
    partitionLeaderEpoch: spec.partitionLeaderEpoch,
    lastOffsetDelta: spec.records.length - 1,
    transactional: spec.isTransactional,
    producerId: spec.producerId,
    producerEpoch: spec.producerEpoch,
    firstSequence: spec.baseSequence,
    records,
  })
  return new Uint8Array(encoder.buffer)
}

async function decodeWithKafkajs(bytes: Uint8Array): Promise<KafkajsDecodedBatch> {
  return decodeKafkajsBatch(new KafkajsDecoder(Buffer.from(bytes)))
}

/** kafkajs -> ours: every header and record field. */
function assertOursDecodes(bytes: Uint8Array, spec: BatchSpec): void {
  assert.equal(verifyBatchCrc(bytes), true, 'the kafkajs batch carries a CRC-32C we accept')
  const header = readBatchHeader(bytes)
  assert.equal(header.baseOffset, spec.baseOffset)
  assert.equal(header.batchLength, bytes.length - 12)
  assert.equal(header.partitionLeaderEpoch, spec.partitionLeaderEpoch)
  assert.equal(header.magic, 2)
  assert.equal(header.attributes, spec.isTransactional ? 0x10 : 0)
  assert.equal(header.lastOffsetDelta, spec.records.length - 1)
  assert.equal(header.baseTimestamp, spec.records[0].timestamp)
  assert.equal(header.maxTimestamp, Math.max(...spec.records.map((r) => r.timestamp)))
  assert.equal(header.producerId, spec.producerId)
  assert.equal(header.producerEpoch, spec.producerEpoch)
  assert.equal(header.baseSequence, spec.baseSequence)
  assert.equal(header.recordCount, spec.records.length)
  const decoded = decodeRecords(bytes)
  assert.equal(decoded.length, spec.records.length)
  decoded.forEach((record, i) => {
    const source = spec.records[i]
    assert.equal(record.offset, spec.baseOffset + i)
    assert.equal(record.timestamp, source.timestamp)
    assert.deepEqual(buffer(record.key), buffer(source.key))
    assert.deepEqual(buffer(record.value), buffer(source.value))
    const expectedHeaders = (source.headers ?? []).map((h) => ({ key: h.key, value: h.value === null ? null : [...h.value] }))
    assert.deepEqual(record.headers.map((h) => ({ key: h.key, value: h.value === null ? null : [...h.value] })), expectedHeaders)
  })
}

/** ours -> kafkajs: every field kafkajs exposes, plus its CRC-32C over our bytes. */
async function assertKafkajsDecodes(bytes: Uint8Array, spec: BatchSpec & { timestampType?: 0 | 1 }): Promise<void> {
  const stored = new DataView(bytes.buffer, bytes.byteOffset).getUint32(17)
  assert.equal(kafkajsCrc32C(Buffer.from(bytes.subarray(21))), stored, 'kafkajs computes the same CRC-32C')
  const batch = await decodeWithKafkajs(bytes)
  const maxTimestamp = Math.max(...spec.records.map((r) => r.timestamp))
  assert.equal(batch.firstOffset, String(spec.baseOffset))
  assert.equal(batch.firstTimestamp, String(spec.records[0].timestamp))
  assert.equal(batch.maxTimestamp, String(maxTimestamp))
  assert.equal(batch.partitionLeaderEpoch, spec.partitionLeaderEpoch)
  assert.equal(batch.inTransaction, spec.isTransactional)
  assert.equal(batch.lastOffsetDelta, spec.records.length - 1)
  assert.equal(batch.producerId, String(spec.producerId))
  assert.equal(batch.producerEpoch, spec.producerEpoch)
  assert.equal(batch.firstSequence, spec.baseSequence)
  assert.equal(batch.timestampType, spec.timestampType ?? 0)
  assert.equal(batch.records.length, spec.records.length)
  batch.records.forEach((record, i) => {
    const source = spec.records[i]
    assert.equal(record.offset, String(spec.baseOffset + i))
    assert.equal(record.timestamp, String(spec.timestampType === 1 ? maxTimestamp : source.timestamp))
    assert.deepEqual(record.key, buffer(source.key))
    assert.deepEqual(record.value, buffer(source.value))
    const expectedHeaders = (source.headers ?? []).map((h) => ({ key: h.key, value: h.value === null ? null : [...h.value] }))
    // kafkajs groups repeated keys; compare as multisets per key, in order within a key.
    const byKey = (list: Array<{ key: string; value: number[] | null }>) =>
      [...list].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    assert.deepEqual(byKey(headersAsList(record.headers)), byKey(expectedHeaders))
  })
}

// ---------------------------------------------------------------------------------------------

const specs: Array<[string, BatchSpec]> = [
  [
    'several records with keys and headers, idempotent producer fields, a leader epoch',
    {
      baseOffset: 1_000,
      partitionLeaderEpoch: 7,
      producerId: 4_242,
      producerEpoch: 3,
      baseSequence: 120,
      isTransactional: false,
      records: [
        { key: utf8('user-1'), value: utf8('{"n":1}'), timestamp: 1_700_000_000_000, headers: [{ key: 'trace-id', value: utf8('abc') }, { key: 'content-type', value: utf8('application/json') }] },
        { key: utf8('user-2'), value: utf8('{"n":2}'), timestamp: 1_700_000_000_010, headers: [{ key: 'trace-id', value: utf8('def') }] },
        { key: utf8('user-1'), value: utf8('{"n":3}'), timestamp: 1_700_000_000_005, headers: [] },
      ],
    },
  ],
  [
    'null key, empty value, empty key, repeated and UTF-8 header keys',
    {
      baseOffset: 0,
      partitionLeaderEpoch: 0,
      producerId: -1,
      producerEpoch: -1,
      baseSequence: -1,
      isTransactional: false,
      records: [
        { key: null, value: utf8('no key'), timestamp: 5_000 },
        { key: null, value: new Uint8Array(0), timestamp: 5_001, headers: [{ key: 'ключ', value: utf8('значение') }, { key: 'ключ', value: utf8('второй') }] },
        { key: new Uint8Array(0), value: utf8('x'), timestamp: 5_002, headers: [{ key: '🔑', value: new Uint8Array(0) }] },
      ],
    },
  ],
  [
    'a timestamp before the first record, large offsets and producer id, transactional',
    {
      baseOffset: 2 ** 45 + 17,
      partitionLeaderEpoch: 2 ** 31 - 1,
      producerId: 2 ** 50 + 3,
      producerEpoch: 32_767,
      baseSequence: 2 ** 31 - 10,
      isTransactional: true,
      records: [
        { key: utf8('k'), value: utf8('late'), timestamp: 1_700_000_100_000 },
        { key: utf8('k'), value: utf8('early'), timestamp: 1_699_999_000_000 },
      ],
    },
  ],
  [
    'a null value (a tombstone) and binary keys and values',
    {
      baseOffset: 99,
      partitionLeaderEpoch: 1,
      producerId: 0,
      producerEpoch: 0,
      baseSequence: 0,
      isTransactional: false,
      records: [
        { key: Uint8Array.of(0, 0xff, 0x80, 0x7f), value: null, timestamp: 1 },
        { key: Uint8Array.of(1), value: Uint8Array.from({ length: 5_000 }, (_, i) => (i * 31) & 0xff), timestamp: 2 },
      ],
    },
  ],
]

describe('kafkajs encodes, we decode', () => {
  for (const [name, spec] of specs) {
    test(name, async () => {
      assertOursDecodes(await encodeWithKafkajs(spec), spec)
    })
  }
})

describe('we encode, kafkajs decodes', () => {
  for (const [name, spec] of specs) {
    test(name, async () => {
      await assertKafkajsDecodes(encodeRecordBatch(spec), spec)
    })
  }

  test('a null header value', async () => {
    const spec: BatchSpec = {
      baseOffset: 3,
      partitionLeaderEpoch: 0,
      producerId: -1,
      producerEpoch: -1,
      baseSequence: -1,
      isTransactional: false,
      records: [{ key: null, value: utf8('v'), timestamp: 10, headers: [{ key: 'maybe', value: null }, { key: 'present', value: utf8('yes') }] }],
    }
    await assertKafkajsDecodes(encodeRecordBatch(spec), spec)
  })

  test('LogAppendTime: kafkajs also gives every record maxTimestamp', async () => {
    const spec = { ...specs[0][1], timestampType: 1 as const }
    await assertKafkajsDecodes(encodeRecordBatch(spec), spec)
  })
})

describe('the two encoders agree byte for byte', () => {
  for (const [name, spec] of specs) {
    test(name, async () => {
      assert.deepEqual([...encodeRecordBatch(spec)], [...(await encodeWithKafkajs(spec))])
    })
  }

  test('for arbitrary batches', async () => {
    const bytesArb = fc.uint8Array({ maxLength: 40 })
    // Distinct header keys: kafkajs's header object would regroup repeated keys. Keys that look
    // like array indexes are avoided too, because JS objects enumerate those first, and so are
    // Object.prototype names ("valueOf", "__proto__"), which kafkajs's decoder mistakes for an
    // earlier header with that key.
    const headerKeyArb = fc
      .string({ unit: 'binary', minLength: 1, maxLength: 8 })
      .filter((k) => !/^\d+$/.test(k) && !(k in Object.prototype))
    const headersArb = fc
      .uniqueArray(headerKeyArb, { maxLength: 3 })
      .chain((keys) => fc.tuple(...keys.map((key) => bytesArb.map((value) => ({ key, value })))))
    const recordArb = fc.record({
      key: fc.option(bytesArb, { nil: null }),
      value: fc.option(bytesArb, { nil: null }),
      timestamp: fc.integer({ min: 1_600_000_000_000, max: 1_800_000_000_000 }),
      headers: headersArb,
    })
    const specArb = fc.record({
      baseOffset: fc.integer({ min: 0, max: 2 ** 52 }),
      partitionLeaderEpoch: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
      producerId: fc.integer({ min: -1, max: 2 ** 52 }),
      producerEpoch: fc.integer({ min: -1, max: 32_767 }),
      baseSequence: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
      isTransactional: fc.boolean(),
      records: fc.array(recordArb, { minLength: 1, maxLength: 8 }),
    })
    await fc.assert(
      fc.asyncProperty(specArb, async (spec) => {
        const ours = encodeRecordBatch(spec)
        assert.deepEqual([...ours], [...(await encodeWithKafkajs(spec))])
        assertOursDecodes(ours, spec)
        await assertKafkajsDecodes(ours, spec)
      }),
      { numRuns: 200 },
    )
  })
})
