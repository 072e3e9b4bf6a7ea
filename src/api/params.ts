// Path and query parameters: only plain non-negative decimal integers are numbers here.
// "-1", "NaN", "1e3", "1.5", "12abc" and anything past 2^53 - 1 are refused, never coerced.
import { EdgelogError } from '../core/errors.ts'

const DECIMAL = /^(0|[1-9][0-9]{0,15})$/

export function parseNonNegativeInt(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined || raw === '') return undefined
  const n = DECIMAL.test(raw) ? Number(raw) : NaN
  if (!Number.isSafeInteger(n)) throw new EdgelogError('INVALID_REQUEST', `${name} must be a non-negative integer, got '${raw}'`)
  return n
}

export function boundedInt(raw: string | undefined, name: string, fallback: number, min: number, max: number): number {
  const n = parseNonNegativeInt(raw, name) ?? fallback
  if (n < min || n > max) throw new EdgelogError('INVALID_REQUEST', `${name} must be from ${min} to ${max}, got ${n}`)
  return n
}

export function parsePartition(raw: string): number {
  const n = parseNonNegativeInt(raw, 'partition')
  if (n === undefined) throw new EdgelogError('INVALID_REQUEST', 'partition is required')
  return n
}

export function parseOffsetSpec(raw: string | undefined): number | 'earliest' | 'latest' {
  if (raw === undefined || raw === 'earliest') return 'earliest'
  if (raw === 'latest') return 'latest'
  return parseNonNegativeInt(raw, 'offset') ?? 'earliest'
}

export function parseAcks(raw: string | undefined): '0' | '1' | 'all' {
  if (raw === undefined || raw === '1') return '1'
  if (raw === '0' || raw === 'all' || raw === '-1') return raw === '-1' ? 'all' : raw
  throw new EdgelogError('INVALID_REQUEST', `acks must be 0, 1 or all, got '${raw}'`)
}

/** A producer's compression: `none` (default) or `gzip`; snappy, lz4 and zstd are read-only here. */
export function parseCompression(raw: string | undefined): 'none' | 'gzip' | undefined {
  if (raw === undefined || raw === '') return undefined
  if (raw === 'none' || raw === 'gzip') return raw
  if (raw === 'snappy' || raw === 'lz4' || raw === 'zstd') {
    throw new EdgelogError('INVALID_REQUEST', `compression '${raw}' is not written by this node: use gzip or none (${raw} batches from Kafka clients are read)`)
  }
  throw new EdgelogError('INVALID_REQUEST', `compression must be none or gzip, got '${raw}'`)
}
