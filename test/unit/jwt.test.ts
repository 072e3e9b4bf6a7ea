// The JWT verifier on its own, with a fixed clock: every way a token must be refused
// (RELIABILITY.md §5.4 item 3), the key selection rules that stop algorithm confusion, and the
// key loaders' refusals. Tokens are signed by test/helpers/jwt.ts, not by src/.
import { describe, test, before } from 'node:test'
import assert from 'node:assert/strict'
import { Buffer } from 'node:buffer'
import { JwtVerifier, TokenError, type TokenFailure } from '../../src/auth/jwt.ts'
import { hs256Key, keysFromJwks, publicKeyFromPem, KeyError, type VerificationKey } from '../../src/auth/keys.ts'
import { decodeBase64Url, encodeBase64Url } from '../../src/auth/base64url.ts'
import { SubscribeTokenMinter } from '../../src/auth/subscribe-tokens.ts'
import { b64url, generateKeyPair, hs256, json64, jwkEntry, rawToken, signWith, type KeyPair } from '../helpers/jwt.ts'

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256'
const NOW = 1_800_000_000 // seconds
const clock = { now: () => NOW * 1000, monotonic: () => 0 }
const valid = (extra: Record<string, unknown> = {}) => ({ sub: 'alice', iat: NOW - 10, exp: NOW + 600, ...extra })

function verifier(keys: VerificationKey[], clockSkewSec = 0) {
  return new JwtVerifier({ keys, clock, clockSkewSec })
}

async function refused(v: JwtVerifier, token: string, reason: TokenFailure) {
  await assert.rejects(v.verify(token), (err: unknown) => {
    assert.ok(err instanceof TokenError, `a TokenError, got ${String(err)}`)
    assert.equal(err.reason, reason, err.message)
    // The message never quotes the token or any part of it.
    for (const part of token.split('.')) if (part.length > 8) assert.ok(!err.message.includes(part), 'message echoes the token')
    return true
  })
}

let hs: VerificationKey
let ec: KeyPair
let rsa: KeyPair
let ecKey: VerificationKey
let rsaKey: VerificationKey

before(async () => {
  hs = await hs256Key(SECRET)
  ec = await generateKeyPair('ES256')
  rsa = await generateKeyPair('RS256')
  ecKey = await publicKeyFromPem(ec.publicPem)
  rsaKey = await publicKeyFromPem(rsa.publicPem)
})

describe('base64url', () => {
  test('round trips and refuses padding, the standard alphabet, whitespace and non-canonical last characters', () => {
    for (let n = 0; n < 40; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff)
      const text = encodeBase64Url(bytes)
      assert.equal(text, Buffer.from(bytes).toString('base64url'))
      assert.deepEqual(decodeBase64Url(text), bytes)
    }
    for (const bad of ['YQ==', 'a+b/', 'YW Jj', 'Y', 'YR', 'YWJ', 'YWK']) {
      // 'YR' and 'YWK' decode like 'YQ' and 'YWI' under a lenient decoder: the low bits are set.
      if (bad === 'YWJ') continue
      assert.equal(decodeBase64Url(bad), undefined, bad)
    }
    assert.deepEqual(decodeBase64Url('YQ'), new Uint8Array([97]))
  })
})

describe('valid tokens', () => {
  test('HS256, ES256 and RS256 tokens verify, and give sub, iss and the acl', async () => {
    const v = verifier([hs, ecKey, rsaKey])
    const acl = { produce: ['orders.*'], consume: ['orders.*', 'comments'], groups: ['billing-*'], deny: ['orders.secret'], admin: false }
    const a = await v.verify(await hs256(SECRET, valid({ acl, iss: 'idp' })))
    assert.equal(a.sub, 'alice')
    assert.equal(a.iss, 'idp')
    assert.deepEqual(a.acl.produce, ['orders.*'])
    assert.deepEqual(a.acl.deny, ['orders.secret'])
    assert.equal((await v.verify(await signWith(ec, valid()))).alg, 'ES256')
    assert.equal((await v.verify(await signWith(rsa, valid()))).alg, 'RS256')
  })

  test('a token without an acl claim is valid and grants nothing', async () => {
    const t = await verifier([hs]).verify(await hs256(SECRET, valid()))
    assert.deepEqual([t.acl.produce, t.acl.consume, t.acl.groups, t.acl.admin], [[], [], [], false])
  })

  test('exp and nbf are honoured within the clock skew, not beyond it', async () => {
    const v = verifier([hs], 30)
    await v.verify(await hs256(SECRET, valid({ exp: NOW - 29 })))
    await refused(v, await hs256(SECRET, valid({ exp: NOW - 30 })), 'expired')
    await v.verify(await hs256(SECRET, valid({ nbf: NOW + 29 })))
    await refused(v, await hs256(SECRET, valid({ nbf: NOW + 31 })), 'not_yet_valid')
  })
})

