// `edgelog serve` on any runtime: parse the options, open storage, the broker and the fan-out
// hub, set up authentication and quotas, create the app, listen, and drain on SIGTERM / SIGINT.
// Each entry point (edge/bun, edge/deno, edge/node) only says how its runtime opens SQLite,
// listens (with TLS where it can), upgrades `/v1/ws`, tells a client's address, and hears
// signals.
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Hono } from 'hono'
import { SecurityGate } from '../../src/api/security.ts'
import type { FsyncPolicy, StorageProvider } from '../../storage/driver.ts'
import { createApp } from '../../src/api/app.ts'
import { Broker, type BrokerOpenOptions } from '../../src/broker/broker.ts'
import { openClusterNode } from '../../src/cluster/start.ts'
import { parseServeOptions, ServeHelp, type ServeOptions } from '../../src/cli/serve-options.ts'
import { buildSecurity, type SecuritySetup } from '../../src/cli/serve-security.ts'
import { systemRuntime } from '../../src/core/clock.ts'
import { FanoutHub } from '../../src/fanout/hub.ts'
import { ClusterLiveNode } from '../../src/cluster/live-node.ts'
import { fanoutLimits } from './edge-relay.ts'
import { parseOriginPolicy } from '../../src/fanout/origin.ts'
import type { WebSocketConstructor } from '../../src/client/ws-connection.ts'

/** The app's fetch; `env` is what the runtime hands a handler (Bun: the Server; Deno: the connection info). */
export type FetchHandler = (request: Request, env?: unknown) => Response | Promise<Response>

export interface Listener {
  /** The port actually bound (the OS picks one for port 0). */
  port: number
  /** Stops accepting connections; resolves when the server has stopped. */
  stop(): Promise<void>
}

/**
 * What a runtime's server serves: the HTTP app, and the hub its `/v1/ws` upgrades go to, after
 * the security gate admitted them (edge/shared/ws.ts admitLiveUpgrade).
 */
export interface NodeHandlers {
  fetch: FetchHandler
  hub: FanoutHub
  /** Authentication and quotas for the upgrade (a broker's, or an edge's: the same gate). */
  gate?: SecurityGate
}

/** PEM text of the certificate chain and key, for --tls-cert / --tls-key. */
export interface TlsFiles {
  cert: string
  key: string
}

export interface Platform {
  /** For the listening line, e.g. "Node 24.21.0". */
  runtime: string
  /** The SQLite driver's name, for the listening line. */
  driver: string
  argv: string[]
  env: Record<string, string | undefined>
  openStorage(dataDir: string, fsync: FsyncPolicy): StorageProvider | Promise<StorageProvider>
  /**
   * Serves `fetch`, and upgrades `GET /v1/ws` into a session of `hub` (edge/shared/ws.ts); over
   * TLS when `tls` is given (a runtime that cannot throws, and the node does not start).
   */
  listen(handlers: NodeHandlers, options: { port: number; host: string; tls?: TlsFiles }): Promise<Listener>
  /** The client's IP address from the request and the handler's `env`, for per-IP caps. */
  clientAddress?(request: Request, env: unknown): string | undefined
  onSignal(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void
  exit(code: number): never
  /** A WebSocket client for an edge's upstream subscriptions where the runtime has no global one (Node 20). */
  WebSocket?: WebSocketConstructor
}

export interface ServeHooks {
  /** Adds routes to the node's app before it listens (examples/live-comments mounts its page). */
  extend?: (app: Hono) => void | Promise<void>
}

export { fanoutLimits } from './edge-relay.ts'

/** Reads a file named by a flag, or says which one cannot be read. */
export async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch {
    throw new Error(`${path}: cannot read the file`)
  }
}

/** Authentication, quotas and TLS from the flags, for a broker and an edge alike; throws what is wrong. */
async function readSecurity(options: ServeOptions, runtime: ReturnType<typeof systemRuntime>): Promise<{ setup: SecuritySetup; tls?: TlsFiles }> {
  const setup = await buildSecurity(options, { readText, randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)) }, runtime)
  if (options['tls-cert'] !== undefined && options['tls-key'] !== undefined) {
    return { setup, tls: { cert: await readText(options['tls-cert']), key: await readText(options['tls-key']) } }
  }
  return { setup }
}

