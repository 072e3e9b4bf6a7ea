// Compressed record batches: each codec against an independent implementation, and the
// decompression bound (compression bombs are refused at the limit, never inflated past it).
//
// Independent sides:
// - kafkajs 2.2.4 builds whole compressed batches: gzip with its built-in codec (Node zlib),
//   snappy with kafkajs-snappy 1.1.0 (raw snappy via snappyjs, the codec kafkajs users install),
//   lz4 with lz4js 0.2.0 (LZ4 frame format) and zstd with Bun's libzstd, both registered as
//   kafkajs codecs the way its codec plugins are.
// - snappy-java's "xerial" framing (what the Java client writes) is built here from snappyjs
//   raw blocks, chunked as snappy-java does.
// - The committed fixtures in test/fixtures/compressed/ (made by scripts/make-compression-fixtures.ts,
//   see its header) pin one batch per codec, so a runtime without these packages can check them.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import {
  compressBatch,
  decodeBatch,
  decodeRecords,
  encodeRecordBatch,
  encodeRetainedBatch,
  readBatchHeader,
  verifyBatchCrc,
  type NewRecord,
} from '../../src/codec/record-batch.ts'
import { COMPRESSION, decompress } from '../../src/codec/compression.ts'
import { CodecError } from '../../src/codec/errors.ts'
import { zstdDecompress } from '../../src/codec/zstd.ts'

const require = createRequire(import.meta.url)
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js')
const KafkajsRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js')
const decodeKafkajsBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js')
const KafkajsDecoder = require('kafkajs/src/protocol/decoder.js')
const { Codecs, Types } = require('kafkajs/src/protocol/message/compression/index.js')
const snappyjs = require('snappyjs')
const lz4js = require('lz4js')

Codecs[Types.Snappy] = require('kafkajs-snappy')
Codecs[Types.LZ4] = () => ({
  compress: async (encoder: { buffer: Buffer }) => Buffer.from(lz4js.compress(encoder.buffer)),
  decompress: async (buffer: Buffer) => Buffer.from(lz4js.decompress(buffer)),
})
Codecs[Types.ZSTD] = () => ({
  compress: async (encoder: { buffer: Buffer }) => Buffer.from(Bun.zstdCompressSync(encoder.buffer)),
  decompress: async (buffer: Buffer) => Buffer.from(Bun.zstdDecompressSync(buffer)),
})

const enc = new TextEncoder()
const dec = new TextDecoder()
const FIXTURES = join(import.meta.dirname, '../fixtures/compressed')

function sampleRecords(n: number): NewRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    key: i % 7 === 0 ? null : enc.encode(`user-${i % 13}`),
    value: i % 11 === 5 ? null : enc.encode(JSON.stringify({ i, text: 'lorem ipsum dolor sit amet '.repeat(1 + (i % 5)) })),
    headers: i % 3 === 0 ? [{ key: 'trace', value: enc.encode(`t-${i}`) }] : [],
    timestamp: 1_700_000_000_000 + i * 17,
  }))
}

async function kafkajsBatch(codec: number, records: NewRecord[], baseOffset = 40): Promise<Uint8Array> {
  const first = records[0]!.timestamp
  const encoder = await RecordBatch({
    compression: codec,
    firstOffset: baseOffset,
    firstTimestamp: first,
    maxTimestamp: Math.max(...records.map((r) => r.timestamp)),
    lastOffsetDelta: records.length - 1,
    producerId: 9,
    producerEpoch: 1,
    firstSequence: 30,
    records: records.map((r, i) =>
      KafkajsRecord({
        offsetDelta: i,
        timestampDelta: r.timestamp - first,
        key: r.key === null ? null : Buffer.from(r.key),
        value: r.value === null ? null : Buffer.from(r.value),
        headers: Object.fromEntries((r.headers ?? []).map((h) => [h.key, Buffer.from(h.value!)])),
      }),
    ),
  })
  return new Uint8Array(encoder.buffer)
}

function assertSameRecords(actual: Awaited<ReturnType<typeof decodeBatch>>, expected: NewRecord[], baseOffset: number): void {
  assert.equal(actual.length, expected.length)
  actual.forEach((r, i) => {
    const e = expected[i]!
    assert.equal(r.offset, baseOffset + i)
    assert.equal(r.timestamp, e.timestamp)
    assert.deepEqual(r.key === null ? null : [...r.key], e.key === null ? null : [...e.key])
    assert.deepEqual(r.value === null ? null : [...r.value], e.value === null ? null : [...e.value])
    assert.deepEqual(r.headers.map((h) => [h.key, dec.decode(h.value!)]), (e.headers ?? []).map((h) => [h.key, dec.decode(h.value!)]))
  })
}

