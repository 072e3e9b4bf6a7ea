// The invariants every simulated run must keep (RELIABILITY.md §5.2): G1 no lost acknowledged
// write, G2 one value per offset, G3 no duplicates, G4 producer order, G6 no aborted reads,
// G7 nothing read is later truncated, G8 replicas converge byte for byte, G9 epoch safety,
// G11 liveness after the faults stop. Each violation is a line saying what and where.
import type { ElectionEvent } from '../../src/cluster/controller.ts'
import type { ReplicaLog, RoleEvent } from './cluster.ts'
import type { ReadRecord, WriteRecord } from './workload.ts'

export interface CheckInput {
  partitions: number
  writes: WriteRecord[]
  reads: ReadRecord[]
  /** Per partition: the committed log as a consumer reads it from the leader after the heal. */
  finalLogs: Array<Array<{ offset: number; value: string }> | undefined>
  /** Per partition: every replica's log after the heal. */
  replicaLogs: ReplicaLog[][]
  roles: RoleEvent[]
  elections: ElectionEvent[]
  /** Liveness failures noticed by the runner (G11). */
  liveness: string[]
  /** Exceptions and unexpected errors in the code under test. */
  bugs: string[]
  anomalies: string[]
  /** An unclean election happened: acknowledged writes may be lost (reported, not a violation). */
  lossPermitted: boolean
}

export interface CheckResult {
  ok: boolean
  violations: string[]
  stats: Record<string, number>
}

