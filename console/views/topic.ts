// #/topics/NAME: one topic's produce rate over time, its partitions (leader, replicas, ISR,
// log start / high watermark / log end, size) and its config, which an admin can change
// (PATCH /v1/topics/{t}/config: set a key, or return it to its default).
import { enc, sendJson } from '../api.ts'
import { LineChart } from '../chart.ts'
import { fill, h } from '../dom.ts'
import * as fmt from '../format.ts'
import { sumHighWatermarks } from '../series.ts'
import type { Store } from '../store.ts'
import type { PartitionInfo } from '../types.ts'
import { busy, card, errorLine, kv, link, note, Outcome, table, type View } from './common.ts'
import { RATE_WINDOW_MS } from './topics.ts'

/** The keys PATCH .../config accepts (README "HTTP API"), offered in the key field. */
export const TOPIC_CONFIG_KEYS = [
  'retention.ms',
  'retention.bytes',
  'cleanup.policy',
  'min.insync.replicas',
  'max.message.bytes',
  'compression.type',
  'delete.retention.ms',
  'min.cleanable.dirty.ratio',
  'message.timestamp.type',
  'unclean.leader.election.enable',
]

const list = (ids: ReadonlyArray<number | string> | undefined) => (ids === undefined ? null : ids.join(', '))

export class TopicView implements View {
  readonly el = h('div', { class: 'view', 'data-view': 'topic' })
  readonly #name: string
  readonly #summary = h('div')
  readonly #topicId = h('span', { class: 'id', title: 'topic id' })
  readonly #chart = new LineChart({ unit: 'records/s', windowMs: RATE_WINDOW_MS })
  readonly #partitions = h('div')
  readonly #config = h('div')
  readonly #store: Store

  constructor(store: Store, name: string) {
    this.#store = store
    this.#name = name
    this.el.append(
      h(
        'div',
        { class: 'title' },
        h('h1', {}, name),
        this.#topicId,
        h('nav', { class: 'links' }, link(`#/tail/${enc(name)}`, 'Live tail', 'action'), link('#/topics', 'All topics')),
      ),
      this.#summary,
      card('Produce rate (from the high watermark)', this.#chart.el),
      card('Partitions', this.#partitions),
      card('Config', this.#config, this.#configForm()),
    )
    this.#chart.el.id = 'topic-rate-chart'
  }

  update(store: Store): void {
    const state = store.topics.get(this.#name)
    if (state === undefined) {
      fill(this.#summary, store.polls === 0 ? note('loading…') : errorLine(store.topicsError ?? `There is no topic ${this.#name} on this node.`))
      return
    }
    const info = state.info
    this.#chart.update([{ name: this.#name, points: state.rate.points }], Date.now())
    if (info === undefined) {
      fill(this.#summary, state.error ? errorLine(state.error) : note('loading…'))
      return
    }
    this.#topicId.textContent = info.topicId ?? ''
    fill(
      this.#summary,
      state.error ? errorLine(state.error) : null,
      kv([
        ['Partitions', info.partitions.length],
        ['High watermark Σ', fmt.count(sumHighWatermarks(info.partitions))],
        ['Size', fmt.bytes(info.partitions.reduce((sum, p) => sum + (p.sizeBytes ?? 0), 0))],
        ['Records/s now', fmt.rate(state.rate.last?.v)],
      ]),
    )
    fill(
      this.#partitions,
      table<PartitionInfo>(
        [
          { title: 'Partition', num: true, cell: (p) => p.partition },
          { title: 'Leader', num: true, field: 'leader', cell: (p) => (p.leader === null || p.leader === undefined ? null : String(p.leader)) },
          { title: 'Leader epoch', num: true, field: 'leaderEpoch', cell: (p) => p.leaderEpoch },
          { title: 'Replicas', field: 'replicas', cell: (p) => list(p.replicas) },
          { title: 'ISR', field: 'isr', cell: (p) => list(p.isr) },
          { title: 'Log start', num: true, field: 'logStartOffset', cell: (p) => fmt.count(p.logStartOffset) },
          { title: 'High watermark', num: true, field: 'highWatermark', cell: (p) => fmt.count(p.highWatermark) },
          { title: 'Log end', num: true, field: 'logEndOffset', cell: (p) => fmt.count(p.logEndOffset) },
          { title: 'Size', num: true, field: 'sizeBytes', cell: (p) => fmt.bytes(p.sizeBytes) },
        ],
        info.partitions,
        (p) => ({ 'data-partition': String(p.partition) }),
      ),
    )
    fill(
      this.#config,
      table<[string, string]>(
        [
          { title: 'Key', cell: ([k]) => h('code', {}, k) },
          { title: 'Value', field: 'value', cell: ([, v]) => v },
        ],
        Object.entries(info.config).sort(([a], [b]) => (a < b ? -1 : 1)),
        ([k]) => ({ 'data-config': k }),
      ),
    )
    this.#config.firstElementChild?.classList.add('config')
  }

  #configForm(): HTMLElement {
    const keys = h('datalist', { id: 'config-keys' }, ...TOPIC_CONFIG_KEYS.map((k) => h('option', { value: k })))
    const key = h('input', { name: 'key', list: 'config-keys', required: true, placeholder: 'retention.ms', autocomplete: 'off' })
    const value = h('input', { name: 'value', placeholder: '86400000', autocomplete: 'off' })
    const outcome = new Outcome()
    const reset = h('button', { type: 'button', class: 'secondary', id: 'config-reset' }, 'Reset key to default')
    const form = h(
      'form',
      { class: 'form', id: 'alter-config' },
      keys,
      h('label', {}, 'Key', key),
      h('label', {}, 'Value', value),
      h('div', { class: 'buttons' }, h('button', { type: 'submit' }, 'Set'), reset),
      outcome.el,
    )
    const send = (body: { set?: Record<string, string>; delete?: string[] }, done: string) =>
      busy(form, async () => {
        outcome.clear()
        try {
          await sendJson('PATCH', `/v1/topics/${enc(this.#name)}/config`, body)
          outcome.ok(done)
          await this.#store.refreshNow()
        } catch (err) {
          outcome.fail(err)
        }
      })
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      void send({ set: { [key.value.trim()]: value.value.trim() } }, `Set ${key.value.trim()} = ${value.value.trim()}.`)
    })
    reset.addEventListener('click', () => {
      if (key.value.trim() === '') return outcome.fail(new Error('name the key to reset'))
      void send({ delete: [key.value.trim()] }, `${key.value.trim()} is back to its default.`)
    })
    return form
  }
}
