/**
 * The runtime seam of the fan-out. A runtime adapter (edge/bun/ws.ts today; Deno, Node and
 * Durable Objects later) gives each accepted WebSocket to `FanoutHub.openSession` as a
 * `FanoutSocket`, then forwards the socket's events to the returned session:
 *
 *   const session = hub.openSession(socket)         // after the upgrade completed
 *   socket message  → session.onFrame(textOrBytes)   // text: string; binary: anything else
 *   socket drained  → session.onDrain()              // optional: the runtime's "drain" event
 *   socket closed   → session.onClose()
 *
 * Before the upgrade, the adapter asks `hub.admit(request)` (origin, draining, connection
 * limit) and answers its Response instead of upgrading when it returns one; once the socket
 * exists or the upgrade failed, the reserved slot is handed to the session or released.
 *
 * The runtime must: enforce the inbound frame limit itself if it can (the session checks text
 * length as well and closes with 1009), ping and drop peers idle for `idleTimeoutSeconds`,
 * never drop a frame it accepted in `send` (no silent loss: an over-full socket is closed by
 * the session), and never echo a subprotocol.
 */
export interface FanoutSocket {
  /** Queues one text frame. Must not drop it; may buffer without bound (the session bounds it). */
  send(text: string): void
  /** Bytes accepted by `send` (or a channel publish) and not yet written to the network. */
  bufferedAmount(): number
  close(code: number, reason: string): void
}

/**
 * A runtime's native publish/subscribe (Bun's `server.publish`): one call writes the same
 * frame to every member of a channel without a JavaScript loop, and queues it in order with
 * the socket's own `send`s. Optional: without it the hub loops over the channel's members.
 */
export interface NativeChannels {
  join(socket: FanoutSocket, channel: string): void
  leave(socket: FanoutSocket, channel: string): void
  publish(channel: string, text: string): void
}

/** Close codes the server uses (docs/ws-protocol.md). */
export const CloseCode = {
  GOING_AWAY: 1001,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  /** A node restarted with this socket connected and could not carry on its subscriptions (hub.reopenSession). */
  SERVICE_RESTART: 1012,
  SLOW_CONSUMER: 4001,
} as const
