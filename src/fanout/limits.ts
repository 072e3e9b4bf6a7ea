// Bounds on live subscriptions (WebSocket and SSE), each with its policy. Serve flags set them
// (src/cli/serve-options.ts); docs/ws-protocol.md is the user-facing list.
import { assert } from '../core/errors.ts'

export interface FanoutLimits {
  /** Live WebSocket + SSE connections on this node; beyond it an upgrade is refused (429). */
  maxConnections: number
  /** Largest inbound WebSocket frame; larger closes the socket with 1009. */
  maxFrameBytes: number
  /**
   * Bytes queued for one connection and not yet written. A socket that had more than this
   * queued when another frame was added is a slow consumer and is closed (4001).
   * Catch-up pauses at half of it, so only a reader that stops reading at the head is closed.
   */
  maxBufferedBytes: number
  /** Subscriptions per WebSocket; beyond it `err` TOO_MANY_SUBSCRIPTIONS. */
  maxSubscriptionsPerSocket: number
  /** Seconds without a frame or pong before the runtime drops the connection (it pings first). */
  idleTimeoutSeconds: number
  /** `pub` frames of one socket waiting for their ack; beyond it `err` THROTTLED. */
  maxInflightPubs: number
  /** `sub` + `unsub` frames per second per socket (token bucket), and the burst allowed. */
  controlFramesPerSecond: number
  controlFramesBurst: number
  /** Records and bytes of stored batches in one `msgs` frame (one record is always sent). */
  maxRecordsPerFrame: number
  maxBytesPerFrame: number
  /** How often live connections' send buffers are checked against maxBufferedBytes. */
  slowConsumerCheckMs: number
  /** SSE comment line that keeps proxies from closing an idle stream. */
  sseKeepAliveMs: number
}

export const DEFAULT_FANOUT_LIMITS: FanoutLimits = {
  maxConnections: 10_000,
  maxFrameBytes: 1024 * 1024,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxSubscriptionsPerSocket: 100,
  idleTimeoutSeconds: 120,
  maxInflightPubs: 1024,
  controlFramesPerSecond: 100,
  controlFramesBurst: 200,
  maxRecordsPerFrame: 500,
  maxBytesPerFrame: 256 * 1024,
  slowConsumerCheckMs: 100,
  sseKeepAliveMs: 15_000,
}

export function checkFanoutLimits(l: FanoutLimits): FanoutLimits {
  for (const [k, v] of Object.entries(l)) assert(Number.isInteger(v) && v > 0, `fan-out limit ${k} must be a positive integer, got ${v}`)
  // Catch-up pauses at half the buffer: a catch-up frame must fit under the close threshold.
  assert(l.maxBytesPerFrame * 2 <= l.maxBufferedBytes, 'maxBytesPerFrame is at most half of maxBufferedBytes')
  assert(l.controlFramesBurst >= 1, 'a control burst allows at least one frame')
  return l
}
