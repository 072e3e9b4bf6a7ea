// Short-lived subscribe tokens for browsers (Centrifugo's subscription tokens, as plain JWTs):
// a backend that holds a real token asks the node for one, the browser passes it as the `token`
// query parameter, and it grants nothing but consume on one topic or prefix until it expires.
// They are HS256 under a key only this node (or nodes given the same --subscribe-token-secret)
// holds, named by their own kid, issuer and audience so they cannot pass for any other token.
import type { Clock } from '../core/clock.ts'
import { encodeBase64Url } from './base64url.ts'
import { hmacKey, type VerificationKey } from './keys.ts'

export const SUBSCRIBE_TOKEN_KID = 'edgelog-subscribe'
export const SUBSCRIBE_TOKEN_ISSUER = 'edgelog'
export const SUBSCRIBE_TOKEN_AUDIENCE = 'edgelog:subscribe'
export const DEFAULT_SUBSCRIBE_TTL_SEC = 300
export const MAX_SUBSCRIBE_TTL_SEC = 3600

export interface MintRequest {
  /** A topic name, or a prefix with a trailing `*`. */
  topic: string
  /** The browser user the token is for (`sub`). */
  subject: string
  ttlSec: number
  /** The minter's deny patterns: a token never reaches further than its minter. */
  deny: readonly string[]
}

export class SubscribeTokenMinter {
  private constructor(
    private readonly signingKey: CryptoKey,
    private readonly clock: Clock,
    readonly verificationKey: VerificationKey,
  ) {}

  static async create(secret: Uint8Array, clock: Clock, source = '--subscribe-token-secret'): Promise<SubscribeTokenMinter> {
    const signing = await hmacKey(secret, source, ['sign'])
    const verifying = await hmacKey(secret, source, ['verify'])
    return new SubscribeTokenMinter(signing, clock, {
      alg: 'HS256',
      key: verifying,
      kid: SUBSCRIBE_TOKEN_KID,
      requireKid: true,
      source,
      purpose: 'subscribe',
      issuer: SUBSCRIBE_TOKEN_ISSUER,
      audience: SUBSCRIBE_TOKEN_AUDIENCE,
    })
  }

  async mint(req: MintRequest): Promise<{ token: string; expiresAt: number }> {
    const iat = Math.floor(this.clock.now() / 1000)
    const exp = iat + req.ttlSec
    const acl: Record<string, string[]> = { consume: [req.topic] }
    if (req.deny.length > 0) acl.deny = [...req.deny]
    const enc = new TextEncoder()
    const header = encodeBase64Url(enc.encode(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: SUBSCRIBE_TOKEN_KID })))
    const payload = encodeBase64Url(
      enc.encode(JSON.stringify({ iss: SUBSCRIBE_TOKEN_ISSUER, aud: SUBSCRIBE_TOKEN_AUDIENCE, sub: req.subject, iat, exp, acl })),
    )
    const input = `${header}.${payload}`
    const signature = new Uint8Array(await crypto.subtle.sign('HMAC', this.signingKey, enc.encode(input)))
    return { token: `${input}.${encodeBase64Url(signature)}`, expiresAt: exp * 1000 }
  }
}
