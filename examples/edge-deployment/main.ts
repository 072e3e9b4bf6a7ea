// An edge deployment on one machine: a region (one broker) and two edge relays in front of it,
// "paris" and "tokyo". Viewers in Tokyo watch a live comment feed through their edge while
// writers in Paris post through theirs. Then the region goes away for a while: Paris keeps
// taking comments (held in its outbox), and when the region is back every comment reaches the
// region and the Tokyo viewers exactly once, each room's comments in the order they were posted.
//
//   npm run example:edge            # starts its own region and edges on free loopback ports
//
// COMMENTS sets how many comments are posted in each phase (default 30). Exits 1 if any
// comment is lost, duplicated or out of order.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EdgelogClient } from '../../src/client/index.ts'
import type { ConsumedRecord } from '../../src/client/subscription.ts'

const root = join(import.meta.dirname, '..', '..')
const perPhase = Number(process.env.COMMENTS ?? 30)
const topic = 'comments'
const rooms = ['room-1', 'room-2', 'room-3']
const work = mkdtempSync(join(tmpdir(), 'edgelog-edge-example-'))

interface Comment {
  id: number
  room: string
  text: string
}

interface Node {
  name: string
  url: string
  proc: ChildProcess
}

const running: Node[] = []
let failed = false

try {
  // The region's address is fixed, so that it can come back where the edges look for it.
  const regionPort = await freePort()
  let region = await start('region', ['--port', String(regionPort), '--data', join(work, 'region')])
  const paris = await start('paris', ['--role', 'edge', '--upstream', region.url, '--port', '0', '--data', join(work, 'paris')])
  const tokyo = await start('tokyo', ['--role', 'edge', '--upstream', region.url, '--port', '0', '--data', join(work, 'tokyo')])

  await new EdgelogClient({ url: region.url }).http.createTopic({ name: topic, partitions: 3 })
  await until('both edges know the topic', async () => (await known(paris.url)) && (await known(tokyo.url)))

  // Tokyo's viewers: one subscription through their edge, from the beginning of the feed.
  const seen: Comment[] = []
  const viewers = new EdgelogClient({ url: tokyo.url })
  viewers.subscribe(topic, { from: 'earliest' }, (record: ConsumedRecord) => {
    seen.push(record.value as Comment)
  })

  // Paris's writers post through their edge with acks=1: answered once the edge's outbox has
  // the comment, so a slow or missing region never holds a writer up.
  const writers = new EdgelogClient({ url: paris.url })
  let nextId = 1
  const post = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const comment: Comment = { id: nextId, room: rooms[nextId % rooms.length]!, text: `comment ${nextId}` }
      nextId++
      const r = await writers.http.produce(topic, [{ key: comment.room, value: comment }], { acks: '1' })
      if (r.offsets[0]!.offset !== null) throw new Error('an acks=1 answer from an edge has no regional offset yet')
    }
  }

  await post(perPhase)
  await until(`Tokyo sees the first ${perPhase} comments`, () => seen.length >= perPhase)
  console.log(`phase 1: ${perPhase} comments posted in Paris, seen live in Tokyo`)

  await stop(region)
  await post(perPhase)
  const held = await metric(paris.url, 'edgelog_edge_outbox_records')
  console.log(`phase 2: the region is down; Paris took ${perPhase} more comments and holds ${held} in its outbox`)

  region = await start('region', ['--port', String(regionPort), '--data', join(work, 'region')])
  await until('Paris shipped its outbox', async () => (await metric(paris.url, 'edgelog_edge_outbox_records')) === 0)
  await until(`Tokyo sees all ${2 * perPhase} comments`, () => seen.length >= 2 * perPhase)
  console.log(`phase 3: the region is back; Paris shipped everything, Tokyo caught up`)

  const atRegion = await readAll(region.url)
  viewers.close()
  writers.close()
  failed = !check('at the region', atRegion) || !check('seen in Tokyo', seen)
  if (!failed) console.log(`every comment reached the region and Tokyo exactly once, each room in posting order`)
} catch (err) {
  console.error(err)
  failed = true
} finally {
  for (const node of [...running].reverse()) await stop(node)
  rmSync(work, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)

/** Exactly once, and in posting order within each room (a room is a key, so one partition). */
function check(where: string, comments: Comment[]): boolean {
  const ids = comments.map((c) => c.id)
  const unique = new Set(ids)
  const missing = Array.from({ length: 2 * perPhase }, (_, i) => i + 1).filter((id) => !unique.has(id))
  const duplicated = ids.length - unique.size
  const outOfOrder = rooms.filter((room) => {
    const inRoom = comments.filter((c) => c.room === room).map((c) => c.id)
    return inRoom.some((id, i) => i > 0 && id < inRoom[i - 1]!)
  })
  console.log(`${where}: ${unique.size} comments, ${missing.length} missing, ${duplicated} duplicated, rooms out of order: ${outOfOrder.length}`)
  return missing.length === 0 && duplicated === 0 && outOfOrder.length === 0
}

async function readAll(url: string): Promise<Comment[]> {
  const http = new EdgelogClient({ url }).http
  const out: Comment[] = []
  for (let partition = 0; partition < 3; partition++) {
    let offset = 0
    for (;;) {
      const page = await http.fetchRecords(topic, partition, { offset, maxRecords: 500 })
      for (const r of page.records) out.push(r.value as Comment)
      if (page.nextOffset >= page.highWatermark) break
      offset = page.nextOffset
    }
  }
  return out
}

async function known(url: string): Promise<boolean> {
  const res = await fetch(`${url}/v1/topics/${topic}`)
  return res.ok && ((await res.json()) as { config?: unknown }).config !== undefined
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text()
  let sum = 0
  for (const line of text.split('\n')) if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  return sum
}

async function start(name: string, args: string[]): Promise<Node> {
  const proc = spawn(process.execPath, [join(root, 'edge/bun/cli.ts'), 'serve', '--host', '127.0.0.1', ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (chunk) => {
      out += chunk
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m) resolve(m[1]!)
    })
    proc.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it listened`)))
  })
  const node = { name, url, proc }
  running.push(node)
  console.log(`${name} listening on ${url}`)
  return node
}

async function stop(node: Node): Promise<void> {
  const at = running.indexOf(node)
  if (at >= 0) running.splice(at, 1)
  if (node.proc.exitCode !== null) return
  const exited = new Promise((resolve) => node.proc.once('exit', resolve))
  node.proc.kill('SIGTERM')
  await exited
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
