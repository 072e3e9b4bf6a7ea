// `edgelog serve --role edge` on Bun: an edge relay node in front of its --upstream region.
// Its data directory holds edge.db, the outbox (outbox/) and the relay cache (relay/, a broker
// of its own whose partitions hold recent records at the region's offsets).
import { join, resolve } from 'node:path'
import { bunStorage } from '../../storage/bun-sqlite.ts'
import { Broker } from '../../src/broker/broker.ts'
import type { ServeOptions } from '../../src/cli/serve-options.ts'
import { systemRuntime } from '../../src/core/clock.ts'
import { createEdgeApp } from '../../src/edge/app.ts'
import { EdgeNode } from '../../src/edge/edge-node.ts'
import { EdgeRelay } from '../../src/edge/relay.ts'
import { relayCacheMetrics } from '../../src/edge/relay-metrics.ts'
import { FanoutHub } from '../../src/fanout/hub.ts'
import { parseOriginPolicy } from '../../src/fanout/origin.ts'
import type { ServeHooks } from './serve.ts'
import { bunFanout } from './ws.ts'

export async function serveEdge(options: ServeOptions, hooks: ServeHooks = {}): Promise<void> {
  let originPolicy
  try {
    originPolicy = parseOriginPolicy(options['allowed-origins'])
  } catch (err) {
    console.error((err as Error).message)
    process.exit(2)
  }
  const dataDir = resolve(options.data)
  const runtime = systemRuntime()
  const edge = EdgeNode.open({
    storage: bunStorage(dataDir, options.fsync),
    runtime,
    options: {
      upstreams: options.upstream,
      outboxBytes: options['outbox-bytes'],
      relayCacheBytes: options['relay-cache-bytes'],
      shipBatchBytes: options['ship-batch-bytes'],
      ackTimeoutMs: options['ack-timeout-ms'],
      metadataRefreshMs: options['metadata-refresh-ms'],
    },
  })
  // The relay cache can always be fetched again from the region: batch fsync is enough for it.
  const cache = Broker.open(bunStorage(join(dataDir, 'relay'), 'batch'), runtime, {
    nodeId: options['node-id'],
    fsync: 'batch',
    maxPartitions: options['max-partitions'],
    cleanerIntervalMs: 0,
    maxBatchDecompressedBytes: options['max-batch-decompressed-bytes'],
  })
  const relay = new EdgeRelay(edge, cache)
  edge.attachRelay(relay)
  const hub = new FanoutHub(cache, {
    node: relay,
    originPolicy,
    limits: {
      maxConnections: options['max-connections'],
      maxFrameBytes: options['ws-max-frame-bytes'],
      maxBufferedBytes: options['ws-max-buffered-bytes'],
      maxSubscriptionsPerSocket: options['ws-max-subscriptions'],
      idleTimeoutSeconds: options['ws-idle-timeout'],
      maxInflightPubs: options['ws-max-inflight-pubs'],
    },
  })
  relay.attach(hub)
  const live = bunFanout(hub)
  let draining = false
  const app = createEdgeApp(edge, {
    limits: { maxRequestBytes: options['max-request-bytes'], maxRecordsPerRequest: options['max-records-per-request'] },
    ready: () => !draining,
    fanout: hub,
    extraMetrics: () => relayCacheMetrics(cache.metrics.render()),
  })
  await hooks.extend?.(app)
  edge.start()
  const server = Bun.serve({
    port: options.port,
    hostname: options.host,
    fetch: (req, srv) => (new URL(req.url).pathname === '/v1/ws' ? live.upgrade(req, srv) : app.fetch(req)),
    websocket: live.websocket,
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    idleTimeout: 60,
  })
  hub.useNativeChannels(live.channels(server))
  console.log(`edgelog listening on http://${options.host}:${server.port} (edge of ${options.upstream.join(', ')}; data ${dataDir}, fsync ${options.fsync})`)

  const shutdown = async (signal: string) => {
    if (draining) return
    draining = true
    console.log(`edgelog: ${signal}, shutting down`)
    hub.shutdown()
    await server.stop()
    relay.close()
    cache.close()
    edge.close()
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}
