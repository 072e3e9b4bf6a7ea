// #/groups/NAME: a group's members and their assignments (GET /v1/groups/{g}, when the node has
// it), its lag per partition and over time, and the offset reset form.
import { enc } from '../api.ts'
import { LineChart } from '../chart.ts'
import { fill, h } from '../dom.ts'
import * as fmt from '../format.ts'
import { parsePartitionList, resetOffsets, type ResetResult, type ResetTo } from '../reset.ts'
import type { Store } from '../store.ts'
import type { GroupMember, LagPartition, TopicPartitions } from '../types.ts'
import { bar, busy, card, chip, errorLine, kv, link, note, Outcome, table, type View } from './common.ts'
import { LAG_WINDOW_MS } from './groups.ts'

const assignment = (list: TopicPartitions[] | undefined) =>
  list === undefined ? null : list.length === 0 ? '–' : list.map((tp) => `${tp.topic}: ${fmt.partitions(tp.partitions)}`).join('; ')

export class GroupView implements View {
  readonly el = h('div', { class: 'view', 'data-view': 'group' })
  readonly #name: string
  readonly #summary = h('div')
  readonly #chart = new LineChart({ unit: 'records behind', windowMs: LAG_WINDOW_MS })
  readonly #members = h('div')
  readonly #lag = h('div')
  readonly #topicSelect = h('select', { name: 'topic', required: true })
  readonly #store: Store

