// The public HTTP API served by an edge: the broker's contract (DESIGN.md "Public contract"),
// answered here where an edge can (produce into the outbox, live subscriptions from the relay,
// topic metadata it learned) and by the region otherwise (proxy.ts).
import { Hono } from 'hono'
import type { Context } from 'hono'
import { bodyDeadline, readJson } from '../api/body.ts'
import { clientBundleRoutes } from '../api/client-bundle.ts'
import { consoleRoutes } from '../console/routes.ts'
import { errorBody, errorResponse } from '../api/errors.ts'
import { DEFAULT_LIMITS, type ApiLimits } from '../api/limits.ts'
import { notFoundOrMethodNotAllowed } from '../api/method-not-allowed.ts'
import { parseAcks, parseCompression, parsePartition } from '../api/params.ts'
import { pinPartition, readProduceBody, recordBytes } from '../api/records.ts'
import { InitProducerSchema } from '../api/schemas.ts'
import { securityOf } from '../api/security-context.ts'
import { SecurityGate } from '../api/security.ts'
import { tokenRoutes } from '../api/tokens.ts'
import { isAdmin, mayAccessTopic } from '../auth/principal.ts'
import { isEdgelogError } from '../client/errors.ts'
import type { FanoutHub } from '../fanout/hub.ts'
import { sseResponse } from '../fanout/sse.ts'
import type { EdgeNode } from './edge-node.ts'
import type { TopicMeta } from './edge-store.ts'
import { credentialRefused, serverError } from './errors.ts'
import { OutboxFullError } from './outbox.ts'
import { proxyToUpstream } from './proxy.ts'

export interface EdgeAppOptions {
  limits?: Partial<ApiLimits>
  logError?: (err: unknown) => void
  /** False while the process drains; the edge adds upstream reachability. */
  ready?: () => boolean
  fanout?: FanoutHub
  /** More Prometheus text (the relay's fan-out and cache). */
  extraMetrics?: () => string
  /**
   * The broker's security gate (authentication, access rules, quotas), checking this edge's
   * clients exactly as a broker does; without it every caller may do everything.
   */
  security?: SecurityGate
}

