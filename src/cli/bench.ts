// `edgelog bench [TOPIC]`: produces N records of S bytes and prints the throughput and the
// latency percentiles of the produce requests, like Kafka's kafka-producer-perf-test. Requests
// carry --batch-size records each, --max-in-flight of them at once; --throughput paces the run
// (records/s) so the latency is measured at a load you choose instead of at saturation.
import { EdgelogError, isEdgelogError } from '../client/errors.ts'
import type { HttpClient } from '../client/http.ts'
import type { Acks, ProduceRecord } from '../client/schemas.ts'
import { commonFlags, parseArgs, UsageError } from './args.ts'
import { LatencyHistogram } from './latency.ts'
import type { CliContext } from './main.ts'
import {
  chooseMode,
  etaSeconds,
  formatBytes,
  formatCount,
  formatDuration,
  formatPercent,
  progressFlags,
  ProgressReporter,
  type ProgressView,
} from './progress.ts'

export const benchTopicDefault = 'edgelog-bench'
/** One request's records together: kept well under a node's default 32 MiB request limit. */
export const benchRequestBytesMax = 8 * 1024 * 1024

export const benchFlags = {
  ...commonFlags,
  records: { type: 'integer', min: 1, max: 1_000_000_000 },
  'record-size': { type: 'integer', min: 1, max: 1_000_000 },
  'batch-size': { type: 'integer', min: 1, max: 10_000 },
  'max-in-flight': { type: 'integer', min: 1, max: 64 },
  acks: { type: 'string', choices: ['0', '1', 'all'] },
  throughput: { type: 'integer', min: 1, max: 100_000_000 },
  partitions: { type: 'integer', min: 1, max: 1024 },
  json: { type: 'boolean' },
  ...progressFlags,
} as const

export interface BenchSettings {
  topic: string
  records: number
  recordSize: number
  batchSize: number
  maxInFlight: number
  acks: Acks
  /** Records per second to aim for; undefined: as fast as the node takes them. */
  throughput: number | undefined
}

export interface BenchResult extends BenchSettings {
  seconds: number
  recordsPerSec: number
  bytesPerSec: number
  requests: number
  latencyMs: { mean: number; p50: number; p95: number; p99: number; p999: number; max: number }
}

export async function runBench(argv: string[], { io, client }: CliContext): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { flags: benchFlags, positionals: { names: ['TOPIC'], min: 0, max: 1 } })
  const settings: BenchSettings = {
    topic: positionals[0] ?? benchTopicDefault,
    records: flags.records ?? 100_000,
    recordSize: flags['record-size'] ?? 100,
    batchSize: flags['batch-size'] ?? 100,
    maxInFlight: flags['max-in-flight'] ?? 4,
    acks: (flags.acks ?? '1') as Acks,
    throughput: flags.throughput,
  }
  const batchBytes = Math.min(settings.batchSize, settings.records) * settings.recordSize
  if (batchBytes > benchRequestBytesMax) {
    throw new UsageError(`--batch-size ${settings.batchSize} × --record-size ${settings.recordSize} is ${formatBytes(batchBytes)} per request; keep it under ${formatBytes(benchRequestBytesMax)}`)
  }
  const http = client(flags.url)
  await ensureTopic(http, settings.topic, flags.partitions, io.stderr)

  const progress = new ProgressReporter({
    mode: chooseMode(flags.progress, { stderrIsTTY: io.isTTY, stdoutIsTTY: io.stdoutIsTTY ?? false }, false),
    write: io.stderr,
    ...(flags['progress-interval-ms'] === undefined ? {} : { intervalMs: flags['progress-interval-ms'] }),
    render: (view, mode) => renderBenchProgress(view, settings.records, mode),
  })
  let result: BenchResult
  try {
    result = await bench(http, settings, (records, bytes) => progress.update(records, bytes), io.signal)
  } finally {
    progress.stop()
  }
  await io.stdout(flags.json ? `${JSON.stringify(result)}\n` : formatBenchResult(result))
  return io.signal?.aborted ? 130 : 0
}

/** Uses the topic if it exists; otherwise creates it (with --partitions, default 1) and says so. */
async function ensureTopic(http: HttpClient, topic: string, partitions: number | undefined, say: (text: string) => void): Promise<void> {
  try {
    await http.describeTopic(topic)
    return
  } catch (error) {
    if (!(isEdgelogError(error) && error.code === 'UNKNOWN_TOPIC_OR_PARTITION')) throw error
  }
  try {
    await http.createTopic({ name: topic, partitions: partitions ?? 1 })
    say(`created topic ${topic} with ${partitions ?? 1} partition${(partitions ?? 1) === 1 ? '' : 's'}\n`)
  } catch (error) {
    // Another bench created it meanwhile: use it.
    if (!(isEdgelogError(error) && error.code === 'TOPIC_ALREADY_EXISTS')) throw error
  }
}

