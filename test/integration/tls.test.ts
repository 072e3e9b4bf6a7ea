// HTTPS with --tls-cert / --tls-key (issue 8, RELIABILITY.md §5.4 item 38): a self-signed
// certificate made here with openssl; a client that trusts it produces and fetches, one that
// does not is refused, plain HTTP on the port gets no answer, and answers carry HSTS.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import https from 'node:https'
import { join } from 'node:path'
import { removeDir, startServer, tempDir, type TestServer } from '../helpers/server.ts'
import { claims, hs256 } from '../helpers/jwt.ts'

const SECRET = 'tls-test-secret-with-at-least-32-bytes!!'
let dir = ''
let ca = ''
let server: TestServer
let admin = ''

before(async () => {
  dir = tempDir('edgelog-tls-')
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
    { encoding: 'utf8' },
  )
  assert.equal(r.status, 0, `openssl failed: ${r.stderr}`)
  ca = readFileSync(join(dir, 'cert.pem'), 'utf8')
  server = await startServer({
    ca,
    args: ['--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem'), '--jwt-secret', SECRET],
  })
  admin = await hs256(SECRET, claims({ acl: { admin: true } }))
})

after(async () => {
  await server?.stop()
  if (server) removeDir(server.dataDir)
  removeDir(dir)
})

const trusted = (path: string, init: RequestInit = {}) =>
  fetch(server.url + path, { ...init, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', ...init.headers }, tls: { ca } } as RequestInit)

describe('TLS', () => {
  test('the node says https and serves a produce and a fetch to a client that trusts its certificate', async () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/)
    assert.match(server.output(), /listening on https:\/\//)
    assert.equal((await trusted('/v1/topics', { method: 'POST', body: '{"name":"secure","partitions":1}' })).status, 201)
    const p = await trusted('/v1/topics/secure/records', { method: 'POST', body: '{"records":[{"key":"k","value":{"ok":true}}]}' })
    assert.equal(p.status, 200)
    const f = await trusted('/v1/topics/secure/partitions/0/records?offset=0')
    assert.deepEqual((await f.json()).records.map((r: { value: unknown }) => r.value), [{ ok: true }])
  })

  test('every answer carries Strict-Transport-Security, errors and health checks included', async () => {
    for (const [path, status] of [['/healthz', 200], ['/v1/topics/nope', 404], ['/v1/topics/secure/partitions/x/records', 400]] as const) {
      const res = await trusted(path)
      assert.equal(res.status, status)
      assert.match(res.headers.get('strict-transport-security') ?? '', /^max-age=\d{7,}/)
      await res.body?.cancel()
    }
    const anon = await fetch(`${server.url}/v1/topics`, { tls: { ca } } as RequestInit)
    assert.equal(anon.status, 401)
    assert.ok(anon.headers.get('strict-transport-security'))
  })

  test('node:https with the CA works too (the same check a Node client makes)', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get(`${server.url}/healthz`, { ca }, (res) => {
          let b = ''
          res.on('data', (d) => (b += d))
          res.on('end', () => resolve(b))
        })
        .on('error', reject)
    })
    assert.deepEqual(JSON.parse(body), { status: 'ok' })
  })

  test('a client that does not trust the certificate is refused, and plain HTTP gets no answer', async () => {
    await assert.rejects(fetch(`${server.url}/healthz`))
    await assert.rejects(fetch(server.url.replace('https:', 'http:') + '/healthz'))
  })
})