export function createEdgeApp(edge: EdgeNode, options: EdgeAppOptions = {}) {
  const limits = { ...DEFAULT_LIMITS, ...options.limits }
  const logError = options.logError ?? ((err: unknown) => console.error(err))
  const proxy = (c: Context, extraWaitMs = 0) => proxyToUpstream(edge.upstream, c.req.raw, { maxRequestBytes: limits.maxRequestBytes, extraWaitMs })
  const gate = options.security ?? new SecurityGate(edge)
  const app = new Hono()
  app.onError((err, c) => {
    gate.countRefusal(err)
    const res = errorResponse(c, err, logError)
    if (err instanceof OutboxFullError) res.headers.set('retry-after', String(err.retryAfterSeconds))
    return res
  })
  app.notFound(notFoundOrMethodNotAllowed(() => app.routes))

  gate.installTransportHeaders(app)
  const { clock, timers } = edge.runtime
  app.use('*', bodyDeadline({ clock, timers, timeoutMs: limits.bodyTimeoutMs, minBytesPerSec: limits.bodyMinBytesPerSec }))
  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.get('/readyz', (c) => {
    if (options.ready !== undefined && !options.ready()) return c.json({ status: 'not ready', reason: 'draining' }, 503)
    if (!edge.upstream.reachable) return c.json({ status: 'not ready', reason: 'upstream unreachable', upstreams: edge.upstream.urls }, 503)
    if (edge.upstream.credentialRefused) {
      return c.json({ status: 'not ready', reason: "upstream refused this edge's credential", upstream: edge.upstream.url }, 503)
    }
    if (!edge.ready) return c.json({ status: 'not ready', reason: 'closed' }, 503)
    return c.json({ status: 'ready', upstream: edge.upstream.url })
  })
  // Everything below answers to the gate, in the broker's order: /metrics and /v1/ need a
  // credential when authentication is on, and the access rules (src/api/access.ts) apply.
  gate.install(app)
  app.get('/metrics', (c) =>
    c.text(edge.metrics.render() + (options.extraMetrics?.() ?? ''), 200, { 'content-type': 'text/plain; version=0.0.4' }),
  )

  // Produce: into this edge's outbox (acks 0 and 1 answer with offset null and where the record
  // is held; acks=all waits for the regional offsets). Parsed and validated as a broker does.
  app.post('/v1/producers', async (c) => {
    const hasBody = c.req.raw.body !== null && c.req.header('content-length') !== '0'
    const body = hasBody ? InitProducerSchema.parse(await readJson(c.req.raw, 4096)) : {}
    const principal = securityOf(c).principal
    return c.json(edge.initClientProducer(body.producerId, principal.id, isAdmin(principal)))
  })
  app.post('/v1/topics/:topic/records', async (c) => {
    const acks = parseAcks(c.req.query('acks'))
    const compression = parseCompression(c.req.query('compression'))
    const topic = c.req.param('topic')
    await edge.checkTopicPartition(topic) // unknown topic: 404 before the body is read
    const security = securityOf(c)
    security.checkProduceBytes()
    const { records } = await readProduceBody(c.req.raw, edge, limits, false)
    security.chargeProduceBytes(recordBytes(records))
    const offsets = await edge.produce(topic, records, acks, { compression })
    return c.json({ offsets }, acks === '0' ? 202 : 200)
  })
  app.post('/v1/topics/:topic/partitions/:partition/records', async (c) => {
    const acks = parseAcks(c.req.query('acks'))
    const compression = parseCompression(c.req.query('compression'))
    const topic = c.req.param('topic')
    const partition = parsePartition(c.req.param('partition'))
    await edge.checkTopicPartition(topic, partition)
    const security = securityOf(c)
    security.checkProduceBytes()
    const { records, producer } = await readProduceBody(c.req.raw, edge, limits, true)
    if (producer) edge.checkProducerOwner(producer.id, security.principal.id, isAdmin(security.principal))
    security.chargeProduceBytes(recordBytes(records))
    pinPartition(records, partition)
    if (!producer) {
      const offsets = await edge.produce(topic, records, acks, { compression })
      return c.json({ offsets }, acks === '0' ? 202 : 200)
    }
    const r = await edge.produceIdempotent(topic, partition, records, acks, producer, { compression })
    const offsets = r.offsets.map((offset) => (r.heldAt ? { partition, offset, heldAt: r.heldAt } : { partition, offset }))
    return c.json({ offsets, duplicate: r.duplicate }, acks === '0' ? 202 : 200)
  })

  // Clients of an edge stay with the edge: it lists no brokers to route to (docs/client-routing.md).
  app.get('/v1/brokers', (c) => c.json({ brokers: [], controller: null }))

  // Topics: what the region says now; what this edge last learned when the region is away.
  app.get('/v1/topics', async (c) => {
    // Kafka lists only the topics the caller may describe: so does an edge, whatever its own
    // credential lets it see upstream.
    const principal = securityOf(c).principal
    const visible = <T extends { name: string }>(topics: T[]) => topics.filter((t) => mayAccessTopic(principal, 'describe', t.name))
    try {
      const listing = await edge.upstream.call((http) => http.listTopics(), { idempotent: true })
      return c.json({ ...listing, topics: visible(listing.topics) })
    } catch (err) {
      if (!unreachable(err) && !credentialRefused(err)) return upstreamError(err)
      return c.json({ topics: visible(edge.metadata.list().map((t) => ({ name: t.name, partitions: t.partitions }))), source: 'edge-cache' })
    }
  })
  app.get('/v1/topics/:topic', async (c) => {
    const name = c.req.param('topic')
    try {
      const description = await edge.upstream.call((http) => http.describeTopic(name), { idempotent: true })
      edge.metadata.learn(name, description)
      return c.json(description)
    } catch (err) {
      if (!unreachable(err) && !credentialRefused(err)) return upstreamError(err)
      const known = edge.metadata.get(name)
      if (!known) return upstreamError(err)
      return c.json(cachedDescription(known))
    }
  })
  // Admin goes to the region; the edge learns the result at once.
  const thenRefresh = async (c: Context, topic: string | undefined) => {
    const res = await proxy(c)
    if (topic !== undefined) void edge.metadata.describe(topic).catch(() => {})
    else void edge.metadata.refresh().catch(() => {})
    return res
  }
  app.post('/v1/topics', (c) => thenRefresh(c, undefined))
  app.patch('/v1/topics/:topic/config', (c) => thenRefresh(c, c.req.param('topic')))
  app.delete('/v1/topics/:topic', (c) => thenRefresh(c, c.req.param('topic')))

  const fanout = options.fanout
  // The stream holds the caller's per-IP and per-principal slots until it ends.
  if (fanout) app.get('/v1/topics/:topic/sse', (c) => sseResponse(fanout, c.req.raw, c.req.param('topic'), securityOf(c).retain()))

  // Reads and groups: the region answers (a long poll waits there, holding the caller's
  // long-poll slot here). They carry the caller's own credential, so the region checks them
  // again, including what depends on the body (the topics of a commit): README "Edge relays".
  app.get('/v1/topics/:topic/partitions/:partition/records', async (c) => {
    const waitMs = Math.min(Number(c.req.query('waitMs')) || 0, 60_000)
    const release = waitMs > 0 ? securityOf(c).acquireLongPoll() : undefined
    try {
      return await proxy(c, waitMs)
    } finally {
      release?.()
    }
  })
  app.get('/v1/topics/:topic/partitions/:partition/offsets', (c) => proxy(c))
  app.all('/v1/groups', (c) => proxy(c))
  app.all('/v1/groups/*', (c) => proxy(c))
  // Browser subscribe tokens, minted here for this edge's own SSE and WebSocket subscribers.
  if (gate.options.minter) app.route('/v1/tokens', tokenRoutes(gate.options.minter, limits))
  app.route('/', clientBundleRoutes())
  // The console's edge view reads this node's own /metrics.
  app.route('/', consoleRoutes())
  return app
}

