// Writes test/fixtures/compressed/: one record batch per codec, each built by an implementation
// other than ours, plus records.json (what every batch holds). Run: bun scripts/make-compression-fixtures.ts
//
// - gzip.bin: kafkajs 2.2.4's RecordBatch with its built-in gzip codec (Node zlib).
// - snappy.bin: kafkajs with kafkajs-snappy 1.1.0 (raw snappy from snappyjs, as kafkajs users send it).
// - snappy-xerial.bin: the same records in snappy-java's stream framing (the Java client's
//   layout: magic, version 1, compatible 1, then [int32 BE length][raw snappy] chunks of 32 KiB).
// - lz4.bin: kafkajs with lz4js 0.2.0 as its LZ4 codec (LZ4 frame format, 4 MiB blocks).
// - zstd.bin: kafkajs with Bun's libzstd (Bun.zstdCompressSync) as its ZSTD codec.
// The batches are deterministic (fixed timestamps and producer fields), so regenerating them
// gives the same bytes unless a compressor changes its output.
import { mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const require = createRequire(import.meta.url)
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js')
const KafkajsRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js')
const { Codecs, Types } = require('kafkajs/src/protocol/message/compression/index.js')
const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C/index.js')
const snappyjs = require('snappyjs')
const lz4js = require('lz4js')

Codecs[Types.Snappy] = require('kafkajs-snappy')
Codecs[Types.LZ4] = () => ({ compress: async (e: { buffer: Buffer }) => Buffer.from(lz4js.compress(e.buffer)) })
Codecs[Types.ZSTD] = () => ({ compress: async (e: { buffer: Buffer }) => Buffer.from(Bun.zstdCompressSync(e.buffer)) })

const dir = join(import.meta.dirname, '../test/fixtures/compressed')
mkdirSync(dir, { recursive: true })

const records = Array.from({ length: 60 }, (_, i) => ({
  key: i % 9 === 0 ? null : `sensor-${i % 6}`,
  value: i % 10 === 7 ? null : JSON.stringify({ reading: i * 3, unit: 'celsius', note: 'steady '.repeat(1 + (i % 4)) }),
  timestamp: 1_700_000_000_000 + i * 250,
}))
writeFileSync(join(dir, 'records.json'), JSON.stringify(records, null, 1) + '\n')

async function batch(codec: number): Promise<Buffer> {
  const first = records[0]!.timestamp
  const encoder = await RecordBatch({
    compression: codec,
    firstOffset: 0,
    firstTimestamp: first,
    maxTimestamp: Math.max(...records.map((r) => r.timestamp)),
    lastOffsetDelta: records.length - 1,
    producerId: -1,
    producerEpoch: -1,
    firstSequence: -1,
    records: records.map((r, i) =>
      KafkajsRecord({
        offsetDelta: i,
        timestampDelta: r.timestamp - first,
        key: r.key === null ? null : Buffer.from(r.key),
        value: r.value === null ? null : Buffer.from(r.value),
      }),
    ),
  })
  return encoder.buffer as Buffer
}

for (const [name, codec] of [['gzip', Types.GZIP], ['snappy', Types.Snappy], ['lz4', Types.LZ4], ['zstd', Types.ZSTD]] as const) {
  writeFileSync(join(dir, `${name}.bin`), await batch(codec))
}

// snappy-xerial: take the uncompressed records section and reframe it.
const plain = await batch(Types.None)
const section = plain.subarray(61)
const parts: Buffer[] = [Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1])]
for (let at = 0; at < section.length; at += 32 * 1024) {
  const raw = Buffer.from(snappyjs.compress(section.subarray(at, at + 32 * 1024)))
  const len = Buffer.alloc(4)
  len.writeInt32BE(raw.length)
  parts.push(len, raw)
}
const framed = Buffer.concat([plain.subarray(0, 61), ...parts])
framed.writeInt32BE(framed.length - 12, 8) // batchLength
framed.writeInt16BE(Types.Snappy, 21) // attributes: snappy
framed.writeUInt32BE(crc32C(framed.subarray(21)), 17)
writeFileSync(join(dir, 'snappy-xerial.bin'), framed)
console.log(`wrote fixtures to ${dir}`)
