// Starts `edgelog serve` as its own process for a benchmark, like a user would.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
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

export function rssMb(pid: number): number {
  try {
    const status = require('node:fs').readFileSync(`/proc/${pid}/status`, 'utf8') as string
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
  } catch {
    return 0
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}