/** A zstd frame of `blocks` run-length blocks of 128 KiB each: ~4 input bytes per 128 KiB out. */
function zstdRleBomb(blocks: number, windowLog = 20): Uint8Array {
  const out: number[] = [0x28, 0xb5, 0x2f, 0xfd, 0x00, (windowLog - 10) << 3]
  for (let i = 0; i < blocks; i++) {
    const header = (i === blocks - 1 ? 1 : 0) | (1 << 1) | (131072 << 3)
    out.push(header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, 0x41)
  }
  return new Uint8Array(out)
}

/** snappy-java's stream format: 16-byte header, then [int32 BE length][raw snappy] chunks. */
function xerialSnappy(data: Uint8Array, chunk = 32 * 1024): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1])]
  for (let at = 0; at < data.length; at += chunk) {
    const raw = snappyjs.compress(data.subarray(at, at + chunk)) as Uint8Array
    const len = new Uint8Array(4)
    new DataView(len.buffer).setInt32(0, raw.length)
    parts.push(len, raw)
  }
  return new Uint8Array(Buffer.concat(parts))
}

function isCodecError(code: string, pattern?: RegExp) {
  return (e: unknown) => e instanceof CodecError && e.code === code && (pattern === undefined || pattern.test(e.message))
}

describe('compressed record batches', () => {
  for (const [name, codec] of [['gzip', 1], ['snappy', 2], ['lz4', 3], ['zstd', 4]] as const) {
    test(`a ${name} batch built by kafkajs decodes to the same records, offsets and timestamps`, async () => {
      const records = sampleRecords(120)
      const batch = await kafkajsBatch(codec, records)
      assert.equal(verifyBatchCrc(batch), true)
      const header = readBatchHeader(batch)
      assert.equal(header.compression, codec)
      assert.ok(batch.length < 61 + records.reduce((s, r) => s + (r.value?.length ?? 0), 0) / 2, 'the records really are compressed')
      assertSameRecords(await decodeBatch(batch), records, 40)
      assert.throws(() => decodeRecords(batch), isCodecError('UNSUPPORTED_COMPRESSION_TYPE'), 'the synchronous decoder points to decodeBatch')
    })
  }

  test('a gzip batch we write (CompressionStream) decodes in kafkajs and in our decoder', async () => {
    const records = sampleRecords(200)
    const plain = encodeRecordBatch({ baseOffset: 0, records, producerId: 3, producerEpoch: 0, baseSequence: 0 })
    const gz = await compressBatch(plain, COMPRESSION.gzip)
    assert.equal(verifyBatchCrc(gz), true)
    assert.equal(readBatchHeader(gz).compression, 1)
    assert.ok(gz.length < plain.length / 3, `gzip shrinks the batch (${plain.length} -> ${gz.length})`)
    assertSameRecords(await decodeBatch(gz), records, 0)
    const theirs = await decodeKafkajsBatch(new KafkajsDecoder(Buffer.from(gz)))
    assert.equal(theirs.records.length, records.length)
    theirs.records.forEach((r: { offset: string; value: Buffer | null; key: Buffer | null }, i: number) => {
      assert.equal(r.offset, String(i))
      assert.deepEqual(r.value === null ? null : [...r.value], records[i]!.value === null ? null : [...records[i]!.value!])
    })
  })

  test('snappy in the Java client\'s xerial framing decodes, across several chunks', async () => {
    const records = sampleRecords(400)
    const plain = encodeRecordBatch({ baseOffset: 7, records })
    const framed = xerialSnappy(plain.subarray(61), 4096)
    const out = await decompress(COMPRESSION.snappy, framed, 1 << 24)
    assert.deepEqual(Buffer.from(out), Buffer.from(plain.subarray(61)))
  })

  test('lz4 with linked blocks and block checksums (lz4js writes neither) decodes', async () => {
    // Block 1 is stored raw; block 2's match reaches back into block 1, which only a decoder
    // that keeps the previous block (B.Indep = 0) can resolve. Each block has a 4-byte checksum.
    const le32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24]
    const block2 = [0x14, 0x58, 9, 0, 0x10, 0x59] // literal 'X', copy 8 from 9 back, literal 'Y'
    const frame = new Uint8Array([
      ...le32(0x184d2204), 0x40 | 0x10, 0x40, 0x00,
      ...le32((8 | 0x8000_0000) >>> 0), ...enc.encode('abcdefgh'), 1, 2, 3, 4,
      ...le32(block2.length), ...block2, 5, 6, 7, 8,
      ...le32(0),
    ])
    assert.equal(dec.decode(await decompress(COMPRESSION.lz4, frame, 1 << 20)), 'abcdefghXabcdefghY')
    // Two frames back to back (what a stream writer may flush) decode as one.
    const two = new Uint8Array([...(lz4js.compress(enc.encode('first;')) as Uint8Array), ...(lz4js.compress(enc.encode('second')) as Uint8Array)])
    assert.equal(dec.decode(await decompress(COMPRESSION.lz4, two, 1 << 20)), 'first;second')
  })

  test('the committed fixtures decode to the records they were made from', async () => {
    const expected = JSON.parse(readFileSync(join(FIXTURES, 'records.json'), 'utf8')) as Array<{ key: string | null; value: string | null; timestamp: number }>
    for (const name of ['gzip', 'snappy', 'snappy-xerial', 'lz4', 'zstd']) {
      const batch = new Uint8Array(readFileSync(join(FIXTURES, `${name}.bin`)))
      assert.equal(verifyBatchCrc(batch), true, `${name}: CRC`)
      const records = await decodeBatch(batch)
      assert.deepEqual(
        records.map((r) => ({ key: r.key && dec.decode(r.key), value: r.value && dec.decode(r.value), timestamp: r.timestamp })),
        expected,
        name,
      )
    }
  })

  test('a compacted batch keeps its base offset, last offset delta, producer fields and the survivors\' offsets, and can be gzipped again', async () => {
    const records = sampleRecords(10)
    const batch = encodeRecordBatch({ baseOffset: 100, records, producerId: 5, producerEpoch: 2, baseSequence: 50, partitionLeaderEpoch: 3 })
    const all = decodeRecords(batch)
    const kept = [all[1]!, all[4]!, all[9]!]
    const rewritten = encodeRetainedBatch(readBatchHeader(batch), kept)
    const h = readBatchHeader(rewritten)
    assert.equal(h.baseOffset, 100)
    assert.equal(h.lastOffsetDelta, 9)
    assert.equal(h.recordCount, 3)
    assert.deepEqual([h.producerId, h.producerEpoch, h.baseSequence, h.partitionLeaderEpoch], [5, 2, 50, 3])
    assert.equal(h.maxTimestamp, records[9]!.timestamp)
    assert.equal(verifyBatchCrc(rewritten), true)
    const decoded = decodeRecords(rewritten)
    assert.deepEqual(decoded.map((r) => r.offset), [101, 104, 109])
    assert.deepEqual(decoded.map((r) => r.timestamp), [records[1]!.timestamp, records[4]!.timestamp, records[9]!.timestamp])
    const gz = await compressBatch(rewritten, COMPRESSION.gzip)
    assert.deepEqual((await decodeBatch(gz)).map((r) => r.offset), [101, 104, 109])
    const theirs = await decodeKafkajsBatch(new KafkajsDecoder(Buffer.from(gz)))
    assert.deepEqual(theirs.records.map((r: { offset: string }) => r.offset), ['101', '104', '109'], 'kafkajs reads the offset gaps too')
  })
})

