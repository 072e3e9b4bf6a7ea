// edgelog on Cloudflare: a Worker in front of one Durable Object per edgelog node.
//
// The object runs the same Broker, fan-out hub and Hono app as every other runtime, over its
// own SQLite (storage/durable-object.ts), so the public HTTP and WebSocket API and their
// behaviour are the same. The Worker is stateless: it routes each request to the node's
// object. README "Cloudflare" says why one object holds a whole node (topics, partitions,
// offsets, live subscribers) in this first cut, and what that costs.
//
// Hibernation: WebSockets are accepted with the hibernation API (`ctx.acceptWebSocket`), so an
// object whose subscribers are all quiet is evicted from memory while their sockets stay
// connected, and is not billed for the idle time. Each socket's subscriptions and positions are
// kept in its attachment (hibernation.ts; src/fanout/saved.ts says why the positions are
// exact). When an event wakes the object, the constructor finds the sockets with
// `ctx.getWebSockets()` and restores every subscription synchronously, before the event that
// woke it is handled: a produce that wakes the object fans out to them, exactly once and in
// order. A socket whose state cannot be restored (a consumer-group membership, which lived in
// memory; an attachment that cannot be read) is closed with 1012, and clients resume from their
// own positions (or rejoin) as after any reconnect.
//
// workerd does not hibernate an object with a pending timer (measured): the timers here only
// run while there is work. Long-poll deadlines, the group-commit defer and the fan-out's drain
// belong to requests and frames in progress. A socket that is a consumer-group member
// heartbeats on a timer, so it keeps the object in memory while it is a member (its membership
// lives there). The fsync=batch tick is not used: durability is the platform's (writes are
// stored before the response that follows them leaves the object), which is what fsync=always
// promises. The log cleaner (retention, compaction) is not on a timer: it runs from the
// object's alarm (`ctx.storage.setAlarm`), set for when the cleaner next has work and at most
// once per cleaner interval, so an idle or hibernated node still applies retention on time.
import { createApp } from '../../src/api/app.ts'
import { Broker } from '../../src/broker/broker.ts'
import { systemRuntime } from '../../src/core/clock.ts'
import { FanoutHub } from '../../src/fanout/hub.ts'
import { parseOriginPolicy } from '../../src/fanout/origin.ts'
import type { WsSession } from '../../src/fanout/session.ts'
import { CloseCode } from '../../src/fanout/socket.ts'
import { DEFAULT_CLEANER_OPTIONS } from '../../src/log/cleaner.ts'
import { durableObjectStorage, type DurableObjectStorageLike } from '../../storage/durable-object.ts'
import { admitUpgrade, WS_PATH } from '../shared/ws.ts'
import { attachmentStore, decodeAttachment, HibernatingSocket, type HibernatableWebSocket } from './hibernation.ts'

/** The parts of the workerd API used here (structural, so no workers-types are needed). */
interface DurableObjectStub {
  fetch(request: Request): Promise<Response>
}
interface DurableObjectNamespace {
  idFromName(name: string): unknown
  get(id: unknown): DurableObjectStub
}
export interface DurableObjectState {
  storage: DurableObjectStorageLike & {
    getAlarm(): Promise<number | null>
    setAlarm(scheduledTime: number): Promise<void>
  }
  acceptWebSocket(ws: HibernatableWebSocket): void
  getWebSockets(): HibernatableWebSocket[]
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>
}
declare const WebSocketPair: { new (): { 0: HibernatableWebSocket; 1: HibernatableWebSocket } }

export interface Env {
  EDGELOG_NODE: DurableObjectNamespace
  /** Which node (object) this Worker serves; one name is one independent edgelog node. */
  EDGELOG_NODE_NAME?: string
  /** As `--allowed-origins` of `edgelog serve`: who may open /v1/ws and SSE streams. */
  EDGELOG_ALLOWED_ORIGINS?: string
  /** As `--cleaner-interval-ms`: the least time between two log-cleaner alarms (default 30000). */
  EDGELOG_CLEANER_INTERVAL_MS?: string
}


