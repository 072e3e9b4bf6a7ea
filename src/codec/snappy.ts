// Snappy decompression for record batches written by Kafka clients (compression type 2).
// Two layouts reach a broker: the Java client's snappy-java stream ("xerial" framing: a 16-byte
// header, then chunks of [int32 BE length][raw snappy block]) and a bare raw snappy block
// (librdkafka, kafkajs-snappy). Kafka's own reader accepts both, so this does too.
// Raw snappy states its uncompressed length up front; it is checked against the limit before
// any output is allocated, and the decoder never writes past it.
import { BoundedOutput, tooLarge } from './bounded-output.ts'
import { CodecError } from './errors.ts'

const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]
const XERIAL_HEADER_SIZE = 16

function corrupt(message: string): CodecError {
  return new CodecError('CORRUPT_MESSAGE', `snappy: ${message}`)
}

function isXerial(data: Uint8Array): boolean {
  if (data.length < XERIAL_HEADER_SIZE) return false
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (data[i] !== XERIAL_MAGIC[i]) return false
  return true
}

export function snappyDecompress(data: Uint8Array, limit: number): Uint8Array {
  if (!isXerial(data)) {
    const stated = rawLength(data, 0, data.length).length
    if (stated > limit) throw tooLarge('snappy', limit)
    const out = new BoundedOutput('snappy', limit, stated)
    decodeRaw(data, 0, data.length, out)
    return out.result()
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  let at = XERIAL_HEADER_SIZE
  const out = new BoundedOutput('snappy', limit, data.length * 4)
  while (at < data.length) {
    if (data.length - at < 4) throw corrupt('truncated chunk length')
    const size = view.getInt32(at)
    at += 4
    if (size < 0 || size > data.length - at) throw corrupt(`chunk of ${size} bytes with ${data.length - at} left`)
    decodeRaw(data, at, at + size, out)
    at += size
  }
  return out.result()
}

function rawLength(data: Uint8Array, start: number, end: number): { length: number; at: number } {
  let length = 0
  let at = start
  for (let shift = 0; ; shift += 7) {
    if (at >= end) throw corrupt('truncated length preamble')
    if (shift > 28) throw corrupt('length preamble longer than 5 bytes')
    const byte = data[at++]!
    length += (byte & 0x7f) * 2 ** shift
    if ((byte & 0x80) === 0) break
  }
  if (length > 0xffff_ffff) throw corrupt('length preamble over 2^32 - 1')
  return { length, at }
}

/** Decodes one raw snappy block from data[start, end) onto the end of `out`. */
function decodeRaw(data: Uint8Array, start: number, end: number, out: BoundedOutput): void {
  const preamble = rawLength(data, start, end)
  if (out.size + preamble.length > out.limit) throw tooLarge('snappy', out.limit)
  const blockStart = out.size
  const blockEnd = blockStart + preamble.length
  out.reserve(preamble.length)
  let at = preamble.at
  while (at < end) {
    const tag = data[at++]!
    const kind = tag & 3
    if (kind === 0) {
      let length = tag >>> 2
      if (length >= 60) {
        const extra = length - 59
        if (end - at < extra) throw corrupt('truncated literal length')
        length = 0
        for (let i = 0; i < extra; i++) length += data[at + i]! * 2 ** (8 * i)
        at += extra
      }
      length += 1
      if (length > end - at) throw corrupt(`literal of ${length} bytes with ${end - at} left`)
      if (out.size + length > blockEnd) throw corrupt('output longer than the stated length')
      out.bytes.set(data.subarray(at, at + length), out.size)
      out.advance(length)
      at += length
      continue
    }
    let length: number
    let distance: number
    if (kind === 1) {
      if (end - at < 1) throw corrupt('truncated copy')
      length = ((tag >>> 2) & 7) + 4
      distance = ((tag >>> 5) << 8) | data[at++]!
    } else if (kind === 2) {
      if (end - at < 2) throw corrupt('truncated copy')
      length = (tag >>> 2) + 1
      distance = data[at]! | (data[at + 1]! << 8)
      at += 2
    } else {
      if (end - at < 4) throw corrupt('truncated copy')
      length = (tag >>> 2) + 1
      distance = (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0
      at += 4
    }
    if (out.size + length > blockEnd) throw corrupt('output longer than the stated length')
    // A copy may not reach into an earlier chunk's output: each raw block stands alone.
    if (distance > out.size - blockStart) throw corrupt(`copy offset ${distance} before the start of the block`)
    out.copyBack(distance, length, corrupt)
  }
  if (out.size !== blockEnd) throw corrupt(`block decoded to ${out.size - blockStart} bytes, stated ${preamble.length}`)
}
