// The storage conformance suite on a Durable Object's ctx.storage.sql, inside workerd through
// Miniflare. The cases run in the object (durable-object.worker.ts); this file, under Node's
// test runner, asks for each one and reports it.
//   node --import tsx --test test/storage/durable-object.mf.ts
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Miniflare } from 'miniflare'
import { bundleWorker } from '../../edge/cloudflare/bundle.ts'
import { startMiniflare } from '../../edge/cloudflare/miniflare.ts'
import { CRASH_CASE_NAME, registerStorageSuite } from './driver.case.ts'
import { killAppender } from './file-crash.ts'

const work = mkdtempSync(join(tmpdir(), 'edgelog-do-'))
const script = join(work, 'conformance-worker.js')
const workerOptions = { scriptPath: script, durableObjects: { CONFORMANCE: 'ConformanceObject' }, compatibilityFlags: ['nodejs_compat'] }
let mf: Miniflare
let objects = 0

before(async () => {
  await bundleWorker(join(import.meta.dirname, 'durable-object.worker.ts'), script)
  mf = (await startMiniflare(workerOptions)).mf
})
after(async () => {
  await mf?.dispose()
  rmSync(work, { recursive: true, force: true })
})

async function call(m: Miniflare, path: string, init?: { method: string }) {
  const res = await m.dispatchFetch(`http://do${path}`, init)
  const body = (await res.json()) as { ok: boolean; error?: string; log?: string[] } & Record<string, unknown>
  assert.ok(body.ok, body.error ?? `HTTP ${res.status}`)
  return body
}

registerStorageSuite(
  {
    name: 'ctx.storage.sql in workerd (Miniflare)',
    // A fresh object per case is a fresh, empty database.
    runCase: async (index) => (await call(mf, `/case/${index}?object=case-${objects++}`, { method: 'POST' })).log ?? [],
    skip: {
      'close releases the database: no -wal or -shm file is left behind':
        'an object has no files of its own: the platform keeps its SQLite and the driver\'s close() has nothing to release',
    },
    crash: async () => {
      const persistDir = join(work, 'crash-data')
      let acked = 0
      for (let round = 0; round < 2; round++) {
        const args = ['--import', 'tsx', join(import.meta.dirname, 'do-crash-child.ts'), script, persistDir]
        acked = Math.max(acked, await killAppender(process.execPath, args, 10 + Math.floor(Math.random() * 20), true))
      }
      const restarted = (await startMiniflare({ ...workerOptions, persistDir })).mf
      try {
        const r = await call(restarted, `/crash/verify?object=crash&acked=${acked}`)
        return { groups: Number(r.groups), records: Number(r.records), ackedEndOffset: acked }
      } finally {
        await restarted.dispose()
      }
    },
  },
  { describe, test: test as never },
)
void CRASH_CASE_NAME
