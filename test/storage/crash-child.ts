// The appender a crash test kills: opens the partition log `crash` in <dir> with <driver> and
// appends groups of batches (one transaction each) until it is killed, printing
// `acked <log end offset>` after each commit returns. Runs under Bun, Deno and Node alike.
//   <runtime> test/storage/crash-child.ts <bun:sqlite|node:sqlite|better-sqlite3> <dir>
import { PartitionLog } from '../../src/log/partition-log.ts'
import { isFileDriverName, openFileStorage } from '../../storage/select.ts'
import { appendCrashGroup, CRASH_GROUP } from './driver.case.ts'

const [driver, dir] = process.argv.slice(2)
if (!driver || !dir || !isFileDriverName(driver)) {
  console.error('usage: crash-child.ts <bun:sqlite|node:sqlite|better-sqlite3> <dir>')
  process.exit(2)
}
const storage = await openFileStorage(driver, dir, 'always')
const log = PartitionLog.open(storage.open('crash'))
// Continue after what an earlier, killed appender left.
let group = log.logEndOffset / (CRASH_GROUP.batches * CRASH_GROUP.records)
console.log(`ready ${log.logEndOffset}`)
for (;;) {
  const end = appendCrashGroup(log, group++)
  process.stdout.write(`acked ${end}\n`)
  // Let the pipe drain and the parent's kill land between, and during, appends.
  await new Promise((resolve) => setTimeout(resolve, 0))
}
