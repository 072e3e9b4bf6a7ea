// Turns a request's credential into a Principal. The token comes from `Authorization: Bearer`
// or, for browsers (which cannot set headers on an EventSource or a WebSocket upgrade), from a
// `token` query parameter. A token is never echoed: no message below quotes any part of it.
import type { Clock } from '../core/clock.ts'
import { EdgelogError } from '../core/errors.ts'
import type { Acl } from './acl.ts'
import { TokenError, type JwtVerifier, type TokenFailure } from './jwt.ts'
import { anonymousPrincipal, type Principal } from './principal.ts'

export type AuthFailure = TokenFailure | 'missing'

export const REALM = 'edgelog'

/** A refused credential: 401 with the RFC 6750 challenge, and the reason for the metric. */
export class AuthenticationError extends EdgelogError {
  constructor(
    readonly reason: AuthFailure,
    message: string,
  ) {
    super(
      'UNAUTHORIZED',
      message,
      reason === 'missing'
        ? { 'www-authenticate': `Bearer realm="${REALM}"` }
        : { 'www-authenticate': `Bearer realm="${REALM}", error="invalid_token", error_description="${message}"` },
    )
  }
}

export interface AuthenticatorOptions {
  verifier: JwtVerifier
  clock: Clock
  /** Requests without any credential are served as this ACL; undefined: they get 401. */
  anonymousAcl?: Acl
  /** Verified tokens remembered, so a busy producer does not pay a signature check per request. */
  cacheSize?: number
}

interface Cached {
  principal: Principal
  exp: number
  nbf: number
}

/** Longer tokens are verified every time rather than held in memory. */
const MAX_CACHED_TOKEN_LENGTH = 4096

export class Authenticator {
  readonly #verifier: JwtVerifier
  readonly #clock: Clock
  readonly #anonymous: Principal | undefined
  readonly #cache = new Map<string, Cached>()
  readonly #cacheSize: number

  constructor(options: AuthenticatorOptions) {
    this.#verifier = options.verifier
    this.#clock = options.clock
    this.#anonymous = options.anonymousAcl ? anonymousPrincipal(options.anonymousAcl) : undefined
    this.#cacheSize = options.cacheSize ?? 10_000
  }

  async authenticate(req: Request): Promise<Principal> {
    const token = extractToken(req)
    if (token === undefined) {
      if (this.#anonymous) return this.#anonymous
      throw new AuthenticationError('missing', 'a bearer token is required')
    }
    const hit = this.#cache.get(token)
    if (hit) {
      const now = this.#clock.now() / 1000
      const skew = this.#verifier.clockSkewSec
      if (now < hit.exp + skew && hit.nbf <= now + skew) {
        // Most recently used last: eviction takes the oldest first.
        this.#cache.delete(token)
        this.#cache.set(token, hit)
        return hit.principal
      }
      this.#cache.delete(token)
    }
    let verified
    try {
      verified = await this.#verifier.verify(token)
    } catch (err) {
      if (err instanceof TokenError) throw new AuthenticationError(err.reason, err.message)
      throw err
    }
    const principal: Principal = Object.freeze({
      id: verified.iss === undefined ? verified.sub : `${verified.iss}|${verified.sub}`,
      subject: verified.sub,
      anonymous: false,
      acl: verified.acl,
      expiresAt: verified.exp,
    })
    if (token.length <= MAX_CACHED_TOKEN_LENGTH && this.#cacheSize > 0) {
      if (this.#cache.size >= this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value!)
      this.#cache.set(token, { principal, exp: verified.exp, nbf: verified.nbf ?? 0 })
    }
    return principal
  }
}

const BEARER = /^Bearer +([^\s]+) *$/i

/** The one credential a request carries, or undefined; two or a malformed one are refused. */
export function extractToken(req: Request): string | undefined {
  const header = req.headers.get('authorization')
  const url = req.url
  // Most requests have no query string; parsing the URL only when there is one keeps it cheap.
  const q = url.indexOf('?')
  const fromQuery = q >= 0 && url.includes('token=', q) ? new URL(url).searchParams.getAll('token') : []
  if (fromQuery.length > 1) throw new AuthenticationError('malformed', 'the token query parameter is given more than once')
  if (header !== null && fromQuery.length > 0) {
    throw new AuthenticationError('malformed', 'a token is given both in the Authorization header and the query; send one')
  }
  if (header !== null) {
    const m = BEARER.exec(header)
    if (!m) throw new AuthenticationError('malformed', 'the Authorization header must be "Bearer <token>"')
    return m[1]
  }
  if (fromQuery.length === 1) {
    if (fromQuery[0] === '') throw new AuthenticationError('malformed', 'the token query parameter is empty')
    return fromQuery[0]
  }
  return undefined
}
