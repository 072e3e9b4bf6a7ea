// `edgelog serve` on any runtime: parse the options, open storage and the broker, create the
// app, listen, and drain on SIGTERM / SIGINT. Each entry point (edge/bun, edge/deno,
// edge/node) only says how its runtime opens SQLite, listens, and hears signals.
import { resolve } from 'node:path'
import type { FsyncPolicy, StorageProvider } from '../../storage/driver.ts'
import { createApp } from '../../src/api/app.ts'
import { Broker } from '../../src/broker/broker.ts'
import { parseServeOptions, ServeHelp } from '../../src/cli/serve-options.ts'
import { systemRuntime } from '../../src/core/clock.ts'

export type FetchHandler = (request: Request) => Response | Promise<Response>

export interface Listener {
  /** The port actually bound (the OS picks one for port 0). */
  port: number
  /** Stops accepting connections; resolves when the server has stopped. */
  stop(): Promise<void>
}

export interface Platform {
  /** For the listening line, e.g. "Node 24.21.0". */
  runtime: string
  /** The SQLite driver's name, for the listening line. */
  driver: string
  argv: string[]
  env: Record<string, string | undefined>
  openStorage(dataDir: string, fsync: FsyncPolicy): StorageProvider | Promise<StorageProvider>
  listen(fetch: FetchHandler, options: { port: number; host: string }): Promise<Listener>
  onSignal(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void
  exit(code: number): never
}

export async function serveNode(platform: Platform): Promise<void> {
  let options
  try {
    options = parseServeOptions(platform.argv, platform.env)
  } catch (err) {
    if (err instanceof ServeHelp) {
      console.log(err.message)
      platform.exit(0)
    }
    console.error((err as Error).message)
    platform.exit(2)
  }
  const dataDir = resolve(options.data)
  const broker = Broker.open(await platform.openStorage(dataDir, options.fsync), systemRuntime(), {
    nodeId: options['node-id'],
    fsync: options.fsync,
    fsyncIntervalMs: options['fsync-interval-ms'],
    maxPartitions: options['max-partitions'],
    maxLongPolls: options['max-long-polls'],
  })
  let draining = false
  const app = createApp(broker, {
    limits: { maxRequestBytes: options['max-request-bytes'], maxRecordsPerRequest: options['max-records-per-request'] },
    ready: () => !draining,
  })
  const listener = await platform.listen(app.fetch, { port: options.port, host: options.host })
  console.log(
    `edgelog listening on http://${options.host}:${listener.port} ` +
      `(data ${dataDir}, fsync ${options.fsync}, ${platform.driver}, ${platform.runtime})`,
  )

  const shutdown = async (signal: string) => {
    if (draining) return
    draining = true
    console.log(`edgelog: ${signal}, shutting down`)
    await listener.stop()
    broker.close()
    platform.exit(0)
  }
  platform.onSignal('SIGTERM', () => void shutdown('SIGTERM'))
  platform.onSignal('SIGINT', () => void shutdown('SIGINT'))
}
