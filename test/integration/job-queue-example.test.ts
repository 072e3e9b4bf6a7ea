// examples/job-queue run as a user runs it (`npm run example:job-queue`, which starts its own
// node): every job is processed or dead-lettered, the poison jobs (every 25th) and only they
// end in the DLQ, and the group's lag is zero at the end.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { ROOT } from '../helpers/server.ts'

describe('examples/job-queue', () => {
  test('npm run example:job-queue: 100 jobs processed or dead-lettered, poison ones in the DLQ, no lag', { timeout: 120_000 }, async () => {
    const child = spawn('npm', ['run', '--silent', 'example:job-queue'], { cwd: ROOT, env: { ...process.env, JOBS: '100', EDGELOG_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (c) => (out += c))
    child.stderr.on('data', (c) => (out += c))
    const code = await new Promise((resolve) => child.once('close', resolve))
    assert.equal(code, 0, out)
    assert.match(out, /^processed: +96 jobs/m)
    assert.match(out, /^dead-lettered: 4 jobs \(in 'jobs\.dlq': 25, 50, 75, 100\)$/m)
    assert.match(out, /^retried: +\d+ times/m)
    const retried = Number(/^retried: +(\d+)/m.exec(out)![1])
    // Each poison job is retried 3 times before the DLQ, each flaky one twice: at least 4·3 + 6·2.
    assert.ok(retried >= 4 * 3 + 6 * 2, `retried ${retried}`)
    assert.match(out, /^lag left: +0$/m)
    assert.match(out, /every job was processed or dead-lettered/)
    // The three workers shared the work.
    for (const w of ['worker-1', 'worker-2', 'worker-3']) assert.match(out, new RegExp(`^${w} got `, 'm'))
  })
})
