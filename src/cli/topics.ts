// `edgelog topics create|list|describe|delete`: a thin layer over the topic endpoints that
// prints tables for people and, with --json, the server's answer for scripts.
import type { TopicConfig, TopicDescription } from '../client/schemas.ts'
import { commonFlags, parseArgs, UsageError } from './args.ts'
import type { CliContext } from './main.ts'

/** Generous client-side ceilings; the server applies its own, tighter ones. */
const partitionsMax = 100_000
const replicationFactorMax = 1_000
const configEntriesMax = 100

export const outputFlags = { ...commonFlags, json: { type: 'boolean' } } as const

export const createFlags = {
  ...outputFlags,
  partitions: { type: 'integer', min: 1, max: partitionsMax },
  'replication-factor': { type: 'integer', min: 1, max: replicationFactorMax },
  config: { type: 'string', multiple: true },
} as const

const nameOnly = { names: ['NAME'], min: 1, max: 1 } as const

export const alterFlags = {
  ...outputFlags,
  config: { type: 'string', multiple: true },
  'delete-config': { type: 'string', multiple: true },
} as const

export async function runTopics(argv: string[], context: CliContext): Promise<number> {
  const [action, ...rest] = argv
  switch (action) {
    case 'create': return createTopic(rest, context)
    case 'list': return listTopics(rest, context)
    case 'describe': return describeTopic(rest, context)
    case 'delete': return deleteTopic(rest, context)
    case 'alter': return alterTopic(rest, context)
    case undefined: throw new UsageError('missing what to do: create, list, describe, alter or delete')
    default: throw new UsageError(`unknown topics action '${action}' (expected create, list, describe, alter or delete)`)
  }
}

async function createTopic(argv: string[], { io, client }: CliContext): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { flags: createFlags, positionals: nameOnly })
  const name = positionals[0]!
  const created = await client(flags.url).createTopic({
    name,
    partitions: flags.partitions ?? 1,
    ...(flags['replication-factor'] === undefined ? {} : { replicationFactor: flags['replication-factor'] }),
    ...(flags.config.length === 0 ? {} : { config: parseConfig(flags.config) }),
  })
  await io.stdout(flags.json ? json(created) : `created topic ${created.name} with ${created.partitions.length} partition(s)\n`)
  return 0
}

async function listTopics(argv: string[], { io, client }: CliContext): Promise<number> {
  const { flags } = parseArgs(argv, { flags: outputFlags, positionals: { names: [], min: 0, max: 0 } })
  const list = await client(flags.url).listTopics()
  if (flags.json) {
    await io.stdout(json(list))
    return 0
  }
  const rows = [...list.topics]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((topic) => [topic.name, String(topic.partitions)])
  await io.stdout(formatTable(['TOPIC', 'PARTITIONS'], rows))
  return 0
}

async function describeTopic(argv: string[], { io, client }: CliContext): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { flags: outputFlags, positionals: nameOnly })
  const description = await client(flags.url).describeTopic(positionals[0]!)
  await io.stdout(flags.json ? json(description) : formatDescription(description))
  return 0
}

async function alterTopic(argv: string[], { io, client }: CliContext): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { flags: alterFlags, positionals: nameOnly })
  if (flags.config.length === 0 && flags['delete-config'].length === 0) throw new UsageError('alter needs --config key=value or --delete-config key')
  const altered = await client(flags.url).alterTopicConfig(positionals[0]!, {
    ...(flags.config.length === 0 ? {} : { set: parseConfig(flags.config) }),
    ...(flags['delete-config'].length === 0 ? {} : { delete: [...flags['delete-config']] }),
  })
  await io.stdout(flags.json ? json(altered) : formatDescription(altered))
  return 0
}

async function deleteTopic(argv: string[], { io, client }: CliContext): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { flags: outputFlags, positionals: nameOnly })
  const deleted = await client(flags.url).deleteTopic(positionals[0]!)
  await io.stdout(flags.json ? json(deleted) : `deleted topic ${deleted.name}\n`)
  return 0
}

/** `--config retention.ms=60000` entries into Kafka-style string config; a key given twice is an error. */
export function parseConfig(entries: readonly string[]): TopicConfig {
  if (entries.length > configEntriesMax) throw new UsageError(`at most ${configEntriesMax} --config entries`)
  const config: TopicConfig = {}
  for (const entry of entries) {
    const equals = entry.indexOf('=')
    if (equals <= 0) throw new UsageError(`--config takes key=value, got '${entry}'`)
    const key = entry.slice(0, equals)
    if (Object.hasOwn(config, key)) throw new UsageError(`--config ${key} was given more than once`)
    config[key] = entry.slice(equals + 1)
  }
  return config
}

export function formatDescription(topic: TopicDescription): string {
  const config = Object.entries(topic.config).map(([key, value]) => `${key}=${value}`).join(', ')
  const heading = `Topic: ${topic.name}  Partitions: ${topic.partitions.length}  Config: ${config || '(defaults)'}\n`
  const rows = topic.partitions.map((p) => [
    String(p.partition),
    p.leader === null ? 'none' : String(p.leader),
    String(p.leaderEpoch),
    p.replicas.join(','),
    p.isr.join(','),
    String(p.logStartOffset),
    String(p.highWatermark),
    String(p.logEndOffset),
  ])
  const header = ['PARTITION', 'LEADER', 'EPOCH', 'REPLICAS', 'ISR', 'LOG-START', 'HIGH-WATERMARK', 'LOG-END']
  return heading + formatTable(header, rows)
}

/** Left-aligned columns two spaces apart, the layout of `kafka-topics --describe` and kubectl. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)))
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()
  return [header, ...rows].map(line).join('\n') + '\n'
}

function json(value: unknown): string {
  return JSON.stringify(value) + '\n'
}
