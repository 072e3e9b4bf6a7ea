// A `sub` on one socket: a cursor per partition, delivering `msg`/`msgs`/`gap` frames.
import type { EdgelogError } from '../core/errors.ts'
import { Cursor, type CursorOwner, type LiveChannel } from './cursor.ts'
import { gapFrame, recordsFrame, type EncodedRecords } from './encode.ts'
import type { StartPlan } from './plan.ts'
import type { SavedSubscription } from './saved.ts'
import type { WsSession } from './session.ts'

export class WsSubscription implements CursorOwner {
  ended = false
  readonly channel: LiveChannel
  private readonly cursors: Cursor[]
  private readonly topicJson: string
  /** Only kept where positions are saved (a hibernating Durable Object). */
  private readonly topicId: string | undefined

  constructor(
    private readonly session: WsSession,
    readonly id: string,
    private readonly plan: StartPlan,
  ) {
    const subJson = JSON.stringify(id)
    this.topicJson = JSON.stringify(plan.topic)
    this.channel = { key: id, subJson, socket: session.socket, send: (text) => session.send(text) }
    const hub = session.hub
    this.topicId = hub.sessionStore ? hub.broker.describeTopic(plan.topic).topicId : undefined
    this.cursors = plan.starts.map((s) => new Cursor(hub.feedFor(s.partition), this, s.next))
    hub.subscriptionOpened(plan.topic)
  }

  start(): void {
    for (const c of this.cursors) if (!this.ended) c.start()
  }

  stop(): void {
    if (this.ended) return
    this.ended = true
    for (const c of this.cursors) c.stop()
    this.session.hub.subscriptionClosed(this.plan.topic)
  }

  /** Where each cursor is (saved.ts says what a live position means). */
  saved(): SavedSubscription {
    return {
      id: this.id,
      topic: this.plan.topic,
      topicId: this.topicId ?? '',
      cursors: this.cursors.map((c) => (c.state === 'live' ? { partition: c.partition, next: c.feed.published, live: true } : { partition: c.partition, next: c.next, live: false })),
    }
  }

  // ---- CursorOwner ----

  positionChanged(): void {
    this.session.positionsChanged()
  }

  deliver(_cursor: Cursor, records: EncodedRecords): void {
    this.session.send(recordsFrame(this.channel.subJson, this.topicJson, records))
  }

  gap(cursor: Cursor, from: number, to: number): void {
    this.session.send(gapFrame(this.id, cursor.partition, from, to))
  }

  fail(_cursor: Cursor, error: EdgelogError): void {
    this.session.failSubscription(this, error)
  }

  sendBlocked(): boolean {
    return this.session.blocked()
  }

  waitForDrain(resume: () => void): void {
    this.session.waitForDrain(resume)
  }
}
