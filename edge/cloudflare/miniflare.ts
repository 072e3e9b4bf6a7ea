// The local Cloudflare runtime: workerd through Miniflare, with the Durable Object bindings
// of wrangler.jsonc. Used by `npm run start:cloudflare` (dev.ts) and by the tests.
import { dirname } from 'node:path'
import { Miniflare } from 'miniflare'

export const COMPATIBILITY_DATE = '2026-04-01'

export interface LocalWorkerOptions {
  scriptPath: string
  port?: number
  host?: string
  /** A folder to keep Durable Object data in across restarts; in memory when absent. */
  persistDir?: string
  /** Durable Object binding name → class name. */
  durableObjects?: Record<string, string>
  bindings?: Record<string, string>
  compatibilityFlags?: string[]
}

export async function startMiniflare(o: LocalWorkerOptions): Promise<{ mf: Miniflare; url: URL }> {
  const mf = new Miniflare({
    modules: true,
    scriptPath: o.scriptPath,
    // Module names are paths relative to this root; the default (the working directory) breaks
    // for a bundle outside it ("can't use '..' to break out of starting directory").
    modulesRoot: dirname(o.scriptPath),
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: o.compatibilityFlags ?? [],
    durableObjects: Object.fromEntries(
      Object.entries(o.durableObjects ?? { EDGELOG_NODE: 'EdgelogNode' }).map(([binding, className]) => [binding, { className, useSQLite: true }]),
    ),
    durableObjectsPersist: o.persistDir ?? false,
    bindings: o.bindings ?? {},
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 0,
  })
  const url = await mf.ready
  return { mf, url }
}
