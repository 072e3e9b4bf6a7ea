// An edge relay as a Durable Object (EDGELOG_ROLE=edge): the same EdgeNode, EdgeRelay, relay
// cache and edge app as `edgelog serve --role edge` (edge/shared/edge-relay.ts), over the
// object's one SQLite: edge.db and the outbox under their own names (`edge`, `outbox/...`), the
// relay cache's broker under `relay/` (`relay/meta`, `relay/partitions/...`), so the three can
// never share a table, nor meet a standalone node's `meta` in the same object.
//
// Staying awake, and the alarm. workerd keeps an object in memory while it has a pending timer
// or an open outgoing WebSocket, and evicts it otherwise after a quiet while (or at a deploy, a
// platform restart). So:
// - With records in the outbox the shippers' retry timers keep the object awake and shipping,
//   and the object's alarm (ctx.storage.setAlarm) is always set (SHIP_ALARM_MS after a commit,
//   again after each alarm that leaves records waiting): an object that is evicted anyway is
//   started by its alarm, which ships. acks=1 means "in the outbox and the alarm is set" (both
//   are storage writes, stored before the response leaves the object).
// - With local subscribers the relay's upstream WebSocket keeps the object awake (their sockets
//   are plain `accept()`ed ones: see README "Cloudflare", the edge is not hibernated).
// - Idle (nothing to ship, no acks=all waiter, no relayed topic: the upstream subscription
//   closes relayLingerMs after its last subscriber left), the metadata refresh lets its timer
//   lapse (EdgeOptions.refreshWhenIdle = false), no timer is left, and workerd may evict the
//   object; the next request (or alarm) starts it again and the refresh with it.
//
// Invalid configuration: the object refuses every request with 500 NODE_MISCONFIGURED, naming
// the var, and logs it once; it never runs half-configured.
import { buildSecurity } from '../../src/cli/serve-security.ts'
import { systemRuntime } from '../../src/core/clock.ts'
import { errorBody } from '../../src/api/errors.ts'
import { parseOriginPolicy } from '../../src/fanout/origin.ts'
import { durableObjectStorage, tablePrefix, type DurableObjectStorageLike } from '../../storage/durable-object.ts'
import { openEdgeRelay, type EdgeRelayParts } from '../shared/edge-relay.ts'
import { admitLiveUpgrade, attachSession, WS_PATH, type StandardSocket } from '../shared/ws.ts'
import { drainUnread } from './drain.ts'
import { parseEdgeEnv } from './edge-config.ts'

/** After a commit to the outbox: the alarm that ships it if the object is evicted before it could. */
export const SHIP_ALARM_MS = 5_000
/** How long one alarm waits for the outbox to drain before it sets the next one. */
const ALARM_WAIT_MS = 20_000

/** The parts of a Durable Object's state the edge uses (structural: no workers-types). */
export interface EdgeObjectState {
  storage: DurableObjectStorageLike & {
    getAlarm(): Promise<number | null>
    setAlarm(scheduledTime: number): Promise<void>
  }
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>
}

/** A workerd server-side WebSocket accepted with `accept()`. */
interface AcceptedSocket extends StandardSocket {
  accept(): void
  addEventListener(type: 'message', fn: (e: { data: string | ArrayBuffer }) => void): void
  addEventListener(type: 'close', fn: (e: { code: number }) => void): void
  addEventListener(type: 'error', fn: () => void): void
}
declare const WebSocketPair: { new (): { 0: AcceptedSocket; 1: AcceptedSocket } }

/** The answer to every request while the Worker's configuration is invalid. */
export function misconfigured(message: string): Response {
  return Response.json(errorBody('NODE_MISCONFIGURED', message), { status: 500 })
}

/** Whether the object's SQLite holds tables of the database `name` (a role's data). */
export function holdsDatabase(storage: DurableObjectStorageLike, name: string): boolean {
  const prefix = tablePrefix(name)
  return storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND substr(name, 1, ?) = ? LIMIT 1", prefix.length, prefix).toArray().length > 0
}

export class EdgeRelayObject {
  private parts: EdgeRelayParts | undefined
  private failure: string | undefined
  /** The pending alarm's time; null: none; undefined: not read yet. */
  private alarmAt: number | null | undefined
  private alarms: { inc(labels?: Record<string, string>, by?: number): void } | undefined

  constructor(
    private readonly ctx: EdgeObjectState,
    env: Record<string, unknown>,
  ) {
    void ctx.blockConcurrencyWhile(async () => {
      try {
        await this.open(env)
      } catch (err) {
        this.failure = (err as Error).message
        console.error(`edgelog: this edge refuses every request until its configuration is fixed: ${this.failure}`)
      }
    })
  }

