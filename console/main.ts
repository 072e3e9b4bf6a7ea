// The edgelog console: one page served by every node at /console. It reads the node through the
// public HTTP and WebSocket APIs only, so it shows exactly what a client with the same token
// would see. Views are chosen by the URL hash (#/topics, #/topics/NAME, #/groups, #/groups/NAME,
// #/tail/NAME, #/edge); one poll loop (store.ts) refreshes them at the rate picked in the header.
import { explain, getToken, setToken } from './api.ts'
import { byId, fill, h } from './dom.ts'
import * as fmt from './format.ts'
import { Store } from './store.ts'
import type { View } from './views/common.ts'
import { EdgeView } from './views/edge.ts'
import { GroupView } from './views/group.ts'
import { GroupsView } from './views/groups.ts'
import { TailView } from './views/tail.ts'
import { TopicView } from './views/topic.ts'
import { TopicsView } from './views/topics.ts'

const REFRESH_KEY = 'edgelog.console.refreshMs'
const REFRESH_CHOICES = [1000, 2000, 5000, 10_000, 0]
const REFRESH_DEFAULT = 2000
/** A tab nobody looks at polls at most this often. */
const HIDDEN_REFRESH_MS = 10_000

const store = new Store()
const main = byId('main')
const nav = byId('nav')
const pollState = byId('poll-state')
let view: View | undefined
let viewKey = ''

// ---- routing --------------------------------------------------------------------------

interface Route {
  key: string
  tab: 'topics' | 'groups' | 'tail' | 'edge'
  make: () => View
}

function route(hash: string): Route {
  const [, section = 'topics', ...rest] = hash.replace(/^#/, '').split('/')
  const name = rest.length > 0 ? safeDecode(rest.join('/')) : undefined
  switch (section) {
    case 'groups':
      return name ? { key: `group:${name}`, tab: 'groups', make: () => new GroupView(store, name) } : { key: 'groups', tab: 'groups', make: () => new GroupsView(store) }
    case 'tail':
      return { key: `tail:${name ?? ''}`, tab: 'tail', make: () => new TailView(store, name) }
    case 'edge':
      return { key: 'edge', tab: 'edge', make: () => new EdgeView() }
    default:
      return name ? { key: `topic:${name}`, tab: 'topics', make: () => new TopicView(store, name) } : { key: 'topics', tab: 'topics', make: () => new TopicsView(store) }
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

function show(): void {
  const next = route(location.hash)
  for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.dataset.tab === next.tab)
  if (next.key === viewKey) return
  view?.dispose?.()
  viewKey = next.key
  view = next.make()
  fill(main, view.el)
  view.update(store)
  // A group view wants its members now, not at the next tick.
  if (next.tab === 'groups') void poller.kick()
}

// ---- polling --------------------------------------------------------------------------

/** One poll at a time; a kick during a poll runs one more right after it. */
class Poller {
  #timer: ReturnType<typeof setTimeout> | undefined
  #running: Promise<void> | undefined
  #again = false
  intervalMs = loadRefresh()

  async kick(): Promise<void> {
    if (this.#running) {
      this.#again = true
      return this.#running
    }
    clearTimeout(this.#timer)
    this.#running = (async () => {
      do {
        this.#again = false
        try {
          await store.poll()
        } catch (err) {
          console.error('poll failed', err)
        }
      } while (this.#again)
    })()
    try {
      await this.#running
    } finally {
      this.#running = undefined
      this.#schedule()
    }
  }

  #schedule(): void {
    clearTimeout(this.#timer)
    if (this.intervalMs === 0) return
    const ms = document.hidden ? Math.max(this.intervalMs, HIDDEN_REFRESH_MS) : this.intervalMs
    this.#timer = setTimeout(() => void this.kick(), ms)
  }

  setInterval(ms: number): void {
    this.intervalMs = ms
    localStorage.setItem(REFRESH_KEY, String(ms))
    if (!this.#running) this.#schedule()
  }
}

function loadRefresh(): number {
  const saved = Number(localStorage.getItem(REFRESH_KEY))
  return REFRESH_CHOICES.includes(saved) && localStorage.getItem(REFRESH_KEY) !== null ? saved : REFRESH_DEFAULT
}

const poller = new Poller()
store.refreshNow = () => poller.kick()

// ---- header: refresh rate, token, node state -------------------------------------------

function setupRefresh(): void {
  const select = byId<HTMLSelectElement>('refresh')
  fill(select, ...REFRESH_CHOICES.map((ms) => h('option', { value: String(ms) }, ms === 0 ? 'paused' : `every ${ms / 1000} s`)))
  select.value = String(poller.intervalMs)
  select.addEventListener('change', () => poller.setInterval(Number(select.value)))
}

function setupToken(): void {
  const input = byId<HTMLInputElement>('token')
  const state = byId('token-state')
  const form = byId<HTMLFormElement>('token-form')
  const render = () => {
    const set = getToken() !== ''
    state.textContent = set ? 'token set for this tab' : 'no token'
    state.className = set ? 'chip good' : 'chip'
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    setToken(input.value)
    input.value = ''
    form.closest('details')?.removeAttribute('open')
    render()
    store.resetAccess()
    void poller.kick()
  })
  byId('token-clear').addEventListener('click', () => {
    setToken('')
    input.value = ''
    render()
    store.resetAccess()
    void poller.kick()
  })
  render()
}

function renderChrome(): void {
  const edgeTab = nav.querySelector<HTMLAnchorElement>('a[data-tab="edge"]')!
  edgeTab.hidden = !(store.edge?.isEdge === true)
  const banner = byId('banner')
  const err = store.topicsError
  if (err) fill(banner, h('p', { class: 'error', role: 'alert' }, explain(err)))
  else fill(banner)
  pollState.textContent = store.lastPollAt ? `updated ${fmt.time(store.lastPollAt).slice(0, 8)}` : 'connecting…'
  pollState.dataset.polls = String(store.polls)
}

store.onChange(() => {
  renderChrome()
  view?.update(store)
})

byId('node').textContent = location.host
setupRefresh()
setupToken()
window.addEventListener('hashchange', show)
// Back in view: fresh numbers now, then the chosen rate again.
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && poller.intervalMs > 0) void poller.kick()
})
show()
void poller.kick()
