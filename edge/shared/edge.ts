// `edgelog serve --role edge` on any runtime: an edge relay node in front of its --upstream
// region (src/edge/). Its data directory holds edge.db, the outbox (outbox/) and the relay cache
// (relay/, a broker of its own whose partitions hold recent records at the region's offsets).
import { join, resolve } from 'node:path'
import type { ServeOptions } from '../../src/cli/serve-options.ts'
import type { SecuritySetup } from '../../src/cli/serve-security.ts'
import { systemRuntime } from '../../src/core/clock.ts'
import { parseUpstreamToken, type UpstreamCredential } from '../../src/edge/upstream-credential.ts'
import type { OriginPolicy } from '../../src/fanout/origin.ts'
import { openEdgeRelay } from './edge-relay.ts'
import { readText, type Listener, type Platform, type ServeHooks, type TlsFiles } from './serve.ts'

/** The edge's credential at its region, from --upstream-token(-file) or EDGELOG_UPSTREAM_TOKEN. */
async function upstreamCredential(options: ServeOptions): Promise<UpstreamCredential | undefined> {
  const file = options['upstream-token-file']
  if (file !== undefined) return parseUpstreamToken(await readText(file), `--upstream-token-file ${file}`)
  const token = options['upstream-token']
  return token === undefined ? undefined : parseUpstreamToken(token, '--upstream-token')
}

export async function serveEdge(
  platform: Platform,
  options: ServeOptions,
  originPolicy: OriginPolicy,
  security: { setup: SecuritySetup; tls?: TlsFiles },
  hooks: ServeHooks = {},
): Promise<void> {
  const dataDir = resolve(options.data)
  const runtime = systemRuntime()
  let credential: UpstreamCredential | undefined
  try {
    credential = await upstreamCredential(options)
  } catch (err) {
    console.error(`edgelog: ${(err as Error).message}`)
    return platform.exit(2)
  }
  let draining = false
  const clientAddress = platform.clientAddress
  const { edge, hub, gate, app, close } = openEdgeRelay({
    options,
    runtime,
    edgeStorage: await platform.openStorage(dataDir, options.fsync),
    cacheStorage: await platform.openStorage(join(dataDir, 'relay'), 'batch'),
    cacheFsync: 'batch',
    ...(credential ? { credential } : {}),
    originPolicy,
    security: security.setup.security,
    ...(clientAddress ? { clientAddress } : {}),
    ...(platform.WebSocket ? { WebSocket: platform.WebSocket } : {}),
    ready: () => !draining,
  })
  await hooks.extend?.(app)
  let listener: Listener
  try {
    listener = await platform.listen({ fetch: app.fetch, hub, gate }, { port: options.port, host: options.host, tls: security.tls })
  } catch (err) {
    console.error(`edgelog: cannot listen: ${(err as Error).message}`)
    close()
    return platform.exit(2)
  }
  edge.start()
  for (const note of security.setup.notes) console.log(`edgelog: ${note}`)
  if (credential) {
    const left = credential.expiresAt - Date.now() / 1000
    console.log(`edgelog: upstream credential: sub ${JSON.stringify(credential.subject)}, expires ${new Date(credential.expiresAt * 1000).toISOString()}`)
    if (left <= 0) console.error(`edgelog: the --upstream-token expired ${Math.round(-left)} s ago: the region will refuse it, and records will wait in the outbox`)
  } else {
    console.log('edgelog: no --upstream-token: this edge sends no credential to its region')
  }
  const scheme = security.tls ? 'https' : 'http'
  console.log(
    `edgelog listening on ${scheme}://${options.host}:${listener.port} ` +
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
    close()
    platform.exit(0)
  }
  platform.onSignal('SIGTERM', () => void shutdown('SIGTERM'))
  platform.onSignal('SIGINT', () => void shutdown('SIGINT'))
}
