// The fan-out hub of one node: admits live connections (origin, limit, draining), owns the
// partition feeds, the WebSocket sessions and SSE streams, and the slow-consumer sweep.
import type { Broker } from '../broker/broker.ts'
import type { Partition } from '../broker/partition.ts'
import type { Runtime, TimerHandle } from '../core/clock.ts'
import { assert, EdgelogError, type ErrorCode } from '../core/errors.ts'
import { errorBody } from '../api/errors.ts'
import type { Cursor } from './cursor.ts'
import { PartitionFeed, type FeedHost } from './feed.ts'
import { checkFanoutLimits, DEFAULT_FANOUT_LIMITS, type FanoutLimits } from './limits.ts'
import { originAllowed, type OriginPolicy } from './origin.ts'
import { CloseCode, type FanoutSocket, type NativeChannels } from './socket.ts'
import { WsSession, type SessionAccess } from './session.ts'
import { brokerNode, type EarlierRange, type FanoutNode } from './node.ts'
import { planFromSaved, type SavedSubscription, type SessionStore } from './saved.ts'
import { errFrame } from './encode.ts'

export interface FanoutOptions {
  limits?: Partial<FanoutLimits>
  /** Default: same-origin and no-Origin requests (docs/ws-protocol.md). */
  originPolicy?: OriginPolicy
  logError?: (err: unknown) => void
  /** Where subscriptions start and pub/commit frames go; default: this node's broker (node.ts). */
  node?: FanoutNode
  /** Keeps each socket's subscription positions outside memory (a hibernating Durable Object; saved.ts). */
  sessionStore?: SessionStore
}

export type Transport = 'ws' | 'sse'

/** A reserved place under maxConnections; released exactly once. */
export interface ConnectionSlot {
  readonly transport: Transport
  release(): void
}

/** Something the hub closes when the node drains. */
export interface LiveConnection {
  shutdown(): void
}

export class FanoutHub implements FeedHost {
  readonly limits: FanoutLimits
  readonly runtime: Runtime
  readonly logError: (err: unknown) => void
  readonly node: FanoutNode
  readonly sessionStore: SessionStore | undefined
  private readonly originPolicy: OriginPolicy
  private readonly feeds = new Map<Partition, PartitionFeed>()
  private readonly sessions = new Set<WsSession>()
  private readonly others = new Set<LiveConnection>()
  private readonly open = { ws: 0, sse: 0 }
  private readonly subscriptionsByTopic = new Map<string, number>()
  private native: NativeChannels | undefined
  private draining = false
  private nextFeedId = 1
  private sweepTimer: TimerHandle | undefined
  /** Largest frame published natively since the sweep before last (see sweep()). */
  private frameCharsMax = [0, 0]
  private readonly m

  constructor(
    readonly broker: Broker,
    options: FanoutOptions = {},
  ) {
    const limits = { ...DEFAULT_FANOUT_LIMITS, ...options.limits }
    // A small buffer limit brings the catch-up frame size down with it (a frame fits in a quarter).
    if (options.limits?.maxBytesPerFrame === undefined) limits.maxBytesPerFrame = Math.min(limits.maxBytesPerFrame, Math.floor(limits.maxBufferedBytes / 4))
    this.limits = checkFanoutLimits(limits)
    this.runtime = broker.runtime
    this.originPolicy = options.originPolicy ?? { kind: 'same-origin' }
    this.logError = options.logError ?? ((err) => console.error(err))
    this.node = options.node ?? brokerNode(broker)
    this.sessionStore = options.sessionStore
    if (this.node.readBefore) {
      const readBefore = this.node.readBefore.bind(this.node)
      this.readBefore = (p, from, upTo) => readBefore(p, from, upTo, this.limits.maxRecordsPerFrame, this.limits.maxBytesPerFrame)
    }
    const metrics = broker.metrics
    this.m = {
      framesIn: metrics.counter('edgelog_ws_frames_in_total', 'WebSocket frames received, per op (invalid: not a valid frame)'),
      framesOut: metrics.counter('edgelog_ws_frames_out_total', 'WebSocket frames sent (a channel publish counts once per member)'),
      slow: metrics.counter('edgelog_slow_consumer_disconnects_total', 'Connections closed for falling too far behind, per transport'),
      refused: metrics.counter('edgelog_live_connections_refused_total', 'WebSocket upgrades and SSE streams refused, per reason'),
    }
    metrics.gauge('edgelog_ws_connections', 'Open WebSocket connections', () => [[{}, this.open.ws]])
    metrics.gauge('edgelog_sse_connections', 'Open SSE streams', () => [[{}, this.open.sse]])
    metrics.gauge('edgelog_subscriptions', 'Live subscriptions (WebSocket and SSE), per topic', () =>
      [...this.subscriptionsByTopic].map(([topic, n]) => [{ topic }, n]),
    )
  }

