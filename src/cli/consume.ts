// `edgelog consume TOPIC`: prints records of every partition (or one), in offset order per
// partition. Without --follow (or with --to-end, which says so) it is a snapshot up to the high
// watermarks seen at start, with progress on stderr: each partition's position against its end
// offset; with --follow each partition long-polls until the run is stopped.
import { EdgelogError } from '../client/errors.ts'
import type { HttpClient } from '../client/http.ts'
import type { FetchedRecord, FetchPosition, PartitionDescription } from '../client/schemas.ts'
import { commonFlags, parseArgs, UsageError } from './args.ts'
import { Slots } from '../client/slots.ts'
import type { CliContext, CliIO } from './main.ts'
import {
  chooseMode,
  etaSeconds,
  formatCount,
  formatDuration,
  formatPercent,
  progressFlags,
  ProgressReporter,
  type ProgressMode,
  type ProgressView,
} from './progress.ts'

/** Per fetch request; bounds what one partition holds in memory between fetch and print. */
const fetchRecordsMax = 1_000
const fetchBytesMax = 1024 * 1024
/** Long polls in flight at once; more partitions than this take turns. */
const fetchConcurrencyMax = 16
/** How long the server may hold a --follow fetch; short when partitions take turns for a slot. */
const followWaitMs = 5_000
const followWaitSharedMs = 200

export const consumeFlags = {
  ...commonFlags,
  from: { type: 'string' },
  partition: { type: 'integer', min: 0, max: 1_000_000 },
  group: { type: 'string' },
  follow: { type: 'boolean' },
  'to-end': { type: 'boolean' },
  'max-records': { type: 'integer', min: 1 },
  format: { type: 'string', choices: ['ndjson', 'value'] },
  ...progressFlags,
} as const

interface ConsumeOptions {
  topic: string
  from: FetchPosition
  group: string | undefined
  follow: boolean
  format: 'ndjson' | 'value'
  waitMs: number
}

export async function runConsume(argv: string[], { io, client }: CliContext): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { flags: consumeFlags, positionals: { names: ['TOPIC'], min: 1, max: 1 } })
  const topic = positionals[0]!
  if (flags.follow && flags['to-end']) throw new UsageError('--follow and --to-end cannot be used together')
  const from = parseFrom(flags.from ?? 'earliest')
  const http = client(flags.url)
  const description = await http.describeTopic(topic)
  const partitions = choosePartitions(description.partitions, flags.partition, topic)
  const committed = flags.group === undefined ? new Map<number, number>() : await committedOffsets(http, flags.group, topic)
  const options: ConsumeOptions = {
    topic,
    from,
    group: flags.group,
    follow: flags.follow,
    format: (flags.format ?? 'ndjson') as ConsumeOptions['format'],
    waitMs: partitions.length <= fetchConcurrencyMax ? followWaitMs : followWaitSharedMs,
  }
  const starts = partitions.map((p) => ({ description: p, start: committed.get(p.partition) ?? from }))
  // A snapshot has an end: its progress is each partition's position against its end offset.
  const mode: ProgressMode = options.follow ? 'off' : chooseMode(flags.progress, { stderrIsTTY: io.isTTY, stdoutIsTTY: io.stdoutIsTTY ?? false }, true)
  const positions = starts.map((p) => snapshotPosition(p))
  const progress = new ProgressReporter({
    mode,
    write: io.stderr,
    ...(flags['progress-interval-ms'] === undefined ? {} : { intervalMs: flags['progress-interval-ms'] }),
    render: (view, style) => renderConsumeProgress(positions, view, style),
  })
  const startedAt = Date.now()
  let printed = 0
  const run = new ConsumeRun(http, io, options, flags['max-records'], {
    printed: (count) => progress.update((printed += count), 0),
    position: (partition, position) => {
      const entry = positions.find((p) => p.partition === partition)
      if (entry !== undefined) entry.position = Math.min(Math.max(entry.position, position), entry.end)
    },
  })
  if (options.follow) watchForEndOfInput(io.stdin, run.stopSignal, () => run.stop())
  const stopOnInterrupt = () => run.stop()
  io.signal?.addEventListener('abort', stopOnInterrupt, { once: true })
  try {
    await run.consumeAll(starts)
  } finally {
    io.signal?.removeEventListener('abort', stopOnInterrupt)
    run.stop()
    progress.stop()
  }
  if (mode !== 'off') io.stderr(formatConsumeSummary(printed, positions, Date.now() - startedAt))
  return io.signal?.aborted ? 130 : 0
}

// ---- progress -----------------------------------------------------------------------------

