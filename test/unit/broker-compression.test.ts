// Compression through the broker: topic and producer codecs, arrival order kept while gzip runs
// asynchronously, and a stored compression bomb refused on fetch.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { bunStorage } from '../../storage/bun-sqlite.ts'
import { Broker } from '../../src/broker/broker.ts'
import { encodeRecordBatch, readBatchHeader } from '../../src/codec/record-batch.ts'
import { crc32c } from '../../src/codec/crc32c.ts'
import { systemRuntime } from '../../src/core/clock.ts'
import { removeDir, tempDir } from '../helpers/server.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

async function withBroker(fn: (broker: Broker) => Promise<void>, options = {}) {
  const dir = tempDir()
  const broker = Broker.open(bunStorage(dir, 'off'), systemRuntime(), { cleanerIntervalMs: 0, ...options })
  try {
    await fn(broker)
  } finally {
    broker.close()
    removeDir(dir)
  }
}

const records = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => ({ key: null, value: enc.encode(JSON.stringify({ tag, i, text: 'the quick brown fox '.repeat(8) })), timestamp: 1, partition: 0 }))

function storedCodecs(broker: Broker, topic: string): number[] {
  const p = broker.partition(topic, 0)
  return p.log.read(0, p.highWatermark, 1 << 30).map((b) => readBatchHeader(b.data).compression)
}

describe('compression in the broker', () => {
  test('compression.type=gzip stores gzip batches, smaller, and fetch returns the records unchanged', async () => {
    await withBroker(async (broker) => {
      broker.createTopic({ name: 'gz', partitions: 1, config: { 'compression.type': 'gzip' } })
      broker.createTopic({ name: 'plain', partitions: 1 })
      await broker.produce('gz', records(200, 'a'), '1')
      await broker.produce('plain', records(200, 'a'), '1')
      assert.deepEqual(storedCodecs(broker, 'gz'), [1])
      assert.deepEqual(storedCodecs(broker, 'plain'), [0])
      const gzSize = broker.describeTopic('gz').partitions[0]!.sizeBytes
      const plainSize = broker.describeTopic('plain').partitions[0]!.sizeBytes
      assert.ok(gzSize * 5 < plainSize, `gzip ${gzSize} B vs ${plainSize} B`)
      const f = await broker.fetch('gz', 0, { offset: 0, maxRecords: 1000, maxBytes: 1 << 20, waitMs: 0 })
      assert.equal(f.records.length, 200)
      assert.deepEqual(JSON.parse(dec.decode(f.records[199]!.value!)), { tag: 'a', i: 199, text: 'the quick brown fox '.repeat(8) })
      assert.match(broker.metrics.render(), /edgelog_compressed_batches_total\{topic="gz",codec="gzip"\} 1\n/)
    })
  })

  test('with compression.type=producer the request decides; uncompressed overrides the request', async () => {
    await withBroker(async (broker) => {
      broker.createTopic({ name: 'p', partitions: 1 })
      broker.createTopic({ name: 'u', partitions: 1, config: { 'compression.type': 'uncompressed' } })
      await broker.produce('p', records(10, 'x'), '1', { compression: 'gzip' })
      await broker.produce('p', records(10, 'y'), '1')
      await broker.produce('u', records(10, 'z'), '1', { compression: 'gzip' })
      assert.deepEqual(storedCodecs(broker, 'p'), [1, 0])
      assert.deepEqual(storedCodecs(broker, 'u'), [0])
    })
  })

  test('a gzip produce and a plain produce in the same tick commit in arrival order (gzip is asynchronous)', async () => {
    await withBroker(async (broker) => {
      broker.createTopic({ name: 'order', partitions: 1 })
      const first = broker.produce('order', records(2000, 'first'), '1', { compression: 'gzip' })
      const second = broker.produce('order', records(1, 'second'), '1')
      const third = broker.produce('order', records(5, 'third'), '1', { compression: 'gzip' })
      const [a, b, c] = await Promise.all([first, second, third])
      assert.equal(a[0]!.offset, 0)
      assert.equal(b[0]!.offset, 2000)
      assert.equal(c[0]!.offset, 2001)
      const f = await broker.fetch('order', 0, { offset: 1999, maxRecords: 3, maxBytes: 1 << 20, waitMs: 0 })
      assert.deepEqual(f.records.map((r) => JSON.parse(dec.decode(r.value!)).tag), ['first', 'second', 'third'])
    })
  })

  test('an idempotent producer on a gzip topic: retries are still recognised as duplicates', async () => {
    await withBroker(async (broker) => {
      broker.createTopic({ name: 'idem', partitions: 1, config: { 'compression.type': 'gzip' } })
      const { producerId, producerEpoch } = await broker.initProducer()
      const send = (seq: number) => broker.produceIdempotent('idem', 0, records(3, `s${seq}`), '1', { id: producerId, epoch: producerEpoch, sequence: seq })
      const [r0, r1] = await Promise.all([send(0), send(3)])
      assert.deepEqual([r0.baseOffset, r1.baseOffset], [0, 3], 'pipelined requests keep their order')
      const retry = await send(3)
      assert.deepEqual([retry.baseOffset, retry.duplicate], [3, true])
      assert.deepEqual(storedCodecs(broker, 'idem'), [1, 1])
    })
  })

  test('a stored batch that inflates past the limit is refused on fetch with a clear error, and counted', async () => {
    await withBroker(
      async (broker) => {
        broker.createTopic({ name: 'bomb', partitions: 1 })
        await broker.produce('bomb', records(1, 'before'), '1')
        // A valid v2 batch (right CRC) whose gzip records section inflates to 8 MiB of zeros.
        const plain = encodeRecordBatch({ baseOffset: 0, records: [{ key: null, value: enc.encode('x'), timestamp: 1 }] })
        const bombBytes = new Uint8Array(Bun.gzipSync(new Uint8Array(8 << 20)))
        const batch = new Uint8Array(61 + bombBytes.length)
        batch.set(plain.subarray(0, 61))
        batch.set(bombBytes, 61)
        const view = new DataView(batch.buffer)
        view.setInt32(8, batch.length - 12)
        view.setInt16(21, 1)
        view.setUint32(17, crc32c(batch, 21, batch.length))
        const r = await broker.partition('bomb', 0).append({ batch, header: readBatchHeader(batch) })
        assert.ok(r.ok)
        const before = await broker.fetch('bomb', 0, { offset: 0, maxRecords: 1, maxBytes: 100, waitMs: 0 })
        assert.equal(before.records.length, 1, 'records before the bomb are served')
        await assert.rejects(
          broker.fetch('bomb', 0, { offset: 1, maxRecords: 10, maxBytes: 1 << 20, waitMs: 0 }),
          (e: Error & { code?: string }) => e.code === 'CORRUPT_MESSAGE' && /decompresses past the 1048576-byte limit/.test(e.message),
        )
        assert.match(broker.metrics.render(), /edgelog_decompression_refused_total\{topic="bomb"\} 1\n/)
      },
      { maxBatchDecompressedBytes: 1 << 20 },
    )
  })
})
