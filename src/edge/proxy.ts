// Requests an edge does not answer itself (topic admin, fetch, offsets, groups) go to the
// region unchanged: same method, path, query and body, and the broker's answer comes back as
// it is, so a client sees exactly what a broker would say. Bodies are read with the same byte
// limit as everywhere else; nothing is buffered beyond it.
import { readBodyText } from '../api/body.ts'
import { errorBody } from '../api/errors.ts'
import type { Upstream } from './upstream.ts'

/** Request headers that mean something to a broker; everything else stays at the edge. */
const FORWARDED_REQUEST = ['content-type', 'accept', 'authorization', 'if-none-match']
/** Answer headers passed back. */
const FORWARDED_RESPONSE = ['content-type', 'retry-after', 'etag', 'cache-control']

export interface ProxyOptions {
  maxRequestBytes: number
  /** Added to the upstream timeout (a long-poll fetch waits up to waitMs). */
  extraWaitMs?: number
}

export async function proxyToUpstream(upstream: Upstream, req: Request, options: ProxyOptions): Promise<Response> {
  const url = new URL(req.url)
  const headers: Record<string, string> = {}
  for (const name of FORWARDED_REQUEST) {
    const v = req.headers.get(name)
    if (v !== null) headers[name] = v
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
  const body = hasBody ? await readBodyText(req, options.maxRequestBytes) : undefined
  const target = upstream.url
  const timeoutMs = upstream.options.timeoutMs + (options.extraWaitMs ?? 0)
  let res: Response
  try {
    res = await upstream.fetch(`${target}${url.pathname}${url.search}`, {
      method: req.method,
      headers,
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.any([req.signal, AbortSignal.timeout(timeoutMs)]),
    })
  } catch (err) {
    upstream.noteContact(target, false, String((err as Error)?.message ?? err))
    upstream.moveOnFrom(target)
    const timedOut = (err as Error)?.name === 'TimeoutError'
    return Response.json(
      errorBody(
        timedOut ? 'REQUEST_TIMED_OUT' : 'NETWORK_EXCEPTION',
        timedOut ? `upstream ${target} did not answer within ${timeoutMs} ms` : `upstream ${target} cannot be reached from this edge`,
      ),
      { status: timedOut ? 408 : 503, headers: timedOut ? {} : { 'retry-after': '1' } },
    )
  }
  upstream.noteContact(target, true)
  if (res.status === 503 && (await peekCode(res.clone())) === 'NOT_LEADER_OR_FOLLOWER') upstream.moveOnFrom(target)
  const out = new Headers()
  for (const name of FORWARDED_RESPONSE) {
    const v = res.headers.get(name)
    if (v !== null) out.set(name, v)
  }
  return new Response(res.body, { status: res.status, headers: out })
}

async function peekCode(res: Response): Promise<string | undefined> {
  try {
    return ((await res.json()) as { error?: { code?: string } }).error?.code
  } catch {
    return undefined
  }
}
