// Who is asking, and what they may do. Every check a route makes goes through these
// functions, so the rules (deny overrides, admin bypasses, nothing granted means refused) are
// written once.
import { EdgelogError } from '../core/errors.ts'
import { isInternalTopic } from '../groups/offsets-topic.ts'
import { ADMIN_ACL, anyMatches, patternCovers, type Acl } from './acl.ts'

export interface Principal {
  /**
   * Stable identity: `sub`, qualified by `iss` when the token has one ("iss|sub"). Producer ids
   * are bound to it. Empty for an anonymous caller.
   */
  readonly id: string
  /** The token's `sub` (empty for an anonymous caller). */
  readonly subject: string
  readonly anonymous: boolean
  readonly acl: Acl
  /** Seconds since the epoch after which the credential is no longer valid (tokens only). */
  readonly expiresAt?: number
}

/** A node without authentication: everyone may do everything, as before tokens existed. */
export const ANONYMOUS_SUPERUSER: Principal = Object.freeze({ id: '', subject: '', anonymous: true, acl: ADMIN_ACL })

export function anonymousPrincipal(acl: Acl): Principal {
  return Object.freeze({ id: '', subject: '', anonymous: true, acl })
}

export type TopicOperation = 'produce' | 'consume' | 'describe'

export function isAdmin(p: Principal): boolean {
  return p.acl.admin
}

export function mayAccessTopic(p: Principal, op: TopicOperation, topic: string): boolean {
  const acl = p.acl
  if (acl.admin) return true
  // `__consumer_offsets` holds every group's offsets and members: no pattern reaches it, `*`
  // included; only admins read it (and nobody writes it but the node).
  if (isInternalTopic(topic)) return false
  if (anyMatches(acl.deny, topic)) return false
  if (op === 'produce') return anyMatches(acl.produce, topic)
  if (op === 'consume') return anyMatches(acl.consume, topic)
  // Kafka: Read or Write on a topic implies Describe.
  return anyMatches(acl.produce, topic) || anyMatches(acl.consume, topic)
}

export function mayUseGroup(p: Principal, group: string): boolean {
  return p.acl.admin || anyMatches(p.acl.groups, group)
}

/** May this principal mint a subscribe token for `pattern` (a topic or a `prefix*`)? */
export function mayMint(p: Principal, pattern: string): boolean {
  if (p.acl.admin) return true
  for (const m of p.acl.mint) if (patternCovers(m, pattern)) return true
  return false
}

export function mayReadMetrics(p: Principal): boolean {
  return p.acl.admin || p.acl.metrics
}

/** May this principal obtain idempotent producer ids (it may write somewhere)? */
export function mayProduceAnywhere(p: Principal): boolean {
  return p.acl.admin || p.acl.produce.length > 0
}

/** Names from a request, shortened for a message (they are already JSON-escaped there). */
function quote(name: string): string {
  return `'${name.length > 256 ? `${name.slice(0, 256)}...` : name}'`
}

const VERB: Record<TopicOperation, string> = { produce: 'produce to', consume: 'consume from', describe: 'describe' }

export function requireTopic(p: Principal, op: TopicOperation, topic: string): void {
  if (!mayAccessTopic(p, op, topic)) {
    throw new EdgelogError('TOPIC_AUTHORIZATION_FAILED', `not allowed to ${VERB[op]} topic ${quote(topic)}`)
  }
}

export function requireGroup(p: Principal, group: string): void {
  if (!mayUseGroup(p, group)) throw new EdgelogError('GROUP_AUTHORIZATION_FAILED', `not allowed to use group ${quote(group)}`)
}

export function requireAdmin(p: Principal, what: string): void {
  if (!isAdmin(p)) throw new EdgelogError('CLUSTER_AUTHORIZATION_FAILED', `${what} needs an admin token`)
}
