// A request whose path is known but whose method is not: 405 with an `Allow` header, as HTTP
// asks (RFC 9110 §15.5.6), instead of a 404 that reads as "no such thing". Hono answers both
// through notFound; this tells them apart from the app's own route table.
import type { Context } from 'hono'
import { errorBody } from './errors.ts'

interface RouteLike {
  method: string
  path: string
}

/** The methods routed for each path pattern of the app, HEAD included wherever GET is. */
export function methodsByPath(routes: readonly RouteLike[]): Array<{ pattern: RegExp; methods: string[] }> {
  const byPath = new Map<string, Set<string>>()
  for (const r of routes) {
    // Middleware (`use`) is registered as ALL; it makes no path a resource.
    if (r.method === 'ALL') continue
    let methods = byPath.get(r.path)
    if (!methods) byPath.set(r.path, (methods = new Set()))
    methods.add(r.method)
    if (r.method === 'GET') methods.add('HEAD')
  }
  return [...byPath].map(([path, methods]) => ({ pattern: patternOf(path), methods: [...methods].sort() }))
}

/** `/v1/topics/:topic/records` → a RegExp matching one path; a parameter is one segment, `*` anything. */
function patternOf(path: string): RegExp {
  const source = path
    .split('/')
    .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg === '*' ? '.*' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/')
  return new RegExp(`^${source}/?$`)
}

/** The app's notFound handler: 405 with `Allow` for a known path, else 404. */
export function notFoundOrMethodNotAllowed(routes: () => readonly RouteLike[]) {
  let table: ReturnType<typeof methodsByPath> | undefined
  return (c: Context) => {
    const { pathname } = new URL(c.req.url)
    // Built on first use: every route is registered by then.
    table ??= methodsByPath(routes())
    const allowed = new Set<string>()
    for (const entry of table) if (entry.pattern.test(pathname)) for (const m of entry.methods) allowed.add(m)
    if (allowed.size > 0) {
      const allow = [...allowed].sort().join(', ')
      return c.json(errorBody('METHOD_NOT_ALLOWED', `${c.req.method} is not allowed on ${pathname}; allowed: ${allow}`), 405, { allow })
    }
    return c.json(errorBody('NOT_FOUND', `no route for ${c.req.method} ${pathname}`), 404)
  }
}
