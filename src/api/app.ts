// The public HTTP API (DESIGN.md, "Public contract"): one Hono app, served by every runtime.
import { Hono } from 'hono'
import type { Broker } from '../broker/broker.ts'
import type { FanoutHub } from '../fanout/hub.ts'
import { sseResponse } from '../fanout/sse.ts'
import { readJson } from './body.ts'
import { clientBundleRoutes } from './client-bundle.ts'
import { mountCluster, type ClusterApi } from './cluster.ts'
import { consoleRoutes } from '../console/routes.ts'
import { errorBody, errorResponse } from './errors.ts'
import { groupRoutes } from './groups.ts'
import { DEFAULT_LIMITS, type ApiLimits } from './limits.ts'
import { recordRoutes } from './records.ts'
import { InitProducerSchema } from './schemas.ts'
import { topicRoutes } from './topics.ts'

export interface AppOptions {
  limits?: Partial<ApiLimits>
  /** Where 5xx errors are reported (never to the client). */
  logError?: (err: unknown) => void
  /** False while the node is starting or draining: /readyz answers 503. */
  ready?: () => boolean
  /** Live subscriptions: serves SSE at /v1/topics/{topic}/sse (WebSocket upgrades are the runtime's). */
  fanout?: FanoutHub
  /** Cluster mode: topic admin through the metadata store, replica routes, forwarding to leaders. */
  cluster?: ClusterApi
}

export function createApp(broker: Broker, options: AppOptions = {}) {
  const limits = { ...DEFAULT_LIMITS, ...options.limits }
  const logError = options.logError ?? ((err: unknown) => console.error(err))
  const app = new Hono()
  app.onError((err, c) => errorResponse(c, err, logError))
  app.notFound((c) => c.json(errorBody('NOT_FOUND', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`), 404))

  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.get('/readyz', (c) =>
    options.ready === undefined || options.ready() ? c.json({ status: 'ready' }) : c.json({ status: 'not ready' }, 503),
  )
  app.get('/metrics', (c) => c.text(broker.metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4' }))

  app.post('/v1/producers', async (c) => {
    const hasBody = c.req.raw.body !== null && c.req.header('content-length') !== '0'
    const body = hasBody ? InitProducerSchema.parse(await readJson(c.req.raw, 4096)) : {}
    return c.json(await broker.initProducer(body.producerId))
  })
  const fanout = options.fanout
  if (fanout) app.get('/v1/topics/:topic/sse', (c) => sseResponse(fanout, c.req.raw, c.req.param('topic')))
  if (options.cluster) mountCluster(app, options.cluster, limits)
  // A cluster of one lists no brokers: clients keep using the URL they were given.
  else app.get('/v1/brokers', (c) => c.json({ brokers: [], controller: null }))
  app.route('/v1/topics', topicRoutes(broker, limits))
  app.route('/v1/topics', recordRoutes(broker, limits))
  app.route('/v1/groups', groupRoutes(broker, limits))
  app.route('/', clientBundleRoutes())
  app.route('/', consoleRoutes())
  return app
}