  /** Bun's server.publish and friends; set once the runtime's server exists. */
  useNativeChannels(native: NativeChannels): void {
    this.native = native
  }

  // ---- admission ----

  /**
   * Decides whether a request may open a live connection: origin, draining, maxConnections.
   * On success the slot is reserved; the caller hands it to the session or releases it.
   */
  admit(req: Request, transport: Transport): { slot: ConnectionSlot } | { response: Response } {
    const refuse = (reason: string, code: ErrorCode, status: number, message: string, headers: Record<string, string> = {}) => {
      this.m.refused.inc({ reason })
      const body = JSON.stringify(errorBody(code, message))
      return { response: new Response(body, { status, headers: { 'content-type': 'application/json', ...headers } }) }
    }
    if (!originAllowed(this.originPolicy, req.headers.get('origin'), req.headers.get('host'))) {
      return refuse('origin', 'FORBIDDEN', 403, `origin '${(req.headers.get('origin') ?? '').slice(0, 200)}' is not allowed (--allowed-origins)`)
    }
    if (this.draining) return refuse('draining', 'SHUTTING_DOWN', 503, 'the node is shutting down')
    if (this.open.ws + this.open.sse >= this.limits.maxConnections) {
      return refuse('limit', 'THROTTLED', 429, `this node holds its maximum of ${this.limits.maxConnections} live connections`, { 'retry-after': '1' })
    }
    return { slot: this.takeSlot(transport) }
  }

  /**
   * A socket that was admitted before the node restarted and is still connected (a Durable
   * Object waking from hibernation): it holds a slot again, whatever the limit is now.
   */
  reopenedSlot(transport: Transport): ConnectionSlot {
    return this.takeSlot(transport)
  }

  private takeSlot(transport: Transport): ConnectionSlot {
    this.open[transport]++
    let released = false
    return {
      transport,
      release: () => {
        if (released) return
        released = true
        this.open[transport]--
        assert(this.open[transport] >= 0, 'connection count never goes negative')
      },
    }
  }

  /** A WebSocket whose upgrade was admitted is open: the runtime forwards its events here. */
  openSession(socket: FanoutSocket, slot: ConnectionSlot, access?: SessionAccess): WsSession {
    assert(slot.transport === 'ws', 'a WebSocket session holds a ws slot')
    const session = new WsSession(this, socket, slot, access)
    if (this.draining) {
      session.shutdown()
      return session
    }
    this.sessions.add(session)
    if (this.native && this.sweepTimer === undefined) this.scheduleSweep()
    return session
  }

  /**
   * A socket that stayed connected while this node was out of memory (a Durable Object woken
   * from hibernation) gets a session again and its saved subscriptions back, planned from this
   * node's broker (saved.ts). A subscription whose topic is gone gets its `err`, as a running one
   * would; any other failure (a position the log cannot have) is thrown, and the caller closes
   * the socket so the client resumes from its own positions.
   */
  reopenSession(socket: FanoutSocket, saved: SavedSubscription[]): WsSession {
    const session = new WsSession(this, socket, this.reopenedSlot('ws'))
    this.sessions.add(session)
    try {
      for (const s of saved) {
        assert('cursors' in s, 'a consumer-group membership is not restored (it lived in memory)')
        let plan
        try {
          plan = planFromSaved(this.broker, s)
        } catch (err) {
          if (err instanceof EdgelogError && err.code === 'UNKNOWN_TOPIC_OR_PARTITION') {
            session.send(errFrame(s.id, err))
            continue
          }
          throw err
        }
        session.restore(s.id, plan)
      }
    } catch (err) {
      // Nothing half-restored stays: the subscriptions stop, the slot is released.
      session.close(CloseCode.SERVICE_RESTART, 'the node restarted and could not restore the positions of this connection: reconnect and resume')
      throw err
    }
    session.positionsChanged()
    return session
  }