/** No answer from any upstream (as opposed to an answer that is an error). */
export function unreachable(err: unknown): boolean {
  return isEdgelogError(err) && (err.code === 'NETWORK_EXCEPTION' || err.code === 'REQUEST_TIMED_OUT')
}

/** An upstream's error answer, passed on as it came. */
export function upstreamError(err: unknown): Response {
  if (!isEdgelogError(err)) throw err
  if (credentialRefused(err)) {
    const e = serverError(err)
    return Response.json({ error: { code: e.code, message: e.message } }, { status: e.status, headers: { 'retry-after': '5' } })
  }
  const status = err.status >= 400 ? err.status : err.code === 'REQUEST_TIMED_OUT' ? 408 : 503
  return Response.json({ error: { code: err.code, message: err.message } }, { status })
}

/** A topic as this edge last learned it, in the broker's shape, marked as such. */
function cachedDescription(t: TopicMeta) {
  return {
    name: t.name,
    topicId: t.topicId,
    config: t.config,
    partitions: Array.from({ length: t.partitions }, (_, i) => {
      const p = t.partitionInfo[i]
      return {
        partition: i,
        leader: p?.leader ?? null,
        leaderEpoch: p?.leaderEpoch ?? -1,
        replicas: [],
        isr: [],
        logStartOffset: p?.logStartOffset ?? 0,
        highWatermark: p?.highWatermark ?? 0,
        logEndOffset: p?.highWatermark ?? 0,
      }
    }),
    source: 'edge-cache',
    describedAt: t.describedAt,
  }
}
