// `npm run start:cloudflare`: the Worker and its Durable Object under Miniflare (workerd) on
// this machine, with the same flags and the same listening line as `edgelog serve`.
// --data keeps the objects' SQLite between runs; --cleaner-interval-ms is the least time between
// two log-cleaner alarms (EDGELOG_CLEANER_INTERVAL_MS); --fsync and the broker limits do not apply
// (durability and resources are the platform's) and are refused rather than ignored.
import { mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseServeOptions, ServeHelp } from '../../src/cli/serve-options.ts'
import { bundleWorker } from './bundle.ts'
import { startMiniflare } from './miniflare.ts'

const argv = process.argv.slice(2)
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
const unsupported = argv.filter((a) => a.startsWith('--') && !/^--(port|host|data|cleaner-interval-ms)(=|$)/.test(a))
if (unsupported.length > 0) {
  console.error(`start:cloudflare takes --port, --host, --data and --cleaner-interval-ms only; not ${unsupported.join(', ')} (the platform owns fsync and limits)`)
  process.exit(2)
}

const dataDir = resolve(options.data)
mkdirSync(dataDir, { recursive: true })
const script = join(mkdtempSync(join(tmpdir(), 'edgelog-worker-')), 'worker.js')
await bundleWorker(join(import.meta.dirname, 'worker.ts'), script)
const { mf, url } = await startMiniflare({
  scriptPath: script,
  port: options.port,
  host: options.host,
  persistDir: dataDir,
  // The least time between two cleaner alarms of the object (worker.ts).
  bindings: { EDGELOG_CLEANER_INTERVAL_MS: String(options['cleaner-interval-ms']) },
})
console.log(`edgelog listening on http://${options.host}:${url.port} (data ${dataDir}, Durable Object SQLite, workerd via Miniflare)`)

let stopping = false
const shutdown = async (signal: string) => {
  if (stopping) return
  stopping = true
  console.log(`edgelog: ${signal}, shutting down`)
  await mf.dispose()
  process.exit(0)
}
// Miniflare's exit hook answers a signal with an immediate exit(143); ours disposes first and
// exits 0 like every other edgelog server. Its 'exit' hook (which stops workerd) stays.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.removeAllListeners(signal)
  process.on(signal, () => void shutdown(signal))
}
