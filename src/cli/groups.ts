// `edgelog groups list|describe|reset|delete`: consumer groups as kafka-consumer-groups.sh shows
// them: state, members and their assignments, and per partition the committed offset, the high
// watermark, the lag and the owning member; resets of an empty group's offsets.
import type { GroupDescription, GroupLagResponse, ResetOffsetsRequest, ResetTo } from '../client/schemas.ts'
import { commonFlags, parseArgs, UsageError } from './args.ts'
import type { CliContext } from './main.ts'
import { formatTable, outputFlags } from './topics.ts'

export const resetFlags = {
  ...outputFlags,
  to: { type: 'string', choices: ['earliest', 'latest'] },
  'to-offset': { type: 'integer', min: 0 },
  'to-timestamp': { type: 'string' },
  topic: { type: 'string', multiple: true },
  'dry-run': { type: 'boolean' },
} as const

export const groupsFlags = { ...resetFlags, ...commonFlags } as const

const groupOnly = { names: ['GROUP'], min: 1, max: 1 } as const
const topicSpecsMax = 1000

export async function runGroups(argv: string[], context: CliContext): Promise<number> {
  const [action, ...rest] = argv
  switch (action) {
    case 'list': return listGroups(rest, context)
    case 'describe': return describeGroup(rest, context)
    case 'reset': return resetGroup(rest, context)
    case 'delete': return deleteGroup(rest, context)
    case undefined: throw new UsageError('missing what to do: list, describe, reset or delete')
    default: throw new UsageError(`unknown groups action '${action}' (expected list, describe, reset or delete)`)
  }
}

async function listGroups(argv: string[], { io, client }: CliContext): Promise<number> {
  const { flags } = parseArgs(argv, { flags: outputFlags, positionals: { names: [], min: 0, max: 0 } })
  const list = await client(flags.url).listGroups()
  if (flags.json) {
    await io.stdout(json(list))
    return 0
  }
  const rows = list.groups.map((g) => [g.group, g.state, String(g.members), String(g.groupEpoch)])
  await io.stdout(formatTable(['GROUP', 'STATE', 'MEMBERS', 'EPOCH'], rows))
  return 0
}

async function describeGroup(argv: string[], { io, client }: CliContext): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { flags: outputFlags, positionals: groupOnly })
  const http = client(flags.url)
  const group = positionals[0]!
  const description = await http.describeGroup(group)
  const lag = await http.groupLag(group)
  await io.stdout(flags.json ? json({ ...description, lag }) : formatGroup(description, lag))
  return 0
}

async function resetGroup(argv: string[], { io, client }: CliContext): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { flags: resetFlags, positionals: groupOnly })
  const request: ResetOffsetsRequest = { to: resetTarget(flags.to, flags['to-offset'], flags['to-timestamp']) }
  if (flags.topic.length > 0) request.topics = parseTopicSpecs(flags.topic)
  if (flags['dry-run']) request.dryRun = true
  const answer = await client(flags.url).resetOffsets(positionals[0]!, request)
  if (flags.json) {
    await io.stdout(json(answer))
    return 0
  }
  const rows = answer.offsets.map((o) => [o.topic, String(o.partition), o.previous === null ? '-' : String(o.previous), String(o.offset)])
  const note = answer.dryRun ? '(dry run: nothing was changed)\n' : ''
  await io.stdout(formatTable(['TOPIC', 'PARTITION', 'PREVIOUS-OFFSET', 'NEW-OFFSET'], rows) + note)
  return 0
}

async function deleteGroup(argv: string[], { io, client }: CliContext): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { flags: outputFlags, positionals: groupOnly })
  const answer = await client(flags.url).deleteGroup(positionals[0]!)
  await io.stdout(flags.json ? json(answer) : `deleted group ${answer.group}\n`)
  return 0
}

/** Exactly one of --to earliest|latest, --to-offset N, --to-timestamp MS|ISO-8601. */
export function resetTarget(to: string | undefined, offset: number | undefined, timestamp: string | undefined): ResetTo {
  const given = [to, offset, timestamp].filter((v) => v !== undefined).length
  if (given !== 1) throw new UsageError('give exactly one of --to earliest|latest, --to-offset N, --to-timestamp MS|ISO-8601')
  if (to !== undefined) return to as 'earliest' | 'latest'
  if (offset !== undefined) return { offset }
  return { timestamp: parseTimestamp(timestamp!) }
}

/** Epoch milliseconds, or an ISO-8601 date-time with a zone (2024-05-01T12:00:00Z). */
export function parseTimestamp(text: string): number {
  if (/^\d{1,16}$/.test(text)) return Number(text)
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    const ms = Date.parse(text)
    if (Number.isFinite(ms) && ms >= 0) return ms
  }
  throw new UsageError(`--to-timestamp must be epoch milliseconds or an ISO-8601 time with a zone, got '${text}'`)
}

/** `--topic orders` (all partitions) or `--topic orders:0,2`. */
export function parseTopicSpecs(specs: readonly string[]): Array<{ topic: string; partitions?: number[] }> {
  if (specs.length > topicSpecsMax) throw new UsageError(`at most ${topicSpecsMax} --topic entries`)
  return specs.map((spec) => {
    const colon = spec.indexOf(':')
    if (colon === -1) return { topic: spec }
    const topic = spec.slice(0, colon)
    const list = spec.slice(colon + 1)
    if (topic === '' || !/^\d{1,7}(,\d{1,7})*$/.test(list)) throw new UsageError(`--topic takes TOPIC or TOPIC:P,P,..., got '${spec}'`)
    return { topic, partitions: [...new Set(list.split(',').map(Number))] }
  })
}

export function formatGroup(d: GroupDescription, lag: GroupLagResponse): string {
  const heading = `Group: ${d.group}  State: ${d.state}  Epoch: ${d.groupEpoch}  Members: ${d.members.length}\n`
  const members = d.members.length === 0
    ? ''
    : '\n' + formatTable(
      ['MEMBER-ID', 'INSTANCE-ID', 'EPOCH', 'STATE', 'ASSIGNMENT', 'REVOKING'],
      d.members.map((m) => [m.memberId, m.instanceId ?? '-', String(m.memberEpoch), m.state, formatAssignment(m.assignment), formatAssignment(m.pendingRevocation)]),
    )
  const partitions = lag.partitions.length === 0
    ? ''
    : '\n' + formatTable(
      ['TOPIC', 'PARTITION', 'COMMITTED', 'HIGH-WATERMARK', 'LAG', 'OWNER'],
      lag.partitions.map((p) => [p.topic, String(p.partition), p.committed === null ? '-' : String(p.committed), String(p.highWatermark), String(p.lag), p.owner ?? '-']),
    ) + `Total lag: ${lag.totalLag}\n`
  return heading + members + partitions
}

function formatAssignment(list: Array<{ topic: string; partitions: number[] }>): string {
  if (list.length === 0) return '-'
  return list.map((t) => `${t.topic}:${t.partitions.join(',')}`).join(' ')
}

function json(value: unknown): string {
  return JSON.stringify(value) + '\n'
}
