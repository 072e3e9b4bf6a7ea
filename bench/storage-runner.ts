// One driver's hot-path numbers (storage-hot-path.ts) as JSON lines, under whatever runtime
// runs this file. bench/storage.ts starts it under each runtime.
//   <runtime> bench/storage-runner.ts <bun:sqlite|node:sqlite|better-sqlite3>
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isFileDriverName, openFileStorage } from '../storage/select.ts'
import { BENCH_HOT_PATH, measureHotPath } from './storage-hot-path.ts'

const driver = process.argv[2] ?? ''
if (!isFileDriverName(driver)) throw new Error(`unknown driver '${driver}'`)
for (const opts of BENCH_HOT_PATH) {
  const dir = mkdtempSync(join(tmpdir(), 'edgelog-storage-bench-'))
  try {
    const storage = await openFileStorage(driver, dir, 'batch')
    console.log(JSON.stringify(measureHotPath(storage, 'p', opts)))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
