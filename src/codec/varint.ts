// Kafka's primitive encodings: big-endian fixed-width integers and zigzag varints (protobuf
// style, as ByteUtils.writeVarint / writeVarlong in the Java client). Values are JS numbers:
// int64 fields and varlongs are exact only inside ±(2^53 - 1), so anything outside that range
// is refused instead of being rounded into a different offset or timestamp.
//
// The free functions (sizeOf*, write*, getInt64/setInt64) are the hot-path building blocks the
// record batch encoder uses on an exactly-sized buffer; ByteWriter and ByteReader wrap them for
// everything that is not on the hot path and for bounded, checked decoding.

import { CodecError } from './errors.ts'

export const VARINT_BYTES_MAX = 5
export const VARLONG_BYTES_MAX = 10

const TWO_POW_32 = 0x1_0000_0000
const TWO_POW_27 = 0x800_0000

function invalid(message: string): CodecError {
  return new CodecError('INVALID_RECORD', message)
}

function corrupt(message: string): CodecError {
  return new CodecError('CORRUPT_MESSAGE', message)
}

function isInt32(value: number): boolean {
  // (value | 0) === value rejects NaN, fractions and anything outside [-2^31, 2^31).
  return (value | 0) === value
}

function sizeOfUnsigned32(unsigned: number): number {
  if (unsigned < 0x80) return 1
  if (unsigned < 0x4000) return 2
  if (unsigned < 0x20_0000) return 3
  if (unsigned < 0x1000_0000) return 4
  return 5
}

/** Bytes a zigzag varint of `value` (an int32) takes. */
export function sizeOfVarint(value: number): number {
  return sizeOfUnsigned32(((value << 1) ^ (value >> 31)) >>> 0)
}

/** Bytes a zigzag varlong of `value` (a safe integer) takes. */
export function sizeOfVarlong(value: number): number {
  if (isInt32(value)) return sizeOfVarint(value)
  // Beyond int32 the zigzag value (up to 2^54) does not fit 32-bit operators, so count 7-bit
  // groups arithmetically: the first group carries the sign bit plus 6 bits of magnitude.
  const magnitude = value < 0 ? -value - 1 : value
  let rest = Math.floor(magnitude / 64)
  let size = 1
  while (rest > 0) {
    size++
    rest = Math.floor(rest / 128)
  }
  return size
}

/**
 * Writes `value` as a zigzag varint at `position` and returns the position after it. The caller
 * guarantees room for sizeOfVarint(value) bytes.
 */
export function writeVarint(bytes: Uint8Array, position: number, value: number): number {
  if (!isInt32(value)) throw invalid(`varint value ${value} is not a 32-bit integer`)
  let unsigned = ((value << 1) ^ (value >> 31)) >>> 0
  while (unsigned >= 0x80) {
    bytes[position++] = (unsigned & 0x7f) | 0x80
    unsigned >>>= 7
  }
  bytes[position++] = unsigned
  return position
}

/**
 * Writes `value` as a zigzag varlong at `position` and returns the position after it. The caller
 * guarantees room for sizeOfVarlong(value) bytes.
 */
export function writeVarlong(bytes: Uint8Array, position: number, value: number): number {
  if (isInt32(value)) return writeVarint(bytes, position, value)
  if (!Number.isSafeInteger(value)) {
    throw invalid(`varlong value ${value} is outside the safe integer range ±(2^53 - 1)`)
  }
  // zigzag(v) = 2 * magnitude + sign, with magnitude = v for v >= 0 and -v - 1 for v < 0.
  // Computing 2 * magnitude directly could need 54 bits, which a double cannot always hold,
  // so the first group is assembled from magnitude's low 6 bits and the sign.
  const negative = value < 0
  const magnitude = negative ? -value - 1 : value
  let group = (magnitude % 64) * 2 + (negative ? 1 : 0)
  let rest = Math.floor(magnitude / 64)
  while (rest > 0) {
    bytes[position++] = group | 0x80
    group = rest % 128
    rest = Math.floor(rest / 128)
  }
  bytes[position++] = group
  return position
}

