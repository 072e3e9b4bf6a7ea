// LZ4 decompression for record batches written by Kafka clients (compression type 3): the LZ4
// frame format (magic 0x184D2204) that Kafka's KafkaLZ4BlockOutputStream, librdkafka and the
// kafkajs lz4 codecs write, wrapping LZ4 blocks. Output goes into one contiguous buffer, so
// linked blocks (back references into the previous block) decode as well as independent ones.
// Checksums inside the frame are skipped: the batch CRC-32C already covers these bytes.
// Every literal and match is checked against the output limit before it is written.
import { BoundedOutput, tooLarge } from './bounded-output.ts'
import { CodecError } from './errors.ts'

const FRAME_MAGIC = 0x184d2204
const SKIPPABLE_MAGIC_MASK = 0xfffffff0
const SKIPPABLE_MAGIC = 0x184d2a50
const BLOCK_MAX_SIZES: Record<number, number> = { 4: 64 << 10, 5: 256 << 10, 6: 1 << 20, 7: 4 << 20 }
const MIN_MATCH = 4

function corrupt(message: string): CodecError {
  return new CodecError('CORRUPT_MESSAGE', `lz4: ${message}`)
}

function u32(data: Uint8Array, at: number): number {
  return (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0
}

export function lz4Decompress(data: Uint8Array, limit: number): Uint8Array {
  const out = new BoundedOutput('lz4', limit, data.length * 4)
  let at = 0
  if (data.length === 0) throw corrupt('empty input')
  while (at < data.length) {
    if (data.length - at < 4) throw corrupt('truncated frame magic')
    const magic = u32(data, at)
    at += 4
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (data.length - at < 4) throw corrupt('truncated skippable frame')
      const size = u32(data, at)
      at += 4
      if (size > data.length - at) throw corrupt('truncated skippable frame')
      at += size
      continue
    }
    if (magic !== FRAME_MAGIC) throw corrupt(`bad frame magic 0x${magic.toString(16)}`)
    at = decodeFrame(data, at, out)
  }
  return out.result()
}

/** Decodes one frame whose descriptor starts at `at`; returns the position after it. */
function decodeFrame(data: Uint8Array, at: number, out: BoundedOutput): number {
  if (data.length - at < 3) throw corrupt('truncated frame descriptor')
  const flg = data[at++]!
  const bd = data[at++]!
  if (flg >> 6 !== 1) throw corrupt(`unsupported frame version ${flg >> 6}`)
  if ((flg & 0x02) !== 0 || (bd & 0x8f) !== 0) throw corrupt('reserved descriptor bits set')
  const blockChecksum = (flg & 0x10) !== 0
  const contentSizePresent = (flg & 0x08) !== 0
  const contentChecksum = (flg & 0x04) !== 0
  const dictionary = (flg & 0x01) !== 0
  const blockMax = BLOCK_MAX_SIZES[(bd >> 4) & 7]
  if (blockMax === undefined) throw corrupt(`unsupported block maximum size code ${(bd >> 4) & 7}`)
  if (contentSizePresent) {
    if (data.length - at < 8) throw corrupt('truncated content size')
    const size = u32(data, at) + u32(data, at + 4) * 2 ** 32
    // A stated size past the limit is refused before anything is decoded.
    if (out.size + size > out.limit) throw tooLarge('lz4', out.limit)
    at += 8
  }
  if (dictionary) throw corrupt('frames with a preset dictionary are not supported')
  at += 1 // header checksum
  for (;;) {
    if (data.length - at < 4) throw corrupt('truncated block size')
    const word = u32(data, at)
    at += 4
    if (word === 0) break // end mark
    const size = word & 0x7fff_ffff
    if (size > data.length - at) throw corrupt(`block of ${size} bytes with ${data.length - at} left`)
    if (size > blockMax) throw corrupt(`block of ${size} bytes over the frame's ${blockMax}`)
    if ((word & 0x8000_0000) !== 0) {
      out.append(data.subarray(at, at + size))
    } else {
      decodeBlock(data, at, at + size, out, blockMax)
    }
    at += size
    if (blockChecksum) at += 4
  }
  if (contentChecksum) at += 4
  if (at > data.length) throw corrupt('truncated checksum')
  return at
}

function decodeBlock(data: Uint8Array, start: number, end: number, out: BoundedOutput, blockMax: number): void {
  const blockStart = out.size
  let at = start
  for (;;) {
    if (at >= end) throw corrupt('truncated sequence')
    const token = data[at++]!
    let literals = token >>> 4
    if (literals === 15) {
      for (;;) {
        if (at >= end) throw corrupt('truncated literal length')
        const b = data[at++]!
        literals += b
        if (b !== 255) break
      }
    }
    if (literals > end - at) throw corrupt(`literal run of ${literals} bytes with ${end - at} left`)
    if (out.size - blockStart + literals > blockMax) throw corrupt('block decodes past its maximum size')
    out.append(data.subarray(at, at + literals))
    at += literals
    if (at === end) return // the last sequence has literals only
    if (end - at < 2) throw corrupt('truncated match offset')
    const distance = data[at]! | (data[at + 1]! << 8)
    at += 2
    let length = token & 15
    if (length === 15) {
      for (;;) {
        if (at >= end) throw corrupt('truncated match length')
        const b = data[at++]!
        length += b
        if (b !== 255) break
      }
    }
    length += MIN_MATCH
    if (out.size - blockStart + length > blockMax) throw corrupt('block decodes past its maximum size')
    out.copyBack(distance, length, corrupt)
  }
}
