// The console's only way to the node: the public HTTP API on the page's own origin, with the
// bearer token the user pasted (kept in sessionStorage: it dies with the tab). Every failure
// becomes an ApiError carrying the HTTP status and the node's error code, so a view can tell
// "this route does not exist on this node" (404 NOT_FOUND) from "no such group" or "not allowed".

const TOKEN_KEY = 'edgelog.console.token'
/** A request that hangs longer than this is reported, so the poll loop never stalls. */
const REQUEST_TIMEOUT_MS = 10_000

export class ApiError extends Error {
  override readonly name = 'ApiError'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(message)
  }

  /** 404 from the router: the node does not have this endpoint (an older or different build). */
  get missingRoute(): boolean {
    return this.status === 404 && this.code === 'NOT_FOUND'
  }
}

export function getToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? ''
  } catch {
    return ''
  }
}

export function setToken(token: string): void {
  const trimmed = token.trim()
  if (trimmed === '') sessionStorage.removeItem(TOKEN_KEY)
  else sessionStorage.setItem(TOKEN_KEY, trimmed)
}

export function authHeaders(): Record<string, string> {
  const token = getToken()
  return token === '' ? {} : { authorization: `Bearer ${token}` }
}

async function request(method: string, path: string, body?: unknown, accept = 'application/json'): Promise<Response> {
  const headers: Record<string, string> = { accept, ...authHeaders() }
  if (body !== undefined) headers['content-type'] = 'application/json'
  let res: Response
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    })
  } catch (err) {
    const reason = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` : 'the node is unreachable'
    throw new ApiError(0, 'NETWORK_EXCEPTION', reason, method, path)
  }
  if (!res.ok) throw await toError(res, method, path)
  return res
}

async function toError(res: Response, method: string, path: string): Promise<ApiError> {
  let code = `HTTP_${res.status}`
  let message = res.statusText || 'request failed'
  try {
    const parsed = (await res.json()) as { error?: { code?: unknown; message?: unknown } }
    if (typeof parsed.error?.code === 'string') code = parsed.error.code
    if (typeof parsed.error?.message === 'string') message = parsed.error.message
  } catch {
    // Not our JSON error (a proxy's page, say): the status line is all there is.
  }
  return new ApiError(res.status, code, message, method, path)
}

export async function getJson<T>(path: string): Promise<T> {
  return (await (await request('GET', path)).json()) as T
}

export async function sendJson<T>(method: 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  return (await (await request(method, path, body)).json()) as T
}

export async function getText(path: string): Promise<string> {
  return (await request('GET', path, undefined, 'text/plain')).text()
}

export const enc = encodeURIComponent

/** One line for an error banner, with what to do about it. */
export function explain(err: unknown): string {
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : String(err)
  const what = `${err.method} ${err.path}`
  if (err.status === 401) return `${what}: 401 ${err.code}: ${err.message}. The node wants a bearer token: paste one under "Token".`
  if (err.status === 403) {
    return `${what}: 403 ${err.code}: ${err.message}. Your token does not allow this (creating and configuring topics needs admin).`
  }
  if (err.status === 0) return `${what}: ${err.message}.`
  return `${what}: ${err.status} ${err.code}: ${err.message}`
}
