// Reading an answer from another process (a peer broker, etcd) with a size limit: the body is
// counted as it arrives, so a peer that lies about its length, or never stops, cannot make this
// node buffer more than `max` bytes. (Request bodies from clients have their own reader, with a
// deadline as well: src/api/body.ts.)

/** Thrown when an answer is larger than the limit; the stream is cancelled first. */
export class AnswerTooLargeError extends Error {}

export interface ReadBoundedOptions {
  /** Stop after the first chunk holding a newline: etcd's keepalive stream stays open after its answer line. */
  firstLine?: boolean
}

export async function readBounded(res: Response, max: number, what: string, options: ReadBoundedOptions = {}): Promise<Uint8Array> {
  const length = Number(res.headers.get('content-length') ?? NaN)
  if (length > max) {
    await res.body?.cancel()
    throw new AnswerTooLargeError(`${what} of ${length} bytes is over the ${max}-byte limit`)
  }
  if (!res.body) return new Uint8Array()
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > max) {
      await reader.cancel()
      throw new AnswerTooLargeError(`${what} over the ${max}-byte limit`)
    }
    chunks.push(value)
    if (options.firstLine && value.includes(10)) {
      void reader.cancel().catch(() => {})
      break
    }
  }
  const out = new Uint8Array(size)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.byteLength
  }
  return out
}
