// examples/edge-deployment run as a user runs it (`npm run example:edge`: a region and two edge
// relays on loopback): comments posted at one edge reach the region and the viewers at the other
// edge exactly once and in order per room, across a region outage that the writing edge rides
// out with its outbox.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { ROOT } from '../helpers/server.ts'

describe('examples/edge-deployment', () => {
  test('npm run example:edge: nothing lost, duplicated or reordered across a region outage', { timeout: 120_000 }, async () => {
    const child = spawn('npm', ['run', '--silent', 'example:edge'], { cwd: ROOT, env: { ...process.env, COMMENTS: '20' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (c) => (out += c))
    child.stderr.on('data', (c) => (out += c))
    const code = await new Promise((resolve) => child.once('close', resolve))
    assert.equal(code, 0, out)
    assert.match(out, /^phase 2: the region is down; Paris took 20 more comments and holds 20 in its outbox$/m)
    assert.match(out, /^at the region: 40 comments, 0 missing, 0 duplicated, rooms out of order: 0$/m)
    assert.match(out, /^seen in Tokyo: 40 comments, 0 missing, 0 duplicated, rooms out of order: 0$/m)
  })
})
