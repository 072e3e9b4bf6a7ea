// The Origin allowlist for WebSocket upgrades and SSE streams. Browsers attach cookies to
// cross-origin WebSocket handshakes and no CORS preflight guards them (cross-site WebSocket
// hijacking), and Hono's CSRF middleware exempts GET, so this check is ours to make.

export type OriginPolicy =
  | { kind: 'any' }
  /** Default: no Origin (a non-browser client) or an Origin whose host is the request's Host. */
  | { kind: 'same-origin' }
  | { kind: 'list'; origins: ReadonlySet<string> }

/** Parses `--allowed-origins`: unset → same-origin, `*` → any, else a comma list of origins. */
export function parseOriginPolicy(raw: string | undefined): OriginPolicy {
  if (raw === undefined || raw.trim() === '') return { kind: 'same-origin' }
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (items.includes('*')) {
    if (items.length > 1) throw new Error(`--allowed-origins: '*' allows every origin and cannot be combined with others`)
    return { kind: 'any' }
  }
  const origins = new Set<string>()
  for (const item of items) origins.add(normalizeOrigin(item))
  return { kind: 'list', origins }
}

function normalizeOrigin(item: string): string {
  if (item === 'null') return 'null'
  let url: URL
  try {
    url = new URL(item)
  } catch {
    throw new Error(`--allowed-origins: '${item}' is not an origin like https://app.example.com`)
  }
  if (url.pathname !== '/' || url.search || url.hash || url.username || item.endsWith('/')) {
    throw new Error(`--allowed-origins: '${item}' must be scheme://host[:port], with no path`)
  }
  return url.origin
}

/**
 * True when a request with this Origin header may open a live connection. With a list,
 * requests without Origin (curl, servers, native apps: they carry no ambient browser cookies
 * to abuse) are allowed, as in the default policy.
 */
export function originAllowed(policy: OriginPolicy, origin: string | null, host: string | null): boolean {
  if (policy.kind === 'any' || origin === null) return true
  if (policy.kind === 'list') {
    if (origin === 'null') return policy.origins.has('null')
    let normalized: string
    try {
      normalized = new URL(origin).origin
    } catch {
      return false
    }
    return policy.origins.has(normalized)
  }
  // same-origin: the scheme is not compared, because a TLS-terminating proxy in front of the
  // node turns https into http; the host and port are what a foreign page cannot fake.
  if (host === null || origin === 'null') return false
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase()
  } catch {
    return false
  }
}
