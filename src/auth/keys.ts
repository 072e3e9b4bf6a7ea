// The keys tokens are checked with. Each key is bound to exactly one algorithm when it is
// loaded (an HMAC secret to HS256, a P-256 key to ES256, an RSA key to RS256), and a token is
// checked only with a key of the algorithm its header names: an HS256 token "signed" with a
// public key finds no HMAC key to be checked with (algorithm confusion), `none` finds nothing.
// Files are read by the runtime's entry point; these functions take their text.

export type JwsAlgorithm = 'HS256' | 'ES256' | 'RS256'
export const JWS_ALGORITHMS: readonly JwsAlgorithm[] = ['HS256', 'ES256', 'RS256']

/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output. */
export const MIN_HMAC_SECRET_BYTES = 32
/** Shorter RSA moduli are breakable or close to it (NIST SP 800-131A). */
export const MIN_RSA_BITS = 2048

export interface VerificationKey {
  alg: JwsAlgorithm
  key: CryptoKey
  kid?: string
  /** Only tokens whose header names this kid are checked with this key. */
  requireKid: boolean
  /** Where the key came from, for startup messages ("--jwt-secret", "--jwks kid=a1"). */
  source: string
  /** What tokens signed by this key may be (browser subscribe tokens are limited). */
  purpose: 'access' | 'subscribe'
  /** Expected `iss` / `aud`, when configured: a token without them is refused. */
  issuer?: string
  audience?: string
}

export class KeyError extends Error {
  override readonly name = 'KeyError'
}

const HMAC = { name: 'HMAC', hash: 'SHA-256' } as const
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' } as const
const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const

export async function hmacKey(secret: Uint8Array, source: string, usages: KeyUsage[] = ['verify']): Promise<CryptoKey> {
  if (secret.byteLength < MIN_HMAC_SECRET_BYTES) {
    throw new KeyError(`${source}: an HS256 secret needs at least ${MIN_HMAC_SECRET_BYTES} bytes, got ${secret.byteLength}`)
  }
  return crypto.subtle.importKey('raw', secret as BufferSource, HMAC, false, usages)
}

export async function hs256Key(secret: string, source = '--jwt-secret'): Promise<VerificationKey> {
  const key = await hmacKey(new TextEncoder().encode(secret), source)
  return { alg: 'HS256', key, requireKid: false, source, purpose: 'access' }
}

/** A `-----BEGIN PUBLIC KEY-----` (SPKI) file holding a P-256 or an RSA key. */
export async function publicKeyFromPem(pem: string, source = '--jwt-public-key'): Promise<VerificationKey> {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new KeyError(`${source}: this is a private key; give the public key (openssl pkey -in KEY -pubout)`)
  }
  if (pem.includes('-----BEGIN RSA PUBLIC KEY-----')) {
    throw new KeyError(`${source}: a PKCS#1 RSA key; convert it to SPKI (openssl rsa -RSAPublicKey_in -in KEY -pubout)`)
  }
  if (pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new KeyError(`${source}: a certificate; give its public key (openssl x509 -in CERT -pubkey -noout)`)
  }
  const m = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----/.exec(pem)
  if (!m) throw new KeyError(`${source}: no '-----BEGIN PUBLIC KEY-----' block found`)
  let der: Uint8Array
  try {
    der = Uint8Array.from(atob(m[1]!.replace(/\s+/g, '')), (ch) => ch.charCodeAt(0))
  } catch {
    throw new KeyError(`${source}: the PEM block is not valid base64`)
  }
  const ec = await crypto.subtle.importKey('spki', der as BufferSource, ECDSA, false, ['verify']).catch(() => undefined)
  if (ec) return { alg: 'ES256', key: ec, requireKid: false, source, purpose: 'access' }
  const rsa = await crypto.subtle.importKey('spki', der as BufferSource, RSA, false, ['verify']).catch(() => undefined)
  if (rsa) return { alg: 'RS256', key: checkRsaSize(rsa, source), requireKid: false, source, purpose: 'access' }
  throw new KeyError(`${source}: not an EC P-256 or RSA public key (ES256 and RS256 are supported)`)
}

