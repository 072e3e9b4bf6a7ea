// A job queue on a consumer group: three workers share the jobs of a topic (the server assigns
// each a third of the partitions), commit a job only once it is done, and send failed jobs
// through a retry topic with growing delays; jobs that keep failing end in a dead-letter topic.
//
//   npm run example:job-queue                      # starts its own node on a free port
//   EDGELOG_URL=http://127.0.0.1:8080 npm run example:job-queue
//
// JOBS sets how many jobs to enqueue (default 200). Every 10th job is flaky (fails twice, then
// works), every 25th is poison (always fails), and any job fails now and then by chance.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GroupConsumer, type ConsumedRecord } from '../../src/client/group-consumer.ts'
import { isEdgelogError } from '../../src/client/errors.ts'
import { HttpClient } from '../../src/client/http.ts'

const root = join(import.meta.dirname, '..', '..')
const jobCount = Number(process.env.JOBS ?? 200)
const topic = 'jobs'
const group = 'job-workers'

interface Job {
  id: number
  kind: 'normal' | 'flaky' | 'poison'
}

const { url, node } = await nodeUrl()
const client = new HttpClient({ url })

try {
  try {
    await client.createTopic({ name: topic, partitions: 6 })
  } catch (error) {
    if (!(isEdgelogError(error) && error.code === 'TOPIC_ALREADY_EXISTS')) throw error
  }

  const jobs: Job[] = Array.from({ length: jobCount }, (_, i) => {
    const id = i + 1
    return { id, kind: id % 25 === 0 ? 'poison' : id % 10 === 0 ? 'flaky' : 'normal' }
  })
  const done = new Set<number>()
  const perWorker = new Map<string, number>()
  const work = (name: string) => async (record: ConsumedRecord) => {
    const job = record.value as Job
    await new Promise((resolve) => setTimeout(resolve, 2)) // the work
    if (job.kind === 'poison') throw new Error(`job ${job.id}: cannot be done`)
    if (job.kind === 'flaky' && record.attempt <= 2) throw new Error(`job ${job.id}: upstream timeout`)
    if (Math.random() < 0.03) throw new Error(`job ${job.id}: bad luck`)
    done.add(job.id)
    perWorker.set(name, (perWorker.get(name) ?? 0) + 1)
  }

  const workers = ['worker-1', 'worker-2', 'worker-3'].map((name) => {
    const consumer = new GroupConsumer({
      client,
      group,
      topics: [topic],
      sessionTimeoutMs: 10_000,
      retry: { maxAttempts: 4, backoffMs: 100, maxBackoffMs: 1000 },
      onAssign: (tps) => console.log(`${name} got ${tps.map((tp) => `${tp.topic}-${tp.partition}`).join(', ')}`),
      onRevoke: (tps) => console.log(`${name} gave up ${tps.map((tp) => `${tp.topic}-${tp.partition}`).join(', ')}`),
    })
    return { name, consumer, running: consumer.run(work(name)) }
  })

  // Once the server has spread the 12 partitions (jobs and jobs.retry) over the three workers:
  const deadlineBalanced = Date.now() + 30_000
  while (!workers.every((w) => w.consumer.assignment().length === 4)) {
    if (Date.now() > deadlineBalanced) throw new Error('the group did not balance')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  // Enqueue: the job id is the key, so a job's retries stay in order with it.
  for (let i = 0; i < jobs.length; i += 100) {
    await client.produce(topic, jobs.slice(i, i + 100).map((job) => ({ key: `job-${job.id}`, value: job })), { acks: 'all' })
  }
  console.log(`enqueued ${jobs.length} jobs on '${topic}' (6 partitions)`)

  const poison = jobs.filter((job) => job.kind === 'poison').length
  const deadline = Date.now() + 60_000
  const deadLettered = () => workers.reduce((n, w) => n + w.consumer.stats.deadLettered, 0)
  while (done.size + deadLettered() < jobs.length || deadLettered() < poison) {
    if (Date.now() > deadline) throw new Error(`gave up: ${done.size} done, ${deadLettered()} dead-lettered of ${jobs.length}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  for (const w of workers) await w.consumer.stop()
  await Promise.all(workers.map((w) => w.running))

  const sum = (key: 'processed' | 'retried' | 'deadLettered') => workers.reduce((n, w) => n + w.consumer.stats[key], 0)
  const dlq: Array<{ value: unknown }> = []
  for (const p of (await client.describeTopic(`${topic}.dlq`)).partitions) {
    dlq.push(...(await client.fetchRecords(`${topic}.dlq`, p.partition, { offset: 'earliest' })).records)
  }
  console.log('')
  console.log(`processed:     ${done.size} jobs (${sum('processed')} handler runs)`)
  console.log(`retried:       ${sum('retried')} times (via '${topic}.retry')`)
  console.log(`dead-lettered: ${sum('deadLettered')} jobs (in '${topic}.dlq': ${dlq.map((r) => (r.value as Job).id).sort((a, b) => a - b).join(', ')})`)
  for (const w of workers) console.log(`  ${w.name}: ${perWorker.get(w.name) ?? 0} jobs`)
  const lag = await client.groupLag(group)
  console.log(`lag left:      ${lag.totalLag}`)
  const missing = jobs.filter((job) => !done.has(job.id) && !dlq.some((r) => (r.value as Job).id === job.id))
  if (missing.length > 0) throw new Error(`lost jobs: ${missing.map((j) => j.id).join(', ')}`)
  console.log('every job was processed or dead-lettered')
} finally {
  if (node) await stopNode(node.proc, node.dataDir)
}

/** EDGELOG_URL, or a node of our own on a free port with a temporary data directory. */
async function nodeUrl(): Promise<{ url: string; node?: { proc: ChildProcess; dataDir: string } }> {
  if (process.env.EDGELOG_URL) return { url: process.env.EDGELOG_URL }
  const dataDir = mkdtempSync(join(tmpdir(), 'edgelog-job-queue-'))
  const proc = spawn(process.execPath, [join(root, 'edge/bun/cli.ts'), 'serve', '--port', '0', '--data', dataDir], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (chunk) => {
      out += chunk
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m) resolve(m[1]!)
    })
    proc.once('exit', (code) => reject(new Error(`the node exited (${code}) before it listened`)))
  })
  console.log(`started a node at ${url}`)
  return { url, node: { proc, dataDir } }
}

async function stopNode(proc: ChildProcess, dataDir: string): Promise<void> {
  const exited = new Promise((resolve) => proc.once('exit', resolve))
  proc.kill('SIGTERM')
  await exited
  rmSync(dataDir, { recursive: true, force: true })
}
