// The console's logic that needs no browser: chart geometry and axes, the produce rate from
// high watermarks, Prometheus parsing and the edge status read from it, offset reset planning,
// number formats and the error lines (401/403 say what to do).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { ApiError, explain } from '../../console/api.ts'
import { agoLabel, chooseWindow, DEFAULT_BOX, geometry, niceMax } from '../../console/chart.ts'
import * as fmt from '../../console/format.ts'
import { edgeStatus, parseMetrics } from '../../console/metrics.ts'
import { choosePartitions, parsePartitionList, targetOffset } from '../../console/reset.ts'
import { rateBetween, Series, sumHighWatermarks } from '../../console/series.ts'
import { parseConfigLines } from '../../console/views/topics.ts'

describe('console charts', () => {
  test('the y axis tops out at a readable 1, 2, 2.5 or 5 × 10^k at or above the peak', () => {
    assert.equal(niceMax(0), 1)
    assert.equal(niceMax(-3), 1)
    assert.equal(niceMax(0.3), 0.5)
    assert.equal(niceMax(7), 10)
    assert.equal(niceMax(10), 10)
    assert.equal(niceMax(11), 20)
    assert.equal(niceMax(230), 250)
    assert.equal(niceMax(4100), 5000)
  })

  test('points map into the plot box: oldest at the left edge, now at the right, 0 at the bottom', () => {
    const box = { width: 100, height: 60, left: 10, right: 10, top: 5, bottom: 5 }
    const g = geometry([{ t: 0, v: 0 }, { t: 500, v: 5 }, { t: 1000, v: 10 }], 1000, 1000, 10, box)
    assert.equal(g.line, 'M 10.0 55.0 L 50.0 30.0 L 90.0 5.0')
    assert.equal(g.area, 'M 10.0 55.0 L 50.0 30.0 L 90.0 5.0 L 90.0 55.0 L 10.0 55.0 Z')
  })

  test('points outside the window are dropped and values above the top are clamped', () => {
    const g = geometry([{ t: -5000, v: 1 }, { t: 900, v: 99 }], 1000, 1000, 10, DEFAULT_BOX)
    assert.equal(g.line.split('L').length, 1, 'one point left')
    assert.match(g.line, new RegExp(` ${DEFAULT_BOX.top.toFixed(1)}$`), 'clamped to the top edge')
    assert.equal(geometry([], 1000, 1000, 10).line, '')
  })

  test('a young chart zooms to the smallest window that holds its history', () => {
    assert.equal(chooseWindow(undefined, 0, 300_000), 60_000)
    assert.equal(chooseWindow(-10_000, 0, 300_000), 60_000)
    assert.equal(chooseWindow(-90_000, 0, 300_000), 120_000)
    assert.equal(chooseWindow(-250_000, 0, 300_000), 300_000)
    assert.equal(chooseWindow(-9_000_000, 0, 300_000), 300_000, 'never beyond the maximum')
    assert.equal(agoLabel(300_000), '−5 min')
    assert.equal(agoLabel(150_000), '−2.5 min')
    assert.equal(agoLabel(30_000), '−30 s')
  })
})

describe('console produce rate', () => {
  test('records per second between two samples of the summed high watermarks', () => {
    const a = { t: 1000, total: 100, partitions: 3 }
    assert.equal(rateBetween(undefined, a), undefined, 'one sample is no rate')
    assert.equal(rateBetween(a, { t: 3000, total: 150, partitions: 3 }), 25)
    assert.equal(rateBetween(a, { t: 3000, total: 100, partitions: 3 }), 0)
  })

  test('no rate across a recreated topic, a partition change or a sample without elapsed time', () => {
    const a = { t: 1000, total: 100, partitions: 3 }
    assert.equal(rateBetween(a, { t: 2000, total: 10, partitions: 3 }), undefined, 'deleted and created again')
    assert.equal(rateBetween(a, { t: 2000, total: 120, partitions: 4 }), undefined, 'partitions added')
    assert.equal(rateBetween(a, { t: 1000, total: 120, partitions: 3 }), undefined)
  })

  test('series are bounded', () => {
    const s = new Series(3)
    for (let i = 0; i < 10; i++) s.push(i, i * 2)
    assert.deepEqual(s.points, [{ t: 7, v: 14 }, { t: 8, v: 16 }, { t: 9, v: 18 }])
    assert.deepEqual(s.within(1, 9), [{ t: 8, v: 16 }, { t: 9, v: 18 }])
    assert.equal(sumHighWatermarks([{ highWatermark: 5 }, { highWatermark: 3 }, { highWatermark: 7 }]), 15)
  })
})