describe('compression bombs are refused at the limit', () => {
  const LIMIT = 1 << 20

  test('gzip: 32 MiB of zeros in ~32 KiB stops at the limit', async () => {
    const bomb = new Uint8Array(Bun.gzipSync(new Uint8Array(32 << 20)))
    assert.ok(bomb.length < 64 * 1024)
    await assert.rejects(decompress(COMPRESSION.gzip, bomb, LIMIT), isCodecError('DECOMPRESSED_TOO_LARGE', /gzip.*1048576/))
    // Just under the limit is fine.
    const ok = new Uint8Array(Bun.gzipSync(new Uint8Array(LIMIT)))
    assert.equal((await decompress(COMPRESSION.gzip, ok, LIMIT)).length, LIMIT)
  })

  test('zstd: a frame of run-length blocks with no stated size stops at the limit; a huge stated window or size is refused before decoding', async () => {
    const bomb = zstdRleBomb(1024) // 4 KiB in, 128 MiB out
    assert.ok(bomb.length < 5000)
    assert.throws(() => zstdLimit(bomb), isCodecError('DECOMPRESSED_TOO_LARGE'))
    assert.equal((await decompress(COMPRESSION.zstd, zstdRleBomb(8), LIMIT)).length, 8 * 131072, 'a small frame of the same shape decodes')
    // A 2 GiB window would make the decoder allocate 2 GiB up front.
    assert.throws(() => zstdLimit(zstdRleBomb(1, 31)), isCodecError('DECOMPRESSED_TOO_LARGE'))
    const stated = new Uint8Array(Bun.zstdCompressSync(new Uint8Array(8 << 20)))
    assert.throws(() => zstdLimit(stated), isCodecError('DECOMPRESSED_TOO_LARGE'))
  })

  test('lz4 and snappy: highly repetitive input stops at the limit; snappy\'s stated length is checked before allocating', async () => {
    const lz = lz4js.compress(new Uint8Array(8 << 20)) as Uint8Array
    await assert.rejects(decompress(COMPRESSION.lz4, lz, LIMIT), isCodecError('DECOMPRESSED_TOO_LARGE'))
    const sn = snappyjs.compress(new Uint8Array(8 << 20)) as Uint8Array
    await assert.rejects(decompress(COMPRESSION.snappy, sn, LIMIT), isCodecError('DECOMPRESSED_TOO_LARGE'))
    // A raw snappy block claiming 4 GiB in 5 bytes.
    await assert.rejects(decompress(COMPRESSION.snappy, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x41]), LIMIT), isCodecError('DECOMPRESSED_TOO_LARGE'))
    await assert.rejects(decompress(COMPRESSION.snappy, xerialSnappy(new Uint8Array(8 << 20)), LIMIT), isCodecError('DECOMPRESSED_TOO_LARGE'))
  })

  test('decodeBatch refuses a bomb inside a valid batch with a clear error, and the default limit applies', async () => {
    const plain = encodeRecordBatch({ baseOffset: 0, records: [{ key: null, value: new Uint8Array(3 << 20), timestamp: 1 }] })
    const gz = await compressBatch(plain, COMPRESSION.gzip)
    await assert.rejects(decodeBatch(gz, { maxDecompressedBytes: LIMIT }), isCodecError('DECOMPRESSED_TOO_LARGE', /more than the limit of 1048576 bytes/))
    assert.equal((await decodeBatch(gz)).length, 1, 'under the default limit (64 MiB) it decodes')
  })

  test('corrupt compressed data is CORRUPT_MESSAGE, never a crash or a hang', async () => {
    const plain = encodeRecordBatch({ baseOffset: 0, records: sampleRecords(50) }) as Uint8Array<ArrayBuffer>
    const inputs: Array<[number, Uint8Array]> = [
      [1, Uint8Array.from(Bun.gzipSync(plain.subarray(61)))],
      [2, snappyjs.compress(plain.subarray(61))],
      [3, lz4js.compress(plain.subarray(61))],
      [4, Uint8Array.from(Bun.zstdCompressSync(plain.subarray(61)))],
    ]
    let seed = 1
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32)
    for (const [codec, good] of inputs) {
      for (let round = 0; round < 60; round++) {
        const bad = Uint8Array.from(good)
        const cut = round % 4 === 0
        if (cut) {
          const n = Math.floor(rand() * bad.length)
          await expectRefusal(codec, bad.subarray(0, n))
          continue
        }
        for (let k = 0; k < 1 + (round % 5); k++) bad[Math.floor(rand() * bad.length)] ^= 1 + Math.floor(rand() * 255)
        await expectRefusal(codec, bad)
      }
      await assert.rejects(decompress(codec, new Uint8Array(0), LIMIT), isCodecError('CORRUPT_MESSAGE'))
    }
    await assert.rejects(decompress(6, new Uint8Array(10), LIMIT), isCodecError('UNSUPPORTED_COMPRESSION_TYPE'))
  })
})

/** A mutated input either still decodes (within the limit) or fails with a CodecError. */
async function expectRefusal(codec: number, data: Uint8Array): Promise<void> {
  try {
    const out = await decompress(codec, data, 1 << 20)
    assert.ok(out.length <= 1 << 20)
  } catch (e) {
    assert.ok(e instanceof CodecError, `codec ${codec}: ${String(e)}`)
    assert.ok(e.code === 'CORRUPT_MESSAGE' || e.code === 'DECOMPRESSED_TOO_LARGE', e.code)
  }
}

/** zstd decoding is synchronous under the async wrapper: call it directly to assert a throw. */
function zstdLimit(data: Uint8Array): void {
  zstdDecompress(data, 1 << 20)
}
