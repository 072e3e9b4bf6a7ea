// A `sub` on one socket: a cursor per partition, delivering `msg`/`msgs`/`gap` frames.
import type { EdgelogError } from '../core/errors.ts'
import { Cursor, type CursorOwner, type LiveChannel } from './cursor.ts'
import { gapFrame, recordsFrame, type EncodedRecords } from './encode.ts'
import type { StartPlan } from './plan.ts'
import type { WsSession } from './session.ts'

export class WsSubscription implements CursorOwner {
  ended = false
  readonly channel: LiveChannel
  private readonly cursors: Cursor[]
  private readonly topicJson: string

  constructor(
    private readonly session: WsSession,
    readonly id: string,
    private readonly plan: StartPlan,
  ) {
    const subJson = JSON.stringify(id)
    this.topicJson = JSON.stringify(plan.topic)
    this.channel = { key: id, subJson, socket: session.socket, send: (text) => session.send(text) }
    const hub = session.hub
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

  // ---- CursorOwner ----

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
