// One subscription's position on one partition, and the catch-up that brings it to the head.
//
// No seam between catch-up and live: catch-up reads only below the feed's `published` offset
// (what the live fan-out has already sent), and the cursor joins the live fan-out in the same
// synchronous step in which it finds `next === published`. Nothing runs between that check and
// the join, so a record appended meanwhile is either below `published` (read by catch-up) or
// at or above it (sent live after the join): exactly once either way. Reads may await (a
// compressed batch inflates asynchronously); the check is made again after every read.
import { assert, EdgelogError } from '../core/errors.ts'
import { toEdgelogError } from '../api/errors.ts'
import { encodeRecords, type EncodedRecords } from './encode.ts'
import type { PartitionFeed } from './feed.ts'
import { readRange } from './read.ts'
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
  /**
   * A catch-up step moved the cursor (frames or a gap sent, went live, started waiting). Called
   * at the end of the step that sent the frames, before anything else runs on the node; a
   * runtime that keeps positions (saved.ts) saves them here.
   */
  positionChanged?(cursor: Cursor): void
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
  /** A step is running (it may be awaiting a decode); a wake-up meanwhile reruns it after. */
  private stepping = false
  private rerun = false

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

  /**
   * Runs the first catch-up step now: a cursor already at the head joins before this returns
   * (the step is synchronous up to its first read).
   */
  start(): void {
    void this.step()
  }

  /** Runs a step after the current turn, once, however often it is asked for. */
  schedule(): void {
    if (this.scheduled || this.state === 'done') return
    this.scheduled = true
    this.feed.runtime.timers.defer(() => {
      this.scheduled = false
      void this.step()
    })
  }

  stop(): void {
    if (this.state === 'done') return
    this.state = 'done'
    this.feed.detach(this)
  }

  private async step(): Promise<void> {
    if (this.state !== 'catch-up') return
    if (this.stepping) {
      this.rerun = true
      return
    }
    if (this.owner.ended) return this.stop()
    this.stepping = true
    const [nextBefore, stateBefore] = [this.next, this.state as CursorState]
    try {
      let frames = 0
      while (await this.catchUpOnce()) {
        if (++frames >= FRAMES_PER_TURN) {
          this.rerun = true
          break
        }
      }
    } catch (err) {
      if ((this.state as CursorState) !== 'done') this.owner.fail(this, toEdgelogError(err))
    } finally {
      this.stepping = false
      const state = this.state as CursorState
      if ((this.next !== nextBefore || state !== stateBefore) && state !== 'done' && !this.owner.ended) this.owner.positionChanged?.(this)
      if (this.rerun) {
        this.rerun = false
        this.schedule()
      }
    }
  }

  /**
   * One frame of catch-up; false when the cursor went live, waits, or is done. Every decision
   * about joining is made synchronously, after any await, against the feed as it is then.
   */
  private async catchUpOnce(): Promise<boolean> {
    if (this.state !== 'catch-up' || this.owner.ended) return false
    const feed = this.feed
    if (feed.closed) {
      this.owner.fail(this, new EdgelogError('UNKNOWN_TOPIC_OR_PARTITION', `${feed.describe()} is gone (topic deleted)`))
      return false
    }
    const logStart = feed.partition.log.logStartOffset
    if (this.next < logStart && !feed.readBefore) {
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
    const from = this.next
    // Below the local log start: an edge reads those records from its region (or learns they are gone).
    const earlier = from < logStart ? await feed.readBefore!(feed.partition, from, logStart) : undefined
    if (earlier && 'gapTo' in earlier) {
      if (this.state !== 'catch-up' || this.owner.ended || this.next !== from) return false
      assert(earlier.gapTo > from, `${feed.describe()}: a gap from ${from} moves forward`)
      this.owner.gap(this, from, earlier.gapTo)
      this.next = earlier.gapTo
      return this.state === 'catch-up' && !this.owner.ended
    }
    const range = earlier ?? (await readRange(feed.broker, feed.partition, from, feed.published, limits.maxRecordsPerFrame, limits.maxBytesPerFrame))
    // Stopped meanwhile (unsub, socket closed, partition gone): deliver nothing.
    if (this.state !== 'catch-up' || this.owner.ended || this.next !== from) return false
    assert(range.next > from, `${feed.describe()}: a read from ${from} moves forward`)
    if (range.records.length > 0) this.owner.deliver(this, encodeRecords(this.partition, range.records))
    this.next = range.next
    return this.state === 'catch-up' && !this.owner.ended
  }
}
