// POST /v1/tokens/subscribe: a backend holding a token with a `mint` grant (or admin) gets a
// short-lived token for a browser that may consume one topic, or the topics of one prefix.
import { Hono } from 'hono'
import { z } from 'zod'
import { PATTERN } from '../auth/acl.ts'
import { MAX_TOKEN_LENGTH } from '../auth/jwt.ts'
import { mayMint } from '../auth/principal.ts'
import { DEFAULT_SUBSCRIBE_TTL_SEC, MAX_SUBSCRIBE_TTL_SEC, type SubscribeTokenMinter } from '../auth/subscribe-tokens.ts'
import { MAX_TOPIC_NAME } from '../broker/names.ts'
import { EdgelogError } from '../core/errors.ts'
import { readJson } from './body.ts'
import type { ApiLimits } from './limits.ts'
import { securityOf } from './security-context.ts'

export const MintSubscribeTokenSchema = z
  .object({
    /** A topic, or a prefix with one trailing `*`. */
    topic: z
      .string()
      .min(1)
      .max(MAX_TOPIC_NAME + 1)
      .regex(PATTERN, 'a topic name, or a prefix ending in *')
      .refine((t) => t !== '.' && t !== '..', 'not a valid topic name'),
    ttlSeconds: z.number().int().min(1).max(MAX_SUBSCRIBE_TTL_SEC).optional(),
    /** The browser user the token is for; defaults to the caller's own subject. */
    subject: z
      .string()
      .min(1)
      .max(256)
      .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
      .optional(),
  })
  .strict()

export function tokenRoutes(minter: SubscribeTokenMinter, limits: ApiLimits) {
  return new Hono().post('/subscribe', async (c) => {
    const body = MintSubscribeTokenSchema.parse(await readJson(c.req.raw, Math.min(limits.maxRequestBytes, 16 * 1024)))
    const principal = securityOf(c).principal
    if (!mayMint(principal, body.topic)) {
      throw new EdgelogError('TOPIC_AUTHORIZATION_FAILED', `not allowed to mint subscribe tokens for '${body.topic}'`)
    }
    const subject = body.subject ?? (principal.subject || 'anonymous')
    const ttlSec = body.ttlSeconds ?? DEFAULT_SUBSCRIBE_TTL_SEC
    const { token, expiresAt } = await minter.mint({ topic: body.topic, subject, ttlSec, deny: principal.acl.deny })
    if (token.length > MAX_TOKEN_LENGTH) {
      throw new EdgelogError('INVALID_REQUEST', 'the caller has too many deny patterns to carry in a subscribe token')
    }
    c.header('cache-control', 'no-store')
    return c.json({ token, tokenType: 'Bearer', topic: body.topic, subject, expiresAt, expiresIn: ttlSec }, 201)
  })
}