/** Random bytes, sent as base64 and stored as they are: each record's value is exactly `size` bytes. */
function payload(size: number): ProduceRecord {
  const bytes = new Uint8Array(size)
  for (let at = 0; at < size; at += 65_536) crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65_536)))
  let binary = ''
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!)
  return { value: { base64: btoa(binary) } }
}

export async function bench(
  http: HttpClient,
  settings: BenchSettings,
  onProgress: (records: number, bytes: number) => void,
  signal?: AbortSignal,
): Promise<BenchResult> {
  const record = payload(settings.recordSize)
  const fullBatch: ProduceRecord[] = Array.from({ length: Math.min(settings.batchSize, settings.records) }, () => record)
  const latency = new LatencyHistogram()
  let sent = 0
  let acknowledged = 0
  let failure: unknown
  const startedAt = performance.now()

  /** With --throughput: the time by which `records` should have been sent. */
  const due = (records: number) => (settings.throughput === undefined ? 0 : startedAt + (records / settings.throughput) * 1000)

  const worker = async () => {
    while (failure === undefined && !signal?.aborted && sent < settings.records) {
      const count = Math.min(settings.batchSize, settings.records - sent)
      const from = sent
      sent += count
      const wait = due(from) - performance.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      const begin = performance.now()
      try {
        const answer = await http.produce(settings.topic, count === fullBatch.length ? fullBatch : fullBatch.slice(0, count), { acks: settings.acks })
        if (answer.offsets.length !== count) {
          throw new EdgelogError('INVALID_RESPONSE', `sent ${count} records but the node answered ${answer.offsets.length} offsets`)
        }
      } catch (error) {
        failure ??= error
        return
      }
      latency.record(performance.now() - begin)
      acknowledged += count
      onProgress(acknowledged, acknowledged * settings.recordSize)
    }
  }
  await Promise.all(Array.from({ length: settings.maxInFlight }, worker))
  if (failure !== undefined) throw failure
  const seconds = Math.max(performance.now() - startedAt, 0.001) / 1000
  const round = (ms: number) => Math.round(ms * 1000) / 1000
  return {
    ...settings,
    records: acknowledged,
    seconds: round(seconds),
    recordsPerSec: Math.round(acknowledged / seconds),
    bytesPerSec: Math.round((acknowledged * settings.recordSize) / seconds),
    requests: latency.count,
    latencyMs: {
      mean: round(latency.mean),
      p50: round(latency.percentile(50)),
      p95: round(latency.percentile(95)),
      p99: round(latency.percentile(99)),
      p999: round(latency.percentile(99.9)),
      max: round(latency.max),
    },
  }
}

/** "45,000/100,000 records (45%)  50,123 records/s  4.8 MiB/s  ETA 0:01". */
export function renderBenchProgress(view: ProgressView, total: number, mode: 'live' | 'plain'): string {
  const parts = [
    `${formatCount(view.records)}/${formatCount(total)} records (${formatPercent(view.records, total)})`,
    `${formatCount(view.recordsPerSec)} records/s`,
    `${formatBytes(view.bytesPerSec)}/s`,
  ]
  const eta = etaSeconds(view.records, total, view.recordsPerSec)
  if (eta !== undefined) parts.push(`ETA ${formatDuration(eta)}`)
  return mode === 'live' ? parts.join('  ') : `bench: ${parts.join(', ')}`
}

export function formatBenchResult(r: BenchResult): string {
  const ms = (v: number) => (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0))
  const paced = r.throughput === undefined ? 'unthrottled' : `paced at ${formatCount(r.throughput)} records/s`
  return [
    `${formatCount(r.records)} records of ${formatBytes(r.recordSize)} to ${r.topic} (acks=${r.acks}, ${formatCount(r.batchSize)} per request, ${r.maxInFlight} in flight, ${paced})`,
    `throughput  ${formatCount(r.recordsPerSec)} records/s  ${formatBytes(r.bytesPerSec)}/s  in ${r.seconds.toFixed(2)} s`,
    `latency ms  p50 ${ms(r.latencyMs.p50)}  p95 ${ms(r.latencyMs.p95)}  p99 ${ms(r.latencyMs.p99)}  p99.9 ${ms(r.latencyMs.p999)}  max ${ms(r.latencyMs.max)}  (${formatCount(r.requests)} requests)`,
    '',
  ].join('\n')
}
