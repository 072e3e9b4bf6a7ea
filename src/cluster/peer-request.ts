// One JSON request from this broker to another on a broker-to-broker route (`/internal/v1/*`):
// the peer token when the cluster has one, a timeout, a bounded answer, and the other broker's
// own error (NOT_COORDINATOR, OFFSET_OUT_OF_RANGE, ...) passed on unchanged.
import { z } from 'zod'
import { EdgelogError, knownErrorCode } from '../core/errors.ts'
import { AnswerTooLargeError, readBounded } from '../core/read-bounded.ts'

const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) })

export interface PeerRequestOptions {
  peerToken?: string
  timeoutMs: number
  maxAnswerBytes: number
  /** Who is asked, for error messages ("broker http://...", "the leader of t-0"). */
  who: string
  /** Sent along (the forwarding marker). */
  headers?: Record<string, string>
}

/** POSTs `body` as JSON to `url + path`; the parsed answer of a 2xx, else throws the peer's error. */
export async function peerRequest(url: string, path: string, body: unknown, opts: PeerRequestOptions): Promise<unknown> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers }
  if (opts.peerToken) headers.authorization = `Bearer ${opts.peerToken}`
  let res: Response
  try {
    res = await fetch(`${url}${path}`, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(opts.timeoutMs) })
  } catch (err) {
    throw new EdgelogError('REQUEST_TIMED_OUT', `${opts.who} did not answer: ${(err as Error).message}`)
  }
  let text: string
  try {
    text = new TextDecoder().decode(await readBounded(res, opts.maxAnswerBytes, `the answer of ${opts.who}`))
  } catch (err) {
    if (err instanceof AnswerTooLargeError) throw new EdgelogError('INTERNAL', `${opts.who} answered too much`)
    throw new EdgelogError('REQUEST_TIMED_OUT', `${opts.who} did not finish its answer: ${(err as Error).message}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new EdgelogError('INTERNAL', `${opts.who} answered ${res.status} with no JSON`)
  }
  if (!res.ok) {
    const e = ErrorBody.safeParse(json)
    if (e.success) throw new EdgelogError(knownErrorCode(e.data.error.code) ?? 'INTERNAL', e.data.error.message)
    throw new EdgelogError('INTERNAL', `${opts.who} answered ${res.status}`)
  }
  return json
}
