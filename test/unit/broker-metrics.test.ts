// GET /metrics content from the broker: rates and bytes per topic, consumer lag per group and
// partition, throttled requests, with label sets bounded by what the node holds.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { bunStorage } from '../../storage/bun-sqlite.ts'
import { Broker } from '../../src/broker/broker.ts'
import { systemRuntime } from '../../src/core/clock.ts'
import { removeDir, tempDir } from '../helpers/server.ts'

const enc = new TextEncoder()
const rec = (v: string, partition = 0) => ({ key: null, value: enc.encode(v), timestamp: 1, partition })

describe('broker metrics', () => {
  test('produce and fetch counters, consumer lag per group and partition, throttled requests', async () => {
    const dir = tempDir()
    const broker = Broker.open(bunStorage(dir, 'off'), systemRuntime(), { cleanerIntervalMs: 0, maxLongPolls: 1 })
    try {
      broker.createTopic({ name: 'orders', partitions: 2 })
      await broker.produce('orders', [rec('a'), rec('b'), rec('c'), rec('d'), rec('e')], '1')
      await broker.produce('orders', [rec('x', 1)], '1')
      await broker.fetch('orders', 0, { offset: 0, maxRecords: 2, maxBytes: 1 << 20, waitMs: 0 })
      await broker.groups.commit('billing', { offsets: [{ topic: 'orders', partition: 0, offset: 2 }, { topic: 'orders', partition: 1, offset: 1 }] })
      await broker.groups.commit('audit', { offsets: [{ topic: 'orders', partition: 0, offset: 0 }] })
      // Two long polls with room for one: the second is THROTTLED and counted.
      const waiting = broker.fetch('orders', 1, { offset: 1, maxRecords: 1, maxBytes: 100, waitMs: 5_000 })
      await assert.rejects(broker.fetch('orders', 1, { offset: 1, maxRecords: 1, maxBytes: 100, waitMs: 5_000 }), (e: Error & { code?: string }) => e.code === 'THROTTLED')
      broker.countThrottled('produce_bytes') // the hook quotas call
      await broker.produce('orders', [rec('wake', 1)], '1')
      await waiting

      const m = broker.metrics.render()
      assert.match(m, /edgelog_produced_records_total\{topic="orders"\} 7\n/)
      assert.match(m, /edgelog_produce_requests_total\{topic="orders"\} 3\n/)
      assert.match(m, /edgelog_fetch_requests_total\{topic="orders"\} 2\n/)
      assert.match(m, /edgelog_fetched_records_total\{topic="orders"\} 3\n/)
      assert.match(m, /edgelog_fetched_bytes_total\{topic="orders"\} [1-9]\d*\n/)
      assert.match(m, /edgelog_partition_size_bytes\{topic="orders",partition="0"\} [1-9]\d*\n/)
      assert.match(m, /edgelog_consumer_group_lag\{group="billing",topic="orders",partition="0"\} 3\n/)
      assert.match(m, /edgelog_consumer_group_lag\{group="billing",topic="orders",partition="1"\} 1\n/)
      assert.match(m, /edgelog_consumer_group_lag\{group="audit",topic="orders",partition="0"\} 5\n/)
      assert.match(m, /edgelog_consumer_group_committed_offset\{group="billing",topic="orders",partition="0"\} 2\n/)
      assert.match(m, /edgelog_consumer_lag_series_dropped 0\n/)
      assert.match(m, /edgelog_throttled_requests_total\{reason="long_polls"\} 1\n/)
      assert.match(m, /edgelog_throttled_requests_total\{reason="produce_bytes"\} 1\n/)
      // Every series belongs to a declared family (the text format stays parseable).
      const families = new Set([...m.matchAll(/^# TYPE (\S+) (counter|gauge)$/gm)].map((x) => x[1]))
      for (const line of m.split('\n')) {
        if (line === '' || line.startsWith('#')) continue
        assert.ok(families.has(line.split(/[{ ]/)[0]!), line)
      }
      // A deleted topic takes its series (and its groups' lag) with it.
      broker.deleteTopic('orders')
      assert.doesNotMatch(broker.metrics.render(), /topic="orders"/)
    } finally {
      broker.close()
      removeDir(dir)
    }
  })
})