export class EdgelogNode {
  private readonly broker: Broker
  private readonly hub: FanoutHub
  private readonly app: ReturnType<typeof createApp>
  /** The session of every open socket, for the object's lifetime (rebuilt at each wake-up). */
  private readonly sessions = new Map<HibernatableWebSocket, WsSession>()
  private readonly cleanerIntervalMs: number
  /** The pending alarm's time; null: none; undefined: not read yet. */
  private alarmAt: number | null | undefined
  private readonly startedAt: number
  private readonly wake = { restored: 0, closed: 0 }

  constructor(
    protected readonly ctx: DurableObjectState,
    env: Env,
  ) {
    const runtime = systemRuntime()
    this.startedAt = runtime.clock.now()
    this.cleanerIntervalMs = parseInterval(env.EDGELOG_CLEANER_INTERVAL_MS)
    // Opening is synchronous SQL (migrations, each partition's end offset): it completes
    // before the object takes its first event. The cleaner runs from alarm(), not a timer.
    this.broker = Broker.open(durableObjectStorage(ctx.storage), runtime, {
      fsync: 'always',
      cleanerIntervalMs: 0,
      onCleanerWork: (topic, partition) => this.armCleaner(topic, partition),
    })
    this.hub = new FanoutHub(this.broker, { originPolicy: parseOriginPolicy(env.EDGELOG_ALLOWED_ORIGINS || undefined), sessionStore: attachmentStore })
    this.app = createApp(this.broker, { fanout: this.hub })
    const metrics = this.broker.metrics
    metrics.gauge('edgelog_node_start_time_seconds', 'When this node (this Durable Object instance) started: it changes at every wake-up from hibernation', () => [[{}, this.startedAt / 1000]])
    metrics.gauge('edgelog_hibernation_restored_sockets', 'WebSockets this instance found open when it started, per outcome (restored, or closed with 1012)', () => [
      [{ outcome: 'restored' }, this.wake.restored],
      [{ outcome: 'closed' }, this.wake.closed],
    ])
    this.restoreSockets()
    void ctx.blockConcurrencyWhile(async () => {
      this.alarmAt = await ctx.storage.getAlarm()
      this.armCleaner()
    })
  }

  async fetch(request: Request): Promise<Response> {
    if (new URL(request.url).pathname === WS_PATH) return this.upgrade(request)
    const response = await this.app.fetch(request)
    await drainUnread(request)
    return response
  }

  // ---- WebSockets (the hibernation API) ----

  private upgrade(request: Request): Response {
    const admitted = admitUpgrade(this.hub, request)
    if ('response' in admitted) return admitted.response
    const pair = new WebSocketPair()
    const [client, server] = [pair[0], pair[1]]
    this.ctx.acceptWebSocket(server)
    const session = this.hub.openSession(new HibernatingSocket(server), admitted.slot)
    this.sessions.set(server, session)
    // An empty attachment says "no subscriptions": a socket without one is not ours to restore.
    session.positionsChanged()
    return new Response(null, { status: 101, webSocket: client } as ResponseInit)
  }

  webSocketMessage(ws: HibernatableWebSocket, message: string | ArrayBuffer): void {
    this.sessionOf(ws)?.onFrame(message)
  }