  sessionClosed(session: WsSession): void {
    this.sessions.delete(session)
  }

  /** SSE streams (and future transports) register here so a drain ends them. */
  track(conn: LiveConnection): () => void {
    this.others.add(conn)
    return () => this.others.delete(conn)
  }

  // ---- feeds ----

  /** Records below a partition's local log start (an edge reads them upstream); absent on a broker. */
  readonly readBefore?: (partition: Partition, from: number, upTo: number) => Promise<EarlierRange>

  /** What the live fan-out of a partition has sent so far (an edge trims its relay cache only below it). */
  publishedOffset(partition: Partition): number | undefined {
    return this.feeds.get(partition)?.published
  }

  feedFor(partition: Partition): PartitionFeed {
    let feed = this.feeds.get(partition)
    if (!feed) {
      feed = new PartitionFeed(this.nextFeedId++, partition, this)
      this.feeds.set(partition, feed)
    }
    return feed
  }

  feedIdle(feed: PartitionFeed): void {
    if (this.feeds.get(feed.partition) === feed) this.feeds.delete(feed.partition)
  }

  publish(channel: string, text: string, members: ReadonlySet<Cursor>): void {
    if (this.native) {
      this.native.publish(channel, text)
      this.m.framesOut.inc({}, members.size)
      if (text.length > this.frameCharsMax[1]!) this.frameCharsMax[1] = text.length
      return
    }
    // No native publish: the same string goes to each member socket, checked as it is queued.
    for (const c of [...members]) {
      if (c.state === 'live' && !c.owner.ended) c.owner.channel!.send(text)
    }
  }

  joinChannel(socket: FanoutSocket, channel: string): void {
    this.native?.join(socket, channel)
  }

  leaveChannel(socket: FanoutSocket, channel: string): void {
    this.native?.leave(socket, channel)
  }

  // ---- accounting ----

  countFrameIn(op: string): void {
    this.m.framesIn.inc({ op })
  }

  countFramesOut(n: number): void {
    this.m.framesOut.inc({}, n)
  }

  countSlowConsumer(transport: Transport): void {
    this.m.slow.inc({ transport })
  }

  subscriptionOpened(topic: string): void {
    const n = (this.subscriptionsByTopic.get(topic) ?? 0) + 1
    this.subscriptionsByTopic.set(topic, n)
    this.node.subscriptionsChanged?.(topic, n)
  }

  subscriptionClosed(topic: string): void {
    const n = (this.subscriptionsByTopic.get(topic) ?? 0) - 1
    assert(n >= 0, 'subscription count never goes negative')
    if (n === 0) this.subscriptionsByTopic.delete(topic)
    else this.subscriptionsByTopic.set(topic, n)
    this.node.subscriptionsChanged?.(topic, n)
  }

  // ---- slow consumers on native channels ----

  /**
   * Native publishes queue frames without JavaScript seeing each socket, so live sockets are
   * checked on a timer: one whose queue is over the limit by more than a frame in flight is
   * closed. Memory per socket is bounded by the limit plus what the partition's producers
   * append in one check interval (the runtime's own hard limit is the backstop).
   */
  private scheduleSweep(): void {
    this.sweepTimer = this.runtime.timers.setTimeout(() => {
      this.sweepTimer = undefined
      const frameChars = Math.max(this.frameCharsMax[0]!, this.frameCharsMax[1]!)
      this.frameCharsMax = [this.frameCharsMax[1]!, 0]
      for (const s of [...this.sessions]) s.checkSlow(frameChars)
      if (this.sessions.size > 0 && !this.draining) this.scheduleSweep()
    }, this.limits.slowConsumerCheckMs)
  }

  // ---- lifecycle ----

  get isDraining(): boolean {
    return this.draining
  }

  /** The node drains: new connections are refused, open ones closed (1001) so clients resume elsewhere. */
  shutdown(): void {
    if (this.draining) return
    this.draining = true
    if (this.sweepTimer) this.runtime.timers.clearTimeout(this.sweepTimer)
    for (const s of [...this.sessions]) s.shutdown()
    for (const c of [...this.others]) c.shutdown()
  }
}
