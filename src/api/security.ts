// The security in front of /v1/ and /metrics: per-IP caps, authentication, the principal's
// caps and request quota, then the access rules (src/api/access.ts). /healthz and /readyz stay
// open so that load balancers and orchestrators need no credential. The same admission serves
// the WebSocket upgrades that each runtime performs outside the app (edge/shared/ws.ts).
import type { Context, Hono, MiddlewareHandler } from 'hono'
import { AuthenticationError, type Authenticator } from '../auth/authenticator.ts'
import { ANONYMOUS_SUPERUSER, type Principal } from '../auth/principal.ts'
import type { SubscribeTokenMinter } from '../auth/subscribe-tokens.ts'
import type { ThrottleReason } from '../broker/broker-metrics.ts'
import type { Metrics } from '../core/metrics.ts'
import { EdgelogError } from '../core/errors.ts'
import { ThrottledError, type Quotas } from '../quota/quotas.ts'
import { installAccessRules } from './access.ts'
import { errorBody, toEdgelogError } from './errors.ts'
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

/** A live connection's principal and quota hooks, and the slots it holds until it closes. */
export interface LiveAccess {
  security: RequestSecurity
  release(): void
}

interface Admission {
  security: RequestSecurity
  /** Releases the slots now, unless retain() was called. */
  end(): void
}

const noop = () => {}

/**
 * Paths under /v1/ that need no credential: the browser build of the client library, which a
 * page loads with a <script> tag before it has any token to send.
 */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/v1/client.js'])

/**
 * Where the gate counts its refusals: a broker, or an edge relay (src/edge/), which serves the
 * same API behind the same gate.
 */
export interface GateHost {
  readonly metrics: Metrics
  /** Counts a quota refusal in edgelog_throttled_requests_total{reason}. */
  countThrottled(reason: ThrottleReason): void
}

export class SecurityGate {
  private readonly authFailures
  private readonly denied

  constructor(
    private readonly host: GateHost,
    readonly options: SecurityOptions = {},
  ) {
    this.authFailures = host.metrics.counter('edgelog_auth_failures_total', 'Requests refused with 401 UNAUTHORIZED, by reason')
    this.denied = host.metrics.counter('edgelog_authorization_failures_total', 'Requests refused with 403, by resource type')
  }

  /** Something to check: without authentication and quotas, requests go straight through. */
  get active(): boolean {
    return Boolean(this.options.authenticator || this.options.quotas?.active)
  }

  /** Registered before every route, so health checks and 404s carry HSTS too. */
  installTransportHeaders(app: Hono): void {
    if (!this.options.hsts) return
    app.use('*', async function hsts(c, next) {
      await next()
      c.res.headers.set('strict-transport-security', 'max-age=31536000')
    })
  }

  /** The guard and access rules, registered after /healthz and /readyz and before every other route. */
  install(app: Hono): void {
    if (!this.active) return
    const clientAddress = this.options.clientAddress
    const guard: MiddlewareHandler = async (c, next) => {
      if (PUBLIC_PATHS.has(c.req.path)) {
        c.set('authorized', true)
        return next()
      }
      const admission = await this.admit(c.req.raw, clientAddress?.(c))
      try {
        c.set('security', admission.security)
        await next()
      } finally {
        admission.end()
      }
    }
    app.use('/v1/*', guard)
    app.use('/metrics', guard)
    if (this.options.authenticator) installAccessRules(app)
  }

  /**
   * Admits one request: the address's cap, the credential, the principal's cap and request
   * quota. Throws the refusal (an EdgelogError with its headers). The slots taken are released
   * by end(), or, once security.retain() was called, by the function retain() returned.
   */
  async admit(req: Request, ip: string | undefined): Promise<Admission> {
    const { authenticator, quotas } = this.options
    const address = ip ?? 'unknown'
    const releases: Array<() => void> = []
    let retained = false
    const releaseAll = () => {
      for (const release of releases.splice(0)) release()
    }
    try {
      // Without a known address there is nothing to cap per address.
      if (quotas && ip !== undefined) releases.push(quotas.acquireIp(ip))
      let principal: Principal = ANONYMOUS_SUPERUSER
      if (authenticator) {
        try {
          principal = await authenticator.authenticate(req)
        } catch (err) {
          // Failed attempts count against the address, so guessing tokens is rate limited too.
          if (err instanceof AuthenticationError) quotas?.takeRequest(`ip:${address}`)
          throw err
        }
      }
      const key = principal.anonymous ? `ip:${address}` : `p:${principal.id}`
      if (quotas) {
        if (!principal.anonymous) releases.push(quotas.acquirePrincipal(key))
        quotas.takeRequest(key)
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
      const security: RequestSecurity = quotas
        ? {
            principal,
            checkProduceBytes: () => quotas.checkProduceBytes(key),
            chargeProduceBytes: (bytes) => quotas.chargeProduceBytes(key, bytes),
            acquireLongPoll: () => quotas.acquireLongPoll(key),
            retain,
          }
        : { principal, checkProduceBytes: noop, chargeProduceBytes: noop, acquireLongPoll: () => noop, retain }
      return { security, end: () => void (retained || releaseAll()) }
    } catch (err) {
      releaseAll()
      throw err
    }
  }

  /**
   * For a WebSocket upgrade that a runtime performs outside the app: the same admission as any
   * request, as a refusal to send (counted, with its headers) or the access the socket holds
   * until it closes.
   */
  async admitLive(req: Request, ip: string | undefined): Promise<{ access?: LiveAccess } | { response: Response }> {
    if (!this.active) return {}
    try {
      const admission = await this.admit(req, ip)
      return { access: { security: admission.security, release: admission.security.retain() } }
    } catch (err) {
      this.countRefusal(err)
      const e = toEdgelogError(err)
      const headers: Record<string, string> = { 'content-type': 'application/json', ...e.headers }
      return { response: new Response(JSON.stringify(errorBody(e.code, e.message)), { status: e.status, headers }) }
    }
  }

  /**
   * Counts a refusal for /metrics, with labels from a fixed set (never from the request). Quota
   * refusals go to the broker's edgelog_throttled_requests_total{reason}, next to the node's own
   * (long polls, partition queues), which the broker counts itself.
   */
  countRefusal(err: unknown): void {
    if (err instanceof AuthenticationError) this.authFailures.inc({ reason: err.reason })
    else if (err instanceof ThrottledError) this.host.countThrottled(err.quota)
    else if (err instanceof EdgelogError) {
      if (err.code === 'TOPIC_AUTHORIZATION_FAILED') this.denied.inc({ resource: 'topic' })
      else if (err.code === 'GROUP_AUTHORIZATION_FAILED') this.denied.inc({ resource: 'group' })
      else if (err.code === 'CLUSTER_AUTHORIZATION_FAILED') this.denied.inc({ resource: 'cluster' })
    }
  }
}