  webSocketClose(ws: HibernatableWebSocket, code: number): void {
    this.sessions.get(ws)?.onClose()
    this.sessions.delete(ws)
    // Answer the peer's close; workerd refuses the reserved codes 1005/1006 (RUNTIMES.md §4).
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, 'bye')
    } catch {}
  }

  webSocketError(ws: HibernatableWebSocket): void {
    this.sessions.get(ws)?.onClose()
    this.sessions.delete(ws)
  }

  private sessionOf(ws: HibernatableWebSocket): WsSession | undefined {
    const session = this.sessions.get(ws)
    if (!session) closeForRestart(ws, 'this connection has no session on the node: reconnect and resume')
    return session
  }

  /**
   * The sockets that stayed connected while the object was evicted: each gets its session and
   * subscriptions back, now, before the event that woke the object runs.
   */
  private restoreSockets(): void {
    for (const ws of this.ctx.getWebSockets()) {
      const saved = decodeAttachment(safely(() => ws.deserializeAttachment()))
      if (saved === undefined || saved.some((s) => 'group' in s)) {
        this.wake.closed++
        closeForRestart(ws, saved === undefined ? 'the node restarted and found no state for this connection: reconnect and resume' : 'the node restarted and consumer-group memberships on sockets end with it: reconnect and rejoin')
        continue
      }
      let session: WsSession | undefined
      try {
        session = this.hub.reopenSession(new HibernatingSocket(ws), saved)
      } catch (err) {
        // reopenSession closed the socket (1012) and released what it had restored.
        console.error('edgelog: a socket\'s subscriptions could not be restored', err)
        this.wake.closed++
        continue
      }
      this.sessions.set(ws, session)
      this.wake.restored++
    }
  }

  // ---- the log cleaner, on the object's alarm ----

  async alarm(): Promise<void> {
    this.alarmAt = null
    await this.broker.runCleaner()
    this.armCleaner()
  }

  /**
   * Sets the alarm for when the cleaner next has work (of one topic or partition, after an
   * append or a config change; of all of them otherwise), no sooner than one cleaner interval
   * from now, and never later than an alarm already set (setting it again would postpone it).
   */
  private armCleaner(topic?: string, partition?: number): void {
    if (this.alarmAt === undefined) return // read at start; armed then
    const now = this.broker.runtime.clock.now()
    const earliest = now + this.cleanerIntervalMs
    if (this.alarmAt !== null && this.alarmAt <= earliest) return
    const due = this.broker.cleanerDueAt(topic, partition)
    if (due === undefined) return
    const at = Math.max(due, earliest)
    if (this.alarmAt !== null && this.alarmAt <= at) return
    this.alarmAt = at
    void this.ctx.storage.setAlarm(at)
  }
}

function parseInterval(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_CLEANER_OPTIONS.intervalMs
  const ms = Number(value)
  // The range of --cleaner-interval-ms (src/cli/serve-options.ts).
  if (!Number.isSafeInteger(ms) || ms < 10 || ms > 24 * 3600 * 1000) throw new Error(`EDGELOG_CLEANER_INTERVAL_MS must be an integer from 10 to 86400000, not '${value}'`)
  return ms
}

function closeForRestart(ws: HibernatableWebSocket, reason: string): void {
  try {
    ws.close(CloseCode.SERVICE_RESTART, reason)
  } catch {
    // Already closing: its close event follows.
  }
}

function safely<T>(fn: () => T): T | undefined {
  try {
    return fn()
  } catch {
    return undefined
  }
}

/** Past this, an unread request body is cancelled (and the connection closed) rather than read. */
const DRAIN_MAX_BYTES = 1024 * 1024

/**
 * Reads what the app left of the request body (an answer given before the body was read: 404
 * for an unknown topic, 415, ...). Unread, workerd resets the client's keep-alive connection,
 * and the client's next request on it fails with ECONNRESET (seen with Bun's and Node's fetch
 * against Miniflare in a third of the tries). Node's and Bun's servers drain such bodies too.
 */
async function drainUnread(request: Request): Promise<void> {
  if (request.body === null || request.bodyUsed) return
  const reader = request.body.getReader()
  let bytes = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      bytes += value.byteLength
      if (bytes > DRAIN_MAX_BYTES) {
        await reader.cancel()
        return
      }
    }
  } catch {
    // The client went away: nothing left to keep alive.
  }
}

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    const ns = env.EDGELOG_NODE
    return ns.get(ns.idFromName(env.EDGELOG_NODE_NAME || 'default')).fetch(request)
  },
}
