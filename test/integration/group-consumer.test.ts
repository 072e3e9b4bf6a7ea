// GroupConsumer against a real server: at-least-once delivery while members join, leave, crash
// and pause, with the one-owner invariant checked continuously, both as the members see it
// (assign/revoke callbacks and every handler call) and as the coordinator reports it; member
// processes SIGKILLed and SIGSTOPped; a coordinator restart; retry and dead-letter topics.
import { after, afterEach, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { BUN, ROOT, removeDir, startServer, tempDir, type TestServer } from '../helpers/server.ts'
import { GroupConsumer, type ConsumedRecord, type TopicPartition } from '../../src/client/group-consumer.ts'
import { HttpClient } from '../../src/client/http.ts'
import { RETRY_HEADERS } from '../../src/client/retry.ts'
import { waitUntil } from '../helpers/wait.ts'

let server: TestServer
let client: HttpClient
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const slow = { timeout: 120_000 }

/** Produces `total` records round-robin over the partitions, `per` at a time; values are "p:n". */
function producer(topic: string, partitions: number, total: number, per = 20, pauseMs = 20) {
  const produced = new Map<string, string>() // "topic:partition:offset" → value
  let stop = false
  const done = (async () => {
    for (let n = 0; n < total && !stop; ) {
      const records: Array<{ value: string; partition: number }> = []
      for (let i = 0; i < per && n < total; i++, n++) records.push({ value: `v${n}`, partition: n % partitions })
      try {
        const r = await client.produce(topic, records, { acks: 'all' })
        r.offsets.forEach((o, i) => produced.set(`${topic}:${o.partition}:${o.offset}`, records[i]!.value))
      } catch {
        n -= records.length // the server is restarting: send them again
        await sleep(100)
      }
      await sleep(pauseMs)
    }
  })()
  return { produced, done, stop: () => (stop = true) }
}

/** The coordinator's view: members' owned partitions (assignment + pending revocation) are disjoint. */
async function checkCoordinator(group: string, violations: string[]) {
  let d
  try {
    d = await client.describeGroup(group)
  } catch {
    return // not there yet, or restarting
  }
  const seen = new Map<string, string>()
  for (const m of d.members) {
    for (const t of [...m.assignment, ...m.pendingRevocation]) {
      for (const p of t.partitions) {
        const k = `${t.topic}:${p}`
        if (seen.has(k)) violations.push(`coordinator: ${k} owned by ${seen.get(k)} and ${m.memberId}`)
        seen.set(k, m.memberId)
      }
    }
  }
}

/** Tracks who owns what as the members report it, and flags any overlap or unowned processing. */
class Ownership {
  readonly owner = new Map<string, string>()
  readonly violations: string[] = []
  readonly seen = new Map<string, number>() // "topic:partition:offset" → times handled

  assign(name: string, tps: TopicPartition[]) {
    for (const tp of tps) {
      const k = `${tp.topic}:${tp.partition}`
      const current = this.owner.get(k)
      if (current !== undefined) this.violations.push(`${name} got ${k} while ${current} owns it`)
      this.owner.set(k, name)
    }
  }

  revoke(name: string, tps: TopicPartition[]) {
    for (const tp of tps) {
      const k = `${tp.topic}:${tp.partition}`
      if (this.owner.get(k) === name) this.owner.delete(k)
      else this.violations.push(`${name} gave up ${k}, owned by ${this.owner.get(k)}`)
    }
  }

  handled(name: string, r: ConsumedRecord) {
    const k = `${r.topic}:${r.partition}`
    if (this.owner.get(k) !== name) this.violations.push(`${name} handled ${k}@${r.offset} owned by ${this.owner.get(k)}`)
    const rk = `${k}:${r.offset}`
    this.seen.set(rk, (this.seen.get(rk) ?? 0) + 1)
  }
}

function member(name: string, group: string, topics: string[], own: Ownership, extra: Partial<ConstructorParameters<typeof GroupConsumer>[0]> = {}) {
  const c = new GroupConsumer({
    client,
    group,
    topics,
    sessionTimeoutMs: 3000,
    maxWaitMs: 200,
    maxRecords: 50,
    onAssign: (tps) => own.assign(name, tps),
    onRevoke: (tps) => own.revoke(name, tps),
    ...extra,
  })
  const running = c.run(async (r) => {
    own.handled(name, r)
    await sleep(1)
  })
  return { name, consumer: c, running }
}

describe('GroupConsumer', () => {
  before(async () => {
    server = await startServer()
    client = new HttpClient({ url: server.url })
  })
  after(async () => {
    await server.stop()
    removeDir(server.dataDir)
  })

  test('one owner per partition through joins, leaves and crashes; every record handled at least once; final offsets committed', slow, async () => {
    await client.createTopic({ name: 'churn', partitions: 6 })
    const own = new Ownership()
    const coordinatorViolations: string[] = []
    let polling = true
    const poller = (async () => {
      while (polling) {
        await checkCoordinator('churners', coordinatorViolations)
        await sleep(50)
      }
    })()
    const p = producer('churn', 6, 3000)
    const members = [0, 1, 2].map((i) => member(`m${i}`, 'churners', ['churn'], own))
    await sleep(1500)
    members.push(member('m3', 'churners', ['churn'], own))
    await sleep(1000)
    await members[0]!.consumer.stop() // leaves: its partitions move at once
    await sleep(1000)
    await members[1]!.consumer.abort() // crashes: its partitions move after the session timeout
    members.push(member('m4', 'churners', ['churn'], own))
    members.push(member('m5', 'churners', ['churn'], own))
    await sleep(1500)
    await members[3]!.consumer.abort()
    await p.done
    const live = members.filter((_, i) => ![0, 1, 3].includes(i))
    await waitUntil('every produced record handled', () => [...p.produced.keys()].every((k) => own.seen.has(k)), 60_000)
    for (const m of live) await m.consumer.stop()
    polling = false
    await poller
    assert.deepEqual(own.violations, [], 'members never overlapped')
    assert.deepEqual(coordinatorViolations, [], 'the coordinator never counted a partition twice')
    const committed = await client.committedOffsets('churners')
    const hw = await client.describeTopic('churn')
    for (const part of hw.partitions) {
      const c = committed.offsets.find((o) => o.partition === part.partition)
      assert.equal(c?.offset, part.highWatermark, `partition ${part.partition}: everything handled is committed`)
    }
    // At least once: some records may have been handled twice (the crashed members' uncommitted ones).
    const twice = [...own.seen.values()].filter((n) => n > 1).length
    assert.ok(twice < p.produced.size, `${twice} handled more than once`)
  })

  test('survives a coordinator restart: same member ids, nothing lost', slow, async () => {
    await client.createTopic({ name: 'restart', partitions: 4 })
    const own = new Ownership()
    const members = [0, 1].map((i) => member(`r${i}`, 'restarters', ['restart'], own, { sessionTimeoutMs: 20_000 }))
    await waitUntil('both members own partitions', () => members.every((m) => m.consumer.assignment().length === 2), 20_000)
    const ids = members.map((m) => m.consumer.memberId)
    const p = producer('restart', 4, 1500, 20, 10)
    await sleep(700)
    const port = server.port
    await server.stop('SIGKILL')
    await sleep(500)
    server = await startServer({ dataDir: server.dataDir, port })
    await p.done
    await waitUntil('every produced record handled', () => [...p.produced.keys()].every((k) => own.seen.has(k)), 60_000)
    assert.deepEqual(members.map((m) => m.consumer.memberId), ids, 'the coordinator remembered the members (replayed)')
    for (const m of members) await m.consumer.stop()
    assert.deepEqual(own.violations, [])
  })

  test('retry and dead-letter topics: a bad record never blocks its partition, flaky ones succeed, poison ones land in the DLQ with their history', slow, async () => {
    await client.createTopic({ name: 'jobs', partitions: 2 })
    const attempts = new Map<string, Array<{ attempt: number; at: number; topic: string }>>()
    const processed = new Set<string>()
    let poisonFirstFailedAt = 0
    let goodAfterPoisonAt = 0
    const c = new GroupConsumer({
      client,
      group: 'workers',
      topics: ['jobs'],
      sessionTimeoutMs: 10_000,
      maxWaitMs: 200,
      retry: { maxAttempts: 3, backoffMs: 300 },
    })
    const running = c.run(async (r) => {
      const job = r.value as { id: string; kind: string }
      const list = attempts.get(job.id) ?? []
      list.push({ attempt: r.attempt, at: Date.now(), topic: r.topic })
      attempts.set(job.id, list)
      if (job.kind === 'poison') {
        if (job.id === 'poison-1' && r.attempt === 1) poisonFirstFailedAt = Date.now()
        throw new Error(`cannot do ${job.id}`)
      }
      if (job.kind === 'flaky' && r.attempt < 3) throw new Error(`flaky ${job.id}`)
      if (job.id === 'after-poison') goodAfterPoisonAt = Date.now()
      processed.add(job.id)
    })
    const jobs = [
      { id: 'poison-1', kind: 'poison' },
      { id: 'after-poison', kind: 'ok' },
      ...Array.from({ length: 20 }, (_, i) => ({ id: `ok-${i}`, kind: 'ok' })),
      { id: 'flaky-1', kind: 'flaky' },
      { id: 'flaky-2', kind: 'flaky' },
      { id: 'poison-2', kind: 'poison' },
    ]
    // All on partition 0 first, so the poison record sits in front of the good ones.
    await client.produce('jobs', jobs.map((value) => ({ key: null, value, partition: 0 })))
    await waitUntil('all good and flaky jobs processed, poison dead-lettered', () => processed.size === 1 + 20 + 2 && c.stats.deadLettered === 2, 30_000)
    await c.stop()
    await running
    // The job behind the poison one ran before the poison one's first retry: its partition moved on.
    assert.ok(goodAfterPoisonAt >= poisonFirstFailedAt, 'the job behind the poison one ran after it failed')
    assert.ok(goodAfterPoisonAt < attempts.get('poison-1')![1]!.at, 'and before its retry: the partition was not blocked')
    assert.deepEqual(c.stats.retried, 2 * 2 + 2 * 2, 'two retries for each flaky and each poison job')
    for (const id of ['flaky-1', 'flaky-2', 'poison-1', 'poison-2']) {
      const list = attempts.get(id)!
      assert.deepEqual(list.map((a) => a.attempt), [1, 2, 3], `${id} attempts`)
      assert.deepEqual(list.map((a) => a.topic), ['jobs', 'jobs.retry', 'jobs.retry'])
      // Exponential backoff: 300 ms before the second attempt, 600 before the third.
      assert.ok(list[1]!.at - list[0]!.at >= 290, `${id}: second attempt after the backoff`)
      assert.ok(list[2]!.at - list[1]!.at >= 590, `${id}: third attempt after twice the backoff`)
    }
    // The DLQ holds the poison jobs with where they came from and why they failed.
    const dlq = (await client.describeTopic('jobs.dlq')).partitions
    const dead = []
    for (const part of dlq) dead.push(...(await client.fetchRecords('jobs.dlq', part.partition, { offset: 'earliest' })).records)
    assert.deepEqual(dead.map((r) => (r.value as { id: string }).id).sort(), ['poison-1', 'poison-2'])
    for (const r of dead) {
      assert.equal(r.headers[RETRY_HEADERS.attempt], '3')
      assert.equal(r.headers[RETRY_HEADERS.originalTopic], 'jobs')
      assert.equal(r.headers[RETRY_HEADERS.originalPartition], '0')
      assert.match(String(r.headers[RETRY_HEADERS.originalOffset]), /^\d+$/)
      assert.match(String(r.headers[RETRY_HEADERS.error]), /cannot do poison-\d/)
    }
    // Everything is committed: nothing is waiting in the main or the retry topic.
    const lag = await client.groupLag('workers')
    assert.equal(lag.totalLag, 0)
  })
})

/** A member process (test/helpers/group-member.ts) and the events it printed. */
class MemberProcess {
  readonly events: any[] = []
  readonly proc: ChildProcess
  private buffered = ''
  exitedAt = 0

  constructor(readonly name: string, group: string, topics: string[], env: Record<string, string> = {}) {
    this.proc = spawn(BUN, ['test/helpers/group-member.ts'], {
      cwd: ROOT,
      env: { ...process.env, EDGELOG_URL: server.url, GROUP: group, TOPICS: topics.join(','), ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    this.proc.stdout!.on('data', (chunk) => {
      this.buffered += chunk
      let nl
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, nl)
        this.buffered = this.buffered.slice(nl + 1)
        if (line) this.events.push(JSON.parse(line))
      }
    })
    this.proc.once('exit', () => (this.exitedAt = Date.now()))
  }

  owned(): Set<string> {
    const owned = new Set<string>()
    for (const e of this.events) {
      if (e.e === 'assign') for (const tp of e.tps) owned.add(tp)
      if (e.e === 'revoke') for (const tp of e.tps) owned.delete(tp)
    }
    return owned
  }

  records(): string[] {
    return this.events.filter((e) => e.e === 'rec').map((e) => `${e.topic}:${e.partition}:${e.offset}`)
  }

  /** Ownership intervals [from, to) per partition, from its own clock readings; open ones end at `end`. */
  intervals(end: number): Array<{ tp: string; from: number; to: number; who: string }> {
    const open = new Map<string, number>()
    const out = []
    for (const e of this.events) {
      if (e.e === 'assign') for (const tp of e.tps) open.set(tp, e.t)
      if (e.e === 'revoke') {
        for (const tp of e.tps) {
          out.push({ tp, from: open.get(tp)!, to: e.t, who: this.name })
          open.delete(tp)
        }
      }
    }
    for (const [tp, from] of open) out.push({ tp, from, to: end, who: this.name })
    return out
  }

  kill(signal: NodeJS.Signals) {
    this.proc.kill(signal)
  }
}

function assertNoOverlap(members: MemberProcess[], ends: Map<MemberProcess, number>) {
  const all = members.flatMap((m) => m.intervals(ends.get(m) ?? Date.now()))
  for (const a of all) {
    for (const b of all) {
      if (a === b || a.tp !== b.tp || a.who === b.who) continue
      assert.ok(!(a.from < b.to && b.from < a.to), `${a.tp}: ${a.who} [${a.from}, ${a.to}) overlaps ${b.who} [${b.from}, ${b.to})`)
    }
  }
}

describe('GroupConsumer processes', () => {
  const spawned: MemberProcess[] = []
  before(async () => {
    server = await startServer()
    client = new HttpClient({ url: server.url })
  })
  afterEach(() => {
    for (const m of spawned.splice(0)) if (m.proc.exitCode === null && m.proc.signalCode === null) m.kill('SIGKILL')
  })
  after(async () => {
    await server.stop()
    removeDir(server.dataDir)
  })

  test('3 member processes × 6 partitions; one SIGKILLed mid-stream: its partitions move within its session timeout, every record handled at least once', slow, async () => {
    await client.createTopic({ name: 'killed', partitions: 6 })
    const sessionTimeoutMs = 3000
    const members = ['a', 'b', 'c'].map((n) => new MemberProcess(n, 'killers', ['killed'], { SESSION_TIMEOUT_MS: String(sessionTimeoutMs), HANDLE_MS: '2' }))
    spawned.push(...members)
    await waitUntil('two partitions each, disjoint and covering all', () => {
      const sets = members.map((m) => m.owned())
      return sets.every((s) => s.size === 2) && new Set(sets.flatMap((s) => [...s])).size === 6
    }, 30_000)
    const p = producer('killed', 6, 2000, 20, 10)
    await waitUntil('the victim is handling records', () => members[2]!.records().length > 20, 20_000)
    const victim = members[2]!
    const lostPartitions = victim.owned()
    victim.kill('SIGKILL')
    const killedAt = Date.now()
    const ends = new Map([[victim, killedAt]])
    await waitUntil('its partitions owned by the others', () => {
      const others = new Set([...members[0]!.owned(), ...members[1]!.owned()])
      return [...lostPartitions].every((tp) => others.has(tp))
    }, sessionTimeoutMs + 15_000, 50)
    const movedAfter = Date.now() - killedAt
    assert.ok(movedAfter >= sessionTimeoutMs * 0.5, `not moved before the session could have timed out (${movedAfter} ms)`)
    await p.done
    const handled = () => new Set(members.flatMap((m) => m.records()))
    await waitUntil('every produced record handled', () => [...p.produced.keys()].every((k) => handled().has(k)), 60_000)
    for (const m of members.slice(0, 2)) m.kill('SIGTERM')
    await waitUntil('the survivors stopped', () => members.slice(0, 2).every((m) => m.exitedAt > 0), 20_000)
    assertNoOverlap(members, ends)
  })

  test('a member paused past its session (SIGSTOP) loses its partitions; once resumed it commits nothing over the new owner, and rejoins', slow, async () => {
    await client.createTopic({ name: 'paused', partitions: 4 })
    const sessionTimeoutMs = 3000
    const members = ['x', 'y'].map((n) => new MemberProcess(n, 'pausers', ['paused'], { SESSION_TIMEOUT_MS: String(sessionTimeoutMs), HANDLE_MS: '2' }))
    spawned.push(...members)
    await waitUntil('two partitions each', () => members.every((m) => m.owned().size === 2), 30_000)
    const committedHistory: Array<Map<number, number>> = []
    let watching = true
    const watcher = (async () => {
      while (watching) {
        try {
          const c = await client.committedOffsets('pausers')
          committedHistory.push(new Map(c.offsets.map((o) => [o.partition, o.offset])))
        } catch {}
        await sleep(50)
      }
    })()
    const p = producer('paused', 4, 1500, 10, 10)
    const zombie = members[1]!
    await waitUntil('the zombie is handling records', () => zombie.records().length > 20, 20_000)
    const zombieHad = zombie.owned()
    zombie.kill('SIGSTOP')
    const stoppedAt = Date.now()
    await waitUntil('the other member owns everything', () => members[0]!.owned().size === 4, sessionTimeoutMs + 15_000, 50)
    await sleep(500)
    zombie.kill('SIGCONT')
    await p.done
    const handled = () => new Set(members.flatMap((m) => m.records()))
    await waitUntil('every produced record handled', () => [...p.produced.keys()].every((k) => handled().has(k)), 60_000)
    await waitUntil('the zombie gave its partitions up as lost and joined again', () =>
      zombie.events.some((e) => e.e === 'revoke' && e.lost && e.t > stoppedAt) && zombie.events.some((e) => e.e === 'assign' && e.t > stoppedAt), 20_000)
    watching = false
    await watcher
    // G10: committed offsets of a partition never go back; a zombie's late commit would have.
    for (let i = 1; i < committedHistory.length; i++) {
      for (const [partition, offset] of committedHistory[i]!) {
        const before = committedHistory[i - 1]!.get(partition)
        assert.ok(before === undefined || offset >= before, `partition ${partition}: committed went back from ${before} to ${offset}`)
      }
    }
    assert.ok(zombieHad.size === 2)
    for (const m of members) m.kill('SIGTERM')
    await waitUntil('stopped', () => members.every((m) => m.exitedAt > 0), 20_000)
  })
})
