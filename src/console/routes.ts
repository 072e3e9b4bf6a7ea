// `GET /console`: the web console, served by every node from memory. The page, its script and
// its stylesheet are generated into assets.gen.ts by scripts/build-console.ts; the console
// itself only calls the public HTTP and WebSocket APIs, with the caller's own token, so these
// routes hold no data and need no credential (like /v1/client.js).
import { Hono } from 'hono'
import { errorBody } from '../api/errors.ts'

interface Asset {
  type: string
  etag: string
  body: string
}

let loaded: Promise<Record<string, Asset> | undefined> | undefined

/** Loaded on first request, so a checkout that never built the console still serves the API. */
function loadAssets(): Promise<Record<string, Asset> | undefined> {
  loaded ??= import('./assets.gen.ts').then(
    (m: { consoleAssets: Record<string, Asset> }) => m.consoleAssets,
    () => undefined,
  )
  return loaded
}

/**
 * The page may run its own script and the node's client bundle, talk to its own origin (HTTP and
 * WebSocket), and nothing else; it may not be framed, so its admin buttons cannot be clickjacked.
 */
const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

export function consoleRoutes() {
  const app = new Hono()
  app.get('/console/', (c) => c.redirect('/console', 301))
  for (const path of ['/console', '/console/app.js', '/console/app.css']) {
    app.get(path, async (c) => {
      const asset = (await loadAssets())?.[path]
      if (asset === undefined) {
        return c.json(errorBody('NOT_FOUND', 'the console was not built on this node (run `bun scripts/build-console.ts`)'), 404)
      }
      const headers: Record<string, string> = {
        'content-type': asset.type,
        etag: asset.etag,
        // Revalidated on every load: after a node upgrade the page and its script match.
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      }
      if (path === '/console') {
        headers['content-security-policy'] = contentSecurityPolicy
        headers['x-frame-options'] = 'DENY'
      }
      const match = c.req.header('if-none-match')
      if (match !== undefined && match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === asset.etag)) {
        return c.body(null, 304, headers)
      }
      return c.body(asset.body, 200, headers)
    })
  }
  return app
}
