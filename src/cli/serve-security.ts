// Builds the node's authentication, subscribe-token minting and quotas from `edgelog serve`
// flags. Runtime-agnostic: the entry point reads the key files and supplies random bytes.
import { AclSchema, toAcl, type Acl } from '../auth/acl.ts'
import { Authenticator } from '../auth/authenticator.ts'
import { JwtVerifier } from '../auth/jwt.ts'
import { hs256Key, keysFromJwks, publicKeyFromPem, type VerificationKey } from '../auth/keys.ts'
import { SubscribeTokenMinter } from '../auth/subscribe-tokens.ts'
import type { SecurityOptions } from '../api/security.ts'
import type { Runtime } from '../core/clock.ts'
import { Quotas } from '../quota/quotas.ts'
import type { ServeOptions } from './serve-options.ts'

export interface SecuritySetup {
  security: Omit<SecurityOptions, 'clientAddress'>
  /** Lines for the startup log: what is checked, what was skipped. Never a secret. */
  notes: string[]
}

export async function buildSecurity(
  options: ServeOptions,
  io: { readText(path: string): Promise<string>; randomBytes(n: number): Uint8Array },
  runtime: Runtime,
): Promise<SecuritySetup> {
  const notes: string[] = []
  const keys: VerificationKey[] = []
  if (options['jwt-secret'] !== undefined) keys.push(await hs256Key(options['jwt-secret']))
  if (options['jwt-public-key'] !== undefined) {
    keys.push(await publicKeyFromPem(await io.readText(options['jwt-public-key'])))
  }
  if (options.jwks !== undefined) {
    const { keys: found, skipped } = await keysFromJwks(await io.readText(options.jwks))
    keys.push(...found)
    for (const s of skipped) notes.push(`--jwks: skipped ${s}`)
  }
  for (const k of keys) {
    if (options['jwt-issuer'] !== undefined) k.issuer = options['jwt-issuer']
    if (options['jwt-audience'] !== undefined) k.audience = options['jwt-audience']
  }

  const quotas = new Quotas(
    {
      produceBytesPerSec: options['quota-produce-bytes-per-sec'],
      requestsPerSec: options['quota-requests-per-sec'],
      maxConnectionsPerIp: options['max-connections-per-ip'],
      maxConnectionsPerPrincipal: options['max-connections-per-principal'],
      maxLongPollsPerPrincipal: options['max-long-polls-per-principal'],
    },
    runtime.clock,
  )
  const security: SecuritySetup['security'] = { quotas: quotas.active ? quotas : undefined, hsts: options['tls-cert'] !== undefined }
  if (quotas.active) notes.push('quotas: on')
  if (keys.length === 0) return { security, notes }

  // Subscribe tokens are signed with their own secret; without one, a random one that lives as
  // long as this process (its tokens die with it, and other nodes do not accept them).
  const mintSecret =
    options['subscribe-token-secret'] !== undefined ? new TextEncoder().encode(options['subscribe-token-secret']) : io.randomBytes(32)
  const minter = await SubscribeTokenMinter.create(mintSecret, runtime.clock)
  const verifier = new JwtVerifier({ keys: [...keys, minter.verificationKey], clock: runtime.clock, clockSkewSec: options['jwt-clock-skew-sec'] })
  let anonymousAcl: Acl | undefined
  if (options['allow-anonymous']) anonymousAcl = options['anonymous-acl'] === undefined ? toAcl({ admin: true }) : parseAnonymousAcl(options['anonymous-acl'])
  security.authenticator = new Authenticator({ verifier, clock: runtime.clock, anonymousAcl })
  security.minter = minter
  notes.push(
    `authentication: bearer tokens (${keys.map((k) => `${k.alg} from ${k.source}`).join(', ')}); ` +
      (anonymousAcl ? 'anonymous requests allowed' : 'anonymous requests refused'),
  )
  return { security, notes }
}

function parseAnonymousAcl(text: string): Acl {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new Error('--anonymous-acl: not valid JSON')
  }
  const parsed = AclSchema.safeParse(json)
  if (!parsed.success) throw new Error(`--anonymous-acl: ${parsed.error.issues[0]?.message ?? 'not a valid acl'}`)
  return toAcl(parsed.data)
}
