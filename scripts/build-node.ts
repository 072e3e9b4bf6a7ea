// Bundles the Node entry (edge/node/serve.ts) with esbuild into dist/node/edgelog.mjs (ESM,
// plus lazily loaded chunks in dist/node/chunks/), which `npm run start:node` runs with plain
// `node`: no TypeScript compiled at start (tsx took 0.3–0.5 s of every Node start;
// bench/RESULTS.md).
//
// Inside the bundle: our sources, the embedded migrations, the generated client bundle and
// console assets (src/client/bundle.gen.ts, src/console/assets.gen.ts: run build-client.ts and
// build-console.ts first, as `npm run build:node` does), and the pure-JS dependencies (hono,
// @hono/node-server, zod, drizzle-orm, fzstd). Outside, loaded from node_modules at run time:
// better-sqlite3 (native, optional) and ws (with its optional native helpers); node:* and
// bun:* builtins are the runtime's.
//
//   bun scripts/build-node.ts            (npm run build:node)
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { build } from 'esbuild'

const root = resolve(import.meta.dirname, '..')
export const NODE_ENTRY = join(root, 'edge/node/serve.ts')
export const NODE_DIR = join(root, 'dist/node')
export const NODE_BUNDLE = join(NODE_DIR, 'edgelog.mjs')

/**
 * Builds the bundle, its lazily loaded chunks (one per dynamic import: each SQLite driver, the
 * edge role, the client bundle and console assets) and their source maps. Chunks are split off
 * so that a driver's import of `node:sqlite` or `better-sqlite3` runs only on the Node that uses
 * it. Each file is written aside and renamed, chunks before the entry that loads them, so a
 * node starting meanwhile reads whole files; chunks of an older build are removed afterwards.
 */
export async function buildNodeBundle(outdir = NODE_DIR): Promise<void> {
  const result = await build({
    entryPoints: { edgelog: NODE_ENTRY },
    outdir,
    entryNames: '[name]',
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    splitting: true,
    write: false,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: ['better-sqlite3', 'ws', 'bun:*'],
    // CommonJS dependencies bundled into an ES module still call require() for Node builtins.
    banner: { js: "import { createRequire as __edgelogRequire } from 'node:module'; const require = __edgelogRequire(import.meta.url);" },
    minify: true,
    keepNames: true,
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    logLevel: 'warning',
  })
  const entry = join(outdir, 'edgelog.mjs')
  const order = (path: string) => (path === entry ? 2 : path === `${entry}.map` ? 1 : 0)
  const written = new Set<string>()
  for (const file of [...result.outputFiles].sort((a, b) => order(a.path) - order(b.path))) {
    mkdirSync(dirname(file.path), { recursive: true })
    const tmp = `${file.path}.${process.pid}.tmp`
    writeFileSync(tmp, file.contents)
    renameSync(tmp, file.path)
    written.add(file.path)
  }
  const chunks = join(outdir, 'chunks')
  for (const name of readdirSync(chunks)) {
    if (!written.has(join(chunks, name)) && !name.endsWith('.tmp')) rmSync(join(chunks, name), { force: true })
  }
}

if (import.meta.main) {
  const started = performance.now()
  await buildNodeBundle()
  console.log(`node bundle built: ${relative(root, NODE_BUNDLE)} (${Math.round(performance.now() - started)} ms)`)
}
