// #/tail/TOPIC: the newest records of a topic, live, over the WebSocket API through the client
// library every node serves at /v1/client.js. It opens with the last few records of each
// partition, then follows. Pause closes the subscription (no traffic while paused) and keeps
// the positions; resume jumps back to the newest records and says how many it skipped.
import type * as ClientModule from '../../src/client/index.ts'
import { authHeaders, enc, getJson, getToken } from '../api.ts'
import { fill, h } from '../dom.ts'
import * as fmt from '../format.ts'
import { parsePartitionList } from '../reset.ts'
import type { Store } from '../store.ts'
import type { TopicInfo } from '../types.ts'
import { card, errorLine, type View } from './common.ts'

type Client = InstanceType<typeof ClientModule.EdgelogClient>
type Subscription = ReturnType<Client['subscribe']>
type Consumed = Parameters<Parameters<Client['subscribe']>[2]>[0]

/** Rows kept and shown: the page stays light however fast the topic is. */
export const TAIL_ROWS_MAX = 200
/** A value longer than this is cut in the table. */
const VALUE_CHARS_MAX = 300
const NEWEST_DEFAULT = 10

let clientModule: Promise<typeof ClientModule> | undefined

/** The node's own client bundle, loaded once, at run time (it is not part of the console build). */
function loadClient(): Promise<typeof ClientModule> {
  const url = '/v1/client.js'
  clientModule ??= import(/* @vite-ignore */ url) as Promise<typeof ClientModule>
  return clientModule
}

export class TailView implements View {
  readonly el = h('div', { class: 'view', 'data-view': 'tail' })
  readonly #topic = h('select', { name: 'topic', id: 'tail-topic' })
  readonly #partitions = h('input', { name: 'partitions', placeholder: 'all (or 0, 2)', autocomplete: 'off' })
  readonly #newest = h('input', { name: 'newest', type: 'number', min: 0, max: TAIL_ROWS_MAX, value: String(NEWEST_DEFAULT) })
  readonly #start = h('button', { type: 'submit', id: 'tail-start' }, 'Start')
  readonly #pause = h('button', { type: 'button', class: 'secondary', id: 'tail-pause', disabled: true }, 'Pause')
  readonly #status = h('span', { class: 'chip', id: 'tail-status', 'data-status': 'idle' }, 'idle')
  readonly #stats = h('span', { class: 'stats', id: 'tail-stats' })
  readonly #message = h('div')
  readonly #rows = h('tbody', { id: 'tail-rows' })
  #client: Client | undefined
  /** The token the client's WebSocket URL carries; a new token needs a new client. */
  #clientToken = ''
  #sub: Subscription | undefined
  #running: { topic: string; partitions: number[] } | undefined
  #paused: Record<number, number> | undefined
  /** Newest last; at most TAIL_ROWS_MAX. */
  #records: Consumed[] = []
  #received = 0
  #skipped = 0
  #arrivals: number[] = []
  #renderTimer: ReturnType<typeof setTimeout> | undefined
  #generation = 0
  readonly #initialTopic: string | undefined

