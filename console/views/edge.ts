// #/edge: shown only when the node reports it is an edge (its /metrics): per upstream the outbox
// depth, the shipping lag and the upstream's state, two charts, and every edge series as the
// node exports it.
import { LineChart } from '../chart.ts'
import { fill, h } from '../dom.ts'
import * as fmt from '../format.ts'
import type { MetricSample, UpstreamStatus } from '../metrics.ts'
import type { Store } from '../store.ts'
import { card, chip, errorLine, note, table, type View } from './common.ts'

const WINDOW_MS = 5 * 60_000

export class EdgeView implements View {
  readonly el = h('div', { class: 'view', 'data-view': 'edge' })
  readonly #upstreams = h('div')
  readonly #outbox = new LineChart({ unit: 'records in outbox', windowMs: WINDOW_MS })
  readonly #lag = new LineChart({ unit: 'records behind', windowMs: WINDOW_MS })
  readonly #raw = h('div')

  constructor() {
    this.el.append(
      h('div', { class: 'title' }, h('h1', {}, 'Edge')),
      card('Upstreams', this.#upstreams),
      h('div', { class: 'pair' }, card('Outbox depth', this.#outbox.el), card('Shipping lag', this.#lag.el)),
      card('Edge series (from /metrics)', this.#raw),
    )
  }

  update(store: Store): void {
    const now = Date.now()
    this.#outbox.update([{ name: 'outbox', points: store.edgeOutbox.points }], now)
    this.#lag.update([{ name: 'lag', points: store.edgeLag.points }], now)
    const edge = store.edge
    if (edge === undefined || !edge.isEdge) {
      fill(this.#upstreams, store.edgeError ? errorLine(store.edgeError) : note('This node does not report an edge role in its /metrics.', 'notice'))
      fill(this.#raw)
      return
    }
    fill(
      this.#upstreams,
      store.edgeError ? errorLine(store.edgeError) : null,
      table<UpstreamStatus>(
        [
          { title: 'Upstream', cell: (u) => (u.upstream === '' ? '(upstream)' : h('code', {}, u.upstream)) },
          { title: 'State', field: 'state', cell: (u) => (u.state ? chip(u.state, u.state === 'up' || u.state === 'connected' ? 'good' : 'bad') : null) },
          { title: 'Outbox records', num: true, field: 'outboxRecords', cell: (u) => fmt.count(u.outboxRecords) },
          { title: 'Outbox bytes', num: true, field: 'outboxBytes', cell: (u) => fmt.bytes(u.outboxBytes) },
          { title: 'Shipping lag', num: true, field: 'shippingLagRecords', cell: (u) => fmt.count(u.shippingLagRecords) },
          { title: 'Lag (time)', num: true, field: 'shippingLagSeconds', cell: (u) => fmt.seconds(u.shippingLagSeconds) },
          {
            title: 'Stalled since',
            field: 'stalledSince',
            cell: (u) => (u.stalledSince ? h('span', { class: 'error' }, new Date(u.stalledSince * 1000).toLocaleTimeString()) : 'not stalled'),
          },
          { title: 'Subscription lag', num: true, cell: (u) => fmt.count(u.subscriptionLag) },
        ],
        edge.upstreams,
        (u) => ({ 'data-upstream': u.upstream }),
      ),
    )
    fill(
      this.#raw,
      table<MetricSample>(
        [
          { title: 'Series', cell: (m) => h('code', {}, m.name) },
          { title: 'Labels', cell: (m) => Object.entries(m.labels).map(([k, v]) => `${k}="${v}"`).join(', ') },
          { title: 'Value', num: true, cell: (m) => fmt.count(m.value) },
        ],
        edge.series.slice(0, 500),
      ),
    )
  }
}
