// Reads the node's Prometheus text (`GET /metrics`, public, like any scraper would) for what no
// JSON endpoint says: whether the node is an edge, and its outbox and shipping state.

export interface MetricSample {
  name: string
  labels: Record<string, string>
  value: number
}

/** Bounds the work a huge scrape can cause in the page. */
const LINES_MAX = 50_000

/** Parses Prometheus text format 0.0.4; comments and malformed lines are skipped. */
export function parseMetrics(text: string): MetricSample[] {
  const samples: MetricSample[] = []
  let lines = 0
  for (const raw of text.split('\n')) {
    if (++lines > LINES_MAX) break
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const sample = parseLine(line)
    if (sample !== undefined) samples.push(sample)
  }
  return samples
}

function parseLine(line: string): MetricSample | undefined {
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0]
  if (name === undefined) return undefined
  let at = name.length
  const labels: Record<string, string> = {}
  if (line[at] === '{') {
    at++
    for (;;) {
      while (line[at] === ' ' || line[at] === ',') at++
      if (line[at] === '}') {
        at++
        break
      }
      const label = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(at))?.[0]
      if (label === undefined || line[at + label.length] !== '=' || line[at + label.length + 1] !== '"') return undefined
      at += label.length + 2
      let value = ''
      while (at < line.length && line[at] !== '"') {
        if (line[at] === '\\') {
          const next = line[at + 1]
          value += next === 'n' ? '\n' : (next ?? '')
          at += 2
        } else value += line[at++]
      }
      if (line[at] !== '"') return undefined
      at++
      labels[label] = value
    }
  }
  const rest = line.slice(at).trim().split(/\s+/)
  const text = rest[0]
  if (text === undefined || text === '') return undefined
  const value = text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text)
  if (Number.isNaN(value) && text !== 'NaN') return undefined
  return { name, labels, value }
}

// ---- edge nodes -------------------------------------------------------------------------

/** Series an edge node exports (issue 6: outbox depth, shipping lag, upstream state). */
const EDGE_PREFIXES = ['edgelog_edge_', 'edgelog_outbox_', 'edgelog_upstream_', 'edgelog_shipping_', 'edgelog_relay_']

export interface UpstreamStatus {
  upstream: string
  outboxRecords?: number
  outboxBytes?: number
  shippingLagRecords?: number
  shippingLagSeconds?: number
  /** Epoch seconds since which nothing shipped while records waited; 0 or absent: not stalled. */
  stalledSince?: number
  subscriptionLag?: number
  /** "up", "down", or the state a `state` label names. */
  state?: string
}

export interface EdgeStatus {
  isEdge: boolean
  upstreams: UpstreamStatus[]
  /** Every edge series, shown as they are: whatever the node exports is visible. */
  series: MetricSample[]
}

function isEdgeSeries(sample: MetricSample): boolean {
  return EDGE_PREFIXES.some((prefix) => sample.name.startsWith(prefix))
}

/**
 * A node is an edge when it says so (`edgelog_node_info{role="edge"}` or
 * `edgelog_node_role{role="edge"}` at 1) or exports edge series. Per upstream (the `upstream`
 * label; one unnamed upstream otherwise) the figures are picked by name.
 */
export function edgeStatus(samples: readonly MetricSample[]): EdgeStatus {
  const roleSays = samples.some(
    (m) => (m.name === 'edgelog_node_info' || m.name === 'edgelog_node_role') && m.labels.role === 'edge' && m.value === 1,
  )
  const series = samples.filter(isEdgeSeries)
  const byUpstream = new Map<string, UpstreamStatus>()
  const entry = (name: string) => {
    let found = byUpstream.get(name)
    if (found === undefined) byUpstream.set(name, (found = { upstream: name }))
    return found
  }
  for (const m of series) {
    if (m.name.endsWith('_total') || m.name.endsWith('_created')) continue // counters: the raw table shows them
    const u = entry(m.labels.upstream ?? m.labels.url ?? '')
    const n = m.name
    const add = (key: 'outboxRecords' | 'outboxBytes' | 'shippingLagRecords' | 'shippingLagSeconds' | 'subscriptionLag') =>
      (u[key] = (u[key] ?? 0) + m.value)
    if (n.includes('outbox') && n.includes('bytes')) add('outboxBytes')
    else if (n.includes('outbox') && (n.includes('records') || n.endsWith('depth'))) add('outboxRecords')
    else if (n.includes('stalled')) u.stalledSince = Math.max(u.stalledSince ?? 0, m.value)
    else if (n.includes('subscription') && n.includes('lag')) add('subscriptionLag')
    else if (n.includes('lag') && n.includes('seconds')) u.shippingLagSeconds = Math.max(u.shippingLagSeconds ?? 0, m.value)
    else if (n.includes('lag')) add('shippingLagRecords')
    else if (m.labels.state !== undefined && m.value === 1) u.state = m.labels.state
    else if (/_(up|connected|reachable)$/.test(n)) u.state ??= m.value >= 1 ? 'up' : 'down'
  }
  return { isEdge: roleSays || series.length > 0, upstreams: [...byUpstream.values()], series }
}
