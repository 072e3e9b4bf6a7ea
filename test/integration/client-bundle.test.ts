// `GET /v1/client.js` on a real node: the browser build of the current client sources (not a
// stale one), as a JavaScript module any page may load, revalidated by ETag.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { buildClientBundle } from '../../scripts/build-client.ts'
import { removeDir, startServer, tempDir, type TestServer } from '../helpers/server.ts'

describe('GET /v1/client.js', () => {
  let server: TestServer
  let dataDir: string

  before(async () => {
    dataDir = tempDir()
    server = await startServer({ dataDir })
  })

  after(async () => {
    await server?.stop('SIGKILL')
    if (dataDir) removeDir(dataDir)
  })

  test('serves the bundle of the current sources as a cross-origin JavaScript module', async () => {
    const res = await fetch(`${server.url}/v1/client.js`, { headers: { origin: 'https://app.example.com' } })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8')
    assert.equal(res.headers.get('access-control-allow-origin'), '*')
    assert.equal(res.headers.get('cache-control'), 'no-cache')
    const body = await res.text()
    assert.equal(body, await buildClientBundle(), 'the node serves what the sources build to now (npm test rebuilds it)')
    assert.match(body, /export\s*\{[^}]*EdgelogClient/, 'an ES module exporting the client')
    assert.doesNotMatch(body, /from\s*["'](zod|hono|node:)/, 'self-contained: no bare imports a browser cannot resolve')
  })

  test('answers a matching If-None-Match with 304 and no body', async () => {
    const first = await fetch(`${server.url}/v1/client.js`)
    const etag = first.headers.get('etag')
    await first.arrayBuffer()
    assert.ok(etag && /^"[\w-]+"$/.test(etag), `a strong ETag (${etag})`)
    const again = await fetch(`${server.url}/v1/client.js`, { headers: { 'if-none-match': `"other", ${etag}` } })
    assert.equal(again.status, 304)
    assert.equal(await again.text(), '')
    const changed = await fetch(`${server.url}/v1/client.js`, { headers: { 'if-none-match': '"other"' } })
    assert.equal(changed.status, 200)
    await changed.arrayBuffer()
  })

  test('only GET: another method is 405 with Allow', async () => {
    const res = await fetch(`${server.url}/v1/client.js`, { method: 'POST' })
    assert.equal(res.status, 405)
    assert.equal(res.headers.get('allow'), 'GET, HEAD')
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'METHOD_NOT_ALLOWED')
  })
})