export async function serveNode(platform: Platform, hooks: ServeHooks = {}): Promise<void> {
  const fail = (err: unknown): never => {
    if (err instanceof ServeHelp) {
      console.log(err.message)
      return platform.exit(0)
    }
    console.error((err as Error).message)
    return platform.exit(2)
  }
  let options
  let originPolicy
  try {
    options = parseServeOptions(platform.argv, platform.env)
    originPolicy = parseOriginPolicy(options['allowed-origins'])
  } catch (err) {
    return fail(err)
  }
  const runtime = systemRuntime()
  let setup: SecuritySetup
  let tls: TlsFiles | undefined
  try {
    ;({ setup, tls } = await readSecurity(options, runtime))
  } catch (err) {
    console.error(`edgelog: ${(err as Error).message}`)
    return platform.exit(2)
  }
  if (options.role === 'edge') {
    const { serveEdge } = await import('./edge.ts')
    return serveEdge(platform, options, originPolicy, { setup, tls }, hooks)
  }
  const dataDir = resolve(options.data)
  const storage = await platform.openStorage(dataDir, options.fsync)
  const brokerOptions: BrokerOpenOptions = {
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
    requestTimeoutMs: options['request-timeout-ms'],
  }
  // With --etcd the node is a cluster member (src/cluster/); it joins once it listens.
  const cluster = options.etcd
    ? openClusterNode({
        nodeId: options['node-id'],
        etcd: options.etcd.split(',').map((e) => e.trim()).filter(Boolean),
        storage,
        runtime,
        broker: brokerOptions,
        replication: {
          replicaLagTimeMaxMs: options['replica-lag-time-max-ms'],
          isrCheckIntervalMs: Math.max(50, Math.floor(options['replica-lag-time-max-ms'] / 4)),
          replicaFetchMaxBytes: options['replica-fetch-max-bytes'],
          replicaFetchWaitMaxMs: options['replica-fetch-wait-max-ms'],
        },
        cluster: {
          leaseTtlSeconds: options['lease-ttl-seconds'],
          keepAliveIntervalMs: Math.floor((options['lease-ttl-seconds'] * 1000) / 3),
          metadataIntervalMs: options['metadata-interval-ms'],
        },
        peerToken: options['peer-token'],
        log: (m) => console.log(`edgelog: ${m}`),
        forwardTimeoutMs: options['request-timeout-ms'] + 35_000,
        maxRequestBytes: options['max-request-bytes'],
        offsetsTopicReplicationFactor: options['offsets-topic-replication-factor'],
      })
    : undefined
  const broker = cluster ? cluster.node.broker : Broker.open(storage, runtime, brokerOptions)
  // In a cluster, live subscriptions are served for every partition, replica here or not, and a
  // plain `commit` frame goes to the group's coordinator, wherever it is (src/cluster/live-node.ts).
  const node = cluster ? new ClusterLiveNode(cluster.node) : undefined
  const hub = new FanoutHub(broker, { originPolicy, limits: fanoutLimits(options), ...(node ? { node } : {}) })
  node?.attach(hub)
  let draining = false
  const clientAddress = platform.clientAddress
  const gate = new SecurityGate(broker, {
    ...setup.security,
    clientAddress: clientAddress ? (c) => clientAddress(c.req.raw, c.env) : undefined,
  })
  const app = createApp(broker, {
    limits: {
      maxRequestBytes: options['max-request-bytes'],
      maxRecordsPerRequest: options['max-records-per-request'],
      bodyTimeoutMs: options['body-timeout-ms'],
      bodyMinBytesPerSec: options['body-min-bytes-per-sec'],
    },
    ready: () => !draining,
    fanout: hub,
    security: gate,
    cluster: cluster?.api,
  })
  await hooks.extend?.(app)
  let listener: Listener
  try {
    listener = await platform.listen({ fetch: app.fetch, hub, gate }, { port: options.port, host: options.host, tls })
  } catch (err) {
    console.error(`edgelog: cannot listen: ${(err as Error).message}`)
    broker.close()
    return platform.exit(2)
  }
  const scheme = tls ? 'https' : 'http'
  if (cluster) {
    // Registered under the URL other brokers reach it at (the port is known now).
    try {
      await cluster.node.join(options.advertise ?? `${scheme}://${options.host}:${listener.port}`)
    } catch (err) {
      console.error(`edgelog: could not join the cluster: ${(err as Error).message}`)
      return platform.exit(1)
    }
  }
  for (const note of setup.notes) console.log(`edgelog: ${note}`)
  const member = cluster ? `, node ${options['node-id']} of the cluster at ${options.etcd}` : ''
  console.log(
    `edgelog listening on ${scheme}://${options.host}:${listener.port} ` +
      `(data ${dataDir}, fsync ${options.fsync}, ${platform.driver}, ${platform.runtime}${member})`,
  )

  const shutdown = async (signal: string) => {
    if (draining) return
    draining = true
    console.log(`edgelog: ${signal}, shutting down`)
    // Live connections first: sockets get 1001 and SSE streams end, so clients resume
    // elsewhere and the server's stop is not left waiting on streams that never finish.
    hub.shutdown()
    node?.close()
    // Sockets that were group members left their groups: store that before closing (bounded).
    await Promise.race([broker.groups.idle(), new Promise((resolve) => setTimeout(resolve, 2000))])
    await listener.stop()
    // A cluster member writes its clean-shutdown marker and gives its lease back (failover now).
    if (cluster) await cluster.node.close()
    else broker.close()
    platform.exit(0)
  }
  platform.onSignal('SIGTERM', () => void shutdown('SIGTERM'))
  platform.onSignal('SIGINT', () => void shutdown('SIGINT'))
}
