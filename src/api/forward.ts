// Cluster mode: a request for one partition that another broker leads is passed on to it
// unchanged (one hop; the answer comes back as the leader gave it). A request that was
// forwarded already is served here, whatever this broker thinks of leadership.
import type { Context, MiddlewareHandler } from 'hono'
import { FORWARDED_HEADER } from '../cluster/forward.ts'
import { EdgelogError } from '../core/errors.ts'
import { readBodyText } from './body.ts'

export interface ForwardTarget {
  nodeId: number
  leaderUrl(topic: string, partition: number): string | undefined
  /** How long the leader may take (a long poll's waitMs included). */
  timeoutMs: number
  maxRequestBytes: number
  /** Counts each request passed on (the `edgelog_forwarded_requests_total` metric). */
  onForward?: (kind: 'produce' | 'fetch' | 'group' | 'other') => void
}

/**
 * Set on an answer this broker got from the leader on the client's behalf (to this broker's id):
 * a client that routes by metadata learns from it that its metadata is stale.
 */
export const FORWARDED_BY_HEADER = 'x-edgelog-forwarded-by'

export function forwardToLeader(target: ForwardTarget): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.header(FORWARDED_HEADER) !== undefined) return next()
    const partition = Number(c.req.param('partition'))
    const topic = c.req.param('topic')
    if (!topic || !Number.isInteger(partition) || partition < 0) return next()
    const url = target.leaderUrl(topic, partition)
    if (!url) return next()
    target.onForward?.(new URL(c.req.url).pathname.endsWith('/records') ? (c.req.method === 'POST' ? 'produce' : 'fetch') : 'other')
    return passOn(c, url, target, `the leader of ${topic}-${partition}`)
  }
}

/**
 * Sends the request on to `url` unchanged (method, path, query, body, content type and
 * credentials), marked as forwarded, and answers with what it answered.
 */
export async function passOn(c: Context, url: string, target: Pick<ForwardTarget, 'nodeId' | 'timeoutMs' | 'maxRequestBytes'>, who: string): Promise<Response> {
  const incoming = new URL(c.req.url)
  const headers = new Headers()
  for (const name of ['content-type', 'accept', 'authorization']) {
    const v = c.req.header(name)
    if (v !== undefined) headers.set(name, v)
  }
  headers.set(FORWARDED_HEADER, String(target.nodeId))
  const body = c.req.method === 'GET' || c.req.method === 'HEAD' ? undefined : await readBodyText(c.req.raw, target.maxRequestBytes)
  let res: Response
  try {
    res = await fetch(`${url}${incoming.pathname}${incoming.search}`, { method: c.req.method, headers, body, signal: AbortSignal.timeout(target.timeoutMs) })
  } catch (err) {
    throw new EdgelogError('REQUEST_TIMED_OUT', `${who} did not answer: ${(err as Error).message}`)
  }
  const out = new Headers()
  const type = res.headers.get('content-type')
  if (type) out.set('content-type', type)
  out.set(FORWARDED_BY_HEADER, String(target.nodeId))
  return new Response(res.body, { status: res.status, headers: out })
}
