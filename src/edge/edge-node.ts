// An edge relay node (`edgelog serve --role edge`): the same public API as a broker, in front
// of a region it may lose contact with. It learns the region's topics (metadata.ts), accepts
// produces into a SQLite outbox (outbox.ts), ships them upstream as an idempotent producer
// (shipper.ts) and relays the region's records to local subscribers (relay.ts).
import type { StorageProvider } from '../../storage/driver.ts'
import type { FetchFunction } from '../client/http.ts'
import type { Runtime } from '../core/clock.ts'
import { Metrics } from '../core/metrics.ts'
import { EdgeStore, type TopicMeta } from './edge-store.ts'
import { EdgeMetadata } from './metadata.ts'
import { DEFAULT_EDGE_OPTIONS, type EdgeOptions } from './options.ts'
import { Upstream } from './upstream.ts'

export interface EdgeNodeDeps {
  /** Databases of this edge: `edge` (metadata, shipping state) and `outbox/<topic>-<partition>`. */
  storage: StorageProvider
  runtime: Runtime
  options: Partial<EdgeOptions> & { upstreams: string[] }
  /** Replaces the global fetch for upstream requests (tests). */
  fetch?: FetchFunction
}

export class EdgeNode {
  readonly metrics = new Metrics()
  readonly options: EdgeOptions
  readonly runtime: Runtime
  readonly store: EdgeStore
  readonly upstream: Upstream
  readonly metadata: EdgeMetadata
  private closed = false

  private constructor(deps: EdgeNodeDeps) {
    this.options = { ...DEFAULT_EDGE_OPTIONS, ...deps.options }
    this.runtime = deps.runtime
    this.store = new EdgeStore(deps.storage.open('edge'))
    this.upstream = new Upstream(deps.runtime, {
      urls: this.options.upstreams,
      timeoutMs: this.options.upstreamTimeoutMs,
      reachabilityWindowMs: this.options.reachabilityWindowMs,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    })
    this.metadata = new EdgeMetadata(
      this.store,
      this.upstream,
      deps.runtime,
      this.options.metadataRefreshMs,
      { topicChanged: (t, prev) => this.topicChanged(t, prev), topicRemoved: (name) => this.topicRemoved(name) },
      (topic) => this.isActive(topic),
      this.options.logError,
    )
    this.registerMetrics()
  }

  static open(deps: EdgeNodeDeps): EdgeNode {
    return new EdgeNode(deps)
  }

  start(): void {
    this.metadata.start()
  }

  /** Ready while upstream answered recently; an edge that cannot reach its region says so. */
  get ready(): boolean {
    return !this.closed && this.upstream.reachable
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.metadata.stop()
    this.store.close()
  }

  // ---- metadata events ----

  private topicChanged(_topic: TopicMeta, _previous: TopicMeta | undefined): void {}

  private topicRemoved(_name: string): void {}

  private isActive(_topic: string): boolean {
    return false
  }

  private registerMetrics(): void {
    const m = this.metrics
    m.gauge('edgelog_edge_upstream_up', 'Per upstream URL: 1 when its last request was answered, 0 when it failed', () =>
      this.upstream.upStates().flatMap((s) => (s.up === undefined ? [] : [[{ upstream: s.url }, s.up ? 1 : 0]])),
    )
    m.gauge('edgelog_edge_upstream_current', 'The upstream URL requests go to now (1)', () => [[{ upstream: this.upstream.url }, 1]])
    m.gauge('edgelog_edge_metadata_age_seconds', 'Seconds since topic metadata was last read from upstream (-1: never since start)', () => {
      const at = this.metadata.lastRefreshAt
      return [[{}, at === -Infinity ? -1 : Math.round((this.runtime.clock.monotonic() - at) / 100) / 10]]
    })
    m.gauge('edgelog_edge_topics', 'Topics this edge knows of its region', () => [[{}, this.metadata.list().length]])
  }
}