  private async open(env: Record<string, unknown>): Promise<void> {
    const { options, credential } = parseEdgeEnv(env)
    const runtime = systemRuntime()
    const startedAt = runtime.clock.now()
    const originPolicy = parseOriginPolicy(options['allowed-origins'])
    const setup = await buildSecurity(
      options,
      {
        readText: (path) => Promise.reject(new Error(`${path}: a Worker reads no files`)),
        randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
      },
      runtime,
    )
    const storage = this.ctx.storage
    if (holdsDatabase(storage, 'meta')) {
      throw new Error(
        `the Durable Object named by EDGELOG_NODE_NAME holds a standalone node's data (it ran without EDGELOG_ROLE=edge); give the edge an EDGELOG_NODE_NAME of its own`,
      )
    }
    const parts = openEdgeRelay({
      options,
      runtime,
      edgeStorage: durableObjectStorage(storage),
      cacheStorage: durableObjectStorage(storage, 'relay/'),
      // Durability is the platform's (storage/durable-object.ts): no fsync tick, no timer.
      cacheFsync: 'always',
      ...(credential ? { credential } : {}),
      originPolicy,
      security: setup.security,
      clientAddress: (request) => request.headers.get('cf-connecting-ip') ?? undefined,
      ready: () => true,
      edge: { refreshWhenIdle: false, onOutboxCommit: () => this.armShipping(SHIP_ALARM_MS) },
    })
    const metrics = parts.edge.metrics
    metrics.gauge('edgelog_node_start_time_seconds', 'When this edge (this Durable Object instance) started: it changes when the object is started again', () => [[{}, startedAt / 1000]])
    this.alarms = metrics.counter('edgelog_edge_alarms_total', "Runs of this instance's shipping alarm")
    this.alarmAt = await storage.getAlarm()
    this.parts = parts
    parts.edge.start()
    if (parts.edge.unshipped > 0) this.armShipping(SHIP_ALARM_MS)
    for (const note of setup.notes) console.log(`edgelog: ${note}`)
    console.log(
      `edgelog: edge relay of ${options.upstream.join(', ')} in a Durable Object` +
        (credential ? ` (upstream credential: sub ${JSON.stringify(credential.subject)}, expires ${new Date(credential.expiresAt * 1000).toISOString()})` : ' (no upstream credential)'),
    )
  }

  async fetch(request: Request): Promise<Response> {
    if (this.failure !== undefined || !this.parts) return misconfigured(this.failure ?? 'the edge did not start')
    this.parts.edge.touch()
    if (new URL(request.url).pathname === WS_PATH) return this.upgrade(request, this.parts)
    const response = await this.parts.app.fetch(request)
    await drainUnread(request)
    return response
  }

  /**
   * A local subscriber: an ordinary accepted socket (not hibernatable). While it subscribes, the
   * relay's upstream WebSocket keeps the object awake anyway; README "Cloudflare" says what that costs.
   */
  private async upgrade(request: Request, parts: EdgeRelayParts): Promise<Response> {
    const admitted = await admitLiveUpgrade(parts.hub, parts.gate, request, request.headers.get('cf-connecting-ip') ?? undefined)
    if ('response' in admitted) return admitted.response
    const pair = new WebSocketPair()
    const [client, server] = [pair[0], pair[1]]
    server.accept()
    const session = attachSession(parts.hub, admitted.slot, server, admitted.access)
    let closed = false
    const ended = () => {
      if (closed) return
      closed = true
      session.onClose()
      admitted.access?.release()
    }
    server.addEventListener('message', (e) => {
      parts.edge.touch()
      session.onFrame(e.data)
    })
    server.addEventListener('close', (e) => {
      ended()
      // Answer the peer's close; workerd refuses the reserved codes 1005/1006 (RUNTIMES.md §4).
      try {
        server.close(e.code === 1005 || e.code === 1006 ? 1000 : e.code, 'bye')
      } catch {}
    })
    server.addEventListener('error', ended)
    return new Response(null, { status: 101, webSocket: client } as ResponseInit)
  }

  /** Ships what the outbox holds (the object may have been started for this alarm alone). */
  async alarm(): Promise<void> {
    const parts = this.parts
    if (!parts) return
    this.alarmAt = null
    this.alarms?.inc()
    const { edge } = parts
    edge.ship()
    const deadline = Date.now() + ALARM_WAIT_MS
    while (edge.unshipped > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
    // The region is away (the shippers keep retrying while the object is in memory): again later.
    if (edge.unshipped > 0) this.armShipping(SHIP_ALARM_MS)
  }

  /** Sets the alarm `ms` from now, unless one is set sooner (setting it again would postpone it). */
  private armShipping(ms: number): void {
    if (this.alarmAt === undefined) return // read at start; armed then
    const at = Date.now() + ms
    if (this.alarmAt !== null && this.alarmAt <= at) return
    this.alarmAt = at
    void this.ctx.storage.setAlarm(at)
  }
}
