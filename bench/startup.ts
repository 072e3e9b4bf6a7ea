// Startup time and idle memory of every edgelog server: from spawn() to the first 200 from
// /healthz, and the resident memory of the whole process tree (deno task and Miniflare run
// child processes) after a second of idleness. Each server starts `runs` times on a fresh
// data folder; the table gives the fastest and the median start, and the median idle RSS.
//   npm run bench:startup      (bun bench/startup.ts [runs])
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { buildBinary, commands, NODE24, systemNode } from '../test/helpers/runtimes.ts'
import { freePort, type ServerCommand } from '../test/helpers/server.ts'
import { treeRssMb } from './server.ts'

const ROOT = resolve(import.meta.dirname, '..')
const bin = (name: string) => join(ROOT, 'node_modules/.bin', name)
const runs = Number(process.argv[2] ?? 5)

interface Server extends ServerCommand {
  name: string
}

async function startOnce(s: Server): Promise<{ ms: number; rssMb: number }> {
  const port = await freePort()
  const data = mkdtempSync(join(tmpdir(), 'edgelog-startup-'))
  const t0 = performance.now()
  const proc = spawn(s.file, [...s.args, '--port', String(port), '--data', data], {
    cwd: s.cwd ?? ROOT,
    env: s.env ?? { ...process.env, NO_COLOR: '1' },
    stdio: 'ignore',
  })
  let ms = -1
  const deadline = t0 + 60_000
  while (performance.now() < deadline) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`)
      if (r.status === 200) {
        ms = performance.now() - t0
        break
      }
    } catch {}
    await new Promise((r) => setTimeout(r, 2))
  }
  await new Promise((r) => setTimeout(r, 1000))
  const rssMb = treeRssMb(proc.pid!)
  proc.kill('SIGTERM')
  await new Promise((r) => proc.once('exit', r))
  rmSync(data, { recursive: true, force: true })
  if (ms < 0) throw new Error(`${s.name} did not answer /healthz within 60 s`)
  return { ms, rssMb }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

// The servers as the runtime tests start them (test/helpers/runtimes.ts): the binary alone in a
// folder with no Bun on PATH, the Node entry bundled (rebuilt when a source is newer).
const binDir = buildBinary()
const node20 = systemNode()

const servers: Server[] = [
  { name: 'binary (dist/edgelog serve)', ...commands.binary(binDir) },
  { name: 'Bun from source (bun edge/bun/serve.ts)', ...commands.bun() },
  { name: 'Deno (deno task start)', file: bin('deno'), args: ['task', 'start'] },
  { name: 'Deno (deno run -A edge/deno/serve.ts)', file: bin('deno'), args: ['run', '-A', 'edge/deno/serve.ts'] },
  { name: 'Node 20, bundle (node dist/node/edgelog.mjs, better-sqlite3)', ...commands.node(node20) },
  { name: 'Node 24, bundle (node dist/node/edgelog.mjs, node:sqlite)', ...commands.node(NODE24) },
  // Development: the sources through tsx, compiled at every start.
  { name: 'Node 20 + tsx (better-sqlite3)', file: node20, args: ['--import', 'tsx', 'edge/node/serve.ts'] },
  { name: 'Node 24 + tsx (node:sqlite)', file: NODE24, args: ['--import', 'tsx', 'edge/node/serve.ts'] },
  { name: 'Miniflare (npm run start:cloudflare)', ...commands.cloudflare() },
]

const rows = []
for (const s of servers) {
  const results = []
  for (let i = 0; i < runs; i++) results.push(await startOnce(s))
  const ms = results.map((r) => r.ms)
  rows.push({
    server: s.name,
    'first /healthz, min ms': Math.min(...ms).toFixed(0),
    'median ms': median(ms).toFixed(0),
    'idle RSS MB (median)': median(results.map((r) => r.rssMb)).toFixed(1),
  })
  console.error(`${s.name}: ${ms.map((m) => m.toFixed(0)).join(', ')} ms`)
}
rmSync(binDir, { recursive: true, force: true })
console.table(rows)
console.log('\n| server | first /healthz, min | median | idle RSS (median) |\n|---|---|---|---|')
for (const r of rows) console.log(`| ${r.server} | ${r['first /healthz, min ms']} ms | ${r['median ms']} ms | ${r['idle RSS MB (median)']} MB |`)
