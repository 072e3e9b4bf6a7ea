// Line charts drawn as SVG by our own small code (no chart library, no CDN). The geometry is
// a pure function (unit tested in test/unit/console-chart.test.ts); LineChart keeps one <svg>
// and rewrites its paths on every update, so a chart redraws in place while data arrives.
import { s } from './dom.ts'
import { compact } from './format.ts'
import type { Point } from './series.ts'

export interface ChartBox {
  width: number
  height: number
  /** Room for the y labels on the left and the x labels below. */
  left: number
  right: number
  top: number
  bottom: number
}

export const DEFAULT_BOX: ChartBox = { width: 640, height: 200, left: 44, right: 12, top: 14, bottom: 24 }

/** The smallest 1, 2 or 5 × 10^k at or above `v` (at least 1): a y axis top a person can read. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1
  const magnitude = 10 ** Math.floor(Math.log10(v))
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= v) return step * magnitude
  }
  return 10 * magnitude
}

export interface Geometry {
  /** The line: "M x y L x y ...", empty with no points. */
  line: string
  /** The same line closed down to the x axis, for the fill. */
  area: string
  yMax: number
}

/** Maps points of the window [now - windowMs, now] into the box; the y axis starts at 0. */
export function geometry(points: readonly Point[], windowMs: number, now: number, yMax: number, box: ChartBox = DEFAULT_BOX): Geometry {
  const plotW = box.width - box.left - box.right
  const plotH = box.height - box.top - box.bottom
  const x = (t: number) => box.left + Math.max(0, Math.min(1, (t - (now - windowMs)) / windowMs)) * plotW
  const y = (v: number) => box.top + plotH - Math.max(0, Math.min(1, v / yMax)) * plotH
  const visible = points.filter((p) => p.t >= now - windowMs && p.t <= now)
  if (visible.length === 0) return { line: '', area: '', yMax }
  const coords = visible.map((p) => `${x(p.t).toFixed(1)} ${y(p.v).toFixed(1)}`)
  const line = `M ${coords.join(' L ')}`
  const base = (box.top + plotH).toFixed(1)
  const area = `${line} L ${x(visible[visible.length - 1]!.t).toFixed(1)} ${base} L ${x(visible[0]!.t).toFixed(1)} ${base} Z`
  return { line, area, yMax }
}

/** Windows a chart zooms between: it shows the smallest that holds its history, up to windowMs. */
const WINDOWS_MS = [60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000]

export function chooseWindow(oldest: number | undefined, now: number, maxMs: number): number {
  if (oldest === undefined) return Math.min(WINDOWS_MS[0]!, maxMs)
  const span = now - oldest
  return WINDOWS_MS.find((w) => w >= span && w <= maxMs) ?? maxMs
}

/** "−5 min", "−30 s". */
export function agoLabel(ms: number): string {
  return ms >= 60_000 ? `−${+(ms / 60_000).toFixed(1)} min` : `−${Math.round(ms / 1000)} s`
}

export interface ChartSeries {
  name: string
  points: readonly Point[]
}

export interface ChartOptions {
  /** Shown in the corner and in aria-label, e.g. "records/s". */
  unit: string
  /** The longest stretch of time shown; a young chart zooms in on what it has. */
  windowMs: number
  box?: ChartBox
  /** A sparkline: no axes, no labels, small. */
  spark?: boolean
}

const SERIES_CLASSES = ['s0', 's1', 's2', 's3', 's4', 's5']

export class LineChart {
  readonly el: SVGSVGElement
  readonly #options: ChartOptions
  #box: ChartBox
  readonly #grid: SVGGElement
  readonly #paths: SVGGElement
  readonly #empty: SVGTextElement

