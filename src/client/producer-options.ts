// The producer's settings, named after Kafka's producer configs (linger.ms, batch.size,
// buffer.memory, max.block.ms, delivery.timeout.ms, ...), their defaults, and the checks that
// refuse a setting the producer could not honour, at construction rather than at first send.
import type { Acks } from './schemas.ts'

export interface ProducerOptions {
  /** `all` (default), `1` or `0`; see DESIGN.md "Durability levels". */
  acks?: Acks
  /** How long the first record of a batch waits for company (Kafka's linger.ms). */
  lingerMs?: number
  /** A batch leaves once it holds this many bytes of records (Kafka's batch.size). */
  batchBytes?: number
  /** Bytes of records held, sent or not, until acknowledged (Kafka's buffer.memory). */
  bufferBytes?: number
  /** How long send() waits for buffer space or topic metadata before failing (max.block.ms). */
  maxBlockMs?: number
  /** send() calls waiting for buffer space at once; beyond it send() fails at once. */
  maxQueuedSends?: number
  /** The largest record accepted (Kafka's max.request.size), in JSON bytes. */
  maxRecordBytes?: number
  /** A record not acknowledged this long after send() fails (delivery.timeout.ms). */
  deliveryTimeoutMs?: number
  /** One attempt's limit; a timed-out attempt is retried (request.timeout.ms). */
  requestTimeoutMs?: number
  retryBackoffMs?: number
  retryBackoffMaxMs?: number
  /** Producer id + sequence on every batch (enable.idempotence); ignored with acks=0. */
  idempotent?: boolean
}

export const producerDefaults = {
  acks: 'all' as Acks,
  lingerMs: 5,
  batchBytes: 16 * 1024,
  bufferBytes: 8 * 1024 * 1024,
  maxBlockMs: 60_000,
  maxQueuedSends: 10_000,
  maxRecordBytes: 1_000_000,
  deliveryTimeoutMs: 120_000,
  requestTimeoutMs: 30_000,
  retryBackoffMs: 100,
  retryBackoffMaxMs: 1_000,
  idempotent: true,
}

/** The options with every default filled in, checked. Throws RangeError on a bad setting. */
export function resolveProducerOptions(options: ProducerOptions): Required<ProducerOptions> {
  const o: Required<ProducerOptions> = { ...producerDefaults, ...definedOnly(options) }
  for (const name of ['lingerMs', 'retryBackoffMs'] as const) checkInt(name, o[name], 0)
  for (const name of ['batchBytes', 'bufferBytes', 'maxBlockMs', 'maxQueuedSends', 'maxRecordBytes', 'deliveryTimeoutMs', 'requestTimeoutMs', 'retryBackoffMaxMs'] as const) {
    checkInt(name, o[name], 1)
  }
  if (o.bufferBytes < o.maxRecordBytes) throw new RangeError('bufferBytes must be at least maxRecordBytes')
  if (!['all', '1', '0'].includes(o.acks)) throw new RangeError(`acks must be "all", "1" or "0", got ${String(o.acks)}`)
  return o
}

function checkInt(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`)
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>
}
