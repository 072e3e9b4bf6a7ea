// What waking a hibernated Durable Object costs: N WebSocket subscribers (one `sub` each, on one
// partition), a produce while the object is in memory, then ~16 s of quiet (workerd evicts the
// object and keeps the sockets), then a produce that wakes it: the constructor reopens the
// broker and restores N sockets from their attachments before that produce is handled.
//   bun bench/hibernation.ts [N ...]      (default 1 100 1000; ~20 s per N)
// Prints, per N: the produce round trip and the time until every socket had the record, warm
// (median of 3) and at the wake-up, and what the woken instance restored.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bundleWorker } from '../edge/cloudflare/bundle.ts'
import { startMiniflare } from '../edge/cloudflare/miniflare.ts'

const QUIET_MS = 16_000
const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0)
const rounds = sizes.length > 0 ? sizes : [1, 100, 1000]

const work = mkdtempSync(join(tmpdir(), 'edgelog-bench-hibernation-'))
const script = join(work, 'worker.js')
await bundleWorker(join(import.meta.dirname, '../edge/cloudflare/worker.ts'), script)
const { mf, url } = await startMiniflare({ scriptPath: script })
const base = url.origin

const metric = async (name: string, labels = '') => {
  const text = await (await fetch(`${base}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}} ` : `${name} `))
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1))
}

let seq = 0
const duplicates: string[] = []
/** Produces one record; resolves with the round trip and the time until every socket had it. */
async function produceAndDeliver(topic: string, sockets: Array<{ got: Set<number>; wait: Map<number, () => void> }>) {
  const value = ++seq
  const delivered = Promise.all(
    sockets.map((s) => (s.got.has(value) ? Promise.resolve() : new Promise<void>((resolve) => s.wait.set(value, resolve)))),
  )
  const t0 = performance.now()
  const res = await fetch(`${base}/v1/topics/${topic}/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ records: [{ value }] }) })
  if (res.status !== 200) throw new Error(`produce: ${res.status} ${await res.text()}`)
  const produced = performance.now() - t0
  await delivered
  return { produced, delivered: performance.now() - t0 }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const rows: string[] = []
for (const n of rounds) {
  const topic = `bench-${n}`
  await fetch(`${base}/v1/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: topic, partitions: 1 }) })
  const sockets = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const ws = new WebSocket(`${base.replace('http', 'ws')}/v1/ws`)
      const s = { ws, got: new Set<number>(), wait: new Map<number, () => void>() }
      const ok = new Promise<void>((resolve, reject) => {
        ws.onmessage = (e) => {
          const f = JSON.parse(String(e.data))
          if (f.op === 'ok') resolve()
          else if (f.op === 'err') reject(new Error(JSON.stringify(f)))
          for (const r of f.op === 'msgs' ? f.records : f.op === 'msg' ? [f] : []) {
            if (s.got.has(r.value)) duplicates.push(`socket ${i}: record ${r.value} twice`)
            s.got.add(r.value)
            s.wait.get(r.value)?.()
          }
        }
      })
      await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)))
      ws.send(JSON.stringify({ op: 'sub', id: 's', topic, from: 'latest' }))
      await ok
      return s
    }),
  )
  const warm = []
  for (let i = 0; i < 3; i++) warm.push(await produceAndDeliver(topic, sockets))
  const startBefore = await metric('edgelog_node_start_time_seconds')
  await new Promise((r) => setTimeout(r, QUIET_MS))
  const wake = await produceAndDeliver(topic, sockets)
  const startAfter = await metric('edgelog_node_start_time_seconds')
  const restored = await metric('edgelog_hibernation_restored_sockets', 'outcome="restored"')
  if (startAfter === startBefore) throw new Error(`N=${n}: the object was not evicted in ${QUIET_MS} ms`)
  rows.push(
    `| ${n} | ${median(warm.map((w) => w.produced)).toFixed(1)} | ${median(warm.map((w) => w.delivered)).toFixed(1)} | ${wake.produced.toFixed(1)} | ${wake.delivered.toFixed(1)} | ${restored} |`,
  )
  console.log(rows.at(-1))
  for (const s of sockets) s.ws.close()
  await new Promise((r) => setTimeout(r, 500))
}

console.log('\n| sockets | warm produce ms | warm all delivered ms | wake produce ms | wake all delivered ms | restored at wake |')
console.log('|---:|---:|---:|---:|---:|---:|')
for (const r of rows) console.log(r)
if (duplicates.length > 0) throw new Error(`duplicates: ${duplicates.slice(0, 5).join('; ')}`)
await mf.dispose()
rmSync(work, { recursive: true, force: true })
