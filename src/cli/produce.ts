// `edgelog produce TOPIC`: lines of stdin (or of --file PATH) become records, sent in batches.
// Reading is back-pressured by the requests in flight, so a fast pipe into a slow server holds a
// bounded amount in memory: one batch being filled plus --max-in-flight batches sent. Progress
// (records/s, bytes, and an ETA when the input's size is known) goes to stderr.
import { EdgelogError } from '../client/errors.ts'
import type { HttpClient } from '../client/http.ts'
import { type Acks, type ProduceRecord, ProduceRecord as ProduceRecordSchema } from '../client/schemas.ts'
import { commonFlags, parseArgs, UsageError } from './args.ts'
import type { CliContext, CliIO } from './main.ts'
import {
  chooseMode,
  etaSeconds,
  formatBytes,
  formatCount,
  formatDuration,
  formatPercent,
  formatSummary,
  progressFlags,
  ProgressReporter,
  type ProgressView,
} from './progress.ts'

/** The longest stdin line accepted; longer lines stop the run rather than being split. */
export const lineBytesMax = 1024 * 1024
/** A batch is sent once it holds this many (estimated) bytes, whatever --batch-size says. */
export const batchBytesMax = 1024 * 1024

export const produceFlags = {
  ...commonFlags,
  key: { type: 'string' },
  'key-field': { type: 'string' },
  acks: { type: 'string', choices: ['0', '1', 'all'] },
  partition: { type: 'integer', min: 0, max: 1_000_000 },
  format: { type: 'string', choices: ['lines', 'ndjson'] },
  records: { type: 'boolean' },
  'batch-size': { type: 'integer', min: 1, max: 10_000 },
  'linger-ms': { type: 'integer', min: 0, max: 60_000 },
  'max-in-flight': { type: 'integer', min: 1, max: 16 },
  file: { type: 'string' },
  ...progressFlags,
} as const

interface RecordOptions {
  format: 'lines' | 'ndjson'
  wholeRecords: boolean
  key: string | undefined
  keyField: string | undefined
  partition: number | undefined
}

export async function runProduce(argv: string[], { io, client }: CliContext): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { flags: produceFlags, positionals: { names: ['TOPIC'], min: 1, max: 1 } })
  const topic = positionals[0]!
  const recordOptions = checkRecordOptions(flags)
  const http = client(flags.url)
  const input = await openInput(flags.file, io)
  const lines = new LineReader(input.stream, lineBytesMax)
  const startedAt = Date.now()
  const progress = new ProgressReporter({
    mode: chooseMode(flags.progress, { stderrIsTTY: io.isTTY, stdoutIsTTY: io.stdoutIsTTY ?? false }, false),
    write: io.stderr,
    ...(flags['progress-interval-ms'] === undefined ? {} : { intervalMs: flags['progress-interval-ms'] }),
    render: (view, mode) => renderProduceProgress(view, input.size, mode),
  })
  // Bytes of input behind the acknowledged records plus the blank lines skipped: the position
  // in the input that the ETA measures against its size.
  let skippedBytes = 0
  const pipeline = new ProducePipeline({
    send: (records) => sendBatch(http, topic, records, flags.acks as Acks | undefined),
    batchSize: flags['batch-size'] ?? 1000,
    lingerMs: flags['linger-ms'] ?? 20,
    maxInFlight: flags['max-in-flight'] ?? 1,
    onProgress: (records, _bytes, consumed) => progress.update(records, consumed + skippedBytes),
    onFailure: () => lines.cancel(),
  })
  const interrupt = () => lines.cancel()
  io.signal?.addEventListener('abort', interrupt, { once: true })
  // An unreadable line ends the run like a refused batch, but the lines before it still go out.
  let inputError: unknown
  try {
    for (let line = await lines.next(); line !== undefined; line = await lines.next()) {
      if (pipeline.failure !== undefined) break
      if (recordOptions.format === 'ndjson' && line.text.trim() === '') {
        skippedBytes += line.consumed
        continue
      }
      const record = toRecord(line, recordOptions)
      await pipeline.add(record, line.bytes, requestBytes(record, line), line.consumed)
    }
  } catch (error) {
    inputError = error
  } finally {
    io.signal?.removeEventListener('abort', interrupt)
    await pipeline.close()
    lines.cancel()
    progress.stop()
  }
  io.stderr(formatSummary('produced', pipeline.sentRecords, pipeline.sentBytes, Date.now() - startedAt))
  if (pipeline.failure !== undefined) throw pipeline.failure
  if (inputError !== undefined) throw inputError
  return io.signal?.aborted ? 130 : 0
}

