// The storage conformance suite on node:sqlite, under `deno test` (not collected by `bun test`:
// the file name does not end in .test.ts).
//   node_modules/.bin/deno test -A --no-check test/storage/deno.deno.ts
import { describe, test } from 'node:test'
import { nodeSqliteStorage } from '../../storage/node-sqlite.ts'
import { registerStorageSuite } from './driver.case.ts'
import { CRASH_CHILD, fileFixture, runFileCrash } from './file-crash.ts'

registerStorageSuite(
  {
    name: `node:sqlite on Deno ${Deno.version.deno}`,
    fixture: () => fileFixture((dir) => nodeSqliteStorage(dir, 'batch')),
    crash: () =>
      runFileCrash((dir) => nodeSqliteStorage(dir, 'always'), Deno.execPath(), ['run', '-A', '--no-check', CRASH_CHILD, 'node:sqlite']),
  },
  { describe, test: test as never },
)
