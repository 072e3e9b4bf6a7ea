// What the benchmarks share: `edgelog serve` as its own process, like a user runs it; topic
// creation; an HTTP produce load; resident memory from /proc; percentiles.
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')

export async function benchServer(args: string[] = []) {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgelog-bench-'))
  const proc = spawn(join(ROOT, 'node_modules/.bin/bun'), ['edge/bun/serve.ts', '--port', '0', '--data', dataDir, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  proc.stdout!.on('data', (d) => (out += d))
  for (let i = 0; i < 500 && !/listening on (\S+)/.test(out); i++) await new Promise((r) => setTimeout(r, 20))
  const url = /listening on (\S+)/.exec(out)?.[1]
  if (!url) throw new Error(`server did not start: ${out}`)
  return {
    url,
    pid: proc.pid!,
    async stop() {
      proc.kill('SIGTERM')
      await new Promise((r) => proc.once('exit', r))
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

export async function createTopic(url: string, name: string, partitions: number) {
  const r = await fetch(`${url}/v1/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, partitions }) })
  if (r.status !== 201) throw new Error(`create ${name}: ${r.status} ${await r.text()}`)
}

/**
 * POSTs `bodies` (produce requests of `recordsPerBody` records each, built once: we measure the
 * server, not JSON.stringify in the client) to `url` from `inFlight` loops, one request in
 * flight each, for `seconds`. Every answer must be 200.
 */
export async function produceLoad(url: string, bodies: string[], opts: { seconds: number; inFlight: number; recordsPerBody: number }): Promise<{ records: number; seconds: number }> {
  const deadline = performance.now() + opts.seconds * 1000
  let records = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: opts.inFlight }, async (_, w) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[(w + i) % bodies.length] })
        if (r.status !== 200) throw new Error(`produce: ${r.status} ${await r.text()}`)
        await r.arrayBuffer()
        records += opts.recordsPerBody
      }
    }),
  )
  return { records, seconds: (performance.now() - started) / 1000 }
}

/** Resident memory of one process, in MB (0 once it is gone). */
export function rssMb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
  } catch {
    return 0
  }
}

/** Resident memory of a process and all its descendants (a task runner's child, workerd), in MB. */
export function treeRssMb(pid: number): number {
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
  let mb = 0
  const stack = [pid]
  while (stack.length) {
    const p = stack.pop()!
    mb += rssMb(p)
    stack.push(...(children.get(p) ?? []))
  }
  return mb
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}
