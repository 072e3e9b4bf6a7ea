// On an edge the fan-out's series are the node's own (connections, subscriptions per topic),
// but the broker series of the relay cache describe a cache, not a log this node leads: they
// are renamed edgelog_relay_cache_* so that nobody reads them as the region's.
const FANOUT_FAMILIES = new Set([
  'edgelog_ws_frames_in_total',
  'edgelog_ws_frames_out_total',
  'edgelog_slow_consumer_disconnects_total',
  'edgelog_live_connections_refused_total',
  'edgelog_ws_connections',
  'edgelog_sse_connections',
  'edgelog_subscriptions',
])

export function relayCacheMetrics(text: string): string {
  return text.replace(/^(# (?:HELP|TYPE) )?edgelog_([a-z0-9_]+)/gm, (whole, prefix: string | undefined, rest: string) =>
    FANOUT_FAMILIES.has(`edgelog_${rest}`) ? whole : `${prefix ?? ''}edgelog_relay_cache_${rest}`,
  )
}
