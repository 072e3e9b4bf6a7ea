// The public-API suite (http.case.ts) against the single executable: `npm run build:binary`,
// then dist/edgelog copied alone into an empty folder and run with `PATH=/usr/bin:/bin` and
// nothing else in its environment: no Bun, no node_modules, no source tree.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { buildBinary, commands, startWith } from '../helpers/runtimes.ts'
import { registerHttpSuite } from './http.case.ts'

let dir = ''
before(() => {
  dir = buildBinary()
})
after(() => rmSync(dir, { recursive: true, force: true }))

describe('the single binary', () => {
  test('is alone in its folder and answers --help with a bare environment', () => {
    assert.deepEqual(readdirSync(dir), ['edgelog'])
    const help = execFileSync(join(dir, 'edgelog'), ['--help'], { cwd: dir, env: { PATH: '/usr/bin:/bin' }, encoding: 'utf8' })
    assert.match(help, /Usage: edgelog COMMAND/)
  })
})

registerHttpSuite(
  { name: 'the dist/edgelog binary (bun:sqlite, no Bun installed)', start: (dataDir) => startWith(commands.binary(dir), dataDir) },
  { describe, test: test as never, before, after },
)
