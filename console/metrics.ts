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

/**
 * Series an edge exports (README "Edge relays", issue 6): `edgelog_edge_*` for the outbox, the
 * shipper, the upstreams and the relay, `edgelog_relay_cache_*` for the relay cache's partitions.
 */
const EDGE_PREFIXES = ['edgelog_edge_', 'edgelog_relay_cache_']

export interface UpstreamStatus {
  url: string
  /** Did its last request get an answer (edgelog_edge_upstream_up). */
  up: boolean | undefined
  /** The one the edge is using now (edgelog_edge_upstream_current). */
  current: boolean
}

export interface OutboxPartition {
  topic: string
  partition: number
  records: number
  bytes: number
  /** Age of the oldest record not yet confirmed upstream. */
  lagSeconds: number
  /** Epoch seconds since records have waited with nothing shipped; 0: not stalled. */
  stalledSince: number
  /** Why shipping stopped for this partition (an error code), if it did. */
  halted: string | undefined
}

export interface RelayTopic {
  topic: string
  /** The upstream subscription: 1 live, 0 reconnecting. */
  upstreamSubscriptions: number | undefined
  localSubscriptions: number | undefined
  /** The region's high watermark minus the relay cache's, summed over partitions. */
  lagRecords: number
}

export interface EdgeStatus {
  isEdge: boolean
  /** What /readyz says about the region (edgelog_edge_upstream_reachable). */
  reachable: boolean | undefined
  upstreams: UpstreamStatus[]
  outboxRecords: number
  outboxBytes: number
  outboxUsedBytes: number | undefined
  outboxLimitBytes: number | undefined
  /** The oldest unconfirmed record's age over all partitions. */
  shippingLagSeconds: number
  /** The earliest stall over all partitions (epoch seconds), 0 when none is stalled. */
  stalledSince: number
  partitions: OutboxPartition[]
  relay: RelayTopic[]
  /** Every edge series, shown as it is: whatever the node exports is visible. */
  series: MetricSample[]
}

/**
 * A node is an edge when it says so (`edgelog_node_info{role="edge"} 1` or
 * `edgelog_node_role{role="edge"} 1`) or exports `edgelog_edge_*` series.
 */
export function edgeStatus(samples: readonly MetricSample[]): EdgeStatus {
  const roleSays = samples.some(
    (m) => (m.name === 'edgelog_node_info' || m.name === 'edgelog_node_role') && m.labels.role === 'edge' && m.value === 1,
  )
  const series = samples.filter((m) => EDGE_PREFIXES.some((prefix) => m.name.startsWith(prefix)))
  const named = (name: string) => series.filter((m) => m.name === name)
  const single = (name: string) => named(name)[0]?.value

  const upstreams = new Map<string, UpstreamStatus>()
  const upstream = (url: string) => {
    let u = upstreams.get(url)
    if (u === undefined) upstreams.set(url, (u = { url, up: undefined, current: false }))
    return u
  }
  for (const m of named('edgelog_edge_upstream_up')) upstream(m.labels.upstream ?? '').up = m.value >= 1
  for (const m of named('edgelog_edge_upstream_current')) upstream(m.labels.upstream ?? '').current = m.value >= 1

  const partitions = new Map<string, OutboxPartition>()
  const partition = (m: MetricSample) => {
    const topic = m.labels.topic ?? ''
    const number = Number(m.labels.partition ?? -1)
    const key = `${topic}\u0000${number}`
    let p = partitions.get(key)
    if (p === undefined) {
      partitions.set(key, (p = { topic, partition: number, records: 0, bytes: 0, lagSeconds: 0, stalledSince: 0, halted: undefined }))
    }
    return p
  }
  for (const m of named('edgelog_edge_outbox_records')) partition(m).records = m.value
  for (const m of named('edgelog_edge_outbox_bytes')) partition(m).bytes = m.value
  for (const m of named('edgelog_edge_shipping_lag_seconds')) partition(m).lagSeconds = m.value
  for (const m of named('edgelog_edge_shipping_stalled_since_seconds')) partition(m).stalledSince = m.value
  for (const m of named('edgelog_edge_shipping_halted')) if (m.value >= 1) partition(m).halted = m.labels.code ?? 'halted'

  const relay = new Map<string, RelayTopic>()
  const relayTopic = (topic: string) => {
    let r = relay.get(topic)
    if (r === undefined) relay.set(topic, (r = { topic, upstreamSubscriptions: undefined, localSubscriptions: undefined, lagRecords: 0 }))
    return r
  }
  for (const m of named('edgelog_edge_relay_subscriptions')) relayTopic(m.labels.topic ?? '').upstreamSubscriptions = m.value
  for (const m of named('edgelog_edge_relay_local_subscriptions')) relayTopic(m.labels.topic ?? '').localSubscriptions = m.value
  for (const m of named('edgelog_edge_relay_lag_records')) relayTopic(m.labels.topic ?? '').lagRecords += m.value

  const list = [...partitions.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition))
  const stalls = list.map((p) => p.stalledSince).filter((t) => t > 0)
  const reachable = single('edgelog_edge_upstream_reachable')
  return {
    isEdge: roleSays || series.some((m) => m.name.startsWith('edgelog_edge_')),
    reachable: reachable === undefined ? undefined : reachable >= 1,
    upstreams: [...upstreams.values()],
    outboxRecords: list.reduce((sum, p) => sum + p.records, 0),
    outboxBytes: list.reduce((sum, p) => sum + p.bytes, 0),
    outboxUsedBytes: single('edgelog_edge_outbox_used_bytes'),
    outboxLimitBytes: single('edgelog_edge_outbox_limit_bytes'),
    shippingLagSeconds: Math.max(0, ...list.map((p) => p.lagSeconds)),
    stalledSince: stalls.length === 0 ? 0 : Math.min(...stalls),
    partitions: list,
    relay: [...relay.values()].sort((a, b) => (a.topic < b.topic ? -1 : 1)),
    series,
  }
}
