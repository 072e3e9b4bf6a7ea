// #/groups: consumer groups with their state, members and total lag. On a node with consumer
// group membership (`GET /v1/groups`) the list comes from the node; on one without it (404) the
// view says so and shows the groups typed into the "Watch a group" field, with their lag.
import { enc } from '../api.ts'
import { LineChart } from '../chart.ts'
import { fill, h } from '../dom.ts'
import * as fmt from '../format.ts'
import { GROUPS_POLLED_MAX, type GroupState, type Store } from '../store.ts'
import { card, errorLine, link, note, table, type View } from './common.ts'

export const LAG_WINDOW_MS = 5 * 60_000

export class GroupsView implements View {
  readonly el = h('div', { class: 'view', 'data-view': 'groups' })
  readonly #notice = h('div')
  readonly #list = h('div')
  readonly #sparks = new Map<string, LineChart>()
  readonly #store: Store

  constructor(store: Store) {
    this.#store = store
    this.el.append(card('Consumer groups', this.#notice, this.#list), this.#watchForm())
  }

  update(store: Store): void {
    const now = Date.now()
    fill(
      this.#notice,
      store.groupListing === 'no'
        ? note(
            'This node does not list consumer groups (GET /v1/groups answered 404 NOT_FOUND: group membership is not on this node). ' +
              'Type a group name below to watch its committed offsets and lag.',
            'notice',
          )
        : null,
      store.groupsError ? errorLine(store.groupsError) : null,
    )
    const rows = [...store.groups.values()].sort((a, b) => (a.name < b.name ? -1 : 1))
    const spark = (g: GroupState) => {
      let chart = this.#sparks.get(g.name)
      if (chart === undefined) this.#sparks.set(g.name, (chart = new LineChart({ unit: 'lag', windowMs: LAG_WINDOW_MS, spark: true })))
      chart.update([{ name: g.name, points: g.lagSeries.points }], now)
      return chart.el
    }
    const unwatch = (g: GroupState) =>
      store.watched.includes(g.name)
        ? h('button', { type: 'button', class: 'link', title: 'stop watching', onclick: () => this.#unwatch(g.name) }, 'remove')
        : ''
    fill(
      this.#list,
      table(
        [
          { title: 'Group', cell: (g) => link(`#/groups/${enc(g.name)}`, g.name) },
          { title: 'State', field: 'state', cell: (g) => g.listed?.state ?? g.lag?.state },
          { title: 'Members', num: true, field: 'members', cell: (g) => g.listed?.members },
          { title: 'Group epoch', num: true, cell: (g) => g.listed?.groupEpoch },
          { title: 'Partitions', num: true, cell: (g) => g.lag?.partitions.length },
          { title: 'Total lag', num: true, field: 'totalLag', cell: (g) => (g.lagError ? h('span', { class: 'error', title: g.lagError.message }, g.lagError.code) : fmt.count(g.lag?.totalLag)) },
          { title: 'Trend', cell: spark },
          { title: '', cell: unwatch },
        ],
        rows,
        (g) => ({ 'data-group': g.name }),
        store.polls === 0 ? 'loading…' : store.groupListing === 'yes' ? 'no consumer groups on this node yet' : 'no groups watched yet',
      ),
      rows.length > GROUPS_POLLED_MAX ? note(`Lag is polled for the first ${GROUPS_POLLED_MAX} groups.`) : null,
    )
  }

  #unwatch(group: string): void {
    this.#store.unwatch(group)
    void this.#store.refreshNow()
  }

  #watchForm(): HTMLElement {
    const name = h('input', { name: 'group', required: true, maxlength: 249, placeholder: 'billing', autocomplete: 'off' })
    const form = h(
      'form',
      { class: 'form', id: 'watch-group' },
      h('label', {}, 'Group', name),
      h('div', { class: 'buttons' }, h('button', { type: 'submit' }, 'Watch')),
    )
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      const group = name.value.trim()
      if (group === '') return
      this.#store.watch(group)
      name.value = ''
      location.hash = `#/groups/${enc(group)}`
    })
    return card('Watch a group', note('Shows its committed offsets and lag here, for this browser tab.'), form)
  }
}
