// An edge relay on every other runtime (Deno with node:sqlite, Node 24 with node:sqlite, Node 20
// with better-sqlite3 and `ws` as the upstream WebSocket client, and a Cloudflare Durable Object
// in workerd through `npm run start:cloudflare -- --role edge`, its flags becoming the Worker's
// EDGELOG_* vars), in front of a Bun broker: it learns the topic, produces at acks=all with the
// regional offset, and serves a subscription from the region's log start through its relay.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { removeDir, startServer, type ServerCommand } from '../helpers/server.ts'
import { startRegion, waitUntil, type Region } from '../helpers/edge.ts'
import { commands, NODE24, systemNode } from '../helpers/runtimes.ts'
import { postJson, RawWs, WsClient } from '../helpers/ws.ts'
import { claims, hs256 } from '../helpers/jwt.ts'

const denoDir = mkdtempSync(join(tmpdir(), 'edgelog-deno-dir-'))
const RUNTIMES: Array<[string, ServerCommand]> = [
  ['Deno', commands.deno(denoDir)],
  ['Node 24', commands.node(NODE24)],
  ['Node 20', commands.node(systemNode())],
  ['Cloudflare Durable Object (Miniflare)', commands.cloudflare()],
]

describe('edge relay on other runtimes', () => {
  let region: Region
  before(async () => {
    region = await startRegion()
    assert.equal((await postJson(`${region.broker.url}/v1/topics`, { name: 'rt', partitions: 2 })).status, 201)
  })
  after(async () => {
    await region?.close()
    removeDir(region.dataDir)
    rmSync(denoDir, { recursive: true, force: true })
  })

  for (const [name, command] of RUNTIMES) {
    test(`${name}: produce through the edge with acks=all, and subscribe there from the region's log start`, async () => {
      const edge = await startServer({ command, args: ['--role', 'edge', '--upstream', region.upstream, '--metadata-refresh-ms', '200'] })
      try {
        await waitUntil('the edge knows the topic', async () => (await fetch(`${edge.url}/v1/topics/rt`)).status === 200)
        const r = await postJson(`${edge.url}/v1/topics/rt/records?acks=all`, { records: [{ key: 'k', value: name }] })
        assert.equal(r.status, 200, JSON.stringify(r.body))
        const { partition, offset } = r.body.offsets[0]
        assert.equal(typeof offset, 'number')
        const ws = await WsClient.open(edge.url)
        try {
          assert.equal((await ws.call({ op: 'sub', id: 's', topic: 'rt', partitions: [partition], from: 'earliest' })).op, 'ok')
          const records = await ws.waitRecords('s', offset + 1)
          assert.equal(records[offset]!.value, name)
        } finally {
          ws.close()
        }
      } finally {
        await edge.stop('SIGKILL')
        removeDir(edge.dataDir)
      }
    })
  }
})

describe('an authenticating edge in front of an authenticated region, on other runtimes', () => {
  const SECRET = 'runtimes-edge-auth-secret-with-32-bytes!'
  let region: Region
  const tok: Record<string, string> = {}
  before(async () => {
    tok.admin = await hs256(SECRET, claims({ sub: 'root', acl: { admin: true } }))
    tok.edge = await hs256(SECRET, claims({ sub: 'edge', acl: { produce: ['rt'], consume: ['rt'] } }))
    tok.alice = await hs256(SECRET, claims({ sub: 'alice', acl: { produce: ['rt'], consume: ['rt'] } }))
    region = await startRegion(['--jwt-secret', SECRET])
    const created = await fetch(`${region.broker.url}/v1/topics`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tok.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'rt', partitions: 1 }),
    })
    assert.equal(created.status, 201)
  })
  after(async () => {
    await region?.close()
    removeDir(region.dataDir)
  })

  for (const [name, command] of RUNTIMES) {
    test(`${name}: a token is needed at the edge (401 on HTTP and the upgrade), and the edge's own token ships and relays`, async () => {
      const edge = await startServer({
        command,
        args: ['--role', 'edge', '--upstream', region.upstream, '--metadata-refresh-ms', '200', '--jwt-secret', SECRET, '--upstream-token', tok.edge!],
      })
      try {
        const auth = { authorization: `Bearer ${tok.alice}`, 'content-type': 'application/json' }
        assert.equal((await fetch(`${edge.url}/v1/topics/rt`)).status, 401)
        const raw = await RawWs.connect(edge.port)
        assert.equal(raw.status, 401)
        raw.socket.destroy()
        await waitUntil('the edge knows the topic', async () => (await fetch(`${edge.url}/v1/topics/rt`, { headers: auth })).status === 200)
        const r = await fetch(`${edge.url}/v1/topics/rt/records?acks=all`, { method: 'POST', headers: auth, body: JSON.stringify({ records: [{ value: name }] }) })
        const body = await r.json()
        assert.equal(r.status, 200, JSON.stringify(body))
        const offset = body.offsets[0].offset
        const ws = await WsClient.open(edge.url, undefined, `?token=${encodeURIComponent(tok.alice!)}`)
        try {
          assert.equal((await ws.call({ op: 'sub', id: 's', topic: 'rt', from: 'earliest' })).op, 'ok')
          const records = await ws.waitRecords('s', offset + 1)
          assert.equal(records[offset]!.value, name)
        } finally {
          ws.close()
        }
      } finally {
        await edge.stop('SIGKILL')
        removeDir(edge.dataDir)
      }
    })
  }
})
