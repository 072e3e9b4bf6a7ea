#!/usr/bin/env node
// The one test command (`npm test`): runs every test file under Bun's runner (the tests are
// written against node:test, so they also run under `deno test` and `node --test`) and ends
// with a plain "N passed, N failed" line that CI reads. Arguments narrow it to paths.
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bun = join(root, 'node_modules', '.bin', 'bun')
const paths = process.argv.slice(2)
if (paths.length === 0) {
  // The whole suite starts with the type check: a type error is a failing test.
  const tsc = spawnSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' })
  if (tsc.status !== 0) {
    console.log('\n0 passed, 1 failed (typecheck)')
    process.exit(1)
  }
}
const child = spawn(bun, ['test', '--timeout', '60000', ...(paths.length ? paths : ['test/'])], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
let tail = ''
const keep = (chunk, out) => {
  out.write(chunk)
  tail = (tail + chunk.toString()).slice(-4000)
}
child.stdout.on('data', (c) => keep(c, process.stdout))
child.stderr.on('data', (c) => keep(c, process.stderr))
child.on('exit', (code, signal) => {
  const pass = Number(/(\d+) pass\b/.exec(tail)?.[1] ?? 0)
  const fail = Number(/(\d+) fail\b/.exec(tail)?.[1] ?? 0)
  const skip = Number(/(\d+) skip\b/.exec(tail)?.[1] ?? 0)
  console.log(`\n${pass} passed, ${fail} failed${skip ? `, ${skip} skipped` : ''}`)
  if (signal) process.exit(1)
  process.exit(code === 0 && fail === 0 && pass > 0 ? 0 : 1)
})