/** Reads a big-endian int64 as a number; throws CORRUPT_MESSAGE outside the safe range. */
export function getInt64(view: DataView, position: number): number {
  // hi * 2^32 + lo is exact whenever the true value is safe, and a true value outside the safe
  // range can only round to a value that is still outside it, so one range check suffices.
  const value = view.getInt32(position) * TWO_POW_32 + view.getUint32(position + 4)
  if (value > Number.MAX_SAFE_INTEGER || value < Number.MIN_SAFE_INTEGER) {
    throw corrupt(`int64 at byte ${position} is outside the safe integer range ±(2^53 - 1)`)
  }
  return value
}

/** Writes a safe integer as a big-endian int64; throws INVALID_RECORD for anything else. */
export function setInt64(view: DataView, position: number, value: number): void {
  if (!Number.isSafeInteger(value)) {
    throw invalid(`int64 value ${value} is not an integer inside ±(2^53 - 1)`)
  }
  const hi = Math.floor(value / TWO_POW_32)
  view.setInt32(position, hi)
  view.setUint32(position + 4, value - hi * TWO_POW_32)
}

/** A growable big-endian buffer for building protocol messages off the hot path. */
export class ByteWriter {
  private buffer: Uint8Array
  private view: DataView
  private offset = 0

  constructor(initialCapacity = 256) {
    if (!Number.isInteger(initialCapacity) || initialCapacity < 0) {
      throw new RangeError(`ByteWriter: initial capacity must be a non-negative integer, got ${initialCapacity}`)
    }
    this.buffer = new Uint8Array(Math.max(16, initialCapacity))
    this.view = new DataView(this.buffer.buffer)
  }

  get position(): number {
    return this.offset
  }

  /** The bytes written so far (a view, not a copy). */
  finish(): Uint8Array {
    return this.buffer.subarray(0, this.offset)
  }

  int8(value: number): this {
    checkRange(value, -0x80, 0x7f, 'int8')
    this.reserve(1)
    this.view.setInt8(this.offset, value)
    this.offset += 1
    return this
  }

  int16(value: number): this {
    checkRange(value, -0x8000, 0x7fff, 'int16')
    this.reserve(2)
    this.view.setInt16(this.offset, value)
    this.offset += 2
    return this
  }

  int32(value: number): this {
    checkRange(value, -0x8000_0000, 0x7fff_ffff, 'int32')
    this.reserve(4)
    this.view.setInt32(this.offset, value)
    this.offset += 4
    return this
  }

  uint32(value: number): this {
    checkRange(value, 0, 0xffff_ffff, 'uint32')
    this.reserve(4)
    this.view.setUint32(this.offset, value)
    this.offset += 4
    return this
  }

  int64(value: number): this {
    this.reserve(8)
    setInt64(this.view, this.offset, value)
    this.offset += 8
    return this
  }

  varint(value: number): this {
    this.reserve(VARINT_BYTES_MAX)
    this.offset = writeVarint(this.buffer, this.offset, value)
    return this
  }

  varlong(value: number): this {
    this.reserve(VARLONG_BYTES_MAX)
    this.offset = writeVarlong(this.buffer, this.offset, value)
    return this
  }

  bytes(value: Uint8Array): this {
    this.reserve(value.length)
    this.buffer.set(value, this.offset)
    this.offset += value.length
    return this
  }

  private reserve(length: number): void {
    const needed = this.offset + length
    if (needed <= this.buffer.length) return
    // Doubling keeps appends amortised O(1); the floor of 16 keeps the loop from stalling at 0.
    let capacity = Math.max(16, this.buffer.length * 2)
    while (capacity < needed) capacity *= 2
    const grown = new Uint8Array(capacity)
    grown.set(this.buffer.subarray(0, this.offset))
    this.buffer = grown
    this.view = new DataView(grown.buffer)
  }
}

