// A small, strict JWT verifier (RFC 7519, JWS compact serialization, RFC 7515) on
// crypto.subtle. Strict means: bounded lengths before any decoding, the canonical base64url
// alphabet only, no duplicate JSON keys, an allowlist of algorithms that must match the key,
// the signature checked before the claims are even parsed, `exp` required, and nothing the
// header says about where to find a key (jku, jwk, x5u, x5c) is ever followed.
import type { Clock } from '../core/clock.ts'
import { jsonProblem } from '../api/json-guard.ts'
import { AclSchema, toAcl, type Acl } from './acl.ts'
import { decodeBase64Url } from './base64url.ts'
import { JWS_ALGORITHMS, type JwsAlgorithm, type VerificationKey } from './keys.ts'
import { z } from 'zod'

export const MAX_TOKEN_LENGTH = 8192
const MAX_HEADER_SEGMENT = 1024
const MAX_JSON_DEPTH = 8
export const MAX_CLOCK_SKEW_SEC = 300

/** Why a token was refused; also the `reason` label of edgelog_auth_failures_total. */
export type TokenFailure =
  | 'malformed'
  | 'unsupported_algorithm'
  | 'unknown_key'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'invalid_claims'

export class TokenError extends Error {
  override readonly name = 'TokenError'
  constructor(
    readonly reason: TokenFailure,
    message: string,
  ) {
    super(message)
  }
}

const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
const TYPES = new Set(['jwt', 'at+jwt', 'application/jwt', 'application/at+jwt'])
/** Header members that point at key material or change how the token is processed. */
const REFUSED_HEADER_MEMBERS = ['crit', 'jku', 'jwk', 'x5u', 'x5c', 'b64', 'zip', 'enc']

const NumericDate = z.number().finite().min(0).max(Number.MAX_SAFE_INTEGER)
const ShortString = z.string().min(1).max(512)

export const ClaimsSchema = z.object({
  sub: z.string().min(1).max(256),
  exp: NumericDate,
  nbf: NumericDate.optional(),
  iat: NumericDate.optional(),
  iss: ShortString.optional(),
  aud: z.union([ShortString, z.array(ShortString).min(1).max(32)]).optional(),
  acl: AclSchema.optional(),
})

export interface VerifiedToken {
  alg: JwsAlgorithm
  kid?: string
  key: VerificationKey
  sub: string
  iss?: string
  /** Seconds since the epoch. */
  exp: number
  nbf?: number
  acl: Acl
}

export interface VerifierOptions {
  keys: VerificationKey[]
  clock: Clock
  /** Tolerated difference between our clock and the issuer's, for exp, nbf and iat. */
  clockSkewSec: number
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function decodeJsonSegment(segment: string, what: string): Record<string, unknown> {
  const bytes = decodeBase64Url(segment)
  if (!bytes) throw new TokenError('malformed', `the token ${what} is not base64url`)
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    throw new TokenError('malformed', `the token ${what} is not UTF-8`)
  }
  if (jsonProblem(text, MAX_JSON_DEPTH)) throw new TokenError('malformed', `the token ${what} has repeated keys or nests too deep`)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new TokenError('malformed', `the token ${what} is not JSON`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TokenError('malformed', `the token ${what} is not a JSON object`)
  return value as Record<string, unknown>
}

export class JwtVerifier {
  readonly #keys: VerificationKey[]
  readonly #clock: Clock
  readonly #skew: number

  constructor(options: VerifierOptions) {
    if (options.keys.length === 0) throw new Error('a verifier needs at least one key')
    if (!(options.clockSkewSec >= 0 && options.clockSkewSec <= MAX_CLOCK_SKEW_SEC)) throw new Error('clock skew out of range')
    this.#keys = options.keys
    this.#clock = options.clock
    this.#skew = options.clockSkewSec
  }

  get clockSkewSec(): number {
    return this.#skew
  }

