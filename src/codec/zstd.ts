// Zstandard decompression for record batches written by Kafka clients (compression type 4),
// with fzstd (pure JavaScript, MIT, no WebAssembly or native code, so it runs on every runtime).
// fzstd sizes its window from the frame header and would allocate whatever a header claims, so
// every frame header is walked and checked against the limit first; then the stream decoder runs
// block by block (a block is at most 128 KiB, 2 MiB for a run-length block) and is stopped as
// soon as the output passes the limit.
import { Decompress } from 'fzstd'
import { tooLarge } from './bounded-output.ts'
import { CodecError } from './errors.ts'

const ZSTD_MAGIC = 0xfd2fb528
const SKIPPABLE_MASK = 0xfffffff0
const SKIPPABLE_MAGIC = 0x184d2a50

function corrupt(message: string): CodecError {
  return new CodecError('CORRUPT_MESSAGE', `zstd: ${message}`)
}

function u32(data: Uint8Array, at: number): number {
  return (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0
}

function readLE(data: Uint8Array, at: number, n: number): number {
  let v = 0
  for (let i = 0; i < n; i++) v += data[at + i]! * 2 ** (8 * i)
  return v
}

/**
 * Walks the frames without decoding them and refuses any whose window or stated content size
 * passes the limit (the stated sizes, summed, too). Block headers carry their sizes, so this is
 * cheap. Returns nothing; throws CORRUPT_MESSAGE or DECOMPRESSED_TOO_LARGE.
 */
function checkFrames(data: Uint8Array, limit: number): void {
  let at = 0
  let stated = 0
  if (data.length === 0) throw corrupt('empty input')
  while (at < data.length) {
    if (data.length - at < 4) throw corrupt('truncated frame magic')
    const magic = u32(data, at)
    at += 4
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (data.length - at < 4) throw corrupt('truncated skippable frame')
      const size = u32(data, at)
      at += 4 + size
      if (at > data.length) throw corrupt('truncated skippable frame')
      continue
    }
    if (magic !== ZSTD_MAGIC) throw corrupt(`bad frame magic 0x${magic.toString(16)}`)
    if (at >= data.length) throw corrupt('truncated frame header')
    const fhd = data[at++]!
    const fcsFlag = fhd >> 6
    const singleSegment = (fhd >> 5) & 1
    const checksum = (fhd >> 2) & 1
    const dictFlag = fhd & 3
    if (fhd & 0x08) throw corrupt('reserved frame header bit set')
    let window = 0
    if (!singleSegment) {
      if (at >= data.length) throw corrupt('truncated window descriptor')
      const wd = data[at++]!
      const base = 2 ** (10 + (wd >> 3))
      window = base + (base / 8) * (wd & 7)
    }
    const dictBytes = [0, 1, 2, 4][dictFlag]!
    if (dictBytes > 0) throw corrupt('frames with a dictionary are not supported')
    const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag
    if (data.length - at < fcsBytes) throw corrupt('truncated frame content size')
    let contentSize = fcsBytes === 0 ? -1 : readLE(data, at, fcsBytes) + (fcsBytes === 2 ? 256 : 0)
    at += fcsBytes
    if (singleSegment) window = contentSize
    if (contentSize >= 0) {
      stated += contentSize
      if (stated > limit) throw tooLarge('zstd', limit)
    }
    if (window > limit) throw tooLarge('zstd', limit)
    for (;;) {
      if (data.length - at < 3) throw corrupt('truncated block header')
      const header = data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16)
      at += 3
      const last = header & 1
      const type = (header >> 1) & 3
      const size = header >>> 3
      if (type === 3) throw corrupt('reserved block type')
      at += type === 1 ? 1 : size
      if (at > data.length) throw corrupt('truncated block')
      if (last) break
    }
    if (checksum) at += 4
    if (at > data.length) throw corrupt('truncated checksum')
    contentSize = 0
  }
}

export function zstdDecompress(data: Uint8Array, limit: number): Uint8Array {
  checkFrames(data, limit)
  const chunks: Uint8Array[] = []
  let total = 0
  const stream = new Decompress((chunk) => {
    total += chunk.length
    if (total > limit) throw tooLarge('zstd', limit)
    // A block may come as a view of a 128 KiB scratch buffer: keep only its bytes.
    if (chunk.length > 0) chunks.push(chunk.slice())
  })
  try {
    stream.push(data, true)
  } catch (err) {
    if (err instanceof CodecError) throw err
    throw corrupt(err instanceof Error ? err.message : String(err))
  }
  const out = new Uint8Array(total)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return out
}
