// One edge relay node (`--role edge`), wired the same way on every runtime: the EdgeNode
// (edge.db, the outbox, shipping), the relay cache (a broker of its own whose partitions hold
// the region's recent records at the region's offsets), the EdgeRelay (one upstream
// subscription per topic), the fan-out hub on the cache, the security gate and the edge app.
// The file-backed servers (edge/shared/edge.ts) and the Cloudflare Durable Object
// (edge/cloudflare/edge-object.ts) both build their edge here; only storage, the WebSocket
// client, how the process listens and how it stays awake differ. No node:* imports: this runs
// in workerd.
import type { Hono } from 'hono'
import { SecurityGate, type SecurityOptions } from '../../src/api/security.ts'
import { Broker } from '../../src/broker/broker.ts'
import type { ServeOptions } from '../../src/cli/serve-options.ts'
import type { WebSocketConstructor } from '../../src/client/ws-connection.ts'
import type { Runtime } from '../../src/core/clock.ts'
import { createEdgeApp } from '../../src/edge/app.ts'
import { EdgeNode } from '../../src/edge/edge-node.ts'
import type { EdgeOptions } from '../../src/edge/options.ts'
import { EdgeRelay } from '../../src/edge/relay.ts'
import { relayCacheMetrics } from '../../src/edge/relay-metrics.ts'
import type { UpstreamCredential } from '../../src/edge/upstream-credential.ts'
import { FanoutHub } from '../../src/fanout/hub.ts'
import type { FanoutLimits } from '../../src/fanout/limits.ts'
import type { OriginPolicy } from '../../src/fanout/origin.ts'
import type { FsyncPolicy, StorageProvider } from '../../storage/driver.ts'

/** The live-subscription limits the serve flags set (a broker's hub and an edge's alike). */
export function fanoutLimits(options: ServeOptions): Partial<FanoutLimits> {
  return {
    maxConnections: options['max-connections'],
    maxFrameBytes: options['ws-max-frame-bytes'],
    maxBufferedBytes: options['ws-max-buffered-bytes'],
    maxSubscriptionsPerSocket: options['ws-max-subscriptions'],
    idleTimeoutSeconds: options['ws-idle-timeout'],
    maxInflightPubs: options['ws-max-inflight-pubs'],
  }
}

export interface EdgeRelayConfig {
  options: ServeOptions
  runtime: Runtime
  /** edge.db and the outbox (`edge`, `outbox/<topic>-<partition>`). */
  edgeStorage: StorageProvider
  /** The relay cache's broker (`meta`, `partitions/...`): kept apart from edgeStorage's names. */
  cacheStorage: StorageProvider
  /** The relay cache can always be fetched again from the region: 'batch' is enough on files. */
  cacheFsync: FsyncPolicy
  credential?: UpstreamCredential
  originPolicy: OriginPolicy
  security: SecurityOptions
  /** The client's IP address from the request and the handler's `env`, for per-IP caps. */
  clientAddress?: (request: Request, env: unknown) => string | undefined
  /** A WebSocket client for the upstream subscriptions where the runtime has no global one. */
  WebSocket?: WebSocketConstructor
  /** False while the process drains. */
  ready: () => boolean
  /** More EdgeOptions than the flags set (the Durable Object's idle behaviour, its commit hook). */
  edge?: Partial<EdgeOptions>
}

export interface EdgeRelayParts {
  edge: EdgeNode
  cache: Broker
  relay: EdgeRelay
  hub: FanoutHub
  gate: SecurityGate
  app: Hono
  /** Stops the relay and shipping and closes the databases; the outbox keeps what it holds. */
  close(): void
}

/** Opens an edge relay node; nothing runs until `parts.edge.start()`. */
export function openEdgeRelay(c: EdgeRelayConfig): EdgeRelayParts {
  const o = c.options
  const edge = EdgeNode.open({
    storage: c.edgeStorage,
    runtime: c.runtime,
    ...(c.credential ? { credential: c.credential } : {}),
    options: {
      ...c.edge,
      upstreams: o.upstream,
      outboxBytes: o['outbox-bytes'],
      relayCacheBytes: o['relay-cache-bytes'],
      shipBatchBytes: o['ship-batch-bytes'],
      ackTimeoutMs: o['ack-timeout-ms'],
      metadataRefreshMs: o['metadata-refresh-ms'],
    },
  })
  let cache: Broker
  try {
    cache = Broker.open(c.cacheStorage, c.runtime, {
      nodeId: o['node-id'],
      fsync: c.cacheFsync,
      maxPartitions: o['max-partitions'],
      cleanerIntervalMs: 0,
      maxBatchDecompressedBytes: o['max-batch-decompressed-bytes'],
    })
  } catch (err) {
    edge.close()
    throw err
  }
  const relay = new EdgeRelay(edge, cache, c.WebSocket)
  edge.attachRelay(relay)
  const hub = new FanoutHub(cache, { node: relay, originPolicy: c.originPolicy, limits: fanoutLimits(o) })
  relay.attach(hub)
  // The broker's gate, in front of this edge's own API and its WebSocket upgrades.
  const clientAddress = c.clientAddress
  const gate = new SecurityGate(edge, {
    ...c.security,
    clientAddress: clientAddress ? (ctx) => clientAddress(ctx.req.raw, ctx.env) : undefined,
  })
  const app = createEdgeApp(edge, {
    limits: {
      maxRequestBytes: o['max-request-bytes'],
      maxRecordsPerRequest: o['max-records-per-request'],
      bodyTimeoutMs: o['body-timeout-ms'],
      bodyMinBytesPerSec: o['body-min-bytes-per-sec'],
    },
    ready: c.ready,
    fanout: hub,
    extraMetrics: () => relayCacheMetrics(cache.metrics.render()),
    security: gate,
  })
  return {
    edge,
    cache,
    relay,
    hub,
    gate,
    app,
    close() {
      relay.close()
      cache.close()
      edge.close()
    },
  }
}
