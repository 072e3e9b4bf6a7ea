// Permissions carried by a token's `acl` claim:
//   {"produce": ["orders.*"], "consume": ["orders.*", "comments"], "groups": ["billing-*"],
//    "deny": ["orders.secret"], "mint": ["live.*"], "metrics": false, "admin": false}
// A pattern is a literal name, or a prefix followed by one trailing `*` (`*` alone: every
// name). Nothing else is a wildcard: `orders.*` covers `orders.a.b` too (it is a prefix, not
// NATS's one-token `*`), and a requested name is always taken literally, never as a pattern.
// `deny` names topics and overrides every grant; `admin` is Kafka's super user and bypasses all
// of it. Anything the claim does not grant is refused (Kafka's default with no ACL found).
import { z } from 'zod'

/** Longest pattern: a topic name (249) plus the `*`, with room for group ids (255). */
export const MAX_PATTERN_LENGTH = 256
/** Patterns per list: a token is a credential, not a policy database. */
export const MAX_PATTERNS = 256

export const PATTERN = /^[a-zA-Z0-9._-]*\*?$/

const Pattern = z
  .string()
  .min(1)
  .max(MAX_PATTERN_LENGTH)
  .regex(PATTERN, 'a pattern is a name of [a-zA-Z0-9._-] with at most one trailing *')
const Patterns = z.array(Pattern).max(MAX_PATTERNS)

export const AclSchema = z
  .object({
    produce: Patterns.optional(),
    consume: Patterns.optional(),
    groups: Patterns.optional(),
    deny: Patterns.optional(),
    /** Topics (or prefixes) this principal may mint browser subscribe tokens for. */
    mint: Patterns.optional(),
    /** May read GET /metrics (a Prometheus scraper's token). */
    metrics: z.boolean().optional(),
    admin: z.boolean().optional(),
  })
  .strict()

export interface Acl {
  produce: readonly string[]
  consume: readonly string[]
  groups: readonly string[]
  deny: readonly string[]
  mint: readonly string[]
  metrics: boolean
  admin: boolean
}

export const EMPTY_ACL: Acl = Object.freeze({ produce: [], consume: [], groups: [], deny: [], mint: [], metrics: false, admin: false })
export const ADMIN_ACL: Acl = Object.freeze({ ...EMPTY_ACL, admin: true })

export function toAcl(input: z.infer<typeof AclSchema> | undefined): Acl {
  if (!input) return EMPTY_ACL
  return {
    produce: input.produce ?? [],
    consume: input.consume ?? [],
    groups: input.groups ?? [],
    deny: input.deny ?? [],
    mint: input.mint ?? [],
    metrics: input.metrics ?? false,
    admin: input.admin ?? false,
  }
}

/** Does `pattern` cover the literal name `name`? */
export function patternMatches(pattern: string, name: string): boolean {
  if (pattern.endsWith('*')) return name.startsWith(pattern.slice(0, -1))
  return pattern === name
}

export function anyMatches(patterns: readonly string[], name: string): boolean {
  for (const p of patterns) if (patternMatches(p, name)) return true
  return false
}

/**
 * Does `outer` cover everything `inner` can name? A literal covers only itself; a prefix
 * covers literals and prefixes that start with it.
 */
export function patternCovers(outer: string, inner: string): boolean {
  if (!outer.endsWith('*')) return outer === inner
  const prefix = outer.slice(0, -1)
  return inner.startsWith(prefix)
}
