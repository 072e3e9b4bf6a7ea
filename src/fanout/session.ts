// One WebSocket connection speaking the `/v1/ws` protocol, independent of the runtime: frames
// in through onFrame, frames out through FanoutSocket.send, every bound checked here.
import { isAdmin, requireGroup, requireTopic, type Principal } from '../auth/principal.ts'
import type { ProduceRecord } from '../broker/broker.ts'
import { validateGroupName } from '../broker/names.ts'
import type { TimerHandle } from '../core/clock.ts'
import { assert, EdgelogError, fail } from '../core/errors.ts'
import { toEdgelogError } from '../api/errors.ts'
import { toProduceRecord } from '../api/record-json.ts'
import { ackFrame, batchAckFrame, errFrame, okFrame } from './encode.ts'
import type { ConnectionSlot, FanoutHub } from './hub.ts'
import { GroupSubscription } from './group-subscription.ts'
import { parseClientFrame, type CommitFrame, type PubFrame, type SubFrame, type UnsubFrame } from './protocol.ts'
import { CloseCode, type FanoutSocket } from './socket.ts'
import { WsSubscription } from './ws-subscription.ts'
import type { StartPlan } from './plan.ts'
import type { SavedSubscription } from './saved.ts'
import type { PubResult } from './node.ts'

/** Without a drain event from the runtime, paused catch-up looks at the buffer this often. */
const DRAIN_POLL_MS = 50

/**
 * Who opened the socket (checked by the app before the upgrade) and their produce quota. Every
 * frame is checked against the principal's acl, as the HTTP routes are (src/api/access.ts).
 * Without it (no authentication configured) every frame is allowed.
 */
export interface SessionAccess {
  readonly principal: Principal
  checkProduceBytes(): void
  chargeProduceBytes(bytes: number): void
}

/** Default session timeout of a socket member: the socket's own liveness is the heartbeat. */
const SOCKET_MEMBER_SESSION_MS = 10_000
/** Default rebalance timeout of a socket member: half of it is the time it has to commit a revoked partition. */
const SOCKET_MEMBER_REBALANCE_MS = 4_000

type Subscription = WsSubscription | GroupSubscription

export class WsSession {
  private readonly subs = new Map<string, Subscription>()
  /** This socket's group memberships, by group id. */
  private readonly groupSubs = new Map<string, GroupSubscription>()
  private inflightPubs = 0
  private controlTokens: number
  private controlTokensAt: number
  private closed = false
  private drainWaiters: Array<() => void> = []
  private drainTimer: TimerHandle | undefined
  /**
   * sub and unsub run one after another, in arrival order: a sub may await (a timestamp start
   * decodes batches), and an unsub sent right after it must find it. The chain is bounded by
   * the control-frame rate limit, which is checked on arrival.
   */
  private control: Promise<void> = Promise.resolve()

  constructor(
    readonly hub: FanoutHub,
    readonly socket: FanoutSocket,
    private readonly slot: ConnectionSlot,
    private readonly access?: SessionAccess,
  ) {
    this.controlTokens = hub.limits.controlFramesBurst
    this.controlTokensAt = hub.runtime.clock.monotonic()
  }

  // ---- events from the runtime ----

  /** One inbound message: a string for a text frame, anything else for a binary frame. */
  onFrame(data: unknown): void {
    if (this.closed) return
    if (typeof data !== 'string') {
      this.hub.countFrameIn('invalid')
      this.send(errFrame(undefined, new EdgelogError('INVALID_REQUEST', 'binary frames are not accepted: send one JSON object per text frame')))
      return
    }
    if (data.length > this.hub.limits.maxFrameBytes) {
      // The runtime enforces this in bytes before we see the frame; this is the backstop.
      this.close(CloseCode.MESSAGE_TOO_BIG, 'frame too large')
      return
    }
    const parsed = parseClientFrame(data)
    if (!parsed.ok) {
      this.hub.countFrameIn('invalid')
      this.send(errFrame(parsed.id, parsed.error))
      return
    }
    const frame = parsed.frame
    this.hub.countFrameIn(frame.op)
    try {
      if (frame.op === 'sub' || frame.op === 'unsub') {
        this.takeControlToken()
        const run = frame.op === 'sub' ? () => this.subscribe(frame) : async () => this.unsubscribe(frame)
        this.control = this.control.then(run).catch((err) => this.answerError(frame.id, err))
      } else if (frame.op === 'commit') this.commit(frame)
      else this.publish(frame).catch((err) => this.answerError(frame.id, err))
    } catch (err) {
      this.answerError(frame.id, err)
    }
  }

