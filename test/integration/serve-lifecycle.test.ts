// The package's bin starts a node that answers /healthz and shuts down cleanly on SIGTERM.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { ROOT, removeDir, tempDir } from '../helpers/server.ts'

async function serveViaBin(dataDir: string) {
  const proc = spawn('node', [join(ROOT, 'bin/edgelog.mjs'), 'serve', '--port', '0', '--data', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  proc.stdout.on('data', (d) => (out += d))
  proc.stderr.on('data', (d) => (out += d))
  const exit = new Promise<{ code: number | null; signal: string | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })))
  for (let i = 0; i < 500 && !/listening on (http:\/\/\S+)/.test(out); i++) await new Promise((r) => setTimeout(r, 20))
  const url = /listening on (http:\/\/\S+)/.exec(out)?.[1]
  assert.ok(url, `the node printed where it listens:\n${out}`)
  return { proc, url, exit, output: () => out }
}

describe('edgelog serve through the package bin', () => {
  test('answers /healthz, and SIGTERM drains, exits 0 and keeps the data', async () => {
    const dataDir = tempDir()
    try {
      const first = await serveViaBin(dataDir)
      assert.equal((await fetch(`${first.url}/healthz`)).status, 200)
      const created = await fetch(`${first.url}/v1/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'kept', partitions: 1 }) })
      assert.equal(created.status, 201)
      // acks=0 answers before the append: the record must still be in the log after the drain.
      const produced = await fetch(`${first.url}/v1/topics/kept/records?acks=0`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ records: [{ value: 'after-drain' }] }) })
      assert.equal(produced.status, 202)
      first.proc.kill('SIGTERM')
      assert.deepEqual(await first.exit, { code: 0, signal: null }, first.output())

      const second = await serveViaBin(dataDir)
      const body = (await (await fetch(`${second.url}/v1/topics/kept/partitions/0/records`)).json()) as any
      assert.deepEqual(body.records.map((r: any) => r.value), ['after-drain'])
      second.proc.kill('SIGTERM')
      assert.equal((await second.exit).code, 0)
    } finally {
      removeDir(dataDir)
    }
  })
})
