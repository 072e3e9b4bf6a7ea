// Test-side token signing, written independently of src/auth (Node's Buffer does the base64url),
// so a bug shared by our signer and our verifier cannot hide.
import { Buffer } from 'node:buffer'

export const b64url = (data: string | Uint8Array) => Buffer.from(data).toString('base64url')
export const json64 = (value: unknown) => b64url(JSON.stringify(value))

export const nowSec = () => Math.floor(Date.now() / 1000)

export type Claims = Record<string, unknown>

/** Reasonable claims: sub, an hour of validity, plus whatever is given. */
export function claims(extra: Claims = {}): Claims {
  return { sub: 'alice', iat: nowSec(), exp: nowSec() + 3600, ...extra }
}

export async function hs256(secret: string | Uint8Array, payload: Claims, header: Claims = {}): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    typeof secret === 'string' ? new TextEncoder().encode(secret) : (secret as BufferSource),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  )
  const input = `${json64({ alg: 'HS256', typ: 'JWT', ...header })}.${json64(payload)}`
  const sig = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(input))
  return `${input}.${b64url(new Uint8Array(sig))}`
}

export interface KeyPair {
  alg: 'ES256' | 'RS256'
  privateKey: CryptoKey
  publicPem: string
  publicJwk: JsonWebKey
}

export async function generateKeyPair(alg: 'ES256' | 'RS256', modulusLength = 2048): Promise<KeyPair> {
  const params =
    alg === 'ES256'
      ? { name: 'ECDSA', namedCurve: 'P-256' }
      : { name: 'RSASSA-PKCS1-v1_5', modulusLength, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }
  const pair = (await crypto.subtle.generateKey(params, true, ['sign', 'verify'])) as CryptoKeyPair
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey))
  const body = Buffer.from(spki).toString('base64').replace(/.{64}/g, '$&\n')
  return {
    alg,
    privateKey: pair.privateKey,
    publicPem: `-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----\n`,
    publicJwk: await crypto.subtle.exportKey('jwk', pair.publicKey),
  }
}

export async function signWith(pair: KeyPair, payload: Claims, header: Claims = {}): Promise<string> {
  const input = `${json64({ alg: pair.alg, typ: 'JWT', ...header })}.${json64(payload)}`
  const params = pair.alg === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5' }
  const sig = await crypto.subtle.sign(params, pair.privateKey, new TextEncoder().encode(input))
  return `${input}.${b64url(new Uint8Array(sig))}`
}

/** A token with any header, payload and signature bytes, for the malformed cases. */
export function rawToken(header: unknown, payload: unknown, signature: Uint8Array | string = ''): string {
  return `${json64(header)}.${json64(payload)}.${typeof signature === 'string' ? signature : b64url(signature)}`
}

/** A JWKS entry for a public key: only the public members, plus kid and alg. */
export function jwkEntry(pair: KeyPair, kid: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { kty, crv, x, y, n, e } = pair.publicJwk
  const pub = pair.alg === 'ES256' ? { kty, crv, x, y } : { kty, n, e }
  return { ...pub, kid, alg: pair.alg, use: 'sig', ...extra }
}
