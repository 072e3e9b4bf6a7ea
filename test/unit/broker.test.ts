// The broker in-process, on real SQLite files: group commit and its bounds.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { bunStorage } from '../../storage/bun-sqlite.ts'
import { Broker } from '../../src/broker/broker.ts'
import { systemRuntime } from '../../src/core/clock.ts'
import { removeDir, tempDir } from '../helpers/server.ts'

const enc = new TextEncoder()
const record = (v: string) => ({ key: null, value: enc.encode(v), timestamp: 1 })

describe('broker', () => {
  test('concurrent produces to one partition within one tick become one transaction', async () => {
    const dir = tempDir()
    const broker = Broker.open(bunStorage(dir, 'off'), systemRuntime())
    try {
      broker.createTopic({ name: 'gc', partitions: 1 })
      const produces = Array.from({ length: 20 }, (_, i) => broker.produce('gc', [record(`r${i}`)], '1'))
      const offsets = (await Promise.all(produces)).map((o) => o[0]!.offset)
      assert.deepEqual(offsets, Array.from({ length: 20 }, (_, i) => i), 'offsets in arrival order')
      assert.match(broker.metrics.render(), /edgelog_log_commits_total\{topic="gc"\} 1\n/)
      await broker.produce('gc', [record('later')], '1')
      assert.match(broker.metrics.render(), /edgelog_log_commits_total\{topic="gc"\} 2\n/)
    } finally {
      broker.close()
      removeDir(dir)
    }
  })

  test('a produce validated as too large appends nothing to any partition', async () => {
    const dir = tempDir()
    const broker = Broker.open(bunStorage(dir, 'off'), systemRuntime())
    try {
      broker.createTopic({ name: 'big', partitions: 2, config: { 'max.message.bytes': 200 } })
      await assert.rejects(
        broker.produce('big', [{ ...record('small'), partition: 0 }, { ...record('x'.repeat(500)), partition: 1 }], '1'),
        (e: Error & { code?: string }) => e.code === 'MESSAGE_TOO_LARGE',
      )
      const ends = broker.describeTopic('big').partitions.map((p) => p.logEndOffset)
      assert.deepEqual(ends, [0, 0])
    } finally {
      broker.close()
      removeDir(dir)
    }
  })

  test('records that do not fit one batch are split across batches under max.message.bytes, offsets dense', async () => {
    const dir = tempDir()
    const broker = Broker.open(bunStorage(dir, 'off'), systemRuntime())
    try {
      broker.createTopic({ name: 'split', partitions: 1, config: { 'max.message.bytes': 1000 } })
      const offsets = await broker.produce('split', Array.from({ length: 50 }, (_, i) => record(`value-${i}-${'y'.repeat(40)}`)), '1')
      assert.deepEqual(offsets.map((o) => o.offset), Array.from({ length: 50 }, (_, i) => i))
      const p = broker.partition('split', 0)
      const batches = p.log.read(0, p.highWatermark, 1 << 20)
      assert.ok(batches.length > 1, 'more than one batch')
      for (const b of batches) assert.ok(b.data.byteLength <= 1000, `batch of ${b.data.byteLength} bytes`)
    } finally {
      broker.close()
      removeDir(dir)
    }
  })
})
