// One subscription's position on one partition, and the catch-up that brings it to the head.
//
// No seam between catch-up and live: catch-up reads only below the feed's `published` offset
// (what the live fan-out has already sent), and the cursor joins the live fan-out in the same
// synchronous step in which it finds `next === published`. Nothing runs between that check and
// the join, so a record appended meanwhile is either below `published` (read by catch-up) or
// at or above it (sent live after the join): exactly once either way.
import { EdgelogError } from '../core/errors.ts'
import { toEdgelogError } from '../api/errors.ts'
import { encodeRecords, type EncodedRecords } from './encode.ts'
import type { PartitionFeed } from './feed.ts'
import { readRecords } from './read.ts'
import type { FanoutSocket } from './socket.ts'

/** What a cursor delivers to: a WebSocket subscription or an SSE stream. */
export interface CursorOwner {
  /** Ended: the cursor stops at its next step. */
  readonly ended: boolean
  deliver(cursor: Cursor, records: EncodedRecords): void
  gap(cursor: Cursor, from: number, to: number): void
  /** The partition went away or could not be read: the owner ends (every cursor of it). */
  fail(cursor: Cursor, error: EdgelogError): void
  /** True while the connection's send buffer is too full for more catch-up. */
  sendBlocked(): boolean
  /** Calls resume once the send buffer has room again. */
  waitForDrain(resume: () => void): void
  /** For WebSocket cursors: the channel (subscription id) live records are published on. */
  readonly channel?: LiveChannel
}

/** A WebSocket subscription's place in a partition's live fan-out. */
export interface LiveChannel {
  /** Cursors with the same key share one frame text (the subscription id it names). */
  key: string
  subJson: string
  socket: FanoutSocket
  /** Queues a frame on the socket with the slow-consumer check (no native publish). */
  send(text: string): void
}

export type CursorState = 'catch-up' | 'waiting' | 'live' | 'done'

/** Frames one cursor sends per turn before yielding to the others (fairness). */
const FRAMES_PER_TURN = 4

export class Cursor {
  state: CursorState = 'catch-up'
  private scheduled = false

  constructor(
    readonly feed: PartitionFeed,
    readonly owner: CursorOwner,
    /** The next offset to deliver; meaningful while not live (live cursors are at feed.published). */
    public next: number,
  ) {
    feed.attach(this)
  }

  get partition(): number {
    return this.feed.partition.index
  }

  /** The next offset this cursor delivers, live or not. */
  get position(): number {
    return this.state === 'live' ? this.feed.published : this.next
  }

  /** Runs the first catch-up step now (a cursor already at the head joins at once). */
  start(): void {
    this.step()
  }

  /** Runs a step after the current turn, once, however often it is asked for. */
  schedule(): void {
    if (this.scheduled || this.state === 'done') return
    this.scheduled = true
    this.feed.runtime.timers.defer(() => {
      this.scheduled = false
      this.step()
    })
  }

  stop(): void {
    if (this.state === 'done') return
    if (this.state === 'live') this.next = this.feed.published
    this.state = 'done'
    this.feed.detach(this)
  }

  private step(): void {
    if (this.state !== 'catch-up') return
    if (this.owner.ended) return this.stop()
    try {
      for (let frames = 0; frames < FRAMES_PER_TURN; frames++) {
        if (!this.catchUpOnce()) return
      }
      this.schedule()
    } catch (err) {
      this.owner.fail(this, toEdgelogError(err))
    }
  }

  /** One frame of catch-up; false when the cursor went live, waits, or is done. */
  private catchUpOnce(): boolean {
    const feed = this.feed
    if (feed.closed) {
      this.owner.fail(this, new EdgelogError('UNKNOWN_TOPIC_OR_PARTITION', `${feed.describe()} is gone (topic deleted)`))
      return false
    }
    const logStart = feed.partition.log.logStartOffset
    if (this.next < logStart) {
      this.owner.gap(this, this.next, logStart)
      this.next = logStart
    }
    if (this.next === feed.published) {
      feed.joinLive(this)
      return false
    }
    if (this.next > feed.published) {
      feed.wait(this)
      return false
    }
    if (this.owner.sendBlocked()) {
      this.owner.waitForDrain(() => this.schedule())
      return false
    }
    const limits = feed.limits
    const records = readRecords(feed.partition, this.next, feed.published, limits.maxRecordsPerFrame, limits.maxBytesPerFrame)
    if (records.length === 0 || records[0]!.offset !== this.next) {
      // Below the high watermark every offset is there unless retention removed it since the
      // check above; anything else is a broken log, never a silent skip.
      if (this.next < feed.partition.log.logStartOffset) return true
      throw new EdgelogError('CORRUPT_MESSAGE', `${feed.describe()} has no record at offset ${this.next}`)
    }
    const encoded = encodeRecords(this.partition, records)
    this.owner.deliver(this, encoded)
    this.next = encoded.lastOffset + 1
    return this.state === 'catch-up' && !this.owner.ended
  }
}
