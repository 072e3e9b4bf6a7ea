// `npm run start:cloudflare`: the Worker and its Durable Object under Miniflare (workerd) on
// this machine, with the same flags and the same listening line as `edgelog serve`.
// --data keeps the objects' SQLite between runs; --cleaner-interval-ms is the least time between
// two log-cleaner alarms (EDGELOG_CLEANER_INTERVAL_MS); --fsync and the broker limits do not apply
// (durability and resources are the platform's) and are refused rather than ignored.
// --role edge (or EDGELOG_ROLE=edge) runs the object as an edge relay: its --upstream and the
// other edge flags of edge-config.ts become the Worker vars a deployment sets (EDGELOG_UPSTREAM,
// EDGELOG_UPSTREAM_TOKEN, EDGELOG_OUTBOX_BYTES, ...), checked by the object itself.
import { mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseServeOptions, ServeHelp, type ServeOptions } from '../../src/cli/serve-options.ts'
import { bundleWorker } from './bundle.ts'
import { EDGE_FLAGS, flagVar } from './edge-config.ts'
import { startMiniflare } from './miniflare.ts'

const argv = process.argv.slice(2)
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
const edge = options.role === 'edge'
const flagName = (a: string) => a.slice(2).split('=')[0]!
const unsupported = argv.filter(
  (a) => a.startsWith('--') && !/^--(port|host|data)(=|$)/.test(a) && !(edge ? EDGE_FLAGS.has(flagName(a)) || flagName(a) === 'role' : flagName(a) === 'cleaner-interval-ms'),
)
if (unsupported.length > 0) {
  console.error(
    edge
      ? `start:cloudflare --role edge takes --port, --host, --data and the edge settings ${[...EDGE_FLAGS].map((f) => `--${f}`).join(', ')}; not ${unsupported.join(', ')}`
      : `start:cloudflare takes --port, --host, --data and --cleaner-interval-ms only; not ${unsupported.join(', ')} (the platform owns fsync and limits)`,
  )
  process.exit(2)
}
/** The Worker vars of an edge: every edge setting given (flag or environment), as its EDGELOG_* var. */
function edgeVars(): Record<string, string> {
  const vars: Record<string, string> = { EDGELOG_ROLE: 'edge' }
  for (const flag of EDGE_FLAGS) {
    const value = (options as Record<string, unknown>)[flag]
    if (value === undefined) continue
    vars[flagVar(flag)] = Array.isArray(value) ? value.join(',') : String(value)
  }
  return vars
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
  bindings: edge ? edgeVars() : { EDGELOG_CLEANER_INTERVAL_MS: String(options['cleaner-interval-ms']) },
})
const what = edge ? `edge of ${options.upstream.join(', ')}; ` : ''
console.log(`edgelog listening on http://${options.host}:${url.port} (${what}data ${dataDir}, Durable Object SQLite, workerd via Miniflare)`)

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