  constructor(store: Store, name: string) {
    this.#store = store
    this.#name = name
    store.focusGroup = name
    store.focusDescription = undefined
    store.focusError = undefined
    this.#chart.el.id = 'group-lag-chart'
    this.el.append(
      h('div', { class: 'title' }, h('h1', {}, name), h('nav', { class: 'links' }, link('#/groups', 'All groups'))),
      this.#summary,
      card('Lag over time (total)', this.#chart.el),
      card('Members', this.#members),
      card('Lag per partition', this.#lag),
      this.#resetForm(),
    )
  }

  dispose(): void {
    if (this.#store.focusGroup === this.#name) this.#store.focusGroup = undefined
  }

  update(store: Store): void {
    const state = store.groups.get(this.#name)
    const lag = state?.lag
    this.#chart.update([{ name: 'total lag', points: state?.lagSeries.points ?? [] }], Date.now())
    const d = store.focusDescription?.group === this.#name ? store.focusDescription : undefined
    fill(
      this.#summary,
      state?.lagError ? errorLine(state.lagError) : null,
      kv([
        ['State', d?.state ?? lag?.state ?? null],
        ['Members', d ? d.members.length : state?.listed?.members ?? null],
        ['Group epoch', d?.groupEpoch ?? state?.listed?.groupEpoch ?? null],
        ['Assignment epoch', d?.assignmentEpoch ?? null],
        ['Total lag', lag ? fmt.count(lag.totalLag) : null],
      ]),
    )
    this.#renderMembers(store, d?.members)
    this.#renderLag(lag?.partitions)
    this.#offerTopics(store, lag?.partitions ?? [])
  }

  #renderMembers(store: Store, members: GroupMember[] | undefined): void {
    if (store.describeSupport === 'no') {
      fill(this.#members, note('This node does not describe groups (GET /v1/groups/{group} answered 404 NOT_FOUND: group membership is not on this node); the lag below is all it knows.', 'notice'))
      return
    }
    if (members === undefined) {
      const err = store.focusError
      if (err?.code === 'GROUP_ID_NOT_FOUND') fill(this.#members, note('The node knows no group by this name: it has no members and no committed offsets.', 'notice'))
      else fill(this.#members, err ? errorLine(err) : note('loading…'))
      return
    }
    fill(
      this.#members,
      table<GroupMember>(
        [
          { title: 'Member', cell: (m) => h('code', {}, m.memberId) },
          { title: 'Instance', cell: (m) => m.instanceId ?? '–' },
          { title: 'Epoch', num: true, cell: (m) => m.memberEpoch },
          { title: 'State', cell: (m) => (m.state ? chip(m.state, m.state === 'stable' ? 'good' : 'warn') : null) },
          { title: 'Topics', cell: (m) => m.topics?.join(', ') },
          { title: 'Assignment', field: 'assignment', cell: (m) => assignment(m.assignment) },
          { title: 'Revoking', cell: (m) => assignment(m.pendingRevocation) },
        ],
        members,
        (m) => ({ 'data-member': m.memberId }),
        'no members: the group is empty (its committed offsets remain)',
      ),
    )
  }

  #renderLag(partitions: LagPartition[] | undefined): void {
    if (partitions === undefined) return
    const max = Math.max(0, ...partitions.map((p) => p.lag))
    fill(
      this.#lag,
      table<LagPartition>(
        [
          { title: 'Topic', cell: (p) => link(`#/topics/${enc(p.topic)}`, p.topic) },
          { title: 'Partition', num: true, cell: (p) => p.partition },
          { title: 'Committed', num: true, field: 'committed', cell: (p) => (p.committed === null ? 'none' : fmt.count(p.committed)) },
          { title: 'Log start', num: true, field: 'logStartOffset', cell: (p) => fmt.count(p.logStartOffset) },
          { title: 'High watermark', num: true, field: 'highWatermark', cell: (p) => fmt.count(p.highWatermark) },
          { title: 'Lag', num: true, field: 'lag', cell: (p) => fmt.count(p.lag) },
          { title: '', cell: (p) => bar(p.lag, max) },
          { title: 'Owner', field: 'owner', cell: (p) => (p.owner ? h('code', {}, p.owner) : '–') },
        ],
        partitions,
        (p) => ({ 'data-topic': p.topic, 'data-partition': String(p.partition) }),
        'no committed offsets and no owned partitions',
      ),
    )
  }

  /** The reset form offers the group's topics first, then every other topic. */
  #offerTopics(store: Store, partitions: LagPartition[]): void {
    const own = [...new Set(partitions.map((p) => p.topic))]
    const names = [...own, ...store.topicNames.filter((t) => !own.includes(t))]
    const current = [...this.#topicSelect.options].map((o) => o.value)
    if (current.join('\n') === names.join('\n')) return
    const selected = this.#topicSelect.value
    fill(this.#topicSelect, ...names.map((t) => h('option', { value: t }, t)))
    if (names.includes(selected)) this.#topicSelect.value = selected
  }

  #resetForm(): HTMLElement {
    const partitions = h('input', { name: 'partitions', placeholder: 'all (or 0, 2, 5)', autocomplete: 'off' })
    const to = h(
      'select',
      { name: 'to' },
      h('option', { value: 'earliest' }, 'earliest (log start)'),
      h('option', { value: 'latest' }, 'latest (high watermark)'),
      h('option', { value: 'offset' }, 'offset…'),
      h('option', { value: 'timestamp' }, 'time…'),
    )
    const offset = h('input', { name: 'offset', type: 'number', min: 0, placeholder: '0' })
    const when = h('input', { name: 'timestamp', type: 'datetime-local', step: 1 })
    const offsetLabel = h('label', { hidden: true }, 'Offset', offset)
    const whenLabel = h('label', { hidden: true }, 'Time (local)', when)
    to.addEventListener('change', () => {
      offsetLabel.hidden = to.value !== 'offset'
      whenLabel.hidden = to.value !== 'timestamp'
    })
    const dryRun = h('input', { name: 'dryRun', type: 'checkbox' })
    const outcome = new Outcome()
    const result = h('div')
    const form = h(
      'form',
      { class: 'form', id: 'reset-offsets' },
      h('label', {}, 'Topic', this.#topicSelect),
      h('label', {}, 'Partitions', partitions),
      h('label', {}, 'Reset to', to),
      offsetLabel,
      whenLabel,
      h('label', { class: 'check' }, dryRun, 'Dry run (show, do not change)'),
      h('div', { class: 'buttons' }, h('button', { type: 'submit' }, 'Reset offsets')),
      outcome.el,
      result,
    )
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      void busy(form, async () => {
        outcome.clear()
        fill(result)
        try {
          let target: ResetTo = to.value as 'earliest' | 'latest'
          if (to.value === 'offset') target = { offset: Number(offset.value) }
          if (to.value === 'timestamp') {
            const ms = new Date(when.value).getTime()
            if (!Number.isFinite(ms)) throw new Error('pick a time')
            target = { timestamp: ms }
          }
          const answer = await resetOffsets({
            group: this.#name,
            topic: this.#topicSelect.value,
            partitions: parsePartitionList(partitions.value),
            to: target,
            dryRun: dryRun.checked,
          })
          outcome.ok(describeReset(answer))
          fill(result, resultTable(answer))
          await this.#store.refreshNow()
        } catch (err) {
          outcome.fail(err)
        }
      })
    })
    return card(
      'Reset offsets',
      note('Moves where the group reads next. Kafka allows this only while the group has no members (NON_EMPTY_GROUP otherwise).'),
      form,
    )
  }
}

function describeReset(r: ResetResult): string {
  const n = r.offsets.length
  const what = `${n} partition${n === 1 ? '' : 's'}`
  const how = r.via === 'commit' ? ' (this node has no reset endpoint: committed through POST /v1/groups/{group}/offsets)' : ''
  return r.dryRun ? `Dry run: ${what} would move${how}.` : `Reset ${what}${how}.`
}

function resultTable(r: ResetResult): HTMLElement {
  return table(
    [
      { title: 'Topic', cell: (o) => o.topic },
      { title: 'Partition', num: true, cell: (o) => o.partition },
      { title: 'Previous', num: true, cell: (o) => (o.previous === null ? 'none' : fmt.count(o.previous)) },
      { title: r.dryRun ? 'Would be' : 'Now', num: true, field: 'offset', cell: (o) => fmt.count(o.offset) },
    ],
    r.offsets,
  )
}
