// `edgelog serve` on Bun: a single node on a local SQLite data directory.
import { resolve } from 'node:path'
import { bunStorage } from '../../storage/bun-sqlite.ts'
import { createApp } from '../../src/api/app.ts'
import { Broker } from '../../src/broker/broker.ts'
import { parseServeOptions, ServeHelp } from '../../src/cli/serve-options.ts'
import { systemRuntime } from '../../src/core/clock.ts'

export async function main(argv: string[]): Promise<void> {
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
  let draining = false
  const app = createApp(broker, {
    limits: { maxRequestBytes: options['max-request-bytes'], maxRecordsPerRequest: options['max-records-per-request'] },
    ready: () => !draining,
  })
  const server = Bun.serve({
    port: options.port,
    hostname: options.host,
    fetch: app.fetch,
    // The body limit is enforced by the app while streaming (src/api/body.ts), which answers
    // with our JSON error; Bun's own ceiling would answer a bare 413 first.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    idleTimeout: 60,
  })
  console.log(`edgelog listening on http://${options.host}:${server.port} (data ${dataDir}, fsync ${options.fsync})`)

  const shutdown = async (signal: string) => {
    if (draining) return
    draining = true
    console.log(`edgelog: ${signal}, shutting down`)
    await server.stop()
    broker.close()
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}

if (import.meta.main) await main(process.argv.slice(2))
