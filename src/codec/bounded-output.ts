// A growable output buffer with a hard ceiling, shared by the decompressors. Every write is
// checked against the ceiling before memory is taken, so a compression bomb fails at the bound
// instead of being inflated (RELIABILITY 5.4 item 25, applied to record batches).
import { CodecError } from './errors.ts'

export function tooLarge(codec: string, limit: number): CodecError {
  return new CodecError('DECOMPRESSED_TOO_LARGE', `${codec} record data decompresses to more than the limit of ${limit} bytes; refused`)
}

export class BoundedOutput {
  private buf: Uint8Array
  private length = 0

  constructor(
    private readonly codec: string,
    readonly limit: number,
    sizeHint: number,
  ) {
    this.buf = new Uint8Array(Math.max(64, Math.min(limit, sizeHint)))
  }

  get size(): number {
    return this.length
  }

  /** The backing buffer: bytes [0, size) are the output so far. Valid until the next reserve. */
  get bytes(): Uint8Array {
    return this.buf
  }

  /** Makes room for n more bytes, or throws if that would pass the limit. */
  reserve(n: number): void {
    const need = this.length + n
    if (need > this.limit) throw tooLarge(this.codec, this.limit)
    if (need <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < need) size *= 2
    const grown = new Uint8Array(Math.min(size, this.limit))
    grown.set(this.buf.subarray(0, this.length))
    this.buf = grown
  }

  append(bytes: Uint8Array): void {
    this.reserve(bytes.length)
    this.buf.set(bytes, this.length)
    this.length += bytes.length
  }

  /** Copies `length` bytes from `distance` back; the ranges may overlap (LZ77 run). */
  copyBack(distance: number, length: number, corrupt: (m: string) => Error): void {
    if (distance <= 0 || distance > this.length) throw corrupt(`back reference ${distance} before the start of the output`)
    this.reserve(length)
    const buf = this.buf
    let from = this.length - distance
    let to = this.length
    if (distance >= length) {
      buf.copyWithin(to, from, from + length)
    } else {
      for (const end = to + length; to < end; ) buf[to++] = buf[from++]
    }
    this.length += length
  }

  /** Marks n bytes written directly into `bytes` after reserve(n). */
  advance(n: number): void {
    this.length += n
  }

  result(): Uint8Array {
    return this.buf.subarray(0, this.length)
  }
}
