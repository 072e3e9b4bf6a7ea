// `edgelog serve --role edge` on Bun: an edge relay node in front of its --upstream region.
import { resolve } from 'node:path'
import { bunStorage } from '../../storage/bun-sqlite.ts'
import type { ServeOptions } from '../../src/cli/serve-options.ts'
import { systemRuntime } from '../../src/core/clock.ts'
import { createEdgeApp } from '../../src/edge/app.ts'
import { EdgeNode } from '../../src/edge/edge-node.ts'
import type { ServeHooks } from './serve.ts'

export async function serveEdge(options: ServeOptions, hooks: ServeHooks = {}): Promise<void> {
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
  let draining = false
  const app = createEdgeApp(edge, {
    limits: { maxRequestBytes: options['max-request-bytes'], maxRecordsPerRequest: options['max-records-per-request'] },
    ready: () => !draining,
  })
  await hooks.extend?.(app)
  edge.start()
  const server = Bun.serve({
    port: options.port,
    hostname: options.host,
    fetch: (req) => app.fetch(req),
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    idleTimeout: 60,
  })
  console.log(`edgelog listening on http://${options.host}:${server.port} (edge of ${options.upstream.join(', ')}; data ${dataDir}, fsync ${options.fsync})`)

  const shutdown = async (signal: string) => {
    if (draining) return
    draining = true
    console.log(`edgelog: ${signal}, shutting down`)
    await server.stop()
    edge.close()
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}
