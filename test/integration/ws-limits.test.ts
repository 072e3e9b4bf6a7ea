// Connection-level abuse on /v1/ws and SSE: foreign origins, too many connections, fragmented
// and compressed frames, subprotocols, and peers that stop answering pings.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { removeDir, startServer, type TestServer } from '../helpers/server.ts'
import { postJson, produceMany, RawWs, WsClient } from '../helpers/ws.ts'

describe('origin policy (default: same-origin and no-Origin clients)', () => {
  let server: TestServer
  before(async () => {
    server = await startServer()
    await postJson(`${server.url}/v1/topics`, { name: 'o', partitions: 1 })
  })
  after(async () => {
    await server.stop()
    removeDir(server.dataDir)
  })

  test('a foreign Origin gets 403 and no socket, even with a cookie; same-origin and no Origin get a socket', async () => {
    const evil = await RawWs.connect(server.port, { Origin: 'https://evil.example', Cookie: 'session=abc' })
    assert.equal(evil.status, 403)
    assert.equal(evil.headers['upgrade'], undefined)
    evil.destroy()
    const same = await RawWs.connect(server.port, { Origin: `http://127.0.0.1:${server.port}` })
    assert.equal(same.status, 101)
    same.destroy()
    const none = await RawWs.connect(server.port)
    assert.equal(none.status, 101)
    none.destroy()
    const nullOrigin = await RawWs.connect(server.port, { Origin: 'null' })
    assert.equal(nullOrigin.status, 403)
    nullOrigin.destroy()
    const text = await (await fetch(`${server.url}/metrics`)).text()
    assert.match(text, /edgelog_live_connections_refused_total\{reason="origin"\} 2/)
  })

  test('SSE: a foreign Origin gets 403 with a JSON error', async () => {
    const res = await fetch(`${server.url}/v1/topics/o/sse`, { headers: { Origin: 'https://evil.example' } })
    assert.equal(res.status, 403)
    assert.equal(((await res.json()) as any).error.code, 'FORBIDDEN')
  })

  test('no subprotocol is negotiated: an offered one is never echoed', async () => {
    const raw = await RawWs.connect(server.port, { 'Sec-WebSocket-Protocol': 'evil, chat' })
    assert.equal(raw.status, 101)
    assert.equal(raw.headers['sec-websocket-protocol'], undefined)
    raw.destroy()
  })

  test('GET /v1/ws without an upgrade is 426', async () => {
    const res = await fetch(`${server.url}/v1/ws`)
    assert.equal(res.status, 426)
    assert.equal(((await res.json()) as any).error.code, 'UPGRADE_REQUIRED')
  })

  test('fragments whose total passes the frame limit close with 1009; a compressed frame (not negotiated) closes the socket', async () => {
    const raw = await RawWs.connect(server.port)
    const chunk = 'a'.repeat(64 * 1024)
    raw.writeFrame(1, chunk, false) // text, not final
    for (let i = 0; i < 20; i++) raw.writeFrame(0, chunk, false) // continuation: 1.3 MiB total, over the 1 MiB default
    raw.writeFrame(0, chunk, true)
    const close = await raw.readClose()
    assert.equal(close.code, 1009)
    raw.destroy()
    const deflated = await RawWs.connect(server.port)
    deflated.writeFrame(1, '{"op":"unsub","id":"x"}', true, true)
    const c2 = await deflated.readClose()
    assert.ok(c2.code === 1002 || c2.ended, `closed (${c2.code})`)
    deflated.destroy()
    // The server is fine.
    const ok = await WsClient.open(server.url)
    assert.equal((await ok.call({ op: 'sub', id: 's', topic: 'o' })).op, 'ok')
    ok.close()
  })
})

