// Starts a real `edgelog serve` process on a loopback port for integration tests.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export const ROOT = resolve(import.meta.dirname, '../..')
export const BUN = join(ROOT, 'node_modules/.bin/bun')

export interface TestServer {
  url: string
  port: number
  dataDir: string
  proc: ChildProcess
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string
  /** Sends a signal and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

export function tempDir(prefix = 'edgelog-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}

/** Another server command than `bun edge/bun/serve.ts` (test/helpers/runtimes.ts has one per runtime). */
export interface ServerCommand {
  file: string
  /** Arguments before `--port <port> --data <dir>`. */
  args: string[]
  cwd?: string
  /** The whole environment of the process (not merged with this one's). */
  env?: Record<string, string>
}

/**
 * Spawns `bun edge/bun/serve.ts --port <port> --data <dir>` (or `entry`, or `command`) and
 * resolves once the process printed its listening line and /healthz answers 200. Port 0 lets
 * the OS pick a free port.
 */
export async function startServer(
  opts: {
    dataDir?: string
    port?: number
    args?: string[]
    env?: Record<string, string>
    entry?: string
    command?: ServerCommand
    /** PEM of the CA that signed the server's certificate, when it serves HTTPS. */
    ca?: string
  } = {},
): Promise<TestServer> {
  const dataDir = opts.dataDir ?? tempDir()
  const flags = ['--port', String(opts.port ?? 0), '--data', dataDir, ...(opts.args ?? [])]
  // `entry`: another script that runs serve's main(), e.g. examples/live-comments/server.ts.
  const proc = opts.command
    ? spawn(opts.command.file, [...opts.command.args, ...flags], {
        cwd: opts.command.cwd ?? ROOT,
        env: opts.command.env ?? { ...process.env, ...opts.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(BUN, [opts.entry ?? 'edge/bun/serve.ts', ...flags], { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  proc.stdout!.on('data', (d) => (out += d))
  proc.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((res) => proc.once('exit', (code, sig) => res(code ?? (sig ? -1 : null))))
  // Generous: Miniflare starts slower than Bun, and the machine is shared.
  const deadline = Date.now() + 30_000
  let port = 0
  let scheme = 'http'
  let healthy = false
  let lastAnswer = ''
  while (Date.now() < deadline) {
    const m = /listening on (https?):\/\/127\.0\.0\.1:(\d+)/.exec(out)
    if (m) {
      scheme = m[1]!
      port = Number(m[2])
      try {
        const r = await fetch(`${scheme}://127.0.0.1:${port}/healthz`, opts.ca ? ({ tls: { ca: opts.ca } } as RequestInit) : undefined)
        if (r.status === 200) {
          healthy = true
          break
        }
        lastAnswer = `${r.status} ${(await r.text()).slice(0, 500)}`
      } catch {}
    }
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`server exited early:\n${out}`)
    await new Promise((r) => setTimeout(r, 20))
  }
  if (!healthy) {
    proc.kill('SIGKILL')
    throw new Error(`server did not answer /healthz with 200 in time${lastAnswer ? ` (last answer: ${lastAnswer})` : ''}:\n${out}`)
  }
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    dataDir,
    proc,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
      return exited
    },
  }
}

/** A loopback port that was free a moment ago (for a process that must come back on the same one). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}