  /** The runtime's drain event: the send buffer emptied. */
  onDrain(): void {
    if (!this.closed && !this.blocked()) this.resumeDrainWaiters()
  }

  /** The socket closed (either side). */
  onClose(): void {
    if (this.closed) return
    this.closed = true
    this.release()
  }

  // ---- frames ----

  /**
   * A token is checked when the socket opens; sub, pub and commit frames sent after it expires
   * are refused (the subscriptions already running go on, as an HTTP response being sent would).
   */
  private checkCredential(): void {
    const exp = this.access?.principal.expiresAt
    if (exp !== undefined && this.hub.runtime.clock.now() / 1000 >= exp) {
      fail('UNAUTHORIZED', 'the token of this connection has expired: reconnect with a new one')
    }
  }

  private async subscribe(f: SubFrame): Promise<void> {
    if (this.closed) return
    this.checkCredential()
    if (this.access) requireTopic(this.access.principal, 'consume', f.topic)
    if (this.subs.has(f.id)) fail('INVALID_REQUEST', `subscription '${f.id}' is already active on this socket`)
    if (this.subs.size >= this.hub.limits.maxSubscriptionsPerSocket) {
      fail('TOO_MANY_SUBSCRIPTIONS', `a socket holds at most ${this.hub.limits.maxSubscriptionsPerSocket} subscriptions`)
    }
    if (f.group !== undefined) {
      // Membership needs the group's coordinator; an edge relay has none (README, "Edge relays").
      if (this.hub.node.groupSubscriptions === false) fail('INVALID_REQUEST', 'group subscriptions are served by the brokers of the region, not by an edge relay')
      return this.subscribeGroup(f, f.group)
    }
    const plan = await this.hub.node.plan(f.topic, f.partitions, f.from ?? 'latest')
    if (this.closed) return
    const store = this.hub.sessionStore
    if (store) {
      const topicId = this.hub.broker.describeTopic(f.topic).topicId
      store.check([...this.positions(), { id: f.id, topic: f.topic, topicId, cursors: plan.starts.map((s) => ({ partition: s.partition.index, next: s.next, live: false })) }])
    }
    const sub = new WsSubscription(this, f.id, plan)
    this.subs.set(f.id, sub)
    const offsets: Record<string, number> = {}
    for (const s of plan.starts) offsets[String(s.partition.index)] = s.next
    this.send(okFrame(f.id, offsets))
    sub.start()
    this.positionsChanged()
  }

  /**
   * Carries on a subscription this socket had before the node was restarted with its sockets
   * (a Durable Object waking from hibernation), from a plan made synchronously (saved.ts): no
   * `ok`, the client already has it. Cursors at the head are live when this returns.
   */
  restore(id: string, plan: StartPlan): void {
    assert(!this.closed && !this.subs.has(id), `subscription '${id}' is restored once, on an open socket`)
    const sub = new WsSubscription(this, id, plan)
    this.subs.set(id, sub)
    sub.start()
  }

  /** Every subscription's position, as a SessionStore keeps it. */
  positions(): SavedSubscription[] {
    const out: SavedSubscription[] = []
    for (const sub of this.subs.values()) {
      out.push(sub instanceof GroupSubscription ? { id: sub.id, topic: sub.spec.topic, group: sub.group } : sub.saved())
    }
    return out
  }

  /** A subscription started, moved, or ended: the runtime's store (if any) keeps the positions. */
  positionsChanged(): void {
    if (this.closed) return
    this.hub.sessionStore?.save(this.socket, this.positions())
  }