describe('--allowed-origins list and *', () => {
  let listed: TestServer
  let any: TestServer
  before(async () => {
    listed = await startServer({ args: ['--allowed-origins', 'https://app.example.com, http://localhost:3000'] })
    any = await startServer({ args: ['--allowed-origins', '*'] })
  })
  after(async () => {
    await listed.stop()
    await any.stop()
    removeDir(listed.dataDir)
    removeDir(any.dataDir)
  })

  test('a listed origin gets a socket, any other (same-origin included) 403; * allows every origin', async () => {
    for (const [origin, status] of [
      ['https://app.example.com', 101],
      ['http://localhost:3000', 101],
      ['https://APP.example.com', 101],
      ['https://app.example.com:8443', 403],
      [`http://127.0.0.1:${listed.port}`, 403],
      ['https://evil.example', 403],
    ] as const) {
      const raw = await RawWs.connect(listed.port, { Origin: origin })
      assert.equal(raw.status, status, origin)
      raw.destroy()
    }
    const raw = await RawWs.connect(any.port, { Origin: 'https://whoever.example' })
    assert.equal(raw.status, 101)
    raw.destroy()
  })

  test('a malformed --allowed-origins refuses to start', async () => {
    await assert.rejects(startServer({ args: ['--allowed-origins', 'https://a.example/path'] }), /must be scheme:\/\/host/)
  })
})

describe('connections per node', () => {
  let server: TestServer
  before(async () => {
    server = await startServer({ args: ['--max-connections', '3'] })
    await postJson(`${server.url}/v1/topics`, { name: 'c', partitions: 1 })
  })
  after(async () => {
    await server.stop()
    removeDir(server.dataDir)
  })

  test('beyond --max-connections (WebSocket and SSE together) an upgrade gets 429; a freed slot is usable again', async () => {
    const a = await WsClient.open(server.url)
    const b = await WsClient.open(server.url)
    const sse = await fetch(`${server.url}/v1/topics/c/sse`)
    assert.equal(sse.status, 200)
    const refused = await RawWs.connect(server.port)
    assert.equal(refused.status, 429)
    refused.destroy()
    const refusedSse = await fetch(`${server.url}/v1/topics/c/sse`)
    assert.equal(refusedSse.status, 429)
    assert.equal(((await refusedSse.json()) as any).error.code, 'THROTTLED')
    a.close()
    await a.waitClose()
    let again: WsClient | undefined
    for (let i = 0; i < 50 && !again; i++) {
      again = await WsClient.open(server.url).catch(() => undefined)
      if (!again) await new Promise((r) => setTimeout(r, 100))
    }
    assert.ok(again, 'a slot was freed')
    assert.equal((await again.call({ op: 'sub', id: 's', topic: 'c' })).op, 'ok')
    again.close()
    b.close()
    await sse.body?.cancel()
  })

  test('upgrades abandoned right after the handshake leak no connection slots', async () => {
    for (let i = 0; i < 30; i++) {
      const raw = await RawWs.connect(server.port)
      if (raw.status === 101) raw.destroy()
      else {
        raw.destroy()
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    let text = ''
    for (let i = 0; i < 100; i++) {
      text = await (await fetch(`${server.url}/metrics`)).text()
      if (/edgelog_ws_connections 0\n/.test(text)) break
      await new Promise((r) => setTimeout(r, 50))
    }
    assert.match(text, /edgelog_ws_connections 0\n/)
    const all = await Promise.all([WsClient.open(server.url), WsClient.open(server.url), WsClient.open(server.url)])
    for (const c of all) c.close()
  })
})

describe('idle timeout', () => {
  let server: TestServer
  before(async () => {
    server = await startServer({ args: ['--ws-idle-timeout', '8'] })
    await postJson(`${server.url}/v1/topics`, { name: 'idle', partitions: 1 })
  })
  after(async () => {
    await server.stop()
    removeDir(server.dataDir)
  })

  test('a peer that never answers pings is dropped after the idle timeout; one that answers stays', async () => {
    const dead = await RawWs.connect(server.port)
    const alive = await WsClient.open(server.url)
    await alive.call({ op: 'sub', id: 'a', topic: 'idle' })
    const frames = await dead.readFrames(() => false, 25_000)
    assert.ok(frames.some((f) => f.opcode === 9), 'the server pinged')
    assert.ok(dead.ended, 'the silent peer was dropped')
    dead.destroy()
    assert.equal(alive.closed, undefined, 'the answering peer is still connected')
    await produceMany(server.url, 'idle', 1)
    await alive.waitRecords('a', 1)
    alive.close()
  })
})
