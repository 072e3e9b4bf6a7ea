// `edgelog consume TOPIC`: prints records of every partition (or one), in offset order per
// partition. Without --follow it is a snapshot up to the high watermarks seen at start;
// with --follow each partition long-polls until the run is stopped.
import { EdgelogError } from '../client/errors.ts'
import type { HttpClient } from '../client/http.ts'
import type { FetchedRecord, FetchPosition, PartitionDescription } from '../client/schemas.ts'
import { commonFlags, parseArgs, UsageError } from './args.ts'
import type { CliContext, CliIO } from './main.ts'

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
  'max-records': { type: 'integer', min: 1 },
  format: { type: 'string', choices: ['ndjson', 'value'] },
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
  const run = new ConsumeRun(http, io, options, flags['max-records'])
  if (options.follow) watchForEndOfInput(io.stdin, run.stopSignal, () => run.stop())
  const stopOnInterrupt = () => run.stop()
  io.signal?.addEventListener('abort', stopOnInterrupt, { once: true })
  try {
    await run.consumeAll(partitions.map((p) => ({ description: p, start: committed.get(p.partition) ?? from })))
  } finally {
    io.signal?.removeEventListener('abort', stopOnInterrupt)
    run.stop()
  }
  return io.signal?.aborted ? 130 : 0
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

/** One consume run: the partitions' fetch loops, the shared record budget and the stop switch. */
class ConsumeRun {
  readonly #http: HttpClient
  readonly #io: CliIO
  readonly #options: ConsumeOptions
  readonly #stop = new AbortController()
  readonly #slots = new Slots(fetchConcurrencyMax)
  #recordsLeft: number

  constructor(http: HttpClient, io: CliIO, options: ConsumeOptions, maxRecords: number | undefined) {
    this.#http = http
    this.#io = io
    this.#options = options
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

/** A counting semaphore; waiters are served first come, first served. */
class Slots {
  #free: number
  readonly #waiters: Array<() => void> = []

  constructor(count: number) {
    this.#free = count
  }

  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--
      return
    }
    await new Promise<void>((resolve) => this.#waiters.push(resolve))
  }

  release(): void {
    const next = this.#waiters.shift()
    if (next) next()
    else this.#free++
  }
}
