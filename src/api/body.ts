// Request bodies are read with a byte limit that does not trust Content-Length: the stream is
// counted as it arrives, so a lying or missing length still cannot make us buffer more. They are
// also read against a deadline that grows with the bytes received (Apache's mod_reqtimeout
// model): a body trickled a byte at a time (slowloris) is cut off, a big upload at a sane rate
// is not. Runtimes reset their idle timeout on every byte, so they do not catch this.
import type { Clock, Timers } from '../core/clock.ts'
import { EdgelogError } from '../core/errors.ts'
import { jsonProblem } from './json-guard.ts'

export interface BodyTiming {
  clock: Clock
  timers: Timers
  /** Time allowed for a body, from when its request reached the app. */
  timeoutMs: number
  /** Every this many bytes received extends the deadline by one second. */
  minBytesPerSec: number
}

interface BodyDeadline extends BodyTiming {
  start: number
}

// Set by a middleware for every request (see limitBodyTime), so every route that reads a body
// through readBodyText is covered without passing the timing down to it.
const deadlines = new WeakMap<Request, BodyDeadline>()

export function limitBodyTime(req: Request, timing: BodyTiming): void {
  deadlines.set(req, { ...timing, start: timing.clock.monotonic() })
}

/** The middleware that puts every request with a body under the deadline (broker and edge apps). */
export function bodyDeadline(timing: BodyTiming) {
  return async function bodyDeadline(c: { req: { raw: Request } }, next: () => Promise<void>): Promise<void> {
    if (c.req.raw.body !== null) limitBodyTime(c.req.raw, timing)
    await next()
  }
}

function timedOut(): EdgelogError {
  return new EdgelogError('REQUEST_TIMED_OUT', 'the request body arrived too slowly', { connection: 'close' })
}

type ReadResult = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>["read"]>>

async function readChunk(reader: ReadableStreamDefaultReader<Uint8Array>, deadline: BodyDeadline | undefined, received: number): Promise<ReadResult> {
  if (!deadline) return reader.read()
  const remaining = deadline.start + deadline.timeoutMs + (received * 1000) / deadline.minBytesPerSec - deadline.clock.monotonic()
  if (remaining <= 0) throw timedOut()
  let handle: ReturnType<Timers['setTimeout']> | undefined
  const timer = new Promise<undefined>((resolve) => (handle = deadline.timers.setTimeout(() => resolve(undefined), remaining)))
  const read = reader.read()
  try {
    const r = await Promise.race([read, timer])
    if (r === undefined) {
      read.catch(() => {}) // settles when the stream is cancelled below
      throw timedOut()
    }
    return r
  } finally {
    deadline.timers.clearTimeout(handle!)
  }
}

/** Values may nest this deep; real payloads stay far below it. */
export const MAX_JSON_DEPTH = 64

const decoder = new TextDecoder('utf-8', { fatal: true })

export async function readBodyText(req: Request, maxBytes: number): Promise<string> {
  const declared = req.headers.get('content-length')
  if (declared !== null && Number(declared) > maxBytes) {
    throw new EdgelogError('RECORD_LIST_TOO_LARGE', `the request body is larger than ${maxBytes} bytes`)
  }
  if (!req.body) return ''
  const reader = req.body.getReader()
  const deadline = deadlines.get(req)
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    let chunk: ReadResult
    try {
      chunk = await readChunk(reader, deadline, total)
    } catch (err) {
      if (err instanceof EdgelogError) {
        await reader.cancel().catch(() => {})
        throw err
      }
      // The client went away or the body was malformed on the wire: its problem, not ours.
      throw new EdgelogError('INVALID_REQUEST', 'the request body could not be read')
    }
    const { done, value } = chunk
    if (done) break
    total += value.byteLength
    if (total > maxBytes) {
      await reader.cancel().catch(() => {})
      throw new EdgelogError('RECORD_LIST_TOO_LARGE', `the request body is larger than ${maxBytes} bytes`)
    }
    chunks.push(value)
  }
  const bytes = chunks.length === 1 ? chunks[0]! : concat(chunks, total)
  try {
    return decoder.decode(bytes)
  } catch {
    throw new EdgelogError('INVALID_REQUEST', 'the request body is not valid UTF-8')
  }
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.byteLength
  }
  return out
}

export function parseJsonText(text: string, what = 'the request body'): unknown {
  const problem = jsonProblem(text, MAX_JSON_DEPTH)
  if (problem) throw new EdgelogError('INVALID_REQUEST', `${what} is refused: ${problem}`)
  try {
    return JSON.parse(text)
  } catch {
    throw new EdgelogError('INVALID_REQUEST', `${what} is not valid JSON`)
  }
}

export type BodyKind = 'json' | 'ndjson'

export function bodyKind(req: Request): BodyKind {
  const type = (req.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
  if (type === 'application/json') return 'json'
  if (type === 'application/x-ndjson' || type === 'application/ndjson' || type === 'application/jsonl') return 'ndjson'
  throw new EdgelogError(
    'UNSUPPORTED_MEDIA_TYPE',
    `content-type must be application/json or application/x-ndjson, got '${type || 'none'}'`,
  )
}

export async function readJson(req: Request, maxBytes: number): Promise<unknown> {
  if (bodyKind(req) !== 'json') throw new EdgelogError('UNSUPPORTED_MEDIA_TYPE', 'content-type must be application/json')
  return parseJsonText(await readBodyText(req, maxBytes))
}
