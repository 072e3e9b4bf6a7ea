// An edge puts a record exactly where a broker of its region would, and parses --role and
// --upstream as documented.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { bunStorage } from '../../storage/bun-sqlite.ts'
import { Broker } from '../../src/broker/broker.ts'
import { parseServeOptions } from '../../src/cli/serve-options.ts'
import { StickyPartitioner } from '../../src/codec/partitioner.ts'
import { systemRuntime } from '../../src/core/clock.ts'
import type { TopicMeta } from '../../src/edge/edge-store.ts'
import { routeRecords } from '../../src/edge/router.ts'
import { removeDir, tempDir } from '../helpers/server.ts'

const enc = new TextEncoder()
const topic = (partitions: number, config: Record<string, string> = {}): TopicMeta => ({
  name: 't',
  topicId: 'x',
  partitions,
  config,
  describedAt: 1,
  partitionInfo: [],
})

describe('edge routing', () => {
  test('keyed records land on the partition a broker gives them, for many keys and partition counts', async () => {
    const dir = tempDir()
    const broker = Broker.open(bunStorage(dir, 'off'), systemRuntime())
    try {
      for (const n of [1, 3, 7, 32]) {
        broker.createTopic({ name: `p${n}`, partitions: n })
        const records = Array.from({ length: 500 }, (_, i) => ({ key: enc.encode(`key-${i * 7919}`), value: enc.encode(String(i)), timestamp: 1 }))
        const atBroker = (await broker.produce(`p${n}`, records, '1')).map((o) => o.partition)
        const atEdge = routeRecords(topic(n), records, new StickyPartitioner({ next: () => 0.5 })).assigned
        assert.deepEqual(atEdge, atBroker, `${n} partitions`)
      }
    } finally {
      broker.close()
      removeDir(dir)
    }
  })

  test('explicit partitions, sticky keyless records, and the broker\'s refusals', () => {
    const sticky = new StickyPartitioner({ next: () => 0.99 })
    const r = routeRecords(topic(4), [{ key: null, value: null, timestamp: 1 }, { key: null, value: null, timestamp: 1, partition: 1 }], sticky)
    assert.deepEqual(r.assigned, [3, 1])
    assert.throws(() => routeRecords(topic(2), [{ key: null, value: null, timestamp: 1, partition: 2 }], sticky), { code: 'UNKNOWN_TOPIC_OR_PARTITION' })
    assert.throws(() => routeRecords(topic(2, { 'cleanup.policy': 'compact' }), [{ key: null, value: null, timestamp: 1 }], sticky), { code: 'INVALID_RECORD' })
    assert.throws(
      () => routeRecords(topic(1, { 'max.message.bytes': '100' }), [{ key: null, value: enc.encode('x'.repeat(200)), timestamp: 1 }], sticky),
      { code: 'MESSAGE_TOO_LARGE' },
    )
    // Several records that fit one by one are split into batches that each fit.
    const split = routeRecords(topic(1, { 'max.message.bytes': '300' }), Array.from({ length: 10 }, () => ({ key: null, value: enc.encode('x'.repeat(50)), timestamp: 1 })), sticky)
    assert.ok(split.partitions[0]!.batches.length > 1)
    assert.deepEqual(split.partitions[0]!.batches.flat(), Array.from({ length: 10 }, (_, i) => i))
  })

  test('serve options: --role edge needs --upstream, repeated --upstream collects, brokers take none', () => {
    const o = parseServeOptions(['--role', 'edge', '--upstream', 'http://127.0.0.1:1', '--upstream=http://127.0.0.1:2', '--outbox-bytes', '65536'], {})
    assert.equal(o.role, 'edge')
    assert.deepEqual(o.upstream, ['http://127.0.0.1:1', 'http://127.0.0.1:2'])
    assert.equal(o['outbox-bytes'], 65536)
    assert.throws(() => parseServeOptions(['--role', 'edge'], {}), /upstream: an edge needs at least one --upstream URL/)
    assert.throws(() => parseServeOptions(['--upstream', 'http://127.0.0.1:1'], {}), /only an edge/)
    assert.throws(() => parseServeOptions(['--role', 'edge', '--upstream', 'ftp://x'], {}), /--upstream/)
    assert.throws(() => parseServeOptions(['--role', 'relay'], {}), /--role/)
    const env = parseServeOptions([], { EDGELOG_ROLE: 'edge', EDGELOG_UPSTREAM: 'http://a:1, http://b:2' })
    assert.deepEqual(env.upstream, ['http://a:1', 'http://b:2'])
    assert.equal(parseServeOptions([], {}).role, 'broker')
  })
})
