// The security middleware in front of /v1/ and /metrics: per-IP caps, authentication, the
// principal's caps and request quota, then the access rules. /healthz and /readyz stay open so
// that load balancers and orchestrators need no credential.
import type { Context, Hono, MiddlewareHandler } from 'hono'
import { AuthenticationError, type Authenticator } from '../auth/authenticator.ts'
import { ANONYMOUS_SUPERUSER, type Principal } from '../auth/principal.ts'
import type { SubscribeTokenMinter } from '../auth/subscribe-tokens.ts'
import { EdgelogError } from '../core/errors.ts'
import type { Broker } from '../broker/broker.ts'
import { ThrottledError, type Quotas } from '../quota/quotas.ts'
import { installAccessRules } from './access.ts'
import type { RequestSecurity } from './security-context.ts'

export interface SecurityOptions {
  /** Checks bearer tokens; without it every caller is anonymous and may do everything. */
  authenticator?: Authenticator
  quotas?: Quotas
  /** Mints browser subscribe tokens (POST /v1/tokens/subscribe). */
  minter?: SubscribeTokenMinter
  /** The client's IP address (Bun: server.requestIP), for per-IP caps and anonymous quotas. */
  clientAddress?: (c: Context) => string | undefined
  /** Served over TLS: every answer carries Strict-Transport-Security. */
  hsts?: boolean
}

const noop = () => {}

/**
 * Paths under /v1/ that need no credential: the browser build of the client library, which a
 * page loads with a <script> tag before it has any token to send.
 */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/v1/client.js'])

function requestSecurity(principal: Principal, key: string, quotas: Quotas | undefined, retain: () => () => void): RequestSecurity {
  if (!quotas) return { principal, checkProduceBytes: noop, chargeProduceBytes: noop, acquireLongPoll: () => noop, retain }
  return {
    principal,
    checkProduceBytes: () => quotas.checkProduceBytes(key),
    chargeProduceBytes: (bytes) => quotas.chargeProduceBytes(key, bytes),
    acquireLongPoll: () => quotas.acquireLongPoll(key),
    retain,
  }
}

/** Registered before every route, so health checks and 404s carry the header too. */
export function installTransportHeaders(app: Hono, options: SecurityOptions): void {
  if (!options.hsts) return
  app.use('*', async function hsts(c, next) {
    await next()
    c.res.headers.set('strict-transport-security', 'max-age=31536000')
  })
}

/** The guard and access rules, registered after /healthz and /readyz and before every other route. */
export function installSecurity(app: Hono, options: SecurityOptions): void {
  const { authenticator, quotas } = options
  if (!authenticator && !quotas?.active) return

  const guard: MiddlewareHandler = async function guard(c, next) {
    if (PUBLIC_PATHS.has(c.req.path)) {
      c.set('authorized', true)
      return next()
    }
    const ip = options.clientAddress?.(c) ?? 'unknown'
    const releases: Array<() => void> = []
    let retained = false
    const releaseAll = () => {
      for (const release of releases.splice(0)) release()
    }
    const retain = () => {
      retained = true
      let done = false
      return () => {
        if (done) return
        done = true
        releaseAll()
      }
    }
    try {
      if (quotas) releases.push(quotas.acquireIp(ip))
      let principal = ANONYMOUS_SUPERUSER
      if (authenticator) {
        try {
          principal = await authenticator.authenticate(c.req.raw)
        } catch (err) {
          // Failed attempts count against the address, so guessing tokens is rate limited too.
          if (err instanceof AuthenticationError) quotas?.takeRequest(`ip:${ip}`)
          throw err
        }
      }
      const key = principal.anonymous ? `ip:${ip}` : `p:${principal.id}`
      if (quotas) {
        if (!principal.anonymous) releases.push(quotas.acquirePrincipal(key))
        quotas.takeRequest(key)
      }
      c.set('security', requestSecurity(principal, key, quotas, retain))
      await next()
    } finally {
      if (!retained) releaseAll()
    }
  }
  app.use('/v1/*', guard)
  app.use('/metrics', guard)
  if (authenticator) installAccessRules(app)
}

/**
 * Counts refusals for /metrics, with labels from a fixed set (never from the request). Quota
 * refusals go to the broker's edgelog_throttled_requests_total{reason}, next to the node's own
 * (long polls, partition queues), which the broker counts itself.
 */
export function securityMetrics(broker: Broker) {
  const authFailures = broker.metrics.counter('edgelog_auth_failures_total', 'Requests refused with 401 UNAUTHORIZED, by reason')
  const denied = broker.metrics.counter('edgelog_authorization_failures_total', 'Requests refused with 403, by resource type')
  return (err: unknown) => {
    if (err instanceof AuthenticationError) authFailures.inc({ reason: err.reason })
    else if (err instanceof ThrottledError) broker.countThrottled(err.quota)
    else if (err instanceof EdgelogError) {
      if (err.code === 'TOPIC_AUTHORIZATION_FAILED') denied.inc({ resource: 'topic' })
      else if (err.code === 'GROUP_AUTHORIZATION_FAILED') denied.inc({ resource: 'group' })
      else if (err.code === 'CLUSTER_AUTHORIZATION_FAILED') denied.inc({ resource: 'cluster' })
    }
  }
}