  /**
   * The socket joins a consumer group for the topic (one membership per group per socket). It
   * runs in the control chain, so an `unsub` right after it finds the member it made.
   */
  private async subscribeGroup(f: SubFrame, group: string): Promise<void> {
    validateGroupName(group)
    if (this.access) requireGroup(this.access.principal, group)
    if (this.groupSubs.has(group)) fail('INVALID_REQUEST', `this socket is already a member of group '${group}' (subscription '${this.groupSubs.get(group)!.id}')`)
    this.hub.broker.describeTopic(f.topic) // an unknown topic is refused now, not after the join
    this.hub.sessionStore?.check([...this.positions(), { id: f.id, topic: f.topic, group }])
    const bounds = this.hub.broker.groups.options
    const clamp = (ms: number, max: number) => Math.min(max, Math.max(bounds.minSessionTimeoutMs, ms))
    const sub = new GroupSubscription(this, {
      id: f.id,
      topic: f.topic,
      group,
      ...(f.instanceId === undefined ? {} : { instanceId: f.instanceId }),
      sessionTimeoutMs: f.sessionTimeoutMs ?? clamp(SOCKET_MEMBER_SESSION_MS, bounds.maxSessionTimeoutMs),
      rebalanceTimeoutMs: f.rebalanceTimeoutMs ?? clamp(SOCKET_MEMBER_REBALANCE_MS, bounds.maxRebalanceTimeoutMs),
      reset: f.from === 'latest' ? 'latest' : 'earliest',
    })
    this.subs.set(f.id, sub)
    this.groupSubs.set(group, sub)
    this.positionsChanged()
    try {
      await sub.start()
    } catch (err) {
      this.endSubscription(sub)
      throw err
    }
  }

  /** Ends a subscription (it failed, or its membership ended) without an answer of its own. */
  endSubscription(sub: Subscription): void {
    if (this.subs.get(sub.id) === sub) this.subs.delete(sub.id)
    if (sub instanceof GroupSubscription && this.groupSubs.get(sub.group) === sub) this.groupSubs.delete(sub.group)
    sub.stop()
    this.positionsChanged()
  }

  private unsubscribe(f: UnsubFrame): void {
    if (this.closed) return
    const sub = this.subs.get(f.id)
    if (!sub) fail('INVALID_REQUEST', `no active subscription '${f.id}' on this socket`)
    this.endSubscription(sub)
    this.send(okFrame(f.id))
  }

  /** A member commit when this socket is in the group (fenced), else a plain commit. */
  private commit(f: CommitFrame): void {
    const group = validateGroupName(f.group)
    this.checkCredential()
    if (this.access) {
      requireGroup(this.access.principal, group)
      for (const o of f.offsets) requireTopic(this.access.principal, 'consume', o.topic)
    }
    const member = this.groupSubs.get(group)
    const done = member ? member.commit(f.offsets) : Promise.resolve().then(() => this.hub.node.commitOffsets(group, f.offsets))
    done.then(
      () => this.send(okFrame(f.id)),
      (err) => this.answerError(f.id, err),
    )
  }

  private async publish(f: PubFrame): Promise<void> {
    const limit = this.hub.limits.maxInflightPubs
    if (this.inflightPubs >= limit) fail('THROTTLED', `at most ${limit} pub frames of one socket wait for their ack`)
    this.checkCredential()
    const access = this.access
    if (access) {
      requireTopic(access.principal, 'produce', f.topic)
      if (f.producer) {
        const node = this.hub.node
        const owner = node.checkProducerOwner ? node.checkProducerOwner.bind(node) : this.hub.broker.checkProducerOwner.bind(this.hub.broker)
        await owner(f.producer.id, access.principal.id, isAdmin(access.principal))
      }
      access.checkProduceBytes()
    }
    const now = this.hub.runtime.clock.now()
    const records: ProduceRecord[] = f.records
      ? f.records.map((r, i) => toProduceRecord(r, i, now))
      : [toProduceRecord({ key: f.key, value: f.value, headers: f.headers, timestamp: f.timestamp }, 0, now)]
    if (f.partition !== undefined) {
      for (const r of records) {
        if (r.partition !== undefined && r.partition !== f.partition) {
          fail('INVALID_RECORD', `a record names partition ${r.partition} in a pub to partition ${f.partition}`)
        }
        r.partition = f.partition
      }
    }
    if (access) {
      let bytes = 0
      for (const r of records) bytes += (r.key?.byteLength ?? 0) + (r.value?.byteLength ?? 0)
      access.chargeProduceBytes(bytes)
    }
    const acks = f.acks ?? '1'
    const node = this.hub.node
    this.inflightPubs++
    let offsets: PubResult[]
    let duplicate = false
    try {
      if (f.producer) {
        const r = await node.produceIdempotent(f.topic, f.partition!, records, acks, f.producer)
        offsets = r.offsets.map((offset) => (r.heldAt ? { partition: r.partition, offset, heldAt: r.heldAt } : { partition: r.partition, offset }))
        duplicate = r.duplicate
      } else {
        offsets = await node.produce(f.topic, records, acks)
      }
    } finally {
      this.inflightPubs--
    }
    if (f.records) this.send(batchAckFrame(f.id, offsets, duplicate))
    else this.send(ackFrame(f.id, offsets[0]!.partition, offsets[0]!.offset, duplicate, offsets[0]!.heldAt))
  }

