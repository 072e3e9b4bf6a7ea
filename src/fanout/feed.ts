// The live fan-out of one partition. When the partition's high watermark moves, the feed reads
// the newly committed records once, renders them once, and hands the same frame text to every
// live cursor: one publish per WebSocket channel (cursors sharing a subscription id share a
// frame, since the frame names the subscription) and one delivery per SSE stream (each SSE event
// id is that stream's own position, so only the record text is shared there).
// Where native publish does not fit: catch-up frames go straight to their own socket (each
// catching-up cursor is at its own offset, so there is nothing to share), as do ok/ack/err/gap
// frames; a subscription joins its channel only once it is exactly at `published`.
import type { Broker } from '../broker/broker.ts'
import type { HighWatermarkListener, Partition } from '../broker/partition.ts'
import type { Runtime } from '../core/clock.ts'
import { assert, EdgelogError } from '../core/errors.ts'
import { toEdgelogError } from '../api/errors.ts'
import type { Cursor } from './cursor.ts'
import { encodeRecords, recordsFrame, type EncodedRecords } from './encode.ts'
import type { FanoutLimits } from './limits.ts'
import type { EarlierRange } from './node.ts'
import { readRange } from './read.ts'
import type { FanoutSocket } from './socket.ts'

/** Live WebSocket cursors of one subscription id on this partition: one frame text for all. */
interface Channel {
  name: string
  subJson: string
  members: Set<Cursor>
}

/** What a feed needs from the hub. */
export interface FeedHost {
  readonly broker: Broker
  readonly runtime: Runtime
  readonly limits: FanoutLimits
  /** Writes a frame to a channel: natively, or by a loop over the member sockets. */
  publish(channel: string, text: string, members: ReadonlySet<Cursor>): void
  joinChannel(socket: FanoutSocket, channel: string): void
  leaveChannel(socket: FanoutSocket, channel: string): void
  /** The feed has no cursors left and has stopped listening. */
  feedIdle(feed: PartitionFeed): void
  logError(err: unknown): void
  /** Records below the local log start, from elsewhere (an edge's region); absent: a gap. */
  readonly readBefore?: (partition: Partition, from: number, upTo: number) => Promise<EarlierRange>
}

/** Stored bytes one drain turn fans out before it yields (other partitions, inbound frames). */
const DRAIN_BYTES_PER_TURN = 4 * 1024 * 1024

export class PartitionFeed implements HighWatermarkListener {
  /** Everything below this offset has been handed to the live cursors. Never above the HW. */
  published: number
  closed = false
  private readonly cursors = new Set<Cursor>()
  private readonly channels = new Map<string, Channel>()
  /** Live cursors without a channel (SSE streams). */
  private readonly direct = new Set<Cursor>()
  /** Cursors whose next offset is above `published` (an explicit offset not yet fanned out). */
  private readonly waiting = new Set<Cursor>()
  private readonly topicJson: string
  private readonly unlisten: () => void
  private drainScheduled = false
  /** A drain is running (it may await a decode); drains never overlap. */
  private draining = false

  constructor(
    readonly id: number,
    readonly partition: Partition,
    private readonly host: FeedHost,
  ) {
    this.published = partition.highWatermark
    this.topicJson = JSON.stringify(partition.topic)
    this.unlisten = partition.listen(this)
  }

  get runtime(): Runtime {
    return this.host.runtime
  }

  get broker(): Broker {
    return this.host.broker
  }

  get limits(): FanoutLimits {
    return this.host.limits
  }

  get readBefore(): ((partition: Partition, from: number, upTo: number) => Promise<EarlierRange>) | undefined {
    return this.host.readBefore
  }

  describe(): string {
    return `${this.partition.topic}-${this.partition.index}`
  }

  attach(cursor: Cursor): void {
    assert(!this.closed, `attach to closed feed ${this.describe()}`)
    this.cursors.add(cursor)
  }

  detach(cursor: Cursor): void {
    if (!this.cursors.delete(cursor)) return
    this.direct.delete(cursor)
    this.waiting.delete(cursor)
    const ch = cursor.owner.channel
    if (ch) {
      const channel = this.channels.get(ch.key)
      if (channel?.members.delete(cursor)) {
        this.host.leaveChannel(ch.socket, channel.name)
        if (channel.members.size === 0) this.channels.delete(ch.key)
      }
    }
    if (this.cursors.size === 0 && !this.closed) {
      this.unlisten()
      this.closed = true
      this.host.feedIdle(this)
    }
  }

