// Cluster mode: a group request goes to the group's coordinator, the leader of the group's
// partition of `__consumer_offsets` (DESIGN decision 8). Any broker accepts it and forwards it
// there unchanged, one hop, as partition requests are forwarded to their leaders: a member
// behind a load balancer, a browser or a shell script never needs to know where its coordinator
// is (the reason for KIP-848's server-side assignment). The coordinator checks the caller's
// credentials itself. A request that was forwarded already is served here, whatever this
// broker thinks: its coordinator answers NOT_COORDINATOR if it is not (any more) the one.
import type { Context, MiddlewareHandler } from 'hono'
import { FORWARDED_HEADER } from '../cluster/forward.ts'
import type { CoordinatorLocation } from '../cluster/node.ts'
import { EdgelogError } from '../core/errors.ts'
import { validateGroupName } from '../broker/names.ts'
import { passOn, type ForwardTarget } from './forward.ts'

export interface GroupRouting {
  coordinatorOf(group: string, create: boolean): Promise<CoordinatorLocation>
  /** Waits (at most `ms`) until this broker's metadata makes it the group's coordinator. */
  awaitCoordinator(group: string, create: boolean, ms: number): Promise<void>
  /** The other live brokers (a group listing asks each for the groups it coordinates). */
  brokers(): { brokers: Array<{ nodeId: number; url: string }> }
}

/** Requests that may create the group (and, in a new cluster, `__consumer_offsets`). */
function creates(c: Context): boolean {
  if (c.req.method !== 'POST') return false
  const path = new URL(c.req.url).pathname
  return /\/members$/.test(path) || /\/offsets(\/reset)?$/.test(path)
}

/** How long a forwarded group request waits for this broker to see itself as the coordinator. */
const FORWARDED_WAIT_MS = 5_000

export function forwardToCoordinator(routing: GroupRouting, target: ForwardTarget): MiddlewareHandler {
  return async (c, next) => {
    const group = c.req.param('group')
    // A bad group id is answered by the route itself, with its clear error.
    if (!validGroup(group)) return next()
    if (c.req.header(FORWARDED_HEADER) !== undefined) {
      await routing.awaitCoordinator(group, creates(c), FORWARDED_WAIT_MS)
      return next()
    }
    const at = await routing.coordinatorOf(group, creates(c))
    if (at.kind === 'local' || at.kind === 'absent') return next()
    if (at.kind === 'unavailable') throw new EdgelogError('COORDINATOR_NOT_AVAILABLE', `the coordinator of group '${group}' is not available: ${at.message}; try again`)
    target.onForward?.('group')
    return passOn(c, at.url, target, `broker ${at.nodeId}, the coordinator of group '${group}',`)
  }
}

/** Most groups one listing returns from all brokers together. */
const MAX_LISTED_GROUPS = 100_000

/**
 * `GET /v1/groups` in a cluster: every broker lists the groups it coordinates, so the asked
 * broker asks the others too (as Kafka's admin client asks every broker) and merges the answers.
 * A broker that does not answer is left out; the listing says which.
 */
export function listGroupsEverywhere(routing: GroupRouting, target: ForwardTarget): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.header(FORWARDED_HEADER) !== undefined) return next()
    await next()
    if (c.res.status !== 200) return
    const local = (await c.res.clone().json()) as { groups: Array<{ group: string }> }
    const others = routing.brokers().brokers.filter((b) => b.nodeId !== target.nodeId)
    const unavailable: number[] = []
    const answers = await Promise.all(
      others.map(async (b) => {
        const headers: Record<string, string> = { [FORWARDED_HEADER]: String(target.nodeId) }
        const auth = c.req.header('authorization')
        if (auth !== undefined) headers.authorization = auth
        try {
          const res = await fetch(`${b.url}/v1/groups`, { headers, signal: AbortSignal.timeout(Math.min(target.timeoutMs, 10_000)) })
          if (!res.ok) throw new Error(String(res.status))
          return ((await res.json()) as { groups: Array<{ group: string }> }).groups
        } catch {
          unavailable.push(b.nodeId)
          return []
        }
      }),
    )
    const byName = new Map<string, { group: string }>()
    for (const g of [...local.groups, ...answers.flat()]) if (typeof g?.group === 'string' && !byName.has(g.group)) byName.set(g.group, g)
    const groups = [...byName.values()].sort((a, b) => (a.group < b.group ? -1 : 1)).slice(0, MAX_LISTED_GROUPS)
    c.res = c.json({ groups, ...(unavailable.length > 0 ? { unavailableBrokers: unavailable.sort((a, b) => a - b) } : {}) })
  }
}

function validGroup(group: string | undefined): group is string {
  try {
    validateGroupName(group)
    return true
  } catch {
    return false
  }
}
