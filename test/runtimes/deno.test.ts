// The public-API suite (http.case.ts) against `deno task start` (node:sqlite, Deno.serve),
// run offline: no npm registry and an empty Deno cache, so npm packages come from node_modules.
import { after, before, describe, test } from 'node:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { commands, startWith } from '../helpers/runtimes.ts'
import { registerHttpSuite } from './http.case.ts'

const denoDir = mkdtempSync(join(tmpdir(), 'edgelog-deno-dir-'))
after(() => rmSync(denoDir, { recursive: true, force: true }))

registerHttpSuite(
  { name: 'Deno (node:sqlite), deno task start', start: (dataDir) => startWith(commands.deno(denoDir), dataDir) },
  { describe, test: test as never, before, after },
)