describe('console metrics and the edge section', () => {
  test('Prometheus text: names, labels with escapes, special values; comments and junk skipped', () => {
    const parsed = parseMetrics(
      [
        '# HELP edgelog_produced_records_total records',
        '# TYPE edgelog_produced_records_total counter',
        'edgelog_produced_records_total{topic="orders"} 15',
        'edgelog_long_polls 0',
        'weird{label="a \\"quoted\\" \\\\ value\\nnext"} +Inf',
        'broken{label=unquoted} 1',
        '{} 3',
        'no_value',
        'edgelog_x{a="1",b="2",} 2.5 1700000000000',
      ].join('\n'),
    )
    assert.deepEqual(parsed, [
      { name: 'edgelog_produced_records_total', labels: { topic: 'orders' }, value: 15 },
      { name: 'edgelog_long_polls', labels: {}, value: 0 },
      { name: 'weird', labels: { label: 'a "quoted" \\ value\nnext' }, value: Infinity },
      { name: 'edgelog_x', labels: { a: '1', b: '2' }, value: 2.5 },
    ])
  })

  test('a broker is not an edge', () => {
    const broker = edgeStatus(parseMetrics('edgelog_produced_records_total{topic="t"} 4\nedgelog_partition_high_watermark{topic="t",partition="0"} 4\n'))
    assert.equal(broker.isEdge, false)
    assert.deepEqual(broker.series, [])
  })

  // What an edge (branch issue6) printed with its broker stopped and 9 records waiting.
  const edgeScrape = [
    '# TYPE edgelog_edge_outbox_records gauge',
    'edgelog_edge_producer_id{epoch="0"} 0',
    'edgelog_edge_produce_requests_total{topic="orders",acks="1"} 4',
    'edgelog_edge_outbox_limit_bytes 268435456',
    'edgelog_edge_outbox_used_bytes 447',
    'edgelog_edge_outbox_records{topic="orders",partition="1"} 6',
    'edgelog_edge_outbox_records{topic="orders",partition="2"} 3',
    'edgelog_edge_outbox_bytes{topic="orders",partition="1"} 237',
    'edgelog_edge_outbox_bytes{topic="orders",partition="2"} 210',
    'edgelog_edge_shipping_lag_seconds{topic="orders",partition="1"} 7.093',
    'edgelog_edge_shipping_lag_seconds{topic="orders",partition="2"} 5.5',
    'edgelog_edge_shipping_stalled_since_seconds{topic="orders",partition="1"} 1795312542.334',
    'edgelog_edge_shipping_stalled_since_seconds{topic="orders",partition="2"} 1795312544',
    'edgelog_edge_shipping_halted{topic="audit",partition="0",code="OUT_OF_ORDER_SEQUENCE_NUMBER"} 1',
    'edgelog_edge_upstream_up{upstream="http://127.0.0.1:18941"} 0',
    'edgelog_edge_upstream_current{upstream="http://127.0.0.1:18941"} 1',
    'edgelog_edge_upstream_up{upstream="http://127.0.0.1:18943"} 1',
    'edgelog_edge_upstream_current{upstream="http://127.0.0.1:18943"} 0',
    'edgelog_edge_upstream_reachable 0',
    'edgelog_edge_relay_subscriptions{topic="orders"} 0',
    'edgelog_edge_relay_lag_records{topic="orders",partition="0"} 2',
    'edgelog_edge_relay_lag_records{topic="orders",partition="1"} 3',
    'edgelog_edge_relay_local_subscriptions{topic="orders"} 1',
    'edgelog_relay_cache_partition_high_watermark{topic="orders",partition="1"} 1',
    'edgelog_ws_connections 0',
    'edgelog_subscriptions{topic="orders"} 1',
  ].join('\n')

  test('an edge: region reachability, upstreams, outbox depth and bytes, shipping lag, stalls, halts, relay', () => {
    const edge = edgeStatus(parseMetrics(edgeScrape))
    assert.equal(edge.isEdge, true)
    assert.equal(edge.reachable, false)
    assert.deepEqual(edge.upstreams, [
      { url: 'http://127.0.0.1:18941', up: false, current: true },
      { url: 'http://127.0.0.1:18943', up: true, current: false },
    ])
    assert.equal(edge.outboxRecords, 9)
    assert.equal(edge.outboxBytes, 447)
    assert.equal(edge.outboxUsedBytes, 447)
    assert.equal(edge.outboxLimitBytes, 268435456)
    assert.equal(edge.shippingLagSeconds, 7.093, 'the oldest waiting record over all partitions')
    assert.equal(edge.stalledSince, 1795312542.334, 'the earliest stall')
    assert.deepEqual(
      edge.partitions.map((p) => [p.topic, p.partition, p.records, p.bytes, p.halted ?? '']),
      [
        ['audit', 0, 0, 0, 'OUT_OF_ORDER_SEQUENCE_NUMBER'],
        ['orders', 1, 6, 237, ''],
        ['orders', 2, 3, 210, ''],
      ],
    )
    assert.deepEqual(edge.relay, [{ topic: 'orders', upstreamSubscriptions: 0, localSubscriptions: 1, lagRecords: 5 }])
    assert.equal(edge.series.length, 23, 'every edge_ and relay_cache_ series, counters included; not the local fan-out ones')
  })

  test('the role alone makes an edge, before any edge series exists; relay cache series alone do not', () => {
    assert.equal(edgeStatus(parseMetrics('edgelog_node_role{role="edge"} 1')).isEdge, true)
    assert.equal(edgeStatus(parseMetrics('edgelog_node_info{role="broker"} 1')).isEdge, false)
    assert.equal(edgeStatus(parseMetrics('edgelog_relay_cache_long_polls 0')).isEdge, false)
    const empty = edgeStatus(parseMetrics('edgelog_edge_topics 0'))
    assert.equal(empty.isEdge, true)
    assert.equal(empty.stalledSince, 0)
    assert.equal(empty.shippingLagSeconds, 0)
    assert.equal(empty.reachable, undefined)
  })
})

