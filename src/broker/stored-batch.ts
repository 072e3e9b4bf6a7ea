// A record batch as the log stores it: compressed on the way in when the topic asks, decoded on
// the way out within the decompression limit. Separate because produce, fetch, offset lookups
// and the fan-out all pass through here, and the compression-bomb guard must be the same for all.
import { compressBatch, decodeBatch, readBatchHeader, type BatchRecord } from '../codec/record-batch.ts'
import { COMPRESSION } from '../codec/compression.ts'
import { CodecError } from '../codec/errors.ts'
import { EdgelogError } from '../core/errors.ts'
import type { AppendRequest } from '../log/partition-log.ts'
import type { ProduceCompression } from './topic-config.ts'

/**
 * The batch as it will be stored: gzipped when asked, unless that would not fit the topic's limit.
 * `onCompressed` counts a batch that is stored compressed.
 */
export function compressedForStore(
  request: AppendRequest,
  codec: ProduceCompression,
  maxBytes: number,
  onCompressed: () => void,
): AppendRequest | Promise<AppendRequest> {
  if (codec === 'none') return request
  return compressBatch(request.batch, COMPRESSION.gzip).then((batch) => {
    // Incompressible records can grow by a few bytes; the uncompressed batch always fits.
    if (batch.byteLength > maxBytes) return request
    onCompressed()
    return { batch, header: readBatchHeader(batch) }
  })
}

/** Decodes a stored batch, compressed or not, refusing one that inflates past `maxDecompressedBytes`. */
export async function decodeStored(data: Uint8Array, maxDecompressedBytes: number, onRefused: () => void): Promise<BatchRecord[]> {
  try {
    return await decodeBatch(data, { maxDecompressedBytes })
  } catch (err) {
    if (err instanceof CodecError && err.code === 'DECOMPRESSED_TOO_LARGE') {
      onRefused()
      throw new EdgelogError('CORRUPT_MESSAGE', `a stored record batch decompresses past the ${maxDecompressedBytes}-byte limit; refused`)
    }
    throw err
  }
}