interface Input {
  stream: ReadableStream<Uint8Array>
  /** Bytes in all, when the input is a regular file: the ETA needs it. */
  size: number | undefined
}

/** --file PATH (through the runtime, which can read files), or stdin; `--file -` is stdin. */
async function openInput(file: string | undefined, io: CliIO): Promise<Input> {
  if (file === undefined || file === '-') return { stream: io.stdin, size: io.stdinSize }
  if (io.openFile === undefined) throw new UsageError('--file is not available on this runtime; redirect stdin instead (< FILE)')
  return io.openFile(file)
}

/** "12,500 records  1.2 MiB / 2.7 MiB (45%)  8,100 records/s  0.8 MiB/s  ETA 0:02". */
export function renderProduceProgress(view: ProgressView, totalBytes: number | undefined, mode: 'live' | 'plain'): string {
  const parts = [`${formatCount(view.records)} records`]
  parts.push(totalBytes === undefined ? formatBytes(view.bytes) : `${formatBytes(view.bytes)} / ${formatBytes(totalBytes)} (${formatPercent(view.bytes, totalBytes)})`)
  parts.push(`${formatCount(view.recordsPerSec)} records/s`, `${formatBytes(view.bytesPerSec)}/s`)
  const eta = totalBytes === undefined ? undefined : etaSeconds(view.bytes, totalBytes, view.bytesPerSec)
  if (eta !== undefined) parts.push(`ETA ${formatDuration(eta)}`)
  return mode === 'live' ? parts.join('  ') : `producing: ${parts.join(', ')}`
}

function checkRecordOptions(flags: {
  format: string | undefined
  records: boolean
  key: string | undefined
  'key-field': string | undefined
  partition: number | undefined
}): RecordOptions {
  const format = (flags.format ?? 'lines') as RecordOptions['format']
  if (flags.key !== undefined && flags['key-field'] !== undefined) {
    throw new UsageError('--key and --key-field cannot be used together')
  }
  if (format !== 'ndjson' && flags['key-field'] !== undefined) throw new UsageError('--key-field needs --format ndjson')
  if (format !== 'ndjson' && flags.records) throw new UsageError('--records needs --format ndjson')
  return {
    format,
    wholeRecords: flags.records,
    key: flags.key,
    keyField: flags['key-field'],
    partition: flags.partition,
  }
}

async function sendBatch(http: HttpClient, topic: string, records: ProduceRecord[], acks: Acks | undefined) {
  const response = await http.produce(topic, records, acks === undefined ? {} : { acks })
  if (response.offsets.length !== records.length) {
    throw new EdgelogError(
      'INVALID_RESPONSE',
      `sent ${records.length} records but the server answered with ${response.offsets.length} offsets`,
    )
  }
}

// ---- records ------------------------------------------------------------------------------

export interface Line {
  text: string
  /** Size in bytes as read, without the line break. */
  bytes: number
  /** 1-based, for error messages. */
  number: number
  /** Bytes of input it took, line break included: where the reader is in the input. */
  consumed: number
}

export function toRecord(line: Line, options: RecordOptions): ProduceRecord {
  const record = options.format === 'lines' ? { value: line.text } : jsonRecord(line, options)
  if (record.key === undefined && options.key !== undefined) record.key = options.key
  if (record.partition === undefined && options.partition !== undefined) record.partition = options.partition
  return record
}

function jsonRecord(line: Line, options: RecordOptions): ProduceRecord {
  let value: unknown
  try {
    value = JSON.parse(line.text)
  } catch (error) {
    throw invalidLine(line, `not JSON (${error instanceof Error ? error.message : String(error)})`)
  }
  if (options.wholeRecords && isObject(value) && Object.hasOwn(value, 'value')) {
    const parsed = ProduceRecordSchema.safeParse(value)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''
      throw invalidLine(line, `not a record (${where}${issue?.message ?? 'invalid'})`)
    }
    return parsed.data
  }
  if (options.keyField === undefined) return { value }
  return { key: keyFromField(value, options.keyField, line), value }
}

