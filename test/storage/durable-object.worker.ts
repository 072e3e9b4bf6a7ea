// A Worker whose Durable Object runs the storage conformance cases (driver.case.ts) against
// its own ctx.storage.sql, inside workerd. durable-object.mf.ts bundles it, starts it under
// Miniflare and asks for one case per fresh object:
//   POST /case/<index>           → { ok, log } or { ok: false, error }
//   POST /crash/append           → appends one crash group, answers the new log end offset
//   GET  /crash/verify?acked=<n> → verifyCrashedLog
//   POST /bench                  → the hot-path bench (bench/storage.ts)
import { PartitionLog } from '../../src/log/partition-log.ts'
import { durableObjectStorage, type DurableObjectStorageLike } from '../../storage/durable-object.ts'
import { BENCH_HOT_PATH, measureHotPath } from '../../bench/storage-hot-path.ts'
import { appendCrashGroup, CRASH_GROUP, STORAGE_CASES, verifyCrashedLog } from './driver.case.ts'

interface Env {
  CONFORMANCE: { idFromName(name: string): unknown; get(id: unknown): { fetch(r: Request): Promise<Response> } }
}

export class ConformanceObject {
  private log: PartitionLog | undefined
  constructor(private readonly ctx: { storage: DurableObjectStorageLike }) {}

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url)
    const storage = this.ctx.storage
    try {
      const c = /^\/case\/(\d+)$/.exec(url.pathname)
      if (c) {
        const test = STORAGE_CASES[Number(c[1])]
        if (!test) return Response.json({ ok: false, error: 'no such case' }, { status: 404 })
        const log: string[] = []
        test.run({
          driver: `ctx.storage.sql in workerd (Miniflare)`,
          fixture: { provider: durableObjectStorage(storage), reopen: () => durableObjectStorage(storage), dispose() {} },
          log: (line) => log.push(line),
        })
        return Response.json({ ok: true, log })
      }
      if (url.pathname === '/crash/append') {
        this.log ??= PartitionLog.open(durableObjectStorage(storage).open('crash'))
        const group = this.log.logEndOffset / (CRASH_GROUP.batches * CRASH_GROUP.records)
        return Response.json({ end: appendCrashGroup(this.log, group) })
      }
      if (url.pathname === '/bench') {
        const provider = durableObjectStorage(storage)
        return Response.json({ ok: true, timings: BENCH_HOT_PATH.map((opts, i) => measureHotPath(provider, `bench-${i}`, opts)) })
      }
      if (url.pathname === '/crash/verify') {
        return Response.json({ ok: true, ...verifyCrashedLog(durableObjectStorage(storage), 'crash', Number(url.searchParams.get('acked'))) })
      }
      return new Response('not found', { status: 404 })
    } catch (err) {
      return Response.json({ ok: false, error: err instanceof Error ? `${err.message}\n${err.stack}` : String(err) }, { status: 500 })
    }
  }
}

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    const object = new URL(request.url).searchParams.get('object') ?? 'default'
    return env.CONFORMANCE.get(env.CONFORMANCE.idFromName(object)).fetch(request)
  },
}
