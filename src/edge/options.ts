// Settings of an edge relay node (`edgelog serve --role edge`); serve flags set most of them
// (src/cli/serve-options.ts) and README "Edge relays" lists them.

export interface EdgeOptions {
  /** Brokers of the region, tried in order; the edge moves to the next on a connection error or a leader change. */
  upstreams: string[]
  /** Stored bytes the outbox may hold, all partitions together; beyond it produces get 503 OUTBOX_FULL. */
  outboxBytes: number
  /** Stored bytes of recent records the relay cache keeps per partition for local resumes. */
  relayCacheBytes: number
  /** Largest batch shipped upstream in one request (also bounded by the topic's max.message.bytes). */
  shipBatchBytes: number
  /** How long an acks=all produce through the edge waits for the regional leader before REQUEST_TIMED_OUT. */
  ackTimeoutMs: number
  /** How often topics, partition counts, configs and leaders are read from upstream. */
  metadataRefreshMs: number
  /** Records waiting and nothing shipped for this long: the partition reports itself stalled. */
  stallAfterMs: number
  /** One request to upstream (a produce waits for acks=all) before it counts as lost. */
  upstreamTimeoutMs: number
  /** Shipping retries back off exponentially between these, with jitter. */
  retryBackoffMs: number
  retryBackoffMaxMs: number
  /** A partition halted on a lost-sequence answer asks again this often (never skipping). */
  haltedRetryMs: number
  /** acks=all produces waiting for their regional offsets, all partitions together. */
  maxAckWaiters: number
  /** An upstream subscription stays open this long after its last local subscriber left. */
  relayLingerMs: number
  /** How long a local subscribe waits for the relay of its topic to be live before using what the edge has. */
  relayReadyTimeoutMs: number
  /** How long /readyz stays ready after the last successful contact with upstream. */
  reachabilityWindowMs: number
  logError: (message: string, err?: unknown) => void
  /**
   * false: the metadata refresh lets its timer lapse while the edge is idle (nothing to ship, no
   * acks=all waiter, no relayed topic) and EdgeNode.touch() starts it again; a Durable Object
   * with a pending timer is never evicted (edge/cloudflare/edge-object.ts).
   */
  refreshWhenIdle: boolean
  /** Records were committed to the outbox (the Durable Object sets its shipping alarm). */
  onOutboxCommit: () => void
}

export const DEFAULT_EDGE_OPTIONS: EdgeOptions = {
  upstreams: [],
  outboxBytes: 256 * 1024 * 1024,
  relayCacheBytes: 8 * 1024 * 1024,
  shipBatchBytes: 1024 * 1024,
  ackTimeoutMs: 15_000,
  metadataRefreshMs: 5_000,
  stallAfterMs: 5_000,
  upstreamTimeoutMs: 10_000,
  retryBackoffMs: 50,
  retryBackoffMaxMs: 2_000,
  haltedRetryMs: 30_000,
  maxAckWaiters: 10_000,
  relayLingerMs: 30_000,
  relayReadyTimeoutMs: 3_000,
  reachabilityWindowMs: 15_000,
  logError: (message, err) => console.error(message, err ?? ''),
  refreshWhenIdle: true,
  onOutboxCommit: () => {},
}