  /** Called by a cursor whose next offset is `published`: from now on it receives live frames. */
  joinLive(cursor: Cursor): void {
    assert(cursor.next === this.published && cursor.state === 'catch-up', 'a cursor joins live exactly at the head')
    cursor.state = 'live'
    const ch = cursor.owner.channel
    if (!ch) {
      this.direct.add(cursor)
      return
    }
    let channel = this.channels.get(ch.key)
    if (!channel) {
      channel = { name: `${this.id}/${ch.key}`, subJson: ch.subJson, members: new Set() }
      this.channels.set(ch.key, channel)
    }
    channel.members.add(cursor)
    this.host.joinChannel(ch.socket, channel.name)
  }

  wait(cursor: Cursor): void {
    assert(cursor.next > this.published && cursor.state === 'catch-up', 'a cursor waits only above the head')
    cursor.state = 'waiting'
    this.waiting.add(cursor)
  }

  // ---- HighWatermarkListener ----

  onHighWatermark(): void {
    if (this.drainScheduled || this.closed) return
    this.drainScheduled = true
    this.host.runtime.timers.defer(() => this.drain())
  }

  onClose(): void {
    if (this.closed) return
    this.closed = true
    const error = new EdgelogError('UNKNOWN_TOPIC_OR_PARTITION', `${this.describe()} is gone (topic deleted or node shutting down)`)
    for (const c of [...this.cursors]) if (c.state !== 'done') c.owner.fail(c, error)
    this.cursors.clear()
    this.host.feedIdle(this)
  }

  // ---- the live fan-out ----

  private async drain(): Promise<void> {
    this.drainScheduled = false
    if (this.closed || this.draining) return // a running drain re-reads the high watermark
    this.draining = true
    let bytes = 0
    try {
      while (!this.closed && this.published < this.partition.highWatermark) {
        if (bytes >= DRAIN_BYTES_PER_TURN) {
          this.onHighWatermark() // the rest next turn
          break
        }
        const logStart = this.partition.log.logStartOffset
        if (this.published < logStart) {
          // Records went before the live fan-out sent them (an edge's relay cache started again
          // after its region reported a gap; retention outrunning the feed): every live cursor
          // hears it as a gap, never as silence.
          this.gapLive(this.published, logStart)
          this.published = logStart
          this.wakeWaiting()
          continue
        }
        const from = this.published
        const range = await readRange(this.broker, this.partition, from, this.partition.highWatermark, this.limits.maxRecordsPerFrame, this.limits.maxBytesPerFrame)
        if (this.closed) break
        assert(this.published === from && range.next > from, `${this.describe()}: the live fan-out moves forward from ${from}`)
        if (range.records.length > 0) {
          const encoded = encodeRecords(this.partition.index, range.records)
          this.publishRange(encoded)
          bytes += encoded.chars
        }
        // Cursors that joined while the range was being read are members now and got it.
        this.published = range.next
        this.wakeWaiting()
      }
    } catch (err) {
      // The log could not be read: every cursor hears it; nothing is skipped silently.
      const error = toEdgelogError(err)
      if (error.status >= 500) this.host.logError(err)
      for (const c of [...this.cursors]) if (c.state !== 'done') c.owner.fail(c, error)
    } finally {
      this.draining = false
    }
    // An advance that arrived while the last read was in flight.
    if (!this.closed && this.published < this.partition.highWatermark) this.onHighWatermark()
  }

  private publishRange(encoded: EncodedRecords): void {
    if (this.channels.size > 0) {
      for (const channel of this.channels.values()) {
        this.host.publish(channel.name, recordsFrame(channel.subJson, this.topicJson, encoded), channel.members)
      }
    }
    if (this.direct.size > 0) {
      for (const c of [...this.direct]) if (c.state === 'live' && !c.owner.ended) c.owner.deliver(c, encoded)
    }
  }

  private gapLive(from: number, to: number): void {
    for (const c of [...this.cursors]) if (c.state === 'live' && !c.owner.ended) c.owner.gap(c, from, to)
  }

  private wakeWaiting(): void {
    if (this.waiting.size === 0) return
    for (const c of [...this.waiting]) {
      if (c.next > this.published) continue
      this.waiting.delete(c)
      c.state = 'catch-up'
      c.schedule()
    }
  }
}
