// The edge's own credential at its region (`--upstream-token`, `EDGELOG_UPSTREAM_TOKEN` or
// `--upstream-token-file`): a bearer token the region's brokers accept, sent with everything the
// edge does on its own account (shipping, the relay subscriptions, metadata, reads older than the
// relay cache, commit frames). The edge cannot verify it (it does not hold the region's keys), but
// it refuses at startup what no broker would accept (not a compact JWS, no `exp` or `sub`) and it
// knows when the token expires, so an expired credential is reported rather than discovered.
import { decodeBase64Url } from '../auth/base64url.ts'
import { MAX_TOKEN_LENGTH } from '../auth/jwt.ts'

export interface UpstreamCredential {
  /** The compact JWS, sent as `Authorization: Bearer` (and as `?token=` on the WebSocket upgrade). */
  readonly token: string
  /** The `sub` claim (with `iss|` when an issuer is named), as the region will see the edge. */
  readonly subject: string
  /** The `exp` claim, epoch seconds. */
  readonly expiresAt: number
}

/** Reads what an upstream token claims; throws a message that never quotes the token. */
export function parseUpstreamToken(text: string, source: string): UpstreamCredential {
  const token = text.trim()
  const bad = (why: string): never => {
    throw new Error(`${source}: ${why}`)
  }
  if (token === '') bad('the token is empty')
  if (token.length > MAX_TOKEN_LENGTH) bad(`the token is longer than ${MAX_TOKEN_LENGTH} characters`)
  const parts = token.split('.')
  if (parts.length !== 3 || parts.some((p) => p === '')) bad('not a JWT (three base64url parts separated by dots)')
  const json = (part: string, what: string): Record<string, unknown> => {
    const bytes = decodeBase64Url(part)
    if (!bytes) return bad(`the ${what} is not base64url`)
    let value: unknown
    try {
      value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
    } catch {
      return bad(`the ${what} is not JSON`)
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) bad(`the ${what} is not a JSON object`)
    return value as Record<string, unknown>
  }
  const header = json(parts[0]!, 'header')
  const claims = json(parts[1]!, 'payload')
  if (typeof header.alg !== 'string' || !['HS256', 'ES256', 'RS256'].includes(header.alg)) bad('alg must be HS256, ES256 or RS256')
  if (decodeBase64Url(parts[2]!) === undefined) bad('the signature is not base64url')
  if (typeof claims.sub !== 'string' || claims.sub === '') bad('the token has no sub claim')
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) bad('the token has no numeric exp claim')
  const sub = claims.sub as string
  const subject = typeof claims.iss === 'string' ? `${claims.iss}|${sub}` : sub
  return { token, subject, expiresAt: claims.exp as number }
}
