// edgelog on Cloudflare: a Worker in front of one Durable Object per edgelog node.
//
// The object runs the same Broker, fan-out hub and Hono app as every other runtime, over its
// own SQLite (storage/durable-object.ts), so the public HTTP and WebSocket API and their
// behaviour are the same. The Worker is stateless: it routes each request to the node's
// object. README "Cloudflare" says why one object holds a whole node (topics, partitions,
// offsets, live subscribers) in this first cut, and what that costs.
//
// Timers inside the object: long-poll deadlines, the group-commit defer and the fan-out's
// timers only matter while a request or a socket is open, and then the object is alive, so
// setTimeout is right for them. The fsync=batch tick is not used: durability is the
// platform's (writes are stored before the response that follows them leaves the object),
// which is what fsync=always promises. The retention cleaner is a setTimeout too: it runs
// while the object is in memory, and an idle object is evicted with its timers, so on an
// idle node retention waits for the next request. Running it on schedule needs an alarm
// (ctx.storage.setAlarm): not done yet.
//
// WebSockets are accepted with `accept()`, not the hibernation API: a subscriber's cursor
// lives in the session in memory, and a hibernated object would wake without it. So an
// object with subscribers stays in memory (and is billed for it) while they are connected.
import { createApp } from '../../src/api/app.ts'
import { Broker } from '../../src/broker/broker.ts'
import { systemRuntime } from '../../src/core/clock.ts'
import { FanoutHub } from '../../src/fanout/hub.ts'
import { parseOriginPolicy } from '../../src/fanout/origin.ts'
import { durableObjectStorage, type DurableObjectStorageLike } from '../../storage/durable-object.ts'
import { admitUpgrade, attachSession, WS_PATH, type StandardSocket } from '../shared/ws.ts'

/** The parts of the workerd API used here (structural, so no workers-types are needed). */
interface DurableObjectStub {
  fetch(request: Request): Promise<Response>
}
interface DurableObjectNamespace {
  idFromName(name: string): unknown
  get(id: unknown): DurableObjectStub
}
interface DurableObjectState {
  storage: DurableObjectStorageLike
}
interface WorkerdWebSocket extends StandardSocket {
  accept(): void
  addEventListener(type: 'message', fn: (e: { data: string | ArrayBuffer }) => void): void
  addEventListener(type: 'close', fn: (e: { code: number }) => void): void
  addEventListener(type: 'error', fn: () => void): void
}
declare const WebSocketPair: { new (): { 0: WorkerdWebSocket; 1: WorkerdWebSocket } }

export interface Env {
  EDGELOG_NODE: DurableObjectNamespace
  /** Which node (object) this Worker serves; one name is one independent edgelog node. */
  EDGELOG_NODE_NAME?: string
  /** As `--allowed-origins` of `edgelog serve`: who may open /v1/ws and SSE streams. */
  EDGELOG_ALLOWED_ORIGINS?: string
}

export class EdgelogNode {
  private readonly hub: FanoutHub
  private readonly app: ReturnType<typeof createApp>

  constructor(ctx: DurableObjectState, env: Env) {
    // Opening is synchronous SQL (migrations, each partition's end offset): it completes
    // before the object takes its first request.
    const broker = Broker.open(durableObjectStorage(ctx.storage), systemRuntime(), { fsync: 'always' })
    this.hub = new FanoutHub(broker, { originPolicy: parseOriginPolicy(env.EDGELOG_ALLOWED_ORIGINS || undefined) })
    this.app = createApp(broker, { fanout: this.hub })
  }

  async fetch(request: Request): Promise<Response> {
    if (new URL(request.url).pathname === WS_PATH) return this.upgrade(request)
    const response = await this.app.fetch(request)
    await drainUnread(request)
    return response
  }

  private upgrade(request: Request): Response {
    const admitted = admitUpgrade(this.hub, request)
    if ('response' in admitted) return admitted.response
    const pair = new WebSocketPair()
    const [client, server] = [pair[0], pair[1]]
    server.accept()
    const session = attachSession(this.hub, admitted.slot, server)
    server.addEventListener('message', (e) => session.onFrame(e.data))
    server.addEventListener('close', (e) => {
      session.onClose()
      // Answer the peer's close; workerd refuses the reserved codes 1005/1006 (RUNTIMES.md §4).
      try {
        server.close(e.code === 1005 || e.code === 1006 ? 1000 : e.code, 'bye')
      } catch {}
    })
    server.addEventListener('error', () => session.onClose())
    return new Response(null, { status: 101, webSocket: client } as ResponseInit)
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