describe('console offset resets', () => {
  const partitions = [
    { partition: 0, logStartOffset: 2, highWatermark: 10 },
    { partition: 1, logStartOffset: 0, highWatermark: 4 },
  ]

  test('partition lists: blank is all, numbers are deduplicated, anything else is refused', () => {
    assert.deepEqual(parsePartitionList('  '), [])
    assert.deepEqual(parsePartitionList('0, 2 2,5'), [0, 2, 5])
    assert.throws(() => parsePartitionList('0,a'), /"a" is not a partition number/)
    assert.throws(() => parsePartitionList('-1'), /not a partition number/)
    assert.deepEqual(choosePartitions(partitions, []).map((p) => p.partition), [0, 1])
    assert.throws(() => choosePartitions(partitions, [3]), /no partition 3/)
  })

  test('without a reset endpoint: earliest is the log start, latest the high watermark, an offset must be in the log', async () => {
    assert.equal(await targetOffset('t', partitions[0]!, 'earliest'), 2)
    assert.equal(await targetOffset('t', partitions[0]!, 'latest'), 10)
    assert.equal(await targetOffset('t', partitions[0]!, { offset: 7 }), 7)
    await assert.rejects(targetOffset('t', partitions[0]!, { offset: 1 }), /outside partition 0's log \(2–10\)/)
    await assert.rejects(targetOffset('t', partitions[1]!, { offset: 5 }), /outside/)
  })
})

describe('console formats and messages', () => {
  test('numbers, bytes, rates, partition lists', () => {
    assert.equal(fmt.count(1234567), '1,234,567')
    assert.equal(fmt.count(null), '–')
    assert.equal(fmt.bytes(1023), '1023 B')
    assert.equal(fmt.bytes(1536), '1.5 KiB')
    assert.equal(fmt.bytes(50 * 1024 * 1024), '50 MiB')
    assert.equal(fmt.rate(0), '0')
    assert.equal(fmt.rate(2.345), '2.3')
    assert.equal(fmt.rate(1234.5), '1,235')
    assert.equal(fmt.compact(2500), '2.5k')
    assert.equal(fmt.compact(3_000_000), '3M')
    assert.equal(fmt.partitions([2, 0, 1, 7]), '0–2, 7')
    assert.equal(fmt.partitions([0, 1]), '0, 1')
    assert.equal(fmt.seconds(0.25), '250 ms')
  })

  test('401 asks for a token, 403 says the token is not enough, others show the node’s code', () => {
    const unauthorized = new ApiError(401, 'UNAUTHORIZED', 'missing bearer token', 'GET', '/v1/topics')
    assert.match(explain(unauthorized), /^GET \/v1\/topics: 401 UNAUTHORIZED: missing bearer token\. .*paste one under "Token"/)
    const forbidden = new ApiError(403, 'CLUSTER_AUTHORIZATION_FAILED', 'admin only', 'POST', '/v1/topics')
    assert.match(explain(forbidden), /403 CLUSTER_AUTHORIZATION_FAILED: admin only\. Your token does not allow this/)
    assert.equal(explain(new ApiError(409, 'TOPIC_ALREADY_EXISTS', 'exists', 'POST', '/v1/topics')), 'POST /v1/topics: 409 TOPIC_ALREADY_EXISTS: exists')
    assert.equal(new ApiError(404, 'NOT_FOUND', 'no route', 'GET', '/v1/groups').missingRoute, true)
    assert.equal(new ApiError(404, 'GROUP_ID_NOT_FOUND', 'no group', 'GET', '/v1/groups/g').missingRoute, false)
  })

  test('config lines for a new topic', () => {
    assert.deepEqual(parseConfigLines('retention.ms=1000\n\n# comment\n cleanup.policy = compact \n'), {
      'retention.ms': '1000',
      'cleanup.policy': 'compact',
    })
    assert.throws(() => parseConfigLines('novalue'), /not key=value/)
  })
})
