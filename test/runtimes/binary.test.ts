// The public-API suite (http.case.ts) against the single executable: `npm run build:binary`,
// then dist/edgelog copied alone into an empty folder and run with `PATH=/usr/bin:/bin` and
// nothing else in its environment: no Bun, no node_modules, no source tree.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT } from '../helpers/server.ts'
import { buildBinary, commands, startWith } from '../helpers/runtimes.ts'
import { registerHttpSuite } from './http.case.ts'

let dir = ''
before(() => {
  dir = buildBinary()
})
after(() => rmSync(dir, { recursive: true, force: true }))

describe('the single binary', () => {
  test('the systemd unit of the README verifies against it', { skip: existsSync('/usr/bin/systemd-analyze') ? false : 'no systemd-analyze on this machine' }, () => {
    const unit = readFileSync(join(ROOT, 'edge/bun/edgelog.service'), 'utf8').replace('/usr/local/bin/edgelog ', `${join(dir, 'edgelog')} `)
    const unitDir = mkdtempSync(join(tmpdir(), 'edgelog-unit-'))
    try {
      writeFileSync(join(unitDir, 'edgelog.service'), unit)
      const verify = spawnSync('systemd-analyze', ['verify', join(unitDir, 'edgelog.service')], { encoding: 'utf8' })
      assert.equal(verify.status, 0, verify.stderr)
      assert.equal(verify.stderr.trim(), '', 'no warnings')
    } finally {
      rmSync(unitDir, { recursive: true, force: true })
    }
  })

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
