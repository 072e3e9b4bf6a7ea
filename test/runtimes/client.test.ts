// The one ESM client, exactly as a node serves it at /v1/client.js, run by other runtimes
// against a real node: Deno (global WebSocket), and Node 20, which has no global WebSocket and
// takes one through the `WebSocket` option (here undici's, behind --experimental-websocket).
// Bun runs the client in every other client test; Chromium in test/browser/.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, removeDir, startServer, tempDir, type TestServer } from '../helpers/server.ts'

const DENO = join(ROOT, 'node_modules/.bin/deno')

// Subscribes from earliest, produces three records over the WebSocket and one over HTTP,
// and prints what the subscription delivered.
const probe = `
import { EdgelogClient } from './client.mjs'
const args = globalThis.Deno ? Deno.args : process.argv.slice(2)
const [url, topic, mode] = args
if (mode === 'no-websocket') {
  try {
    new EdgelogClient({ url }).subscribe(topic, {}, () => {})
    console.log('no error')
  } catch (error) {
    console.log(error.message)
  }
} else {
  const client = new EdgelogClient({ url, WebSocket: globalThis.WebSocket })
  const got = []
  client.subscribe(topic, { from: 'earliest' }, (r) => got.push(r.value))
  const ws = client.producer({ transport: 'ws', lingerMs: 0 })
  for (let i = 0; i < 3; i++) await ws.send(topic, { key: 'k', value: { via: 'ws', i } })
  const http = client.producer({ transport: 'http' })
  await http.send(topic, { key: 'k', value: { via: 'http', i: 3 } })
  const deadline = Date.now() + 20000
  while (got.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
  await ws.close()
  await http.close()
  client.close()
  console.log(JSON.stringify(got))
}
globalThis.Deno ? Deno.exit(0) : process.exit(0)
`

describe('the served client bundle on other runtimes', () => {
  let server: TestServer
  let dir: string
  let dataDir: string

  before(async () => {
    dataDir = tempDir()
    server = await startServer({ dataDir })
    const bundle = await fetch(`${server.url}/v1/client.js`)
    assert.equal(bundle.status, 200, 'the node serves /v1/client.js')
    dir = mkdtempSync(join(tmpdir(), 'edgelog-runtime-'))
    writeFileSync(join(dir, 'client.mjs'), await bundle.text())
    writeFileSync(join(dir, 'probe.mjs'), probe)
  })

  after(async () => {
    await server?.stop('SIGKILL')
    if (dir) rmSync(dir, { recursive: true, force: true })
    if (dataDir) removeDir(dataDir)
  })

  async function topic(name: string) {
    const res = await fetch(`${server.url}/v1/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, partitions: 2 }),
    })
    assert.equal(res.status, 201)
  }

  const expected = [
    { via: 'ws', i: 0 },
    { via: 'ws', i: 1 },
    { via: 'ws', i: 2 },
    { via: 'http', i: 3 },
  ]

  test('Deno subscribes and produces over WebSocket and HTTP', async () => {
    await topic('deno')
    const run = spawnSync(DENO, ['run', '--no-prompt', '--allow-net=127.0.0.1', 'probe.mjs', server.url, 'deno'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
    })
    assert.equal(run.status, 0, run.stderr)
    assert.deepEqual(JSON.parse(run.stdout.trim().split('\n').at(-1)!), expected)
  })

  test('Node 20 takes a WebSocket constructor through the option', async () => {
    await topic('node')
    const run = spawnSync('node', ['--experimental-websocket', '--no-warnings', 'probe.mjs', server.url, 'node'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
    })
    assert.equal(run.status, 0, run.stderr)
    assert.deepEqual(JSON.parse(run.stdout.trim().split('\n').at(-1)!), expected)
  })

  test('Node without a WebSocket is told to pass one', () => {
    const run = spawnSync('node', ['probe.mjs', server.url, 'node', 'no-websocket'], { cwd: dir, encoding: 'utf8', timeout: 60_000 })
    assert.equal(run.status, 0, run.stderr)
    const hasGlobal = spawnSync('node', ['-e', 'process.stdout.write(typeof WebSocket)'], { encoding: 'utf8' }).stdout
    if (hasGlobal === 'undefined') assert.match(run.stdout, /pass the WebSocket option/)
    else assert.equal(run.stdout.trim(), 'no error', 'a Node with a global WebSocket needs no option')
  })
})
