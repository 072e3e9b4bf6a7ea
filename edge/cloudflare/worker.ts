// edgelog on Cloudflare: a Worker in front of one Durable Object per edgelog node.
//
// The object runs the same Broker and Hono app as every other runtime, over its own SQLite
// (storage/durable-object.ts), so the public HTTP API and its behaviour are the same. The
// Worker is stateless: it routes each request to the node's object. README "Cloudflare" says
// why one object holds a whole node (topics, partitions, offsets) in this first cut, and
// what that costs.
//
// Timers inside the object: the broker's timers are long-poll deadlines and the group-commit
// defer. Both only run while a request is open, and an object with an open request stays
// alive, so setTimeout is right for them. The one timer that would run with no request open,
// the fsync=batch tick, is not used: durability is the platform's (writes are stored before
// the response that follows them leaves the object), which is what fsync=always promises.
// Work that must run on an idle object (retention, later) needs an alarm
// (ctx.storage.setAlarm), because an idle object is evicted and its setTimeouts with it.
import { createApp } from '../../src/api/app.ts'
import { Broker } from '../../src/broker/broker.ts'
import { systemRuntime } from '../../src/core/clock.ts'
import { durableObjectStorage, type DurableObjectStorageLike } from '../../storage/durable-object.ts'

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
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>
}

export interface Env {
  EDGELOG_NODE: DurableObjectNamespace
  /** Which node (object) this Worker serves; one name is one independent edgelog node. */
  EDGELOG_NODE_NAME?: string
}

export class EdgelogNode {
  private readonly broker: Broker
  private readonly app: ReturnType<typeof createApp>

  constructor(ctx: DurableObjectState, _env: Env) {
    // Opening is synchronous SQL (migrations, reading each partition's end offset): it runs
    // before the object takes its first request.
    this.broker = Broker.open(durableObjectStorage(ctx.storage), systemRuntime(), { fsync: 'always' })
    this.app = createApp(this.broker)
  }

  fetch(request: Request): Response | Promise<Response> {
    return this.app.fetch(request)
  }
}

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    const ns = env.EDGELOG_NODE
    return ns.get(ns.idFromName(env.EDGELOG_NODE_NAME || 'default')).fetch(request)
  },
}
