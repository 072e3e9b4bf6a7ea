// Pieces every view uses: cards, tables, error lines, forms' result lines.
import { explain } from '../api.ts'
import { h } from '../dom.ts'
import type { Store } from '../store.ts'

export interface View {
  readonly el: HTMLElement
  /** Called after every poll (and once when the view opens). */
  update(store: Store): void
  dispose?(): void
}

export function card(title: string, ...children: Array<Node | string | null | undefined | false>): HTMLElement {
  return h('section', { class: 'card' }, h('h2', {}, title), ...children)
}

export interface Column<T> {
  title: string
  /** Right-aligned numbers. */
  num?: boolean
  /** Named cells can be found by tests and by people reading the markup: td[data-field=...]. */
  field?: string
  cell: (row: T) => Node | string | number | null | undefined
}

export function table<T>(columns: Column<T>[], rows: readonly T[], rowAttrs?: (row: T) => Record<string, string>, empty = 'nothing yet'): HTMLTableElement {
  const head = h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', { class: c.num ? 'num' : null }, c.title))))
  const body = h('tbody')
  if (rows.length === 0) body.append(h('tr', { class: 'none' }, h('td', { colspan: columns.length }, empty)))
  for (const row of rows) {
    const tr = h('tr', rowAttrs?.(row) ?? {})
    for (const c of columns) {
      const value = c.cell(row)
      tr.append(h('td', { class: c.num ? 'num' : null, 'data-field': c.field ?? null }, value ?? '–'))
    }
    body.append(tr)
  }
  return h('table', {}, head, body)
}

/** A red line saying what failed and what to do (401: paste a token; 403: needs admin). */
export function errorLine(err: unknown): HTMLElement {
  return h('p', { class: 'error', role: 'alert' }, explain(err))
}

export function note(text: string, cls = 'note'): HTMLElement {
  return h('p', { class: cls }, text)
}

/** A line under a form that reports the outcome of its last submission. */
export class Outcome {
  readonly el = h('p', { class: 'outcome', 'aria-live': 'polite' })

  ok(text: string): void {
    this.el.className = 'outcome ok'
    this.el.textContent = text
  }

  fail(err: unknown): void {
    this.el.className = 'outcome error'
    this.el.setAttribute('role', 'alert')
    this.el.textContent = explain(err)
  }

  clear(): void {
    this.el.className = 'outcome'
    this.el.textContent = ''
  }
}

export function link(href: string, text: string, cls?: string): HTMLAnchorElement {
  return h('a', { href, class: cls ?? null }, text)
}

export function chip(text: string, kind = ''): HTMLElement {
  return h('span', { class: `chip ${kind}`.trim() }, text)
}

/** A horizontal bar for a lag cell: the share of the largest value in the table. */
export function bar(value: number, max: number): HTMLElement {
  const el = h('span', { class: 'bar' })
  const fill = h('span', { class: 'fill' })
  // CSSOM, not a style attribute: allowed by the page's Content-Security-Policy.
  fill.style.width = `${max > 0 ? Math.round((value / max) * 100) : 0}%`
  el.append(fill)
  return el
}

/** Disables a form's buttons while a request runs, so a double click sends once. */
export async function busy<T>(form: HTMLElement, run: () => Promise<T>): Promise<T> {
  const buttons = [...form.querySelectorAll('button')]
  for (const b of buttons) b.disabled = true
  try {
    return await run()
  } finally {
    for (const b of buttons) b.disabled = false
  }
}

/** A row of labelled figures: "State Stable · Members 2 · Total lag 7". */
export function kv(entries: Array<[string, Node | string | number | null | undefined]>): HTMLElement {
  return h(
    'div',
    { class: 'kv' },
    ...entries.map(([k, v]) => h('div', { class: 'item', 'data-label': k }, h('span', { class: 'k' }, k), h('span', { class: 'v' }, v ?? '–'))),
  )
}
