// The storage conformance suite on bun:sqlite, under `bun test`.
import { describe, test } from 'node:test'
import { bunStorage } from '../../storage/bun-sqlite.ts'
import { registerStorageSuite } from './driver.case.ts'
import { CRASH_CHILD, fileFixture, runFileCrash } from './file-crash.ts'

const open = (dir: string) => bunStorage(dir, 'batch')

registerStorageSuite(
  {
    name: `bun:sqlite on Bun ${Bun.version}`,
    fixture: () => fileFixture(open),
    crash: () => runFileCrash((dir) => bunStorage(dir, 'always'), process.execPath, [CRASH_CHILD, 'bun:sqlite']),
  },
  { describe, test: test as never },
)
