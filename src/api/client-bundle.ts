// `GET /v1/client.js`: the browser build of the client library (src/client/index.ts), served by
// every node from memory. scripts/build-client.ts generates the module that holds its text;
// `npm test` and `npm start` build it when it is missing or stale.
import { Hono } from 'hono'
import { errorBody } from './errors.ts'

interface Bundle {
  clientBundle: string
  clientBundleEtag: string
}

let loaded: Promise<Bundle | undefined> | undefined

/** Loaded on first request, so a checkout that never built it still serves everything else. */
function loadBundle(): Promise<Bundle | undefined> {
  loaded ??= import('../client/bundle.gen.ts').then(
    (m: Bundle) => m,
    () => undefined,
  )
  return loaded
}

export function clientBundleRoutes() {
  return new Hono().get('/v1/client.js', async (c) => {
    const bundle = await loadBundle()
    if (bundle === undefined) {
      return c.json(errorBody('NOT_FOUND', 'the client bundle was not built on this node (run `bun scripts/build-client.ts`)'), 404)
    }
    const headers = {
      'content-type': 'text/javascript; charset=utf-8',
      etag: bundle.clientBundleEtag,
      // Revalidated on every load (an ETag round trip), so a node upgrade is picked up at once.
      'cache-control': 'no-cache',
      // Public code with no credentials: any page may load it as a module script.
      'access-control-allow-origin': '*',
      'x-content-type-options': 'nosniff',
    }
    const match = c.req.header('if-none-match')
    if (match !== undefined && match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === bundle.clientBundleEtag)) {
      return c.body(null, 304, headers)
    }
    return c.body(bundle.clientBundle, 200, headers)
  })
}