function keyFromField(value: unknown, field: string, line: Line): string | null {
  const raw = isObject(value) && Object.hasOwn(value, field) ? value[field] : undefined
  if (raw === undefined || raw === null) return null
  if (typeof raw === 'string') return raw
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw)
  throw invalidLine(line, `key field '${field}' is an object or array; keys are strings, numbers or booleans`)
}

/**
 * The record's size in the request body. JSON.stringify counts UTF-16 units and escapes
 * quotes and control characters; the line's non-ASCII characters add their extra UTF-8
 * bytes. Close enough to keep a batch under a server's request limit.
 */
function requestBytes(record: ProduceRecord, line: Line): number {
  return JSON.stringify(record).length + Math.max(0, line.bytes - line.text.length) + 1
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function invalidLine(line: Line, reason: string): EdgelogError {
  return new EdgelogError('INVALID_RECORD', `stdin line ${line.number}: ${reason}`)
}

// ---- batching -----------------------------------------------------------------------------

interface PipelineOptions {
  send: (records: ProduceRecord[]) => Promise<void>
  batchSize: number
  lingerMs: number
  maxInFlight: number
  /** Totals of acknowledged records: their line bytes, and the input bytes they took (breaks included). */
  onProgress: (records: number, bytes: number, consumed: number) => void
  onFailure: () => void
}

/**
 * Collects records into batches and sends them, at most maxInFlight at a time, in the order
 * they were read. A batch goes out when it is full (records or bytes) or lingerMs after its
 * first record, so a slow trickle of lines is not held back waiting for company.
 */
export class ProducePipeline {
  sentRecords = 0
  /** Input bytes of the records the server accepted (the lines as read). */
  sentBytes = 0
  /** The same with line breaks: how far into the input the acknowledged records reach. */
  sentConsumedBytes = 0
  failure: unknown = undefined
  readonly #options: PipelineOptions
  #batch: Batch = emptyBatch()
  #linger: ReturnType<typeof setTimeout> | undefined
  readonly #inFlight = new Set<Promise<void>>()
  /** Settles when the last flushed batch has been handed to send; keeps batches in order. */
  #turn: Promise<void> = Promise.resolve()

  constructor(options: PipelineOptions) {
    this.#options = options
  }

  /**
   * inputBytes: the record's size as read, for the summary. estimatedBytes: its size in the
   * request body, for the batch byte limit. consumedBytes: input it took, line break included.
   */
  async add(record: ProduceRecord, inputBytes: number, estimatedBytes = inputBytes, consumedBytes = inputBytes): Promise<void> {
    // Waiting for the previous batch to get a slot is the back-pressure on stdin.
    await this.#turn
    if (this.#batch.records.length > 0 && this.#batch.estimatedBytes + estimatedBytes > batchBytesMax) {
      await this.flush()
    }
    const batch = this.#batch
    batch.records.push(record)
    batch.estimatedBytes += estimatedBytes
    batch.inputBytes += inputBytes
    batch.consumedBytes += consumedBytes
    if (batch.records.length >= this.#options.batchSize) await this.flush()
    else if (batch.records.length === 1) this.#linger = setTimeout(() => void this.flush(), this.#options.lingerMs)
  }

  flush(): Promise<void> {
    clearTimeout(this.#linger)
    this.#linger = undefined
    const batch = this.#batch
    if (batch.records.length === 0) return this.#turn
    this.#batch = emptyBatch()
    this.#turn = this.#turn.then(async () => {
      while (this.#inFlight.size >= this.#options.maxInFlight) await Promise.race(this.#inFlight)
      if (this.failure === undefined) this.#start(batch)
    })
    return this.#turn
  }

  fail(error: unknown): void {
    if (this.failure !== undefined) return
    this.failure = error
    this.#options.onFailure()
  }

  /** Sends what is left (unless a batch failed) and waits for every answer. */
  async close(): Promise<void> {
    await this.flush()
    await Promise.all(this.#inFlight)
  }

  #start(batch: Batch): void {
    const request = this.#options.send(batch.records).then(
      () => {
        this.sentRecords += batch.records.length
        this.sentBytes += batch.inputBytes
        this.sentConsumedBytes += batch.consumedBytes
        this.#options.onProgress(this.sentRecords, this.sentBytes, this.sentConsumedBytes)
      },
      (error: unknown) => this.fail(error),
    )
    const tracked = request.finally(() => this.#inFlight.delete(tracked))
    this.#inFlight.add(tracked)
  }
}

interface Batch {
  records: ProduceRecord[]
  /** Roughly the request body size; bounds a batch of long lines. */
  estimatedBytes: number
  inputBytes: number
  consumedBytes: number
}

function emptyBatch(): Batch {
  return { records: [], estimatedBytes: 0, inputBytes: 0, consumedBytes: 0 }
}

// ---- stdin --------------------------------------------------------------------------------

/**
 * Splits a byte stream into lines ("\n" or "\r\n"), each decoded as strict UTF-8. Holds at
 * most one partial line, and refuses lines over lineBytesMax instead of buffering them.
 */
export class LineReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>
  readonly #lineBytesMax: number
  readonly #decoder = new TextDecoder('utf-8', { fatal: true })
  #chunk: Uint8Array = new Uint8Array(0)
  #position = 0
  #pending: Uint8Array[] = []
  #pendingBytes = 0
  #lineNumber = 0
  #done = false

  constructor(stream: ReadableStream<Uint8Array>, lineBytesMax: number) {
    this.#reader = stream.getReader()
    this.#lineBytesMax = lineBytesMax
  }

  /** The next line, or undefined at the end of input (or after cancel). */
  async next(): Promise<Line | undefined> {
    for (;;) {
      const newline = this.#chunk.indexOf(10, this.#position)
      if (newline !== -1) {
        const piece = this.#chunk.subarray(this.#position, newline)
        this.#position = newline + 1
        return this.#finishLine(piece, 1)
      }
      this.#keep(this.#chunk.subarray(this.#position))
      if (this.#done) return this.#pendingBytes > 0 ? this.#finishLine(new Uint8Array(0), 0) : undefined
      const { done, value } = await this.#reader.read()
      this.#chunk = done ? new Uint8Array(0) : value
      this.#position = 0
      this.#done ||= done
    }
  }

  /** Stops reading: a pending next() resolves with undefined. */
  cancel(): void {
    if (this.#done) return
    this.#done = true
    this.#chunk = new Uint8Array(0)
    this.#pending = []
    this.#pendingBytes = 0
    this.#reader.cancel().catch(() => {})
  }

  #keep(piece: Uint8Array): void {
    if (piece.byteLength === 0) return
    this.#pendingBytes += piece.byteLength
    if (this.#pendingBytes > this.#lineBytesMax) throw this.#tooLong()
    this.#pending.push(piece.slice()) // a copy: the reader may reuse the chunk's buffer
  }

  /** `breakBytes`: 1 when the line ended with "\n", 0 at the end of input. */
  #finishLine(piece: Uint8Array, breakBytes: number): Line {
    this.#lineNumber++
    const total = this.#pendingBytes + piece.byteLength
    if (total > this.#lineBytesMax) throw this.#tooLong()
    let bytes = piece
    if (this.#pending.length > 0) {
      bytes = new Uint8Array(total)
      let at = 0
      for (const part of [...this.#pending, piece]) {
        bytes.set(part, at)
        at += part.byteLength
      }
      this.#pending = []
      this.#pendingBytes = 0
    }
    if (bytes.byteLength > 0 && bytes[bytes.byteLength - 1] === 13) bytes = bytes.subarray(0, bytes.byteLength - 1)
    let text: string
    try {
      text = this.#decoder.decode(bytes)
    } catch {
      throw new EdgelogError('INVALID_RECORD', `stdin line ${this.#lineNumber} is not valid UTF-8`)
    }
    return { text, bytes: bytes.byteLength, number: this.#lineNumber, consumed: total + breakBytes }
  }

  #tooLong(): EdgelogError {
    return new EdgelogError(
      'MESSAGE_TOO_LARGE',
      `stdin line ${this.#lineNumber + 1} is longer than ${this.#lineBytesMax} bytes`,
    )
  }
}
