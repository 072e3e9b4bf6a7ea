// What authentication and quotas cost: token verification alone (no HTTP), and small produces
// over HTTP with and without a token, with the verified-token cache hit and missed, with quotas.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { JwtVerifier } from '../src/auth/jwt.ts'
import { hs256Key, publicKeyFromPem, type VerificationKey } from '../src/auth/keys.ts'
import { claims, generateKeyPair, hs256, signWith, type KeyPair } from '../test/helpers/jwt.ts'
import { benchServer } from './server.ts'

const SECRET = 'bench-secret-with-at-least-32-bytes-long!'

export interface VerifyRow {
  case: string
  verifications: number
  perSec: number
}

async function signed(alg: 'HS256' | 'ES256' | 'RS256', pair: KeyPair | undefined, n: number, acl: unknown): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const c = claims({ sub: `user-${i}`, acl })
    out.push(alg === 'HS256' ? await hs256(SECRET, c) : await signWith(pair!, c))
  }
  return out
}

export async function benchVerify(alg: 'HS256' | 'ES256' | 'RS256', seconds = 2): Promise<VerifyRow> {
  const pair = alg === 'HS256' ? undefined : await generateKeyPair(alg)
  const key: VerificationKey = alg === 'HS256' ? await hs256Key(SECRET) : await publicKeyFromPem(pair!.publicPem)
  const verifier = new JwtVerifier({ keys: [key], clock: { now: () => Date.now(), monotonic: () => performance.now() }, clockSkewSec: 30 })
  const tokens = await signed(alg, pair, 200, { produce: ['bench'], consume: ['bench'] })
  let n = 0
  const started = performance.now()
  const deadline = started + seconds * 1000
  while (performance.now() < deadline) {
    for (let i = 0; i < 16; i++) await verifier.verify(tokens[(n + i) % tokens.length]!)
    n += 16
  }
  return { case: `verify ${alg} (crypto.subtle, one at a time)`, verifications: n, perSec: n / ((performance.now() - started) / 1000) }
}

export interface AuthHttpRow {
  case: string
  requests: number
  perSec: number
}

type Mode = 'none' | 'hs256' | 'hs256-uncached' | 'es256' | 'es256-uncached' | 'hs256+quotas'

export async function benchAuthHttp(mode: Mode, seconds = 5, inFlight = 16): Promise<AuthHttpRow> {
  let args: string[] = ['--fsync', 'batch']
  let pair: KeyPair | undefined
  if (mode.startsWith('hs256')) args.push('--jwt-secret', SECRET)
  if (mode.startsWith('es256')) {
    pair = await generateKeyPair('ES256')
    const file = join(import.meta.dirname, `.bench-key-${process.pid}.pem`)
    writeFileSync(file, pair.publicPem)
    args.push('--jwt-public-key', file)
  }
  if (mode === 'hs256+quotas') args = [...args, '--quota-requests-per-sec', '1000000', '--quota-produce-bytes-per-sec', '1000000000', '--max-connections-per-principal', '1000', '--max-connections-per-ip', '1000']
  const server = await benchServer(args)
  try {
    const admin = mode === 'none' ? undefined : (await signed(pair ? 'ES256' : 'HS256', pair, 1, { admin: true }))[0]!
    const auth = (t: string | undefined): Record<string, string> => (t ? { authorization: `Bearer ${t}` } : {})
    const r = await fetch(`${server.url}/v1/topics`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth(admin) }, body: '{"name":"bench","partitions":4}' })
    if (r.status !== 201) throw new Error(`create: ${r.status}`)
    // Uncached: more distinct tokens than the node's cache (10,000) holds, used round robin.
    const count = mode === 'none' ? 0 : mode.endsWith('uncached') ? 12_000 : inFlight
    const tokens = count ? await signed(pair ? 'ES256' : 'HS256', pair, count, { produce: ['bench'] }) : []
    const body = JSON.stringify({ records: [{ value: 'x'.repeat(100) }] })
    let requests = 0
    const started = performance.now()
    const deadline = started + seconds * 1000
    await Promise.all(
      Array.from({ length: inFlight }, async (_, w) => {
        for (let i = w; performance.now() < deadline; i += inFlight) {
          const res = await fetch(`${server.url}/v1/topics/bench/records?acks=1`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...auth(tokens.length ? tokens[i % tokens.length] : undefined) },
            body,
          })
          if (res.status !== 200) throw new Error(`produce: ${res.status} ${await res.text()}`)
          await res.arrayBuffer()
          requests++
        }
      }),
    )
    return { case: `1-record produce, ${inFlight} in flight, ${mode}`, requests, perSec: requests / ((performance.now() - started) / 1000) }
  } finally {
    await server.stop()
    if (pair) require('node:fs').rmSync(join(import.meta.dirname, `.bench-key-${process.pid}.pem`), { force: true })
  }
}