  constructor(store: Store, topic: string | undefined) {
    this.#initialTopic = topic
    const form = h(
      'form',
      { class: 'form', id: 'tail-form' },
      h('label', {}, 'Topic', this.#topic),
      h('label', {}, 'Partitions', this.#partitions),
      h('label', {}, 'Start with the newest (per partition)', this.#newest),
      h('div', { class: 'buttons' }, this.#start, this.#pause),
    )
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      if (this.#running) this.#stop()
      else void this.#begin()
    })
    this.#pause.addEventListener('click', () => void (this.#paused ? this.#resume() : this.#pauseNow()))
    this.el.append(
      h('div', { class: 'title' }, h('h1', {}, 'Live tail'), h('div', { class: 'links' }, this.#status, this.#stats)),
      card('Subscription', form, this.#message),
      card(
        'Newest records',
        h(
          'table',
          { class: 'records' },
          h(
            'thead',
            {},
            h('tr', {}, h('th', { class: 'fit' }, 'Time'), h('th', { class: 'num fit' }, 'Partition'), h('th', { class: 'num fit' }, 'Offset'), h('th', {}, 'Key'), h('th', {}, 'Value')),
          ),
          this.#rows,
        ),
      ),
    )
    this.#renderRows()
    this.update(store)
    if (topic !== undefined) {
      this.#setTopics([topic, ...store.topicNames])
      this.#topic.value = topic
      void this.#begin()
    }
  }

  update(store: Store): void {
    this.#setTopics(this.#initialTopic ? [this.#initialTopic, ...store.topicNames] : store.topicNames)
  }

  dispose(): void {
    this.#stop()
    this.#client?.close()
    this.#client = undefined
  }

  #setTopics(names: string[]): void {
    const unique = [...new Set(names)].sort()
    const current = [...this.#topic.options].map((o) => o.value)
    if (current.join('\n') === unique.join('\n')) return
    const selected = this.#topic.value
    fill(this.#topic, ...unique.map((t) => h('option', { value: t }, t)))
    if (unique.includes(selected)) this.#topic.value = selected
  }

  async #connect(): Promise<Client> {
    const token = getToken()
    if (this.#client && this.#clientToken === token) return this.#client
    this.#client?.close()
    this.#client = undefined
    const { EdgelogClient } = await loadClient()
    const ws = new URL('/v1/ws', location.href)
    ws.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:'
    // A browser WebSocket cannot carry an Authorization header: the token goes in the query.
    if (token !== '') ws.searchParams.set('token', token)
    this.#client = new EdgelogClient({ url: location.origin, wsUrl: ws.href, headers: authHeaders() })
    this.#clientToken = token
    return this.#client
  }

  async #begin(): Promise<void> {
    const topic = this.#topic.value
    if (topic === '') return
    const generation = ++this.#generation
    fill(this.#message)
    try {
      const partitions = parsePartitionList(this.#partitions.value)
      this.#running = { topic, partitions }
      this.#records = []
      this.#received = 0
      this.#skipped = 0
      this.#arrivals = []
      this.#start.textContent = 'Stop'
      this.#pause.disabled = false
      this.#pause.textContent = 'Pause'
      this.#setStatus('subscribing')
      const from = await this.#newestOffsets(topic, partitions, undefined)
      if (generation !== this.#generation) return
      await this.#subscribe(topic, partitions, from.offsets)
      this.#scheduleRender()
    } catch (err) {
      if (generation !== this.#generation) return
      this.#fail(err)
    }
  }

  /** Per partition: `newest` records back from the high watermark, not before `floor`. */
  async #newestOffsets(topic: string, partitions: number[], floor: Record<number, number> | undefined) {
    const info = await getJson<TopicInfo>(`/v1/topics/${enc(topic)}`)
    const newest = Math.max(0, Math.min(TAIL_ROWS_MAX, Number(this.#newest.value) || 0))
    const chosen = partitions.length === 0 ? info.partitions : info.partitions.filter((p) => partitions.includes(p.partition))
    if (chosen.length !== (partitions.length === 0 ? info.partitions.length : partitions.length)) {
      throw new Error(`topic ${topic} has partitions 0–${info.partitions.length - 1}`)
    }
    const offsets: Record<number, number> = {}
    let skipped = 0
    for (const p of chosen) {
      const start = Math.max(p.logStartOffset, p.highWatermark - newest)
      const from = floor?.[p.partition]
      offsets[p.partition] = from === undefined ? start : Math.max(from, start)
      if (from !== undefined) skipped += Math.max(0, offsets[p.partition]! - from)
    }
    return { offsets, skipped }
  }

  async #subscribe(topic: string, partitions: number[], offsets: Record<number, number>): Promise<void> {
    const client = await this.#connect()
    const sub = client.subscribe(
      topic,
      {
        from: { offsets },
        ...(partitions.length > 0 ? { partitions } : {}),
        onStatus: (status) => {
          if (this.#sub === sub && !this.#paused) this.#setStatus(status)
        },
        onGap: (gap) => {
          if (this.#sub === sub) this.#note(`Offsets ${gap.from}–${gap.to - 1} of partition ${gap.partition} are no longer retained.`)
        },
        onError: (error) => {
          if (this.#sub === sub) this.#note(`${error.code}: ${error.message}`, true)
        },
      },
      (record) => {
        if (this.#sub !== sub) return
        this.#received++
        this.#arrivals.push(Date.now())
        if (this.#arrivals.length > 1000) this.#arrivals.splice(0, this.#arrivals.length - 1000)
        this.#records.push(record)
        if (this.#records.length > TAIL_ROWS_MAX) this.#records.splice(0, this.#records.length - TAIL_ROWS_MAX)
        this.#scheduleRender()
      },
    )
    this.#sub = sub
    sub.done.catch((err: unknown) => {
      if (this.#sub === sub) this.#fail(err)
    })
  }

  #pauseNow(): void {
    const sub = this.#sub
    if (sub === undefined || this.#running === undefined) return
    this.#paused = sub.positions()
    this.#sub = undefined
    sub.close()
    this.#pause.textContent = 'Resume'
    this.#setStatus('paused')
    this.#scheduleRender()
  }

  async #resume(): Promise<void> {
    const running = this.#running
    const floor = this.#paused
    if (running === undefined || floor === undefined) return
    const generation = ++this.#generation
    this.#paused = undefined
    this.#pause.textContent = 'Pause'
    this.#setStatus('subscribing')
    try {
      const from = await this.#newestOffsets(running.topic, running.partitions, floor)
      if (generation !== this.#generation) return
      this.#skipped += from.skipped
      if (from.skipped > 0) this.#note(`Resumed at the newest records: ${fmt.count(from.skipped)} records arrived while paused and are not shown.`)
      await this.#subscribe(running.topic, running.partitions, from.offsets)
    } catch (err) {
      if (generation === this.#generation) this.#fail(err)
    }
  }

  #stop(): void {
    this.#generation++
    this.#sub?.close()
    this.#sub = undefined
    this.#running = undefined
    this.#paused = undefined
    this.#start.textContent = 'Start'
    this.#pause.disabled = true
    this.#pause.textContent = 'Pause'
    this.#setStatus('idle')
  }

  #fail(err: unknown): void {
    this.#stop()
    fill(this.#message, errorLine(err))
  }

  #note(text: string, isError = false): void {
    fill(this.#message, h('p', { class: isError ? 'error' : 'note' }, text))
  }

  #setStatus(status: string): void {
    this.#status.dataset.status = status
    this.#status.className = `chip ${status === 'live' ? 'good' : status === 'paused' || status === 'idle' ? '' : 'warn'}`.trim()
    this.#status.textContent = status
  }

  #scheduleRender(): void {
    // Records can arrive by the thousand per second; the table is redrawn at most ten times a second.
    this.#renderTimer ??= setTimeout(() => {
      this.#renderTimer = undefined
      this.#renderRows()
    }, 100)
  }

  #renderRows(): void {
    const now = Date.now()
    const recent = this.#arrivals.filter((t) => t >= now - 5000).length / 5
    this.#stats.textContent = `${fmt.count(this.#received)} received · ${fmt.rate(recent)} records/s${this.#skipped ? ` · ${fmt.count(this.#skipped)} skipped while paused` : ''}`
    if (this.#records.length === 0) {
      fill(this.#rows, h('tr', { class: 'none' }, h('td', { colspan: 5 }, this.#running ? 'waiting for records…' : 'pick a topic and press Start')))
      return
    }
    // Newest first by timestamp: a catch-up delivers partition after partition, not in time order.
    const sorted = [...this.#records].sort((a, b) => b.timestamp - a.timestamp || a.partition - b.partition || b.offset - a.offset)
    const rows = []
    for (const r of sorted) {
      rows.push(
        h(
          'tr',
          { 'data-partition': String(r.partition), 'data-offset': String(r.offset) },
          h('td', { class: 'time fit' }, fmt.time(r.timestamp)),
          h('td', { class: 'num fit' }, r.partition),
          h('td', { class: 'num fit' }, r.offset),
          h('td', { class: 'key' }, showKey(r.key)),
          h('td', { class: 'value' }, showValue(r.value)),
        ),
      )
    }
    fill(this.#rows, ...rows)
  }
}

function showKey(key: Consumed['key']): string {
  if (key === null) return '–'
  if (typeof key === 'string') return key
  return `base64:${key.base64}`
}

function showValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return text.length > VALUE_CHARS_MAX ? `${text.slice(0, VALUE_CHARS_MAX)}…` : text
}
