// One record on its way through the producer: checked against the record schema, its key
// turned into the bytes the partitioner hashes, its size measured as the JSON it travels as
// (the unit of batchBytes, bufferBytes and maxRecordBytes). Done in send() itself, so a bad
// record fails its own send() at once and never takes buffer space.
import { decodeBase64 } from '../core/base64.ts'
import { EdgelogError } from './errors.ts'
import type { PubRecord } from './frames.ts'
import { ProduceRecord } from './schemas.ts'

export interface RecordMetadata {
  topic: string
  partition: number
  /** null with acks=0: nobody waited for the offset. */
  offset: number | null
}

/** A record from send() until it is acknowledged or fails. */
export interface Pending {
  topic: string
  record: PubRecord
  explicitPartition: number | undefined
  keyBytes: Uint8Array | null
  bytes: number
  sentAt: number
  resolve(metadata: RecordMetadata): void
  reject(error: unknown): void
  settled: Promise<void>
}

/** Checks and measures a record; resolve, reject and settled are the caller's to fill in. */
export function prepareRecord(topic: string, record: ProduceRecord, maxRecordBytes: number): Pending {
  if (typeof topic !== 'string' || topic === '') throw new EdgelogError('INVALID_TOPIC', 'send needs a topic name')
  const parsed = ProduceRecord.safeParse(record)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : ''
    throw new EdgelogError('INVALID_RECORD', `not a record${where}: ${issue?.message ?? 'invalid'}`)
  }
  const r = parsed.data
  if (r.value === undefined) throw new EdgelogError('INVALID_RECORD', 'a record needs a value (null for a tombstone)')
  let keyBytes: Uint8Array | null = null
  if (typeof r.key === 'string') keyBytes = new TextEncoder().encode(r.key)
  else if (r.key !== undefined && r.key !== null) {
    const decoded = decodeBase64(r.key.base64)
    if (decoded === undefined) throw new EdgelogError('INVALID_RECORD', 'key.base64 is not valid base64')
    keyBytes = decoded
  }
  const { partition, ...rest } = r
  const text = JSON.stringify(rest)
  if (text === undefined) throw new EdgelogError('INVALID_RECORD', 'the record is not JSON-serialisable')
  const bytes = utf8Length(text)
  if (bytes > maxRecordBytes) {
    throw new EdgelogError('MESSAGE_TOO_LARGE', `a record of ${bytes} bytes is over maxRecordBytes (${maxRecordBytes})`)
  }
  return {
    topic,
    record: rest as PubRecord,
    explicitPartition: partition,
    keyBytes,
    bytes,
    sentAt: Date.now(),
    resolve: () => {},
    reject: () => {},
    settled: Promise.resolve(),
  }
}

function utf8Length(text: string): number {
  // Exact UTF-8 length without allocating the encoded bytes.
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) bytes += 1
    else if (c < 0x800) bytes += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      bytes += 4
      i++
    } else bytes += 3
  }
  return bytes
}