/** One partition of a snapshot: offsets [start, end) to read, and how far the run got. */
export interface PartitionPosition {
  partition: number
  start: number
  end: number
  position: number
}

function snapshotPosition({ description, start }: PartitionStart): PartitionPosition {
  const end = description.highWatermark
  const first = start === 'earliest' ? description.logStartOffset : start === 'latest' ? end : Math.min(Math.max(start, description.logStartOffset), end)
  return { partition: description.partition, start: first, end, position: first }
}

/** Partitions listed by name on the progress line; the rest are counted. */
const partitionsShownMax = 4

/**
 * "6,200/15,000 (41%)  3,100 records/s  ETA 0:03  1/3 partitions done  p0 1,200/5,000  p2 0/5,000":
 * offsets read of all there were at start, then the unfinished partitions' position/end offset.
 */
export function renderConsumeProgress(positions: readonly PartitionPosition[], view: ProgressView, mode: 'live' | 'plain'): string {
  const total = positions.reduce((sum, p) => sum + (p.end - p.start), 0)
  const done = positions.reduce((sum, p) => sum + (p.position - p.start), 0)
  const open = positions.filter((p) => p.position < p.end)
  const parts = [`${formatCount(done)}/${formatCount(total)} (${formatPercent(done, total)})`, `${formatCount(view.recordsPerSec)} records/s`]
  const eta = etaSeconds(done, total, view.recordsPerSec)
  if (eta !== undefined && open.length > 0) parts.push(`ETA ${formatDuration(eta)}`)
  parts.push(`${positions.length - open.length}/${positions.length} partitions done`)
  const listed = open.slice(0, partitionsShownMax).map((p) => `p${p.partition} ${formatCount(p.position)}/${formatCount(p.end)}`)
  if (open.length > partitionsShownMax) listed.push(`+${open.length - partitionsShownMax} more`)
  if (mode === 'live') return [...parts, ...listed].join('  ')
  return `consuming: ${parts.join(', ')}${listed.length > 0 ? `; ${listed.join(', ')}` : ''}`
}

/** "consumed 15,000 records in 1.20 s (12,500 records/s); 3/3 partitions at their end offsets". */
export function formatConsumeSummary(records: number, positions: readonly PartitionPosition[], elapsedMs: number): string {
  const seconds = Math.max(elapsedMs, 1) / 1000
  const reached = positions.filter((p) => p.position >= p.end).length
  const noun = records === 1 ? 'record' : 'records'
  return `consumed ${formatCount(records)} ${noun} in ${seconds.toFixed(2)} s (${formatCount(records / seconds)} records/s); ${reached}/${positions.length} partitions at their end offsets\n`
}

export function parseFrom(from: string): FetchPosition {
  if (from === 'earliest' || from === 'latest') return from
  if (/^\d{1,16}$/.test(from) && Number.isSafeInteger(Number(from))) return Number(from)
  throw new UsageError(`--from must be earliest, latest or an offset, got '${from}'`)
}

function choosePartitions(
  partitions: PartitionDescription[],
  only: number | undefined,
  topic: string,
): PartitionDescription[] {
  if (only === undefined) return partitions
  const chosen = partitions.find((p) => p.partition === only)
  if (chosen === undefined) {
    throw new EdgelogError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${topic}' has no partition ${only}`)
  }
  return [chosen]
}

async function committedOffsets(http: HttpClient, group: string, topic: string): Promise<Map<number, number>> {
  const answer = await http.committedOffsets(group)
  return new Map(answer.offsets.filter((o) => o.topic === topic).map((o) => [o.partition, o.offset]))
}

/** Ends a --follow run when stdin closes, so a parent process can stop it by closing the pipe. */
function watchForEndOfInput(stdin: ReadableStream<Uint8Array>, stopSignal: AbortSignal, onEnd: () => void): void {
  const reader = stdin.getReader()
  stopSignal.addEventListener('abort', () => void reader.cancel().catch(() => {}), { once: true })
  void (async () => {
    try {
      // Whatever arrives is discarded, so nothing accumulates.
      while (!(await reader.read()).done) {}
    } catch {
      // A broken stdin is an ended stdin.
    }
    onEnd()
  })()
}

interface PartitionStart {
  description: PartitionDescription
  start: FetchPosition
}

interface RunEvents {
  /** Records written to stdout. */
  printed(count: number): void
  /** A partition's next offset after a fetch was printed. */
  position(partition: number, position: number): void
}

