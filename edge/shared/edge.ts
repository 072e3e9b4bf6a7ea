// `edgelog serve --role edge` on any runtime: an edge relay node in front of its --upstream
// region (src/edge/). Its data directory holds edge.db, the outbox (outbox/) and the relay cache
// (relay/, a broker of its own whose partitions hold recent records at the region's offsets).
import { join, resolve } from 'node:path'
import { Broker } from '../../src/broker/broker.ts'
import type { ServeOptions } from '../../src/cli/serve-options.ts'
import { systemRuntime } from '../../src/core/clock.ts'
import { createEdgeApp } from '../../src/edge/app.ts'
import { EdgeNode } from '../../src/edge/edge-node.ts'
import { EdgeRelay } from '../../src/edge/relay.ts'
import { relayCacheMetrics } from '../../src/edge/relay-metrics.ts'
import { FanoutHub } from '../../src/fanout/hub.ts'
import type { OriginPolicy } from '../../src/fanout/origin.ts'
import { fanoutLimits, type Platform, type ServeHooks } from './serve.ts'

export async function serveEdge(platform: Platform, options: ServeOptions, originPolicy: OriginPolicy, hooks: ServeHooks = {}): Promise<void> {
  const dataDir = resolve(options.data)
  const runtime = systemRuntime()
  const edge = EdgeNode.open({
    storage: await platform.openStorage(dataDir, options.fsync),
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
  const cache = Broker.open(await platform.openStorage(join(dataDir, 'relay'), 'batch'), runtime, {
    nodeId: options['node-id'],
    fsync: 'batch',
    maxPartitions: options['max-partitions'],
    cleanerIntervalMs: 0,
    maxBatchDecompressedBytes: options['max-batch-decompressed-bytes'],
  })
  const relay = new EdgeRelay(edge, cache, platform.WebSocket)
  edge.attachRelay(relay)
  const hub = new FanoutHub(cache, { node: relay, originPolicy, limits: fanoutLimits(options) })
  relay.attach(hub)
  let draining = false
  const app = createEdgeApp(edge, {
    limits: { maxRequestBytes: options['max-request-bytes'], maxRecordsPerRequest: options['max-records-per-request'] },
    ready: () => !draining,
    fanout: hub,
    extraMetrics: () => relayCacheMetrics(cache.metrics.render()),
  })
  await hooks.extend?.(app)
  edge.start()
  const listener = await platform.listen({ fetch: app.fetch, hub }, { port: options.port, host: options.host })
  console.log(
    `edgelog listening on http://${options.host}:${listener.port} ` +
      `(edge of ${options.upstream.join(', ')}; data ${dataDir}, fsync ${options.fsync}, ${platform.driver}, ${platform.runtime})`,
  )

  const shutdown = async (signal: string) => {
    if (draining) return
    draining = true
    console.log(`edgelog: ${signal}, shutting down`)
    // Live connections first (clients resume elsewhere), then the relay and shipping stop; what
    // the outbox holds stays there and ships after the restart.
    hub.shutdown()
    await listener.stop()
    relay.close()
    cache.close()
    edge.close()
    platform.exit(0)
  }
  platform.onSignal('SIGTERM', () => void shutdown('SIGTERM'))
  platform.onSignal('SIGINT', () => void shutdown('SIGINT'))
}
