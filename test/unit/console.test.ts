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

  test('an edge: outbox depth, shipping lag, stall and upstream state per upstream', () => {
    const edge = edgeStatus(
      parseMetrics(
        [
          'edgelog_node_info{role="edge",node="e1"} 1',
          'edgelog_edge_outbox_records{upstream="http://eu:8080",topic="a"} 40',
          'edgelog_edge_outbox_records{upstream="http://eu:8080",topic="b"} 2',
          'edgelog_edge_outbox_bytes{upstream="http://eu:8080"} 4096',
          'edgelog_edge_shipping_lag_records{upstream="http://eu:8080"} 42',
          'edgelog_edge_shipping_lag_seconds{upstream="http://eu:8080"} 3.5',
          'edgelog_edge_stalled_since_seconds{upstream="http://eu:8080"} 1700000000',
          'edgelog_edge_upstream_up{upstream="http://eu:8080"} 0',
          'edgelog_edge_shipped_records_total{upstream="http://eu:8080"} 1000',
          'edgelog_edge_upstream_state{upstream="http://us:8080",state="connected"} 1',
          'edgelog_edge_upstream_state{upstream="http://us:8080",state="connecting"} 0',
          'edgelog_edge_outbox_records{upstream="http://us:8080"} 0',
        ].join('\n'),
      ),
    )
    assert.equal(edge.isEdge, true)
    assert.equal(edge.series.length, 11, 'every edge series is listed, counters included')
    assert.deepEqual(edge.upstreams, [
      {
        upstream: 'http://eu:8080',
        outboxRecords: 42,
        outboxBytes: 4096,
        shippingLagRecords: 42,
        shippingLagSeconds: 3.5,
        stalledSince: 1700000000,
        state: 'down',
      },
      { upstream: 'http://us:8080', state: 'connected', outboxRecords: 0 },
    ])
  })

  test('the role alone makes an edge, before any upstream series exists', () => {
    assert.equal(edgeStatus(parseMetrics('edgelog_node_role{role="edge"} 1')).isEdge, true)
    assert.equal(edgeStatus(parseMetrics('edgelog_node_role{role="broker"} 1')).isEdge, false)
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
