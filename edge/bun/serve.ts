// `edgelog serve` on Bun: a single node on a local SQLite data directory.
import { resolve } from 'node:path'
import type { Server } from 'bun'
import type { Hono } from 'hono'
import { bunStorage } from '../../storage/bun-sqlite.ts'
import { createApp } from '../../src/api/app.ts'
import { Broker } from '../../src/broker/broker.ts'
import { parseServeOptions, ServeHelp, type ServeOptions } from '../../src/cli/serve-options.ts'
import { buildSecurity, type SecuritySetup } from '../../src/cli/serve-security.ts'
import { systemRuntime } from '../../src/core/clock.ts'
import { FanoutHub } from '../../src/fanout/hub.ts'
import { parseOriginPolicy } from '../../src/fanout/origin.ts'
import { bunFanout, type WsData } from './ws.ts'

export interface ServeHooks {
  /** Adds routes to the node's app before it listens (examples/live-comments mounts its page). */
  extend?: (app: Hono) => void | Promise<void>
}

export async function main(argv: string[], hooks: ServeHooks = {}): Promise<void> {
  let options: ServeOptions
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
  const runtime = systemRuntime()
  let setup: SecuritySetup
  let tls: { cert: string; key: string } | undefined
  let originPolicy
  try {
    originPolicy = parseOriginPolicy(options['allowed-origins'])
    setup = await buildSecurity(
      options,
      { readText: readFileText, randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)) },
      runtime,
    )
    if (options['tls-cert'] !== undefined && options['tls-key'] !== undefined) {
      tls = { cert: await readFileText(options['tls-cert']), key: await readFileText(options['tls-key']) }
    }
  } catch (err) {
    console.error(`edgelog: ${(err as Error).message}`)
    process.exit(2)
  }
  const dataDir = resolve(options.data)
  const broker = Broker.open(bunStorage(dataDir, options.fsync), runtime, {
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
    limits: {
      maxRequestBytes: options['max-request-bytes'],
      maxRecordsPerRequest: options['max-records-per-request'],
      bodyTimeoutMs: options['body-timeout-ms'],
      bodyMinBytesPerSec: options['body-min-bytes-per-sec'],
    },
    ready: () => !draining,
    fanout: hub,
    // GET /v1/ws goes through the app like every route (token, caps, access rules), then here.
    websocket: (req, env, access) => live.upgrade(req, env as Server<WsData>, access),
    security: {
      ...setup.security,
      // Hono hands Bun's fetch arguments on: c.env is the Server.
      clientAddress: (c) => (c.env as Server<WsData> | undefined)?.requestIP?.(c.req.raw)?.address,
    },
  })
  await hooks.extend?.(app)
  let server: Server<WsData>
  try {
    server = Bun.serve<WsData>({
      port: options.port,
      hostname: options.host,
      fetch: (req, srv) => app.fetch(req, srv),
      websocket: live.websocket,
      // The body limit is enforced by the app while streaming (src/api/body.ts), which answers
      // with our JSON error; Bun's own ceiling would answer a bare 413 first.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      // Longer than the longest long poll (30 s). Headers are cut off by Bun itself after about
      // 10 s however slowly they trickle; bodies by the app's body deadline.
      idleTimeout: 60,
      // The app answers every error itself; this is the last line, and it tells nothing.
      error: () =>
        new Response('{"error":{"code":"INTERNAL","message":"internal error"}}', { status: 500, headers: { 'content-type': 'application/json' } }),
      tls,
    })
  } catch (err) {
    console.error(`edgelog: cannot listen: ${(err as Error).message}`)
    broker.close()
    process.exit(2)
  }
  hub.useNativeChannels(live.channels(server))
  const scheme = tls ? 'https' : 'http'
  for (const note of setup.notes) console.log(`edgelog: ${note}`)
  console.log(`edgelog listening on ${scheme}://${options.host}:${server.port} (data ${dataDir}, fsync ${options.fsync})`)

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

async function readFileText(path: string): Promise<string> {
  const file = Bun.file(path)
  if (!(await file.exists())) throw new Error(`${path}: no such file`)
  return file.text()
}

if (import.meta.main) await main(process.argv.slice(2))
