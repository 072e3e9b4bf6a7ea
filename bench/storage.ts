// The storage hot path (storage-hot-path.ts) on every driver, each under its own runtime:
// bun:sqlite (Bun), node:sqlite (Deno, Node 24), better-sqlite3 (Node 20), and a Durable
// Object's ctx.storage.sql in workerd (Miniflare). File drivers use fsync=batch
// (synchronous=NORMAL); the Durable Object's durability is the platform's.
//   npm run bench:storage      (node --import tsx bench/storage.ts)
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { bundleWorker } from '../edge/cloudflare/bundle.ts'
import { startMiniflare } from '../edge/cloudflare/miniflare.ts'
import { NODE24, systemNode } from '../test/helpers/runtimes.ts'
import type { HotPathTiming } from './storage-hot-path.ts'

const ROOT = resolve(import.meta.dirname, '..')
const bin = (name: string) => join(ROOT, 'node_modules/.bin', name)
const node20 = systemNode()
const runner = join(ROOT, 'bench/storage-runner.ts')

const runs: Array<{ name: string; file: string; args: string[] }> = [
  { name: 'bun:sqlite, Bun', file: bin('bun'), args: [runner, 'bun:sqlite'] },
  { name: 'node:sqlite, Deno', file: bin('deno'), args: ['run', '-A', runner, 'node:sqlite'] },
  { name: 'better-sqlite3, Node 20', file: node20, args: ['--import', 'tsx', runner, 'better-sqlite3'] },
  { name: 'node:sqlite, Node 24', file: NODE24, args: ['--import', 'tsx', runner, 'node:sqlite'] },
]

const rows: Array<{ driver: string } & HotPathTiming> = []
for (const r of runs) {
  const out = execFileSync(r.file, r.args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } })
  for (const line of out.trim().split('\n')) rows.push({ driver: r.name, ...(JSON.parse(line) as HotPathTiming) })
}

// The Durable Object: the conformance Worker runs the same function inside the object.
const work = mkdtempSync(join(tmpdir(), 'edgelog-storage-bench-'))
try {
  const script = join(work, 'worker.js')
  await bundleWorker(join(ROOT, 'test/storage/durable-object.worker.ts'), script)
  const { mf } = await startMiniflare({ scriptPath: script, durableObjects: { CONFORMANCE: 'ConformanceObject' }, compatibilityFlags: ['nodejs_compat'] })
  try {
    const res = await mf.dispatchFetch('http://do/bench?object=bench', { method: 'POST' })
    const body = (await res.json()) as { ok: boolean; error?: string; timings?: HotPathTiming[] }
    if (!body.ok) throw new Error(body.error)
    for (const t of body.timings!) rows.push({ driver: 'ctx.storage.sql, workerd (Miniflare)', ...t })
  } finally {
    await mf.dispose()
  }
} finally {
  rmSync(work, { recursive: true, force: true })
}

const n = (x: number) => Math.round(x).toLocaleString('en-US')
console.log('| driver, runtime | batches × records, per commit | append records/s | commits/s | read records/s |\n|---|---|---|---|---|')
for (const r of rows) {
  console.log(`| ${r.driver} | ${r.batches} × ${r.recordsPerBatch}, ${r.batchesPerCommit} | ${n(r.appendRecordsPerSec)} | ${n(r.commitsPerSec)} | ${n(r.readRecordsPerSec)} |`)
}
