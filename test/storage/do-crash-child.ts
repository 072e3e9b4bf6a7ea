// The Durable Object appender a crash test kills: starts the conformance Worker under
// Miniflare with its data in <persist dir> and appends crash groups to one object, printing
// `acked <log end offset>` after each answer (which workerd sends only once the writes are
// stored). The test kills this process and workerd together with SIGKILL.
//   node --import tsx test/storage/do-crash-child.ts <bundled worker> <persist dir>
import { startMiniflare } from '../../edge/cloudflare/miniflare.ts'

const [scriptPath, persistDir] = process.argv.slice(2)
if (!scriptPath || !persistDir) {
  console.error('usage: do-crash-child.ts <bundled worker> <persist dir>')
  process.exit(2)
}
const { mf } = await startMiniflare({
  scriptPath,
  persistDir,
  durableObjects: { CONFORMANCE: 'ConformanceObject' },
  compatibilityFlags: ['nodejs_compat'],
})
console.log('ready')
for (;;) {
  const res = await mf.dispatchFetch('http://do/crash/append?object=crash', { method: 'POST' })
  const body = (await res.json()) as { end?: number; error?: string }
  if (body.end === undefined) {
    console.error(`append failed: ${body.error}`)
    process.exit(1)
  }
  console.log(`acked ${body.end}`)
}
