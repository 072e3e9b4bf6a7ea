// Bundles a Worker module for workerd (RUNTIMES.md §4): ESM, browser/worker conditions, with
// `cloudflare:*` and `node:*` left to the runtime (node:* needs the nodejs_compat flag).
import { build } from 'esbuild'

export async function bundleWorker(entry: string, outfile: string, options: { minify?: boolean } = {}): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'browser'],
    external: ['cloudflare:*', 'node:*'],
    minify: options.minify ?? false,
    logLevel: 'warning',
  })
}
