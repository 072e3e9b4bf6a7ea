// `edgelog serve` on Bun: a single node on a local SQLite data directory.
import { resolve } from 'node:path'
import type { Hono } from 'hono'
import { bunStorage } from '../../storage/bun-sqlite.ts'
import { createApp } from '../../src/api/app.ts'
import { Broker } from '../../src/broker/broker.ts'
import { parseServeOptions, ServeHelp } from '../../src/cli/serve-options.ts'
import { systemRuntime } from '../../src/core/clock.ts'
import { FanoutHub } from '../../src/fanout/hub.ts'
import { parseOriginPolicy } from '../../src/fanout/origin.ts'
import { bunFanout } from './ws.ts'

export interface ServeHooks {
  /** Adds routes to the node's app before it listens (examples/live-comments mounts its page). */
  extend?: (app: Hono) => void | Promise<void>
}

export async function main(argv: string[], hooks: ServeHooks = {}): Promise<void> {
  let options
  try {
    options = parseServeOptions(argv, process.env)
  } catch (err) {
    if (err instanceof ServeHelp) {
      console.log(err.message)
      process.exit(0)
    }
    console.error((err as Error).message)
    process.exit(2)
  }
  if (options.role === 'edge') {
    const { serveEdge } = await import('./edge.ts')
    return serveEdge(options, hooks)
  }
  let originPolicy
  try {
    originPolicy = parseOriginPolicy(options['allowed-origins'])
  } catch (err) {
    console.error((err as Error).message)
    process.exit(2)
  }
  const dataDir = resolve(options.data)
  const broker = Broker.open(bunStorage(dataDir, options.fsync), systemRuntime(), {
    nodeId: options['node-id'],
    fsync: options.fsync,
    fsyncIntervalMs: options['fsync-interval-ms'],
    maxPartitions: options['max-partitions'],
    maxLongPolls: options['max-long-polls'],
    groups: {
      offsetsTopicPartitions: options['offsets-topic-partitions'],
      maxGroupSize: options['group-max-size'],
      maxGroups: options['max-groups'],
      heartbeatIntervalMs: options['group-heartbeat-interval-ms'],
      minSessionTimeoutMs: options['group-min-session-timeout-ms'],
      maxSessionTimeoutMs: options['group-max-session-timeout-ms'],
    },
    cleanerIntervalMs: options['cleaner-interval-ms'],
    maxBatchDecompressedBytes: options['max-batch-decompressed-bytes'],
  })
  const hub = new FanoutHub(broker, {
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
  const live = bunFanout(hub)
  let draining = false
  const app = createApp(broker, {
    limits: { maxRequestBytes: options['max-request-bytes'], maxRecordsPerRequest: options['max-records-per-request'] },
    ready: () => !draining,
    fanout: hub,
  })
  await hooks.extend?.(app)
  const server = Bun.serve({
    port: options.port,
    hostname: options.host,
    fetch: (req, srv) => (new URL(req.url).pathname === '/v1/ws' ? live.upgrade(req, srv) : app.fetch(req)),
    websocket: live.websocket,
    // The body limit is enforced by the app while streaming (src/api/body.ts), which answers
    // with our JSON error; Bun's own ceiling would answer a bare 413 first.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    idleTimeout: 60,
  })
  hub.useNativeChannels(live.channels(server))
  console.log(`edgelog listening on http://${options.host}:${server.port} (data ${dataDir}, fsync ${options.fsync})`)

  const shutdown = async (signal: string) => {
    if (draining) return
    draining = true
    console.log(`edgelog: ${signal}, shutting down`)
    // Live connections first: sockets get 1001 and SSE streams end, so clients resume
    // elsewhere and server.stop() is not left waiting on streams that never finish.
    hub.shutdown()
    // Sockets that were group members left their groups: store that before closing (bounded).
    await Promise.race([broker.groups.idle(), new Promise((resolve) => setTimeout(resolve, 2000))])
    await server.stop()
    broker.close()
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}

if (import.meta.main) await main(process.argv.slice(2))
