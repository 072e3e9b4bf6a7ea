// Real clusters for tests: an etcd process (Debian's etcd-server, installed by
// scripts/install-system-deps.sh) and `edgelog serve --etcd` brokers, all on loopback with
// random ports and temporary data directories.
import { spawn, type ChildProcess } from 'node:child_process'
import { Database } from 'bun:sqlite'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { removeDir, startServer, tempDir, type TestServer } from '../helpers/server.ts'

export interface Etcd {
  url: string
  proc: ChildProcess
  dir: string
  stop(): Promise<void>
}

const randomPort = () => 20000 + Math.floor(Math.random() * 30000)

/** Starts a single-member etcd on random loopback ports; resolves when its JSON gateway answers. */
export async function startEtcd(): Promise<Etcd> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const dir = tempDir('edgelog-etcd-')
    const client = randomPort()
    const peer = randomPort()
    const url = `http://127.0.0.1:${client}`
    const proc = spawn(
      'etcd',
      [
        '--name', 'test',
        '--data-dir', join(dir, 'data'),
        '--listen-client-urls', url,
        '--advertise-client-urls', url,
        '--listen-peer-urls', `http://127.0.0.1:${peer}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
        '--initial-cluster', `test=http://127.0.0.1:${peer}`,
        '--log-level', 'error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    )
    let err = ''
    proc.stderr!.on('data', (d) => (err += d))
    const exited = new Promise<void>((res) => proc.once('exit', () => res()))
    const stop = async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
      await exited
      removeDir(dir)
    }
    const deadline = Date.now() + 15_000
    while (Date.now() < deadline && proc.exitCode === null) {
      try {
        const r = await fetch(`${url}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: 'AA==' }) })
        if (r.ok) return { url, proc, dir, stop }
      } catch {}
      await sleep(50)
    }
    await stop()
    if (!/address already in use/.test(err)) throw new Error(`etcd did not start: ${err}`)
  }
  throw new Error('etcd did not start: no free port found')
}

export interface ClusterBroker {
  id: number
  dataDir: string
  server: TestServer | undefined
  url(): string
}

export interface TestCluster {
  etcd: Etcd
  brokers: ClusterBroker[]
  start(id: number): Promise<void>
  any(): string
  stop(): Promise<void>
}

export const CLUSTER_ARGS = ['--lease-ttl-seconds', '2', '--metadata-interval-ms', '100', '--replica-lag-time-max-ms', '3000', '--replica-fetch-wait-max-ms', '200']

/** etcd and `n` brokers (node ids 1..n), each on its own data directory. */
export async function startCluster(n = 3, extraArgs: string[] = []): Promise<TestCluster> {
  const etcd = await startEtcd()
  const brokers: ClusterBroker[] = Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    dataDir: tempDir(`edgelog-b${i + 1}-`),
    server: undefined as TestServer | undefined,
    url(this: ClusterBroker) {
      if (!this.server) throw new Error(`broker ${this.id} is down`)
      return this.server.url
    },
  }))
  const cluster: TestCluster = {
    etcd,
    brokers,
    async start(id) {
      const b = brokers[id - 1]!
      b.server = await startServer({ dataDir: b.dataDir, args: ['--node-id', String(id), '--etcd', etcd.url, ...CLUSTER_ARGS, ...extraArgs] })
    },
    any() {
      const up = brokers.filter((b) => b.server !== undefined)
      if (up.length === 0) throw new Error('every broker is down')
      return up[0]!.url()
    },
    async stop() {
      for (const b of brokers) {
        if (b.server) {
          b.server.proc.kill('SIGCONT')
          await b.server.stop('SIGKILL')
        }
        removeDir(b.dataDir)
      }
      await etcd.stop()
    },
  }
  await Promise.all(brokers.map((b) => cluster.start(b.id)))
  return cluster
}

export async function api(url: string, path: string, init: RequestInit & { json?: unknown } = {}): Promise<{ status: number; body: any }> {
  const { json, ...rest } = init
  const res = await fetch(`${url}${path}`, {
    ...rest,
    headers: { ...(json !== undefined ? { 'content-type': 'application/json' } : {}), ...(rest.headers as Record<string, string>) },
    body: json !== undefined ? JSON.stringify(json) : rest.body,
    signal: rest.signal ?? AbortSignal.timeout(60_000),
  })
  const text = await res.text()
  let body: any = text
  try {
    body = JSON.parse(text)
  } catch {}
  return { status: res.status, body }
}

export interface PartitionView {
  partition: number
  leader: number
  leaderEpoch: number
  replicas: number[]
  isr: number[]
  highWatermark: number
  logEndOffset: number
}

export async function describe(url: string, topic: string): Promise<PartitionView[]> {
  const r = await api(url, `/v1/topics/${topic}`)
  if (r.status !== 200) throw new Error(`describe ${topic}: ${r.status} ${JSON.stringify(r.body)}`)
  return r.body.partitions
}

/** Polls until `cond` is true (or throws with what it last saw). */
export async function eventually<T>(what: string, fn: () => Promise<T>, cond: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: T | undefined
  let error: unknown
  while (Date.now() < deadline) {
    try {
      last = await fn()
      if (cond(last)) return last
    } catch (err) {
      error = err
    }
    await sleep(100)
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms; last: ${JSON.stringify(last)} ${error ? String(error) : ''}`)
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Every stored batch of a stopped broker's partition, by base offset (the bytes as replicated). */
export function storedBatches(dataDir: string, topicId: string, partition: number): Array<{ base: number; data: Uint8Array }> {
  const file = join(dataDir, 'partitions', `${topicId}-${partition}.db`)
  const db = new Database(file, { readonly: true })
  try {
    return (db.prepare('SELECT base_offset, data FROM batches ORDER BY base_offset').all() as Array<{ base_offset: number; data: Uint8Array }>).map((r) => ({
      base: Number(r.base_offset),
      data: new Uint8Array(r.data),
    }))
  } finally {
    db.close()
  }
}

export function partitionFiles(dataDir: string): string[] {
  return readdirSync(join(dataDir, 'partitions'))
}

export async function metric(url: string, name: string): Promise<number | undefined> {
  const text = (await api(url, '/metrics')).body as string
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
  return line ? Number(line.split(' ').at(-1)) : undefined
}
