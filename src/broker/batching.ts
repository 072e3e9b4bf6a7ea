// Splits a partition's records into record batches no larger than max.message.bytes.
import { BATCH_HEADER_SIZE, encodeRecordBatch, readBatchHeader, type NewRecord } from '../codec/record-batch.ts'
import { EdgelogError } from '../core/errors.ts'
import type { AppendRequest } from '../log/partition-log.ts'

/** An upper bound of one record's encoded size: its bytes plus the largest varints. */
export function recordSizeBound(r: NewRecord): number {
  // length(5) attributes(1) timestampDelta(10) offsetDelta(5) keyLength(5) valueLength(5) headerCount(5)
  let size = 36 + (r.key?.byteLength ?? 0) + (r.value?.byteLength ?? 0)
  if (r.headers) for (const h of r.headers) size += 10 + h.key.length * 3 + (h.value?.byteLength ?? 0)
  return size
}

export interface ProducerFields {
  producerId: number
  producerEpoch: number
  baseSequence: number
}

/**
 * Packs records into as few batches as fit under maxBatchBytes. A record that cannot fit in a
 * batch of its own is refused with MESSAGE_TOO_LARGE before anything is encoded.
 */
export function packBatches(records: NewRecord[], maxBatchBytes: number): NewRecord[][] {
  const groups: NewRecord[][] = []
  let current: NewRecord[] = []
  let size = BATCH_HEADER_SIZE
  for (const r of records) {
    const bound = recordSizeBound(r)
    if (BATCH_HEADER_SIZE + bound > maxBatchBytes) {
      throw new EdgelogError(
        'MESSAGE_TOO_LARGE',
        `a record of about ${bound} bytes is larger than max.message.bytes (${maxBatchBytes})`,
      )
    }
    if (current.length > 0 && size + bound > maxBatchBytes) {
      groups.push(current)
      current = []
      size = BATCH_HEADER_SIZE
    }
    current.push(r)
    size += bound
  }
  if (current.length > 0) groups.push(current)
  return groups
}

export function encodeAppend(records: NewRecord[], producer?: ProducerFields): AppendRequest {
  const batch = encodeRecordBatch({ baseOffset: 0, records, ...producer })
  return { batch, header: readBatchHeader(batch) }
}