function checkRange(value: number, min: number, max: number, type: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${type} value ${value} is out of range [${min}, ${max}]`)
  }
}

/**
 * Bounded big-endian reads over bytes[start, end). Every read checks the bound first and throws
 * CodecError('CORRUPT_MESSAGE') instead of reading past it, so a corrupt length can never make a
 * decoder return bytes from a neighbouring batch.
 */
export class ByteReader {
  readonly data: Uint8Array
  readonly end: number
  private readonly view: DataView
  private offset: number

  constructor(data: Uint8Array, start = 0, end: number = data.length) {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > data.length) {
      throw new RangeError(`ByteReader: range [${start}, ${end}) is outside a buffer of ${data.length} bytes`)
    }
    this.data = data
    this.end = end
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength)
    this.offset = start
  }

  get position(): number {
    return this.offset
  }

  get remaining(): number {
    return this.end - this.offset
  }

  int8(): number {
    this.need(1)
    return this.view.getInt8(this.offset++)
  }

  uint8(): number {
    this.need(1)
    return this.data[this.offset++]
  }

  int16(): number {
    this.need(2)
    const value = this.view.getInt16(this.offset)
    this.offset += 2
    return value
  }

  int32(): number {
    this.need(4)
    const value = this.view.getInt32(this.offset)
    this.offset += 4
    return value
  }

  uint32(): number {
    this.need(4)
    const value = this.view.getUint32(this.offset)
    this.offset += 4
    return value
  }

  int64(): number {
    this.need(8)
    const value = getInt64(this.view, this.offset)
    this.offset += 8
    return value
  }

  /** A view of the next `length` bytes. */
  bytes(length: number): Uint8Array {
    if (!Number.isInteger(length) || length < 0) throw corrupt(`invalid byte length ${length} at byte ${this.offset}`)
    this.need(length)
    const start = this.offset
    this.offset += length
    return this.data.subarray(start, this.offset)
  }

  skip(length: number): void {
    if (!Number.isInteger(length) || length < 0) throw corrupt(`invalid skip length ${length} at byte ${this.offset}`)
    this.need(length)
    this.offset += length
  }

  varint(): number {
    const data = this.data
    let offset = this.offset
    let unsigned = 0
    for (let shift = 0; shift < 35; shift += 7) {
      if (offset >= this.end) throw this.truncated(offset, 'varint')
      const byte = data[offset++]
      // The fifth byte holds bits 28..31 only: a continuation bit means more than 5 bytes, any
      // other high bit would overflow 32 bits (the Java client drops those bits silently).
      if (shift === 28 && byte > 0x0f) {
        throw corrupt(byte & 0x80 ? `varint at byte ${this.offset} is longer than ${VARINT_BYTES_MAX} bytes` : `varint at byte ${this.offset} overflows 32 bits`)
      }
      unsigned |= (byte & 0x7f) << shift
      if (byte < 0x80) {
        this.offset = offset
        return (unsigned >>> 1) ^ -(unsigned & 1)
      }
    }
    throw corrupt(`varint at byte ${this.offset} is longer than ${VARINT_BYTES_MAX} bytes`) // unreachable
  }

  varlong(): number {
    const data = this.data
    let offset = this.offset
    // Bits 0..27 are gathered with 32-bit operators, bits 28 and up arithmetically (they can
    // reach bit 69 in a 10-byte encoding, far beyond 32-bit operators).
    let low = 0
    let high = 0
    let scale = 1
    for (let index = 0; index < VARLONG_BYTES_MAX; index++) {
      if (offset >= this.end) throw this.truncated(offset, 'varlong')
      const byte = data[offset++]
      if (index < 4) {
        low |= (byte & 0x7f) << (7 * index)
      } else {
        high += (byte & 0x7f) * scale
        scale *= 128
      }
      if (byte < 0x80) {
        // value = zigzag-decode(high * 2^28 + low), computed without forming the 54+ bit sum.
        const half = high * TWO_POW_27 + (low >>> 1)
        const negative = (low & 1) === 1
        if (half > (negative ? Number.MAX_SAFE_INTEGER - 1 : Number.MAX_SAFE_INTEGER)) {
          throw corrupt(`varlong at byte ${this.offset} is outside the safe integer range ±(2^53 - 1)`)
        }
        this.offset = offset
        return negative ? -half - 1 : half
      }
    }
    throw corrupt(`varlong at byte ${this.offset} is longer than ${VARLONG_BYTES_MAX} bytes`)
  }

  private need(length: number): void {
    if (this.end - this.offset < length) {
      throw corrupt(`truncated: needed ${length} bytes at byte ${this.offset}, ${this.end - this.offset} left`)
    }
  }

  private truncated(at: number, what: string): CodecError {
    return corrupt(`truncated ${what} at byte ${this.offset}: input ends at byte ${at}`)
  }
}