  private answerError(id: string, err: unknown): void {
    const e = toEdgelogError(err)
    if (e.status >= 500 && e.code !== 'SHUTTING_DOWN') this.hub.logError(err)
    this.send(errFrame(id, e))
  }

  private takeControlToken(): void {
    const { controlFramesPerSecond: rate, controlFramesBurst: burst } = this.hub.limits
    const now = this.hub.runtime.clock.monotonic()
    this.controlTokens = Math.min(burst, this.controlTokens + ((now - this.controlTokensAt) * rate) / 1000)
    this.controlTokensAt = now
    if (this.controlTokens < 1) fail('THROTTLED', `at most ${rate} sub and unsub frames per second on one socket`)
    this.controlTokens -= 1
  }

  /** A subscription's partition went away or could not be read: it ends with an `err`. */
  failSubscription(sub: Subscription, error: EdgelogError): void {
    if (sub.ended) return
    this.endSubscription(sub)
    this.send(errFrame(sub.id, error))
  }

  // ---- sending, bounded ----

  /**
   * Queues a frame. A socket that already had more than maxBufferedBytes queued before this
   * frame is a slow consumer and is closed (the frame size is counted at its UTF-8 worst case,
   * three bytes per UTF-16 unit, so a large frame alone never trips it).
   */
  send(text: string): void {
    if (this.closed) return
    this.socket.send(text)
    this.hub.countFramesOut(1)
    this.checkSlow(text.length)
  }

  /** Closes the socket if more than the limit was queued before the last frame of `frameChars`. */
  checkSlow(frameChars: number): void {
    if (this.closed) return
    const limit = this.hub.limits.maxBufferedBytes
    if (this.socket.bufferedAmount() - 3 * frameChars <= limit) return
    this.hub.countSlowConsumer('ws')
    this.close(CloseCode.SLOW_CONSUMER, `slow consumer: more than ${limit} bytes queued`)
  }

  /** Catch-up pauses at half the limit, so only a reader that stops at the head is closed. */
  blocked(): boolean {
    return this.socket.bufferedAmount() > this.hub.limits.maxBufferedBytes / 2
  }

  waitForDrain(resume: () => void): void {
    if (this.closed) return
    this.drainWaiters.push(resume)
    if (this.drainTimer === undefined) this.pollDrain()
  }

  private pollDrain(): void {
    this.drainTimer = this.hub.runtime.timers.setTimeout(() => {
      this.drainTimer = undefined
      if (this.closed) return
      if (!this.blocked()) this.resumeDrainWaiters()
      else this.pollDrain()
    }, DRAIN_POLL_MS)
  }

  private resumeDrainWaiters(): void {
    if (this.drainTimer !== undefined) {
      this.hub.runtime.timers.clearTimeout(this.drainTimer)
      this.drainTimer = undefined
    }
    const waiters = this.drainWaiters
    this.drainWaiters = []
    for (const resume of waiters) resume()
  }

  // ---- closing ----

  /** The node drains: clients reconnect (elsewhere or after the restart) and resume. */
  shutdown(): void {
    this.close(CloseCode.GOING_AWAY, 'shutting down')
  }

  close(code: number, reason: string): void {
    if (this.closed) return
    this.closed = true
    this.release()
    try {
      this.socket.close(code, reason)
    } catch (err) {
      this.hub.logError(err)
    }
  }

  private release(): void {
    // A group subscription's stop() leaves its group: closing the socket leaves.
    for (const sub of this.subs.values()) sub.stop()
    this.subs.clear()
    this.groupSubs.clear()
    this.drainWaiters = []
    if (this.drainTimer !== undefined) this.hub.runtime.timers.clearTimeout(this.drainTimer)
    this.drainTimer = undefined
    this.slot.release()
    this.hub.sessionClosed(this)
  }
}
