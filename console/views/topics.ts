// #/topics: every topic with its partitions, offsets, size and produce rate (sparkline), and
// the form that creates a topic.
import { enc, sendJson } from '../api.ts'
import { LineChart } from '../chart.ts'
import { fill, h } from '../dom.ts'
import * as fmt from '../format.ts'
import { TOPICS_POLLED_MAX, type Store, type TopicState } from '../store.ts'
import { sumHighWatermarks } from '../series.ts'
import { busy, card, errorLine, link, note, Outcome, table, type View } from './common.ts'

export const RATE_WINDOW_MS = 5 * 60_000

export class TopicsView implements View {
  readonly el = h('div', { class: 'view', 'data-view': 'topics' })
  readonly #list = h('div')
  readonly #sparks = new Map<string, LineChart>()
  readonly #store: Store

  constructor(store: Store) {
    this.#store = store
    this.el.append(card('Topics', this.#list), this.#createForm())
  }

  update(store: Store): void {
    const now = Date.now()
    if (store.topicsError && store.topicNames.length === 0) {
      fill(this.#list, errorLine(store.topicsError))
      return
    }
    const rows = store.topicNames.map((name) => store.topics.get(name)!).filter(Boolean)
    for (const name of [...this.#sparks.keys()]) if (!store.topics.has(name)) this.#sparks.delete(name)
    const spark = (t: TopicState) => {
      let chart = this.#sparks.get(t.name)
      if (chart === undefined) this.#sparks.set(t.name, (chart = new LineChart({ unit: 'records/s', windowMs: RATE_WINDOW_MS, spark: true })))
      chart.update([{ name: t.name, points: t.rate.points }], now)
      return chart.el
    }
    fill(
      this.#list,
      store.topicsError ? errorLine(store.topicsError) : null,
      table(
        [
          { title: 'Topic', cell: (t) => link(`#/topics/${enc(t.name)}`, t.name) },
          { title: 'Partitions', num: true, field: 'partitions', cell: (t) => t.partitionCount },
          { title: 'High watermark Σ', num: true, field: 'highWatermark', cell: (t) => (t.info ? fmt.count(sumHighWatermarks(t.info.partitions)) : null) },
          {
            title: 'Retained',
            num: true,
            field: 'retained',
            cell: (t) => (t.info ? fmt.count(t.info.partitions.reduce((sum, p) => sum + (p.highWatermark - p.logStartOffset), 0)) : null),
          },
          { title: 'Size', num: true, field: 'size', cell: (t) => (t.info ? fmt.bytes(t.info.partitions.reduce((sum, p) => sum + (p.sizeBytes ?? 0), 0)) : null) },
          { title: 'Records/s', num: true, field: 'rate', cell: (t) => (t.error ? h('span', { class: 'error', title: t.error.message }, t.error.code) : fmt.rate(t.rate.last?.v)) },
          { title: 'Trend', cell: spark },
          { title: '', cell: (t) => link(`#/tail/${enc(t.name)}`, 'tail', 'action') },
        ],
        rows,
        (t) => ({ 'data-topic': t.name }),
        store.polls === 0 ? 'loading…' : 'no topics yet: create one below',
      ),
      store.topicNames.length > TOPICS_POLLED_MAX ? note(`Offsets and rates are polled for the first ${TOPICS_POLLED_MAX} topics.`) : null,
    )
  }

  #createForm(): HTMLElement {
    const name = h('input', { name: 'name', required: true, maxlength: 249, pattern: '[a-zA-Z0-9._\\-]+', placeholder: 'orders', autocomplete: 'off' })
    const partitions = h('input', { name: 'partitions', type: 'number', min: 1, max: 1024, value: '1', required: true })
    const config = h('textarea', { name: 'config', rows: 3, placeholder: 'retention.ms=86400000\ncleanup.policy=compact' })
    const outcome = new Outcome()
    const form = h(
      'form',
      { class: 'form', id: 'create-topic' },
      h('label', {}, 'Name', name),
      h('label', {}, 'Partitions', partitions),
      h('label', { class: 'wide' }, 'Config (key=value per line, optional)', config),
      h('div', { class: 'buttons' }, h('button', { type: 'submit' }, 'Create topic')),
      outcome.el,
    )
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      void busy(form, async () => {
        outcome.clear()
        try {
          const body = { name: name.value.trim(), partitions: Number(partitions.value), config: parseConfigLines(config.value) }
          await sendJson('POST', '/v1/topics', body)
          outcome.ok(`Created topic ${body.name} with ${body.partitions} partition${body.partitions === 1 ? '' : 's'}.`)
          name.value = ''
          config.value = ''
          await this.#store.refreshNow()
        } catch (err) {
          outcome.fail(err)
        }
      })
    })
    return card('Create topic', form)
  }
}

/** "key=value" lines; blank lines and # comments are skipped. */
export function parseConfigLines(text: string): Record<string, string> {
  const config: Record<string, string> = {}
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const eq = line.indexOf('=')
    if (eq <= 0) throw new Error(`config line "${line}" is not key=value`)
    config[line.slice(0, eq).trim()] = line.slice(eq + 1).trim()
  }
  return config
}
