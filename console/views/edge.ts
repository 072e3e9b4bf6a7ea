// #/edge: shown only when the node's /metrics say it is an edge (issue 6): whether the region is
// reachable and which upstream is in use, the outbox depth and how old its oldest record is
// (shipping lag), stalls and halted partitions, the relay's upstream subscriptions, two charts,
// and every edge series as the node exports it.
import { LineChart } from '../chart.ts'
import { fill, h } from '../dom.ts'
import * as fmt from '../format.ts'
import type { MetricSample, OutboxPartition, RelayTopic, UpstreamStatus } from '../metrics.ts'
import type { Store } from '../store.ts'
import { card, chip, errorLine, kv, note, table, type View } from './common.ts'

const WINDOW_MS = 5 * 60_000

const since = (epochSeconds: number) => new Date(epochSeconds * 1000).toLocaleTimeString()

export class EdgeView implements View {
  readonly el = h('div', { class: 'view', 'data-view': 'edge' })
  readonly #summary = h('div')
  readonly #upstreams = h('div')
  readonly #outbox = new LineChart({ unit: 'records in the outbox', windowMs: WINDOW_MS })
  readonly #lag = new LineChart({ unit: 'oldest unshipped record, s', windowMs: WINDOW_MS })
  readonly #partitions = h('div')
  readonly #relay = h('div')
  readonly #raw = h('div')

  constructor() {
    this.#outbox.el.id = 'edge-outbox-chart'
    this.#lag.el.id = 'edge-lag-chart'
    this.el.append(
      h('div', { class: 'title' }, h('h1', {}, 'Edge')),
      this.#summary,
      card('Upstreams', this.#upstreams),
      h('div', { class: 'pair' }, card('Outbox depth', this.#outbox.el), card('Shipping lag', this.#lag.el)),
      card('Outbox per partition', this.#partitions),
      card('Relay (upstream subscriptions)', this.#relay),
      h('details', { class: 'card raw' }, h('summary', {}, 'Every edge series (from /metrics)'), this.#raw),
    )
  }

  update(store: Store): void {
    const now = Date.now()
    this.#outbox.update([{ name: 'outbox', points: store.edgeOutbox.points }], now)
    this.#lag.update([{ name: 'lag', points: store.edgeLag.points }], now)
    const edge = store.edge
    if (edge === undefined || !edge.isEdge) {
      fill(this.#summary, store.edgeError ? errorLine(store.edgeError) : note('This node does not report an edge role in its /metrics.', 'notice'))
      for (const el of [this.#upstreams, this.#partitions, this.#relay, this.#raw]) fill(el)
      return
    }
    const halted = edge.partitions.filter((p) => p.halted !== undefined).length
    fill(
      this.#summary,
      store.edgeError ? errorLine(store.edgeError) : null,
      kv([
        ['Region', edge.reachable === undefined ? null : chip(edge.reachable ? 'reachable' : 'unreachable', edge.reachable ? 'good' : 'bad')],
        ['Outbox records', fmt.count(edge.outboxRecords)],
        [
          'Outbox bytes',
          edge.outboxLimitBytes
            ? `${fmt.bytes(edge.outboxUsedBytes ?? edge.outboxBytes)} of ${fmt.bytes(edge.outboxLimitBytes)}`
            : fmt.bytes(edge.outboxUsedBytes ?? edge.outboxBytes),
        ],
        ['Shipping lag', fmt.seconds(edge.shippingLagSeconds)],
        ['Stalled since', edge.stalledSince > 0 ? h('span', { class: 'error' }, since(edge.stalledSince)) : 'not stalled'],
        ['Halted partitions', halted > 0 ? h('span', { class: 'error' }, String(halted)) : '0'],
      ]),
    )
    fill(
      this.#upstreams,
      table<UpstreamStatus>(
        [
          { title: 'Upstream', cell: (u) => h('code', {}, u.url) },
          { title: 'State', field: 'state', cell: (u) => (u.up === undefined ? null : chip(u.up ? 'up' : 'down', u.up ? 'good' : 'bad')) },
          { title: 'In use', field: 'current', cell: (u) => (u.current ? 'yes' : '') },
        ],
        edge.upstreams,
        (u) => ({ 'data-upstream': u.url }),
        'no upstream series',
      ),
    )
    fill(
      this.#partitions,
      table<OutboxPartition>(
        [
          { title: 'Topic', cell: (p) => p.topic },
          { title: 'Partition', num: true, cell: (p) => p.partition },
          { title: 'Records', num: true, field: 'records', cell: (p) => fmt.count(p.records) },
          { title: 'Bytes', num: true, field: 'bytes', cell: (p) => fmt.bytes(p.bytes) },
          { title: 'Oldest waiting', num: true, field: 'lagSeconds', cell: (p) => fmt.seconds(p.lagSeconds) },
          { title: 'Stalled since', field: 'stalledSince', cell: (p) => (p.stalledSince > 0 ? h('span', { class: 'error' }, since(p.stalledSince)) : '–') },
          { title: 'Halted', field: 'halted', cell: (p) => (p.halted ? chip(p.halted, 'bad') : '–') },
        ],
        edge.partitions,
        (p) => ({ 'data-topic': p.topic, 'data-partition': String(p.partition) }),
        'the outbox is empty',
      ),
    )
    fill(
      this.#relay,
      table<RelayTopic>(
        [
          { title: 'Topic', cell: (r) => r.topic },
          {
            title: 'Upstream subscription',
            field: 'upstream',
            cell: (r) => (r.upstreamSubscriptions === undefined ? null : chip(r.upstreamSubscriptions >= 1 ? 'live' : 'reconnecting', r.upstreamSubscriptions >= 1 ? 'good' : 'warn')),
          },
          { title: 'Local subscribers', num: true, field: 'local', cell: (r) => fmt.count(r.localSubscriptions) },
          { title: 'Relay lag (records)', num: true, field: 'lag', cell: (r) => fmt.count(r.lagRecords) },
        ],
        edge.relay,
        (r) => ({ 'data-topic': r.topic }),
        'no relayed topics',
      ),
    )
    fill(
      this.#raw,
      table<MetricSample>(
        [
          { title: 'Series', cell: (m) => h('code', {}, m.name) },
          { title: 'Labels', cell: (m) => Object.entries(m.labels).map(([k, v]) => `${k}="${v}"`).join(', ') },
          { title: 'Value', num: true, cell: (m) => String(m.value) },
        ],
        edge.series.slice(0, 500),
      ),
    )
  }
}
