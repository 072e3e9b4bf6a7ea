// gzip for record batches (compression type 1) with the web-standard CompressionStream and
// DecompressionStream, which Bun, Deno, Node, browsers and Workers all provide.
// Inflation is streamed: the input goes in slices, output is counted as it arrives, and the
// stream is cancelled as soon as the total passes the limit. A slice of deflate data inflates at
// most ~1032x, so the limit is overshot by at most one chunk before the refusal.
import { tooLarge } from './bounded-output.ts'
import { CodecError } from './errors.ts'

const INPUT_SLICE = 16 * 1024

export async function gzipCompress(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('gzip'))
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

export async function gzipDecompress(data: Uint8Array, limit: number): Promise<Uint8Array> {
  const ds = new DecompressionStream('gzip')
  const writer = ds.writable.getWriter()
  const reader = ds.readable.getReader()
  let writeError: unknown
  const writing = (async () => {
    for (let at = 0; at < data.length; at += INPUT_SLICE) {
      await writer.write(data.subarray(at, Math.min(data.length, at + INPUT_SLICE)) as Uint8Array<ArrayBuffer>)
    }
    await writer.close()
  })().catch((err) => {
    writeError = err
  })
  const chunks: Uint8Array[] = []
  let total = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      total += value.byteLength
      if (total > limit) {
        await reader.cancel().catch(() => {})
        await writer.abort().catch(() => {})
        throw tooLarge('gzip', limit)
      }
      chunks.push(value)
    }
  } catch (err) {
    if (err instanceof CodecError) throw err
    await writer.abort().catch(() => {})
    throw new CodecError('CORRUPT_MESSAGE', `gzip: ${err instanceof Error ? err.message : 'invalid data'}`)
  }
  await writing
  if (writeError !== undefined) throw new CodecError('CORRUPT_MESSAGE', 'gzip: invalid data')
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(total)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return out
}