  constructor(options: ChartOptions) {
    this.#options = options
    this.#box = options.box ?? (options.spark ? { width: 120, height: 28, left: 1, right: 1, top: 2, bottom: 2 } : DEFAULT_BOX)
    const { width, height } = this.#box
    this.el = s('svg', { viewBox: `0 0 ${width} ${height}`, class: options.spark ? 'chart spark' : 'chart', role: 'img', 'aria-label': options.unit })
    this.#grid = s('g', { class: 'grid' })
    this.#paths = s('g', { class: 'paths' })
    this.#empty = s('text', { x: width / 2, y: height / 2, class: 'empty', 'text-anchor': 'middle', 'dominant-baseline': 'middle' }, options.spark ? '' : 'waiting for data…')
    this.el.append(this.#grid, this.#paths, this.#empty)
    this.el.dataset.points = '0'
  }

  update(series: readonly ChartSeries[], now: number): void {
    this.#fitWidth()
    const oldest = Math.min(...series.map((one) => one.points[0]?.t ?? Infinity))
    const known = Number.isFinite(oldest) ? oldest : undefined
    // A sparkline spans exactly its history; a full chart steps through readable windows.
    const windowMs = this.#options.spark
      ? Math.min(this.#options.windowMs, Math.max(1000, known === undefined ? 0 : now - known))
      : chooseWindow(known, now, this.#options.windowMs)
    const visible = series.map((one) => one.points.filter((p) => p.t >= now - windowMs && p.t <= now))
    const peak = Math.max(0, ...visible.flat().map((p) => p.v))
    const yMax = niceMax(peak)
    this.#drawGrid(yMax, windowMs)
    this.#paths.replaceChildren()
    series.forEach((one, i) => {
      const g = geometry(visible[i]!, windowMs, now, yMax, this.#box)
      const cls = SERIES_CLASSES[i % SERIES_CLASSES.length]!
      if (i === 0 && g.area !== '') this.#paths.append(s('path', { d: g.area, class: `area ${cls}` }))
      this.#paths.append(s('path', { d: g.line, class: `line ${cls}`, 'data-series': one.name }))
    })
    const points = visible.reduce((sum, v) => sum + v.length, 0)
    this.el.dataset.points = String(points)
    this.el.dataset.windowMs = String(windowMs)
    this.el.dataset.last = String(visible[0]?.[visible[0].length - 1]?.v ?? '')
    this.#empty.setAttribute('visibility', points >= 2 ? 'hidden' : 'visible')
  }

  /** One viewBox unit per CSS pixel, so labels stay 11 px whatever the card's width. */
  #fitWidth(): void {
    if (this.#options.spark) return
    const width = Math.round(this.el.clientWidth)
    if (width < 200 || width === this.#box.width) return
    this.#box = { ...this.#box, width }
    this.el.setAttribute('viewBox', `0 0 ${width} ${this.#box.height}`)
    this.#empty.setAttribute('x', String(width / 2))
  }

  #drawGrid(yMax: number, windowMs: number): void {
    this.#grid.replaceChildren()
    if (this.#options.spark) return
    const { width, height, left, right, top, bottom } = this.#box
    const plotH = height - top - bottom
    for (const fraction of [0, 0.5, 1]) {
      const y = top + plotH - fraction * plotH
      this.#grid.append(
        s('line', { x1: left, x2: width - right, y1: y, y2: y, class: fraction === 0 ? 'axis' : 'rule' }),
        s('text', { x: left - 6, y, 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'label' }, compact(yMax * fraction)),
      )
    }
    const labels: Array<[number, string]> = [
      [0, agoLabel(windowMs)],
      [0.5, agoLabel(windowMs / 2)],
      [1, 'now'],
    ]
    for (const [fraction, text] of labels) {
      const x = left + fraction * (width - left - right)
      this.#grid.append(s('text', { x, y: height - 6, 'text-anchor': fraction === 0 ? 'start' : fraction === 1 ? 'end' : 'middle', class: 'label' }, text))
    }
    this.#grid.append(s('text', { x: left + 6, y: top + 4, 'text-anchor': 'start', 'dominant-baseline': 'hanging', class: 'unit' }, this.#options.unit))
  }
}