export function check(input: CheckInput): CheckResult {
  const v: string[] = []
  const add = (g: string, msg: string) => {
    if (v.length < 50) v.push(`${g}: ${msg}`)
  }
  for (const b of input.bugs) add('BUG', b)
  for (const a of input.anomalies) add('ANOMALY', a)
  for (const l of input.liveness) add('G11', l)

  // Everything ever seen at each offset: reads, the final logs, every replica's committed prefix.
  for (let p = 0; p < input.partitions; p++) {
    const seen = new Map<number, { value: string; where: string }>()
    const see = (offset: number, value: string, where: string) => {
      const prev = seen.get(offset)
      if (!prev) seen.set(offset, { value, where })
      else if (prev.value !== value) add('G2', `partition ${p} offset ${offset} is '${prev.value}' (${prev.where}) and '${value}' (${where})`)
    }
    const final = input.finalLogs[p]
    const finalAt = new Map<number, string>()
    if (final) for (const r of final) finalAt.set(r.offset, r.value)
    if (final) for (const r of final) see(r.offset, r.value, 'final read')
    for (const r of input.reads.filter((r) => r.partition === p)) see(r.offset, r.value, `read by ${r.client} at t=${r.t}`)
    for (const log of input.replicaLogs[p] ?? []) {
      for (const r of log.records) if (r.offset < log.highWatermark) see(r.offset, r.value, `broker ${log.node} below its high watermark`)
    }
    // An acks=1 acknowledgement may be lost with its leader and its offset reused (loss≤W), so
    // only acks=all acknowledgements count as observations.
    for (const w of input.writes.filter((w) => w.partition === p && w.status === 'ok' && w.acks === 'all')) see(w.offset!, w.value, `ack to ${w.client}`)

    if (final) {
      // G1: every acks=all acknowledgement is in the committed log, at its offset.
      if (!input.lossPermitted) {
        for (const w of input.writes) {
          if (w.partition !== p || w.status !== 'ok' || w.acks !== 'all') continue
          const at = finalAt.get(w.offset!)
          if (at !== w.value) add('G1', `${w.value} acknowledged at offset ${w.offset} of partition ${p} but the log has ${at === undefined ? 'nothing' : `'${at}'`} there`)
        }
      }
      // G7: nothing a consumer read was later truncated.
      if (!input.lossPermitted) {
        for (const r of input.reads) {
          if (r.partition !== p) continue
          if (finalAt.get(r.offset) !== r.value) add('G7', `${r.client} read '${r.value}' at offset ${r.offset} of partition ${p} (t=${r.t}); the final log has ${finalAt.get(r.offset) ?? 'nothing'} there`)
        }
      }
      // G3 and G4: idempotent producers' records appear once each, in sequence order, no gaps.
      const byProducer = new Map<string, Array<{ seq: number; offset: number }>>()
      const count = new Map<string, number>()
      for (const r of final) {
        count.set(r.value, (count.get(r.value) ?? 0) + 1)
        const m = /^(p\d+)\/(\d+)\/(\d+)$/.exec(r.value)
        if (!m) continue
        const list = byProducer.get(m[1]!) ?? []
        list.push({ seq: Number(m[3]), offset: r.offset })
        byProducer.set(m[1]!, list)
      }
      for (const [value, n] of count) if (n > 1 && /^p\d+\//.test(value)) add('G3', `'${value}' appears ${n} times in partition ${p}`)
      for (const [producer, list] of byProducer) {
        list.forEach((x, i) => {
          if (x.seq !== i) add('G4', `${producer} in partition ${p}: record ${i} in offset order has sequence ${x.seq} (offset ${x.offset})`)
        })
      }
      // G6: a write that certainly failed is never visible.
      const failed = new Set(input.writes.filter((w) => w.partition === p && w.status === 'fail').map((w) => w.value))
      for (const r of final) if (failed.has(r.value)) add('G6', `'${r.value}' failed definitely (${input.writes.find((w) => w.value === r.value)?.error}) but is at offset ${r.offset} of partition ${p}`)
      for (const r of input.reads) if (r.partition === p && failed.has(r.value)) add('G6', `'${r.value}' failed definitely but ${r.client} read it`)
    }

    // G8: after the heal every replica holds the same batches, byte for byte, below the high watermark.
    const logs = input.replicaLogs[p] ?? []
    if (logs.length > 1) {
      const hw = Math.min(...logs.map((l) => l.highWatermark))
      const ref = logs[0]!
      for (const other of logs.slice(1)) {
        const a = ref.batches.filter((b) => b.baseOffset < hw)
        const b = other.batches.filter((x) => x.baseOffset < hw)
        if (a.length !== b.length) {
          add('G8', `partition ${p}: broker ${ref.node} has ${a.length} batches below ${hw}, broker ${other.node} ${b.length}`)
          continue
        }
        for (let i = 0; i < a.length; i++) {
          if (a[i]!.baseOffset !== b[i]!.baseOffset || !sameBytes(a[i]!.data, b[i]!.data)) {
            add('G8', `partition ${p}: the batch at ${a[i]!.baseOffset} differs between brokers ${ref.node} and ${other.node}`)
            break
          }
        }
      }
    }
    // G9: every replica's epochs only grow, and every batch carries the epoch the cache says.
    for (const log of logs) {
      for (let i = 1; i < log.epochs.length; i++) {
        const [a, b] = [log.epochs[i - 1]!, log.epochs[i]!]
        if (!(b.epoch > a.epoch && b.startOffset >= a.startOffset)) add('G9', `broker ${log.node} partition ${p}: epoch cache ${JSON.stringify(log.epochs)} is not monotone`)
      }
      let prevEpoch = -1
      for (const b of log.batches) {
        if (b.epoch < prevEpoch) add('G9', `broker ${log.node} partition ${p}: batch at ${b.baseOffset} has epoch ${b.epoch} after ${prevEpoch}`)
        prevEpoch = b.epoch
        const entry = [...log.epochs].reverse().find((e) => e.startOffset <= b.baseOffset)
        if (entry && entry.epoch !== b.epoch) add('G9', `broker ${log.node} partition ${p}: batch at ${b.baseOffset} has epoch ${b.epoch}, the cache says ${entry.epoch}`)
      }
    }
  }

  // G9: leader epochs strictly increase at every election, and one broker incarnation leads each epoch.
  for (const e of input.elections) {
    if (e.next.leaderEpoch <= e.previous.leaderEpoch) add('G9', `${e.topic}-${e.partition}: election from epoch ${e.previous.leaderEpoch} to ${e.next.leaderEpoch}`)
  }
  const leaders = new Map<string, string>()
  for (const r of input.roles) {
    if (r.role !== 'leader') continue
    const key = `${r.topic}-${r.partition}@${r.epoch}`
    const who = `${r.node}#${r.incarnation}`
    const prev = leaders.get(key)
    if (prev && prev !== who) add('G9', `two leaders in epoch ${r.epoch} of ${r.topic}-${r.partition}: ${prev} and ${who}`)
    leaders.set(key, who)
  }

  const acked = input.writes.filter((w) => w.status === 'ok').length
  return {
    ok: v.length === 0,
    violations: v,
    stats: {
      writes: input.writes.length,
      acked,
      failed: input.writes.filter((w) => w.status === 'fail').length,
      unknown: input.writes.filter((w) => w.status === 'unknown').length,
      reads: input.reads.length,
      elections: input.elections.length,
    },
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}