/** One consume run: the partitions' fetch loops, the shared record budget and the stop switch. */
class ConsumeRun {
  readonly #http: HttpClient
  readonly #io: CliIO
  readonly #options: ConsumeOptions
  readonly #events: RunEvents
  readonly #stop = new AbortController()
  readonly #slots = new Slots(fetchConcurrencyMax)
  #recordsLeft: number

  constructor(http: HttpClient, io: CliIO, options: ConsumeOptions, maxRecords: number | undefined, events: RunEvents) {
    this.#http = http
    this.#io = io
    this.#options = options
    this.#events = events
    this.#recordsLeft = maxRecords ?? Number.POSITIVE_INFINITY
  }

  get stopSignal(): AbortSignal {
    return this.#stop.signal
  }

  stop(): void {
    this.#stop.abort()
  }

  /** Runs every partition's loop; the first failure stops the others and is rethrown. */
  async consumeAll(partitions: PartitionStart[]): Promise<void> {
    let failure: { error: unknown } | undefined
    await Promise.all(partitions.map((p) =>
      this.#consumePartition(p).catch((error: unknown) => {
        failure ??= { error }
        this.stop()
      })
    ))
    if (failure !== undefined) throw failure.error
  }

  async #consumePartition({ description, start }: PartitionStart): Promise<void> {
    const partition = description.partition
    // Without --follow the run is a snapshot: stop at the high watermark seen at start.
    const end = this.#options.follow ? Number.POSITIVE_INFINITY : description.highWatermark
    let position = start
    let committed = typeof start === 'number' ? start : undefined
    if (!this.#options.follow && nothingToRead(start, description)) return
    while (!this.#stop.signal.aborted) {
      const fetched = await this.#fetch(partition, position)
      if (fetched === undefined) return
      const wanted = fetched.records.filter((record) => record.offset < end)
      const printed = await this.#print(partition, wanted)
      const next = nextPosition(position, wanted, printed, Math.min(fetched.nextOffset, end))
      const noProgress = next === position
      position = next
      if (typeof position === 'number') this.#events.position(partition, position)
      if (this.#options.group !== undefined && typeof position === 'number' && position !== committed) {
        await this.#http.commitOffsets(this.#options.group, [{ topic: this.#options.topic, partition, offset: position }])
        committed = position
      }
      if (!this.#options.follow && ((typeof position === 'number' && position >= end) || noProgress)) return
    }
  }

  async #fetch(partition: number, position: FetchPosition) {
    await this.#slots.acquire()
    try {
      return await this.#http.fetchRecords(this.#options.topic, partition, {
        offset: position,
        maxRecords: Math.min(fetchRecordsMax, this.#recordsLeft),
        maxBytes: fetchBytesMax,
        waitMs: this.#options.follow ? this.#options.waitMs : 0,
        signal: this.#stop.signal,
      })
    } catch (error) {
      if (this.#stop.signal.aborted) return undefined
      throw error
    } finally {
      this.#slots.release()
    }
  }

  /** Prints as many of the records as the --max-records budget allows; returns how many. */
  async #print(partition: number, records: FetchedRecord[]): Promise<number> {
    if (this.#stop.signal.aborted) return 0
    const count = Math.min(records.length, this.#recordsLeft)
    // Taken before the write, so partitions printing at the same time never overshoot.
    this.#recordsLeft -= count
    if (count > 0) {
      const lines = records.slice(0, count).map((record) => this.#format(partition, record))
      await this.#io.stdout(lines.join(''))
      this.#events.printed(count)
    }
    if (this.#recordsLeft === 0) this.stop()
    return count
  }

  #format(partition: number, record: FetchedRecord): string {
    if (this.#options.format === 'value') return formatValue(record.value)
    const { offset, key, value, headers, timestamp } = record
    return JSON.stringify({ topic: this.#options.topic, partition, offset, key, value, headers, timestamp }) + '\n'
  }
}

/** After printing `printed` of `wanted`: past the last printed record, or where the fetch ended. */
function nextPosition(position: FetchPosition, wanted: FetchedRecord[], printed: number, fetchEnd: number): FetchPosition {
  if (printed === wanted.length) return fetchEnd
  if (printed > 0) return wanted[printed - 1]!.offset + 1
  return position // stopped, or the --max-records budget ran out before this batch
}

function nothingToRead(start: FetchPosition, partition: PartitionDescription): boolean {
  if (start === 'latest') return true
  if (start === 'earliest') return partition.logStartOffset >= partition.highWatermark
  return start >= partition.highWatermark
}

/** `--format value`: strings as they are, anything else as JSON, one per line. */
export function formatValue(value: unknown): string {
  return (typeof value === 'string' ? value : JSON.stringify(value)) + '\n'
}