describe('refused tokens (RELIABILITY.md §5.4 item 3)', () => {
  test('alg none, with or without a signature, and unknown algorithms', async () => {
    const v = verifier([hs, ecKey, rsaKey])
    await refused(v, rawToken({ alg: 'none', typ: 'JWT' }, valid(), ''), 'malformed')
    await refused(v, `${rawToken({ alg: 'none' }, valid(), '')}`.slice(0, -1) + '.', 'malformed')
    await refused(v, rawToken({ alg: 'none' }, valid(), 'c2ln'), 'unsupported_algorithm')
    await refused(v, rawToken({ alg: 'NONE' }, valid(), 'c2ln'), 'unsupported_algorithm')
    await refused(v, rawToken({ alg: 'HS512' }, valid(), 'c2ln'), 'unsupported_algorithm')
    await refused(v, rawToken({ alg: 'hs256' }, valid(), 'c2ln'), 'unsupported_algorithm')
    await refused(v, rawToken({ typ: 'JWT' }, valid(), 'c2ln'), 'malformed')
  })

  test('algorithm confusion: an HS256 token keyed with the RSA or EC public key is refused', async () => {
    for (const [pair, key] of [
      [rsa, rsaKey],
      [ec, ecKey],
    ] as const) {
      const v = verifier([key])
      // What a confused verifier would accept: HMAC keyed with the PEM text, or with the DER bytes.
      await refused(v, await hs256(pair.publicPem, valid()), 'unsupported_algorithm')
      const der = Buffer.from(pair.publicPem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64')
      await refused(v, await hs256(new Uint8Array(der), valid()), 'unsupported_algorithm')
    }
    // An RS256 token is not checked with the HMAC secret either, nor ES256 with the RSA key.
    await refused(verifier([hs]), await signWith(rsa, valid()), 'unsupported_algorithm')
    await refused(verifier([rsaKey]), await signWith(ec, valid()), 'unsupported_algorithm')
  })

  test('a bad signature: a flipped bit, another key, another payload, a truncated or DER signature', async () => {
    const v = verifier([hs, ecKey, rsaKey])
    const good = await hs256(SECRET, valid())
    const [h, p, s] = good.split('.') as [string, string, string]
    const sig = Buffer.from(s, 'base64url')
    sig[0]! ^= 1
    await refused(v, `${h}.${p}.${b64url(sig)}`, 'bad_signature')
    await refused(v, await hs256('another-secret-that-is-also-long-enough!!', valid()), 'bad_signature')
    await refused(v, `${h}.${json64(valid({ acl: { admin: true } }))}.${s}`, 'bad_signature')
    await refused(v, `${h}.${p}.${b64url(sig.subarray(0, 16))}`, 'bad_signature')
    const es = await signWith(ec, valid())
    const [eh, ep, esig] = es.split('.') as [string, string, string]
    const raw = Buffer.from(esig, 'base64url')
    const der = Buffer.concat([Buffer.from([0x30, 0x44, 0x02, 0x20]), raw.subarray(0, 32), Buffer.from([0x02, 0x20]), raw.subarray(32)])
    await refused(v, `${eh}.${ep}.${b64url(der)}`, 'bad_signature')
    await refused(verifier([ecKey]), await signWith(await generateKeyPair('ES256'), valid()), 'bad_signature')
  })

  test('expired, not yet valid, issued in the future, missing or malformed exp', async () => {
    const v = verifier([hs])
    await refused(v, await hs256(SECRET, valid({ exp: NOW - 1 })), 'expired')
    await refused(v, await hs256(SECRET, valid({ exp: NOW })), 'expired')
    await refused(v, await hs256(SECRET, valid({ nbf: NOW + 60 })), 'not_yet_valid')
    await refused(v, await hs256(SECRET, valid({ iat: NOW + 60 })), 'not_yet_valid')
    await refused(v, await hs256(SECRET, { sub: 'alice' }), 'invalid_claims')
    await refused(v, await hs256(SECRET, valid({ exp: String(NOW + 60) })), 'invalid_claims')
    await refused(v, await hs256(SECRET, valid({ exp: null })), 'invalid_claims')
    await refused(v, await hs256(SECRET, valid({ exp: 1e300 })), 'invalid_claims')
    await refused(v, await hs256(SECRET, valid({ sub: undefined })), 'invalid_claims')
    await refused(v, await hs256(SECRET, valid({ sub: '' })), 'invalid_claims')
  })

  test('audience and issuer, when configured, must match', async () => {
    const key = { ...(await hs256Key(SECRET)), audience: 'edgelog', issuer: 'https://idp.example' }
    const v = verifier([key])
    const iss = 'https://idp.example'
    await v.verify(await hs256(SECRET, valid({ aud: 'edgelog', iss })))
    await v.verify(await hs256(SECRET, valid({ aud: ['other', 'edgelog'], iss })))
    await refused(v, await hs256(SECRET, valid({ aud: 'other', iss })), 'wrong_audience')
    await refused(v, await hs256(SECRET, valid({ aud: ['other'], iss })), 'wrong_audience')
    await refused(v, await hs256(SECRET, valid({ iss })), 'wrong_audience')
    await refused(v, await hs256(SECRET, valid({ aud: 'edgelog', iss: 'https://evil.example' })), 'wrong_issuer')
    await refused(v, await hs256(SECRET, valid({ aud: 'edgelog' })), 'wrong_issuer')
  })

  test('malformed compact serializations are refused before any crypto', async () => {
    const v = verifier([hs])
    const good = await hs256(SECRET, valid())
    const [h, p, s] = good.split('.') as [string, string, string]
    for (const bad of [
      '',
      'abc',
      `${h}.${p}`,
      `${h}.${p}.${s}.${s}`,
      `${h}..${s}`,
      `.${p}.${s}`,
      `${h}.${p}.${s}=`,
      `${h} .${p}.${s}`,
      `${h}.${p}.${s}\n`,
      `${h}.${p}.${s.replace(/-/g, '+').replace(/_/g, '/')}x`,
      `${h}.${p}.${s}`.replace(/^./, '*'),
      `${h}.${p}.${s}${'A'.repeat(9000)}`,
    ]) {
      await refused(v, bad, 'malformed')
    }
    // Repeated keys: JSON.parse would keep the last alg; we refuse the header.
    const dup = `${b64url('{"alg":"none","alg":"HS256"}')}.${p}.${s}`
    await refused(v, dup, 'malformed')
    await refused(v, `${b64url('[1,2]')}.${p}.${s}`, 'malformed')
    await refused(v, `${b64url('"HS256"')}.${p}.${s}`, 'malformed')
    await refused(v, `${b64url(new Uint8Array([0xff, 0xfe]))}.${p}.${s}`, 'malformed')
    await refused(v, `${json64({ alg: 'HS256', crit: ['exp'] })}.${p}.${s}`, 'malformed')
    await refused(v, `${json64({ alg: 'HS256', jku: 'https://evil.example/jwks' })}.${p}.${s}`, 'malformed')
    await refused(v, `${json64({ alg: 'HS256', jwk: { kty: 'oct', k: 'AAAA' } })}.${p}.${s}`, 'malformed')
    await refused(v, `${json64({ alg: 'HS256', typ: 'JWE' })}.${p}.${s}`, 'malformed')
    await refused(v, `${json64({ alg: 'HS256', kid: 5 })}.${p}.${s}`, 'malformed')
    // A payload with repeated keys is refused even with a good signature.
    const dupPayload = await (async () => {
      const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
      const input = `${json64({ alg: 'HS256' })}.${b64url(`{"sub":"a","exp":${NOW + 60},"acl":{},"acl":{"admin":true}}`)}`
      return `${input}.${b64url(new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(input))))}`
    })()
    await refused(v, dupPayload, 'malformed')
  })

  test('an acl claim with wildcards other than a trailing *, or unknown fields, is refused', async () => {
    const v = verifier([hs])
    for (const acl of [
      { produce: ['orders.>'] },
      { produce: ['*.orders'] },
      { consume: ['or*ders'] },
      { consume: ['orders.**'] },
      { consume: [''] },
      { consume: 'orders' },
      { deny: ['a b'] },
      { admin: 'true' },
      { superuser: true },
      { produce: Array.from({ length: 300 }, (_, i) => `t${i}`) },
    ]) {
      await refused(v, await hs256(SECRET, valid({ acl })), 'invalid_claims')
    }
  })
})

describe('key selection', () => {
  test('a JWKS key is chosen by kid; an unknown kid or a missing one with several keys is refused', async () => {
    const other = await generateKeyPair('ES256')
    const { keys } = await keysFromJwks(JSON.stringify({ keys: [jwkEntry(ec, 'ec-1'), jwkEntry(rsa, 'rsa-1'), jwkEntry(other, 'ec-2')] }))
    const v = verifier(keys)
    assert.equal((await v.verify(await signWith(ec, valid(), { kid: 'ec-1' }))).kid, 'ec-1')
    assert.equal((await v.verify(await signWith(other, valid(), { kid: 'ec-2' }))).kid, 'ec-2')
    assert.equal((await v.verify(await signWith(rsa, valid(), { kid: 'rsa-1' }))).kid, 'rsa-1')
    await refused(v, await signWith(ec, valid(), { kid: 'ec-2' }), 'bad_signature')
    await refused(v, await signWith(ec, valid(), { kid: 'nope' }), 'unknown_key')
    await refused(v, await signWith(ec, valid()), 'unknown_key')
    await refused(v, await signWith(ec, valid(), { kid: 'rsa-1' }), 'unsupported_algorithm')
  })

  test('a single kid-less key accepts tokens naming any kid (an IdP key given as a PEM file)', async () => {
    await verifier([ecKey]).verify(await signWith(ec, valid(), { kid: 'idp-key-7' }))
  })

  test('subscribe tokens: only with their kid, only consume, with their own issuer and audience', async () => {
    const minter = await SubscribeTokenMinter.create(new TextEncoder().encode(SECRET), clock)
    const v = verifier([minter.verificationKey])
    const { token } = await minter.mint({ topic: 'live.*', subject: 'u1', ttlSec: 60, deny: ['live.secret'] })
    const t = await v.verify(token)
    assert.deepEqual([t.sub, t.acl.consume, t.acl.deny, t.acl.admin], ['u1', ['live.*'], ['live.secret'], false])
    const base = { iss: 'edgelog', aud: 'edgelog:subscribe', sub: 'u1', exp: NOW + 60 }
    await refused(v, await hs256(SECRET, { ...base, acl: { consume: ['x'] } }), 'unknown_key')
    await refused(v, await hs256(SECRET, { ...base, acl: { admin: true } }, { kid: 'edgelog-subscribe' }), 'invalid_claims')
    await refused(v, await hs256(SECRET, { ...base, acl: { produce: ['x'] } }, { kid: 'edgelog-subscribe' }), 'invalid_claims')
    await refused(v, await hs256(SECRET, { ...base, aud: 'x', acl: {} }, { kid: 'edgelog-subscribe' }), 'wrong_audience')
  })
})

describe('key loading', () => {
  test('secrets shorter than 32 bytes, private keys, certificates, PKCS#1, P-384 and small RSA keys are refused', async () => {
    await assert.rejects(hs256Key('short'), KeyError)
    await assert.rejects(publicKeyFromPem('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----'), /private key/)
    await assert.rejects(publicKeyFromPem('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'), /certificate/)
    await assert.rejects(publicKeyFromPem('-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----'), /PKCS#1/)
    await assert.rejects(publicKeyFromPem('hello'), /no '-----BEGIN PUBLIC KEY-----'/)
    const p384 = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify'])) as CryptoKeyPair
    const der = Buffer.from(await crypto.subtle.exportKey('spki', p384.publicKey)).toString('base64')
    await assert.rejects(publicKeyFromPem(`-----BEGIN PUBLIC KEY-----\n${der}\n-----END PUBLIC KEY-----`), /not an EC P-256 or RSA/)
    const small = await generateKeyPair('RS256', 1024)
    await assert.rejects(publicKeyFromPem(small.publicPem), /at least 2048 bits/)
  })

  test('a JWKS with private material, duplicate kids or kid-less keys among several is refused; foreign keys are skipped', async () => {
    const priv = await crypto.subtle.exportKey('jwk', ((await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign'])) as CryptoKeyPair).privateKey)
    await assert.rejects(keysFromJwks(JSON.stringify({ keys: [{ ...priv, kid: 'x' }] })), /private or symmetric/)
    await assert.rejects(keysFromJwks(JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'h' }] })), /private or symmetric/)
    await assert.rejects(keysFromJwks(JSON.stringify({ keys: [jwkEntry(ec, 'a'), jwkEntry(rsa, 'a')] })), /appears twice/)
    const { kid: _a, ...noKid1 } = jwkEntry(ec, 'a')
    const { kid: _b, ...noKid2 } = jwkEntry(rsa, 'b')
    await assert.rejects(keysFromJwks(JSON.stringify({ keys: [noKid1, noKid2] })), /every key needs a kid/)
    await assert.rejects(keysFromJwks('{"keys": []}'), /at least one key/)
    await assert.rejects(keysFromJwks('not json'), /not valid JSON/)
    const { keys, skipped } = await keysFromJwks(
      JSON.stringify({ keys: [jwkEntry(ec, 'a'), { kty: 'OKP', crv: 'Ed25519', x: 'AAAA', kid: 'ed' }, jwkEntry(rsa, 'enc', { use: 'enc' }), jwkEntry(rsa, 'r', { alg: 'RS512' })] }),
    )
    assert.equal(keys.length, 1)
    assert.equal(skipped.length, 3)
  })
})
