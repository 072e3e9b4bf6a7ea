// Authentication, ACLs and per-IP caps on the Deno and Node entry points (the Bun ones are in
// test/integration/): the same shared setup must give every runtime the same refusals, its
// `/v1/ws` upgrade the same admission, and its per-IP caps a real client address. TLS is served
// by Bun only; the others refuse the flags rather than serve plain HTTP by surprise.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { removeDir, startServer, type ServerCommand, type TestServer } from '../helpers/server.ts'
import { commands, NODE24, systemNode } from '../helpers/runtimes.ts'
import { claims, hs256 } from '../helpers/jwt.ts'
import { RawWs, WsClient } from '../helpers/ws.ts'
import { spawnSync } from 'node:child_process'

const SECRET = 'runtime-auth-secret-with-at-least-32-bytes'
const denoDir = mkdtempSync(join(tmpdir(), 'edgelog-deno-dir-'))
after(() => rmSync(denoDir, { recursive: true, force: true }))
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const runtimes: Array<[string, () => ServerCommand]> = [
  ['Deno', () => commands.deno(denoDir)],
  ['Node 20', () => commands.node(systemNode())],
  ['Node 24', () => commands.node(NODE24)],
]

for (const [name, command] of runtimes) {
  describe(`${name}: authentication and caps`, () => {
    test('401 without a token, 403 outside the acl, the WebSocket upgrade gated, per-IP caps on the real address', async () => {
      const s: TestServer = await startServer({ command: command(), args: ['--jwt-secret', SECRET, '--max-connections-per-ip', '3'] })
      try {
        const admin = await hs256(SECRET, claims({ sub: 'root', acl: { admin: true } }))
        const reader = await hs256(SECRET, claims({ sub: 'reader', acl: { consume: ['rt.*'] } }))
        const call = (path: string, token?: string, init: RequestInit = {}) =>
          fetch(s.url + path, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json', ...init.headers } })
        const anon = await call('/v1/topics')
        assert.equal(anon.status, 401)
        assert.match(anon.headers.get('www-authenticate') ?? '', /^Bearer realm="edgelog"/)
        assert.equal((await call('/v1/topics', admin, { method: 'POST', body: '{"name":"rt.a"}' })).status, 201)
        assert.equal((await call('/v1/topics/rt.a/records', reader, { method: 'POST', body: '{"records":[{"value":1}]}' })).status, 403)
        assert.equal((await call('/v1/topics/rt.a/records', admin, { method: 'POST', body: '{"records":[{"value":1}]}' })).status, 200)

        const refused = await RawWs.connect(s.port)
        assert.equal(refused.status, 401)
        refused.socket.destroy()
        const ws = await WsClient.open(s.url, undefined, `?token=${reader}`)
        assert.equal((await ws.call({ op: 'sub', id: 's', topic: 'rt.a', from: 'earliest' })).op, 'ok')
        assert.equal((await ws.call({ op: 'pub', id: 'p', topic: 'rt.a', value: 2 })).code, 'TOPIC_AUTHORIZATION_FAILED')
        // The socket holds one of the address's three slots; two long polls take the rest.
        const polls = [0, 1].map(() => call('/v1/topics/rt.a/partitions/0/records?offset=latest&waitMs=2500', reader))
        await sleep(500)
        const over = await call('/v1/topics', reader)
        assert.equal(over.status, 429, await over.text())
        for (const p of await Promise.all(polls)) assert.equal(p.status, 200)
        ws.ws.close()
        let status = 0
        for (let i = 0; i < 50 && status !== 200; i++) {
          await sleep(100)
          status = (await call('/v1/topics', reader)).status
        }
        assert.equal(status, 200)
      } finally {
        await s.stop()
        removeDir(s.dataDir)
      }
    })

    test('--tls-cert / --tls-key are refused with exit 2, not ignored', () => {
      const cmd = command()
      const dir = mkdtempSync(join(tmpdir(), 'edgelog-rt-tls-'))
      try {
        writeFileSync(join(dir, 'c.pem'), 'x')
        writeFileSync(join(dir, 'k.pem'), 'x')
        const r = spawnSync(cmd.file, [...cmd.args, '--port', '0', '--data', join(dir, 'data'), '--tls-cert', join(dir, 'c.pem'), '--tls-key', join(dir, 'k.pem')], {
          cwd: cmd.cwd ?? process.cwd(),
          env: cmd.env ?? process.env,
          encoding: 'utf8',
          timeout: 60_000,
        })
        assert.equal(r.status, 2, `${r.stdout}${r.stderr}`)
        assert.match(`${r.stdout}${r.stderr}`, /Bun only/)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
}