  /** Resolves with the verified token, or rejects with a TokenError saying why not. */
  async verify(token: string): Promise<VerifiedToken> {
    if (token.length > MAX_TOKEN_LENGTH) throw new TokenError('malformed', `the token is longer than ${MAX_TOKEN_LENGTH} characters`)
    if (!COMPACT.test(token)) throw new TokenError('malformed', 'the token is not a signed JWT (header.payload.signature in base64url)')
    const firstDot = token.indexOf('.')
    const secondDot = token.indexOf('.', firstDot + 1)
    const headerSegment = token.slice(0, firstDot)
    if (headerSegment.length > MAX_HEADER_SEGMENT) throw new TokenError('malformed', 'the token header is too long')
    const header = decodeJsonSegment(headerSegment, 'header')
    const key = this.#selectKey(header)

    const signature = decodeBase64Url(token.slice(secondDot + 1))
    if (!signature) throw new TokenError('malformed', 'the token signature is not base64url')
    const signingInput = new TextEncoder().encode(token.slice(0, secondDot))
    if (!(await verifySignature(key, signature, signingInput))) throw new TokenError('bad_signature', 'the token signature does not verify')

    // Only now, with the signature good, is the payload looked at.
    const parsed = ClaimsSchema.safeParse(decodeJsonSegment(token.slice(firstDot + 1, secondDot), 'payload'))
    if (!parsed.success) throw new TokenError('invalid_claims', claimProblem(parsed.error))
    const claims = parsed.data
    const now = this.#clock.now() / 1000
    if (now >= claims.exp + this.#skew) throw new TokenError('expired', 'the token has expired')
    if (claims.nbf !== undefined && claims.nbf > now + this.#skew) throw new TokenError('not_yet_valid', 'the token is not valid yet (nbf)')
    if (claims.iat !== undefined && claims.iat > now + this.#skew) throw new TokenError('not_yet_valid', 'the token was issued in the future (iat)')
    if (key.issuer !== undefined && claims.iss !== key.issuer) throw new TokenError('wrong_issuer', 'the token was not issued by the expected issuer')
    if (key.audience !== undefined) {
      const aud = claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud]
      if (!aud.includes(key.audience)) throw new TokenError('wrong_audience', 'the token is not meant for this audience')
    }
    const acl = toAcl(claims.acl)
    if (key.purpose === 'subscribe' && (acl.admin || acl.metrics || acl.produce.length || acl.groups.length || acl.mint.length)) {
      throw new TokenError('invalid_claims', 'a subscribe token grants nothing but consume')
    }
    return { alg: key.alg, kid: key.kid, key, sub: claims.sub, iss: claims.iss, exp: claims.exp, nbf: claims.nbf, acl }
  }

  #selectKey(header: Record<string, unknown>): VerificationKey {
    const alg = header.alg
    if (typeof alg !== 'string') throw new TokenError('malformed', 'the token header has no alg')
    if (!(JWS_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new TokenError('unsupported_algorithm', 'the token algorithm is not accepted (HS256, ES256 and RS256 are)')
    }
    for (const m of REFUSED_HEADER_MEMBERS) {
      if (m in header) throw new TokenError('malformed', `the token header member '${m}' is not accepted`)
    }
    const typ = header.typ
    if (typ !== undefined && (typeof typ !== 'string' || !TYPES.has(typ.toLowerCase()))) {
      throw new TokenError('malformed', 'the token typ is not JWT')
    }
    const kid = header.kid
    if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > 256)) {
      throw new TokenError('malformed', 'the token kid is not a short string')
    }
    let candidates: VerificationKey[]
    if (kid !== undefined) {
      candidates = this.#keys.filter((k) => k.kid === kid)
      // A kid this node does not know may still be meant for its one kid-less key.
      if (candidates.length === 0) candidates = this.#keys.filter((k) => k.kid === undefined && !k.requireKid)
    } else {
      candidates = this.#keys.filter((k) => !k.requireKid)
    }
    const usable = candidates.filter((k) => k.alg === alg)
    if (usable.length === 0) {
      if (candidates.length > 0) throw new TokenError('unsupported_algorithm', `the token algorithm does not match its key`)
      throw new TokenError('unknown_key', kid === undefined ? 'the token names no key (kid) and one is needed' : 'the token key (kid) is not known')
    }
    if (usable.length > 1) throw new TokenError('unknown_key', 'the token must name its key (kid)')
    return usable[0]!
  }
}

async function verifySignature(key: VerificationKey, signature: Uint8Array, data: Uint8Array): Promise<boolean> {
  switch (key.alg) {
    case 'HS256':
      if (signature.byteLength !== 32) return false
      return crypto.subtle.verify('HMAC', key.key, signature as BufferSource, data as BufferSource)
    case 'ES256':
      // JWS carries r || s, 32 bytes each (RFC 7518 §3.4), the format WebCrypto expects; a
      // DER-encoded signature from a careless signer is refused, not converted.
      if (signature.byteLength !== 64) return false
      return crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key.key, signature as BufferSource, data as BufferSource)
    case 'RS256': {
      const bytes = (key.key.algorithm as RsaHashedKeyAlgorithm).modulusLength / 8
      if (signature.byteLength !== bytes) return false
      return crypto.subtle.verify('RSASSA-PKCS1-v1_5', key.key, signature as BufferSource, data as BufferSource)
    }
  }
}

function claimProblem(err: z.ZodError): string {
  const issue = err.issues[0]
  if (!issue) return 'the token claims are not valid'
  const path = issue.path.map(String).join('.') || 'claims'
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) return `the token has no ${path} claim`
  return `the token claim ${path} is not valid`
}
