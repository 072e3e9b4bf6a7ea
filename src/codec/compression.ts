// Record batch compression (the low three bits of the batch attributes), as Kafka numbers it.
// gzip is read and written (web-standard CompressionStream / DecompressionStream); snappy, lz4
// and zstd are read, so batches from Kafka clients can be served. Every decompressor is bounded:
// past `limit` bytes of output it stops with CodecError DECOMPRESSED_TOO_LARGE.
import { CodecError } from './errors.ts'
import { gzipCompress, gzipDecompress } from './gzip.ts'
import { lz4Decompress } from './lz4.ts'
import { snappyDecompress } from './snappy.ts'
import { zstdDecompress } from './zstd.ts'

export const COMPRESSION = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const
export type CompressionName = keyof typeof COMPRESSION
export type CompressionType = (typeof COMPRESSION)[CompressionName]

/** Codecs this node can write; the others are read-only. */
export const WRITABLE_COMPRESSION: readonly CompressionName[] = ['none', 'gzip']

export function compressionName(type: number): string {
  const name = (Object.keys(COMPRESSION) as CompressionName[]).find((n) => COMPRESSION[n] === type)
  return name ?? `unknown(${type})`
}

export async function compress(type: CompressionType, data: Uint8Array): Promise<Uint8Array> {
  if (type === COMPRESSION.none) return data
  if (type === COMPRESSION.gzip) return gzipCompress(data)
  throw new CodecError('UNSUPPORTED_COMPRESSION_TYPE', `${compressionName(type)} batches can be read but not written by this node`)
}

export async function decompress(type: number, data: Uint8Array, limit: number): Promise<Uint8Array> {
  switch (type) {
    case COMPRESSION.none:
      if (data.length > limit) throw new CodecError('DECOMPRESSED_TOO_LARGE', `record data of ${data.length} bytes is over the limit of ${limit}`)
      return data
    case COMPRESSION.gzip:
      return gzipDecompress(data, limit)
    case COMPRESSION.snappy:
      return snappyDecompress(data, limit)
    case COMPRESSION.lz4:
      return lz4Decompress(data, limit)
    case COMPRESSION.zstd:
      return zstdDecompress(data, limit)
    default:
      throw new CodecError('UNSUPPORTED_COMPRESSION_TYPE', `record batch compression type ${type} is not one Kafka defines`)
  }
}
