// The public HTTP API (DESIGN.md, "Public contract"): one Hono app, served by every runtime.
import { Hono } from 'hono'
import type { Broker } from '../broker/broker.ts'
import { isAdmin } from '../auth/principal.ts'
import type { FanoutHub } from '../fanout/hub.ts'
import { sseResponse } from '../fanout/sse.ts'
import { bodyDeadline, readJson } from './body.ts'
import { notFoundOrMethodNotAllowed } from './method-not-allowed.ts'
import { clientBundleRoutes } from './client-bundle.ts'
import { mountCluster, type ClusterApi } from './cluster.ts'
import { consoleRoutes } from '../console/routes.ts'
import { errorResponse } from './errors.ts'
import { groupRoutes } from './groups.ts'
import { DEFAULT_LIMITS, type ApiLimits } from './limits.ts'
import { recordRoutes } from './records.ts'
import { InitProducerSchema } from './schemas.ts'
import { securityOf } from './security-context.ts'
import { SecurityGate } from './security.ts'
import { tokenRoutes } from './tokens.ts'
import { topicRoutes } from './topics.ts'

export interface AppOptions {
  limits?: Partial<ApiLimits>
  /** Where 5xx errors are reported (never to the client). */
  logError?: (err: unknown) => void
  /** False while the node is starting or draining: /readyz answers 503. */
  ready?: () => boolean
  /**
   * Authentication, access rules and quotas (the runtime's WebSocket upgrades use the same gate);
   * without it every caller may do everything.
   */
  security?: SecurityGate
  /** Live subscriptions: serves SSE at /v1/topics/{topic}/sse (WebSocket upgrades are the runtime's). */
  fanout?: FanoutHub
  /** Cluster mode: topic admin through the metadata store, replica routes, forwarding to leaders. */
  cluster?: ClusterApi
}

export function createApp(broker: Broker, options: AppOptions = {}) {
  const limits = { ...DEFAULT_LIMITS, ...options.limits }
  const logError = options.logError ?? ((err: unknown) => console.error(err))
  const gate = options.security ?? new SecurityGate(broker)
  const app = new Hono()
  app.onError((err, c) => {
    gate.countRefusal(err)
    return errorResponse(c, err, logError)
  })
  app.notFound(notFoundOrMethodNotAllowed(() => app.routes))

  gate.installTransportHeaders(app)
  const { clock, timers } = broker.runtime
  app.use('*', bodyDeadline({ clock, timers, timeoutMs: limits.bodyTimeoutMs, minBytesPerSec: limits.bodyMinBytesPerSec }))

  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.get('/readyz', (c) =>
    options.ready === undefined || options.ready() ? c.json({ status: 'ready' }) : c.json({ status: 'not ready' }, 503),
  )
  gate.install(app)
  app.get('/metrics', (c) => c.text(broker.metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4' }))

  app.post('/v1/producers', async (c) => {
    const hasBody = c.req.raw.body !== null && c.req.header('content-length') !== '0'
    const body = hasBody ? InitProducerSchema.parse(await readJson(c.req.raw, 4096)) : {}
    const principal = securityOf(c).principal
    return c.json(await broker.initProducer(body.producerId, principal.id, isAdmin(principal)))
  })
  const fanout = options.fanout
  if (fanout) {
    // The stream holds the caller's per-IP and per-principal slots until it ends.
    app.get('/v1/topics/:topic/sse', (c) => sseResponse(fanout, c.req.raw, c.req.param('topic'), securityOf(c).retain()))
  }
  if (options.cluster) mountCluster(app, options.cluster, limits)
  // A cluster of one lists no brokers: clients keep using the URL they were given.
  else app.get('/v1/brokers', (c) => c.json({ brokers: [], controller: null }))
  app.route('/v1/topics', topicRoutes(broker, limits))
  app.route('/v1/topics', recordRoutes(broker, limits))
  app.route('/v1/groups', groupRoutes(broker, limits))
  if (gate.options.minter) app.route('/v1/tokens', tokenRoutes(gate.options.minter, limits))
  app.route('/', clientBundleRoutes())
  app.route('/', consoleRoutes())
  return app
}
