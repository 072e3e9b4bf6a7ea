export {}
// One benchmark client process: opens N WebSocket subscribers to one topic and measures, per
// delivered record, the delay from the publisher's send time (same machine, same clock). Lines
// on stdout: `ready` once all are subscribed, then one JSON summary after `stop` on stdin.
//   bun bench/ws-client.ts <ws-url> <count> <mode: edgelog|bare> <topic>
const [url, countText, mode, topic] = process.argv.slice(2) as [string, string, 'edgelog' | 'bare', string]
const count = Number(countText)
const now = () => performance.timeOrigin + performance.now()

// Latency histogram in 0.1 ms buckets up to 30 s: constant memory at millions of deliveries.
const BUCKET_MS = 0.1
const histogram = new Uint32Array(300_000)
let delivered = 0
let outOfOrder = 0
const perSocket = new Int32Array(count)
const lastSeq = new Float64Array(count).fill(-1)
let closedEarly = 0
let lastAt = 0

function onText(i: number, text: string): void {
  // Records carry {"seq":N,"t":MS}; read them without JSON.parse so the client is not the bottleneck.
  let at = text.indexOf('"seq":')
  if (at < 0) return // ok frames and the like
  while (at >= 0) {
    const seq = parseInt(text.slice(at + 6, at + 24), 10)
    const tAt = text.indexOf('"t":', at)
    const t = parseFloat(text.slice(tAt + 4, tAt + 30))
    const at_ = now()
    const ms = at_ - t
    lastAt = at_
    histogram[Math.min(histogram.length - 1, Math.max(0, Math.floor(ms / BUCKET_MS)))]!++
    if (lastSeq[i]! >= 0 && seq !== lastSeq[i]! + 1) outOfOrder++
    lastSeq[i] = seq
    perSocket[i]!++
    delivered++
    at = text.indexOf('"seq":', tAt)
  }
}

async function openOne(i: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(url)
        let subscribed = false
        ws.onopen = () => {
          if (mode === 'edgelog') ws.send(JSON.stringify({ op: 'sub', id: 's1', topic, from: 'latest' }))
          else {
            subscribed = true
            resolve()
          }
        }
        ws.onmessage = (e) => {
          const text = e.data as string
          if (!subscribed) {
            if (text.startsWith('{"op":"ok"')) {
              subscribed = true
              resolve()
            } else reject(new Error(text))
            return
          }
          onText(i, text)
        }
        ws.onerror = () => reject(new Error('socket error'))
        ws.onclose = () => {
          if (!subscribed) reject(new Error('closed before subscribing'))
          else closedEarly++
        }
      })
      return
    } catch (err) {
      if (attempt >= 20) throw err
      await new Promise((r) => setTimeout(r, 50 * (attempt + 1)))
    }
  }
}

const CONNECT_CONCURRENCY = 100
for (let i = 0; i < count; i += CONNECT_CONCURRENCY) {
  await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, count - i) }, (_, j) => openOne(i + j)))
}
console.log('ready')

process.stdin.setEncoding('utf8')
process.stdin.on('data', (d) => {
  if (!String(d).includes('stop')) return
  let min = Infinity
  let max = 0
  for (const n of perSocket) {
    if (n < min) min = n
    if (n > max) max = n
  }
  const buckets: Array<[number, number]> = []
  histogram.forEach((n, b) => n > 0 && buckets.push([b, n]))
  console.log(JSON.stringify({ delivered, lastAt, outOfOrder, closedEarly, minPerSocket: min, maxPerSocket: max, buckets, rssMb: process.memoryUsage().rss / 1048576 }))
  process.exit(0)
})
