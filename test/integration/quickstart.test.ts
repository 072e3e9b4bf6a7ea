// The README's quick start, run as the script a user would run: it must keep working.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { ROOT } from '../helpers/server.ts'

test('examples/quickstart.sh creates a topic, produces three lines and consumes them back', () => {
  const port = String(20000 + Math.floor(Math.random() * 20000))
  const run = spawnSync('bash', ['examples/quickstart.sh'], { cwd: ROOT, env: { ...process.env, PORT: port }, encoding: 'utf8', timeout: 60_000 })
  assert.equal(run.status, 0, run.stdout + run.stderr)
  const records = run.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))
  assert.deepEqual(records.map((r) => r.value), ['one', 'two', 'three'])
  assert.ok(records.every((r) => r.key === 'customer-42' && r.partition === records[0].partition))
})