function checkRsaSize(key: CryptoKey, source: string): CryptoKey {
  const bits = (key.algorithm as RsaHashedKeyAlgorithm).modulusLength
  if (!(bits >= MIN_RSA_BITS)) throw new KeyError(`${source}: an RSA key needs at least ${MIN_RSA_BITS} bits, got ${bits}`)
  return key
}

/** Members that only a private or symmetric JWK has: a key set that carries them leaks a secret. */
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']
const MAX_JWKS_KEYS = 64

/**
 * A JSON Web Key Set file. EC P-256 keys become ES256, RSA keys RS256; keys for other
 * algorithms or uses are skipped and reported. With more than one key, every key needs a
 * unique `kid` and tokens must name theirs.
 */
export async function keysFromJwks(text: string, source = '--jwks'): Promise<{ keys: VerificationKey[]; skipped: string[] }> {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    throw new KeyError(`${source}: not valid JSON`)
  }
  const list = (doc as { keys?: unknown } | null)?.keys
  if (!Array.isArray(list) || list.length === 0) throw new KeyError(`${source}: expected {"keys": [...]} with at least one key`)
  if (list.length > MAX_JWKS_KEYS) throw new KeyError(`${source}: more than ${MAX_JWKS_KEYS} keys`)
  const keys: VerificationKey[] = []
  const skipped: string[] = []
  const kids = new Set<string>()
  for (const [i, raw] of list.entries()) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new KeyError(`${source}: keys[${i}] is not an object`)
    const jwk = raw as Record<string, unknown>
    const name = typeof jwk.kid === 'string' ? `kid '${jwk.kid}'` : `keys[${i}]`
    if (SECRET_MEMBERS.some((m) => m in jwk)) throw new KeyError(`${source}: ${name} holds private or symmetric key material`)
    if (jwk.kid !== undefined && (typeof jwk.kid !== 'string' || jwk.kid.length === 0 || jwk.kid.length > 256)) {
      throw new KeyError(`${source}: ${name}: kid must be a string of 1 to 256 characters`)
    }
    if (jwk.use !== undefined && jwk.use !== 'sig') {
      skipped.push(`${name}: use '${String(jwk.use)}' is not 'sig'`)
      continue
    }
    if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) {
      skipped.push(`${name}: key_ops does not include 'verify'`)
      continue
    }
    let alg: JwsAlgorithm
    let publicJwk: JsonWebKey
    if (jwk.kty === 'EC' && jwk.crv === 'P-256') {
      alg = 'ES256'
      publicJwk = { kty: 'EC', crv: 'P-256', x: String(jwk.x), y: String(jwk.y) }
    } else if (jwk.kty === 'RSA') {
      alg = 'RS256'
      publicJwk = { kty: 'RSA', n: String(jwk.n), e: String(jwk.e) }
    } else {
      skipped.push(`${name}: kty '${String(jwk.kty)}'${jwk.crv ? ` crv '${String(jwk.crv)}'` : ''} is not supported (EC P-256, RSA)`)
      continue
    }
    if (jwk.alg !== undefined && jwk.alg !== alg) {
      skipped.push(`${name}: alg '${String(jwk.alg)}' is not supported for this key (only ${alg})`)
      continue
    }
    let key: CryptoKey
    try {
      key = await crypto.subtle.importKey('jwk', publicJwk, alg === 'ES256' ? ECDSA : RSA, false, ['verify'])
    } catch {
      throw new KeyError(`${source}: ${name} is not a valid ${jwk.kty} public key`)
    }
    if (alg === 'RS256') checkRsaSize(key, `${source}: ${name}`)
    const kid = jwk.kid as string | undefined
    if (kid !== undefined) {
      if (kids.has(kid)) throw new KeyError(`${source}: kid '${kid}' appears twice`)
      kids.add(kid)
    }
    keys.push({ alg, key, kid, requireKid: false, source: kid ? `${source} kid=${kid}` : source, purpose: 'access' })
  }
  if (keys.length === 0) throw new KeyError(`${source}: no usable key (${skipped.join('; ')})`)
  if (keys.length > 1) {
    for (const k of keys) {
      if (k.kid === undefined) throw new KeyError(`${source}: with several keys, every key needs a kid`)
      k.requireKid = true
    }
  }
  return { keys, skipped }
}
