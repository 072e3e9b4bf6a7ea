// Live fan-out: N WebSocket subscribers of one topic in separate client processes, one
// publisher at a fixed rate; deliveries/s, delivery latency (publisher send → subscriber
// receive, same clock) and server RSS, for edgelog and for a bare Bun.serve broadcast loop.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { createTopic } from './server.ts'

const ROOT = resolve(import.meta.dirname, '..')
const BUN = join(ROOT, 'node_modules/.bin/bun')
const now = () => performance.timeOrigin + performance.now()

export interface WsBenchResult {
  case: string
  subscribers: number
  published: number
  delivered: number
  everyDelivered: boolean
  deliveriesPerSec: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  serverRssMb: number
  serverPeakRssMb: number
}

/** Spawns a process with the open-file limit raised to the hard limit (10,000 sockets need it). */
function spawnWithFds(args: string[]): ChildProcess {
  return spawn('bash', ['-c', 'ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"', BUN, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] })
}

function lines(proc: ChildProcess): AsyncIterator<string> {
  return createInterface({ input: proc.stdout! })[Symbol.asyncIterator]()
}

async function until(it: AsyncIterator<string>, match: RegExp, what: string): Promise<RegExpExecArray> {
  for (;;) {
    const { value, done } = await it.next()
    if (done) throw new Error(`${what}: ended before printing ${match}`)
    const m = match.exec(value)
    if (m) return m
  }
}

function rss(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return { now: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024, peak: Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024 }
}

async function startTarget(mode: 'edgelog' | 'bare', subscribers: number) {
  if (mode === 'bare') {
    const proc = spawnWithFds(['bench/ws-bare-server.ts'])
    const m = await until(lines(proc), /listening on http:\/\/([\d.:]+)/, 'bare server')
    return { proc, host: m[1]!, subUrl: `ws://${m[1]}/sub`, pubUrl: `ws://${m[1]}/pub`, cleanup: () => {} }
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'edgelog-bench-ws-'))
  const proc = spawnWithFds(['edge/bun/serve.ts', '--port', '0', '--data', dataDir, '--fsync', 'batch', '--max-connections', String(subscribers + 100)])
  const m = await until(lines(proc), /listening on http:\/\/([\d.:]+)/, 'edgelog serve')
  await createTopic(`http://${m[1]}`, 'bench', 1)
  return { proc, host: m[1]!, subUrl: `ws://${m[1]}/v1/ws`, pubUrl: `ws://${m[1]}/v1/ws`, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) }
}

function percentileOf(buckets: Map<number, number>, total: number, p: number): number {
  let seen = 0
  for (const b of [...buckets.keys()].sort((x, y) => x - y)) {
    seen += buckets.get(b)!
    if (seen >= (p / 100) * total) return (b + 1) * 0.1
  }
  return NaN
}

export async function benchWs(opts: { mode: 'edgelog' | 'bare'; subscribers: number; clients?: number; ratePerSec?: number; seconds?: number }): Promise<WsBenchResult> {
  const { mode, subscribers } = opts
  const clients = opts.clients ?? 4
  const rate = opts.ratePerSec ?? 200
  const seconds = opts.seconds ?? 10
  const target = await startTarget(mode, subscribers)
  const procs: ChildProcess[] = []
  try {
    // Subscribers, split over separate processes.
    const its: Array<AsyncIterator<string>> = []
    for (let c = 0; c < clients; c++) {
      const n = Math.floor(subscribers / clients) + (c < subscribers % clients ? 1 : 0)
      const p = spawnWithFds(['bench/ws-client.ts', target.subUrl, String(n), mode, 'bench'])
      procs.push(p)
      its.push(lines(p))
    }
    await Promise.all(its.map((it, c) => until(it, /^ready$/, `client ${c}`)))

    // One publisher at a fixed rate; the value carries its send time.
    const pub = new WebSocket(target.pubUrl)
    await new Promise((r, j) => ((pub.onopen = r), (pub.onerror = j)))
    let acked = 0
    pub.onmessage = (e) => {
      if (String(e.data).includes('"ack"')) acked++
    }
    let seq = 0
    const start = now()
    await new Promise<void>((done) => {
      const timer = setInterval(() => {
        const due = Math.min(Math.floor(((now() - start) / 1000) * rate), rate * seconds)
        while (seq < due) {
          pub.send(JSON.stringify({ op: 'pub', id: `p${seq}`, topic: 'bench', partition: 0, value: { seq, t: now() }, acks: '1' }))
          seq++
        }
        if (seq >= rate * seconds) {
          clearInterval(timer)
          done()
        }
      }, 2)
    })
    const published = seq
    // Wait for the stragglers (bounded), then collect.
    const deadline = now() + 60_000
    while (acked < published && now() < deadline) await new Promise((r) => setTimeout(r, 50))
    await new Promise((r) => setTimeout(r, 3000))
    const serverRss = rss(target.proc.pid!)
    const summaries = await Promise.all(
      procs.map(async (p, c) => {
        p.stdin!.write('stop\n')
        const m = await until(its[c]!, /^\{.*\}$/, `client ${c} summary`)
        return JSON.parse(m[0]) as { delivered: number; lastAt: number; outOfOrder: number; closedEarly: number; minPerSocket: number; buckets: Array<[number, number]> }
      }),
    )
    pub.close()
    const buckets = new Map<number, number>()
    let delivered = 0
    let everyDelivered = true
    for (const s of summaries) {
      delivered += s.delivered
      if (s.minPerSocket !== published || s.outOfOrder > 0 || s.closedEarly > 0) everyDelivered = false
      for (const [b, n] of s.buckets) buckets.set(b, (buckets.get(b) ?? 0) + n)
    }
    // From the first send to the last delivery: a system that falls behind the publisher
    // stretches this span (and its latencies) and delivers fewer per second.
    const span = (Math.max(...summaries.map((s) => s.lastAt)) - start) / 1000
    return {
      case: `${mode}, ${subscribers.toLocaleString('en-US')} subscribers, ${rate} rec/s`,
      subscribers,
      published,
      delivered,
      everyDelivered,
      deliveriesPerSec: delivered / span,
      p50Ms: percentileOf(buckets, delivered, 50),
      p99Ms: percentileOf(buckets, delivered, 99),
      maxMs: Math.max(...[...buckets.keys()]) * 0.1 + 0.1,
      serverRssMb: serverRss.now,
      serverPeakRssMb: serverRss.peak,
    }
  } finally {
    for (const p of procs) p.kill('SIGKILL')
    target.proc.kill('SIGTERM')
    await new Promise((r) => target.proc.once('exit', r))
    target.cleanup()
  }
}
