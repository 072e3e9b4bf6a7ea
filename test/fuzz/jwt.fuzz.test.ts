// Token parsing against random input (issue 8, bad-input suite): whatever arrives as a token or
// an Authorization header, the verifier refuses it with a TokenError or accepts a token that
// really is valid; a valid token changed in any way is never accepted.
import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { AuthenticationError, extractToken } from '../../src/auth/authenticator.ts'
import { JwtVerifier, TokenError } from '../../src/auth/jwt.ts'
import { hs256Key, publicKeyFromPem } from '../../src/auth/keys.ts'
import { b64url, generateKeyPair, hs256, json64 } from '../helpers/jwt.ts'

const SECRET = 'fuzz-secret-that-is-long-enough-for-hs256'
const NOW = 1_800_000_000
let verifier: JwtVerifier
let valid = ''

before(async () => {
  const ec = await generateKeyPair('ES256')
  verifier = new JwtVerifier({
    keys: [await hs256Key(SECRET), await publicKeyFromPem(ec.publicPem)],
    clock: { now: () => NOW * 1000, monotonic: () => 0 },
    clockSkewSec: 30,
  })
  valid = await hs256(SECRET, { sub: 'alice', exp: NOW + 600, acl: { consume: ['x.*'] } })
})

async function refusedOrValid(token: string): Promise<'refused' | 'accepted'> {
  try {
    const t = await verifier.verify(token)
    assert.ok(t.exp + 30 > NOW && t.sub.length > 0)
    return 'accepted'
  } catch (err) {
    if (!(err instanceof TokenError)) throw new Error(`verify threw a non-TokenError: ${String(err)}`, { cause: err })
    return 'refused'
  }
}

const segment = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('')), maxLength: 200 })

describe('JWT fuzz', () => {
  test('random strings and random three-part tokens are refused with a TokenError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.string({ unit: 'binary', maxLength: 100 }),
          fc.tuple(segment, segment, segment).map((p) => p.join('.')),
        ),
        async (token) => assert.equal(await refusedOrValid(token), 'refused'),
      ),
      { numRuns: 2000 },
    )
  })

  test('random JSON headers and payloads with real signatures: accepted only when the claims are valid', async () => {
    const headerArb = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record({ alg: fc.constantFrom('HS256', 'none', 'RS256', 'ES256', 'hs256', ''), typ: fc.option(fc.constantFrom('JWT', 'jwt', 'JWE', ''), { nil: undefined }), kid: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }) }, { requiredKeys: ['alg'] }),
    )
    const payloadArb = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record({
        sub: fc.oneof(fc.string({ maxLength: 5 }), fc.integer()),
        exp: fc.oneof(fc.integer({ min: NOW - 100, max: NOW + 100 }), fc.string(), fc.double()),
        nbf: fc.option(fc.integer({ min: NOW - 100, max: NOW + 100 }), { nil: undefined }),
        acl: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
      }),
    )
    await fc.assert(
      fc.asyncProperty(headerArb, payloadArb, async (header, payload) => {
        const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
        const input = `${json64(header)}.${json64(payload)}`
        const sig = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(input)))
        const verdict = await refusedOrValid(`${input}.${b64url(sig)}`)
        if (verdict === 'accepted') {
          assert.equal((header as { alg?: unknown }).alg, 'HS256')
          const p = payload as { exp?: unknown; sub?: unknown }
          assert.ok(typeof p.exp === 'number' && typeof p.sub === 'string')
        }
      }),
      { numRuns: 1000 },
    )
  })

  test('a valid token with any character changed, removed or added is refused', async () => {
    assert.equal(await refusedOrValid(valid), 'accepted')
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.= +/'.split('')
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.constantFrom(...alphabet), fc.constantFrom('replace', 'delete', 'insert'), async (at, ch, op) => {
        const i = at % valid.length
        const mutated =
          op === 'replace' ? valid.slice(0, i) + ch + valid.slice(i + 1) : op === 'delete' ? valid.slice(0, i) + valid.slice(i + 1) : valid.slice(0, i) + ch + valid.slice(i)
        if (mutated === valid) return
        assert.equal(await refusedOrValid(mutated), 'refused', `accepted a mutated token (${op} at ${i})`)
      }),
      { numRuns: 2000 },
    )
  })

  test('random Authorization headers and token query parameters: a token string, nothing, or an AuthenticationError', () => {
    fc.assert(
      fc.property(
        fc.option(fc.oneof(fc.string({ maxLength: 60 }), fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`), fc.constant('Bearer  a.b.c  ')), { nil: undefined }),
        fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
        (auth, queryTokens) => {
          const headers = new Headers()
          try {
            if (auth !== undefined) headers.set('authorization', auth)
          } catch {
            return // not a legal header value: no client can send it
          }
          const q = queryTokens.map((t) => `token=${encodeURIComponent(t)}`).join('&')
          const req = new Request(`http://x/v1/topics${q ? `?${q}` : ''}`, { headers })
          try {
            const t = extractToken(req)
            // Anything returned goes to the verifier, which refuses what is not a compact JWS.
            if (t !== undefined) assert.ok(t.length > 0)
          } catch (err) {
            assert.ok(err instanceof AuthenticationError, String(err))
            assert.equal(err.status, 401)
          }
        },
      ),
      { numRuns: 3000 },
    )
  })
})
