// The fan-out's runtime seam (src/fanout/socket.ts) for runtimes whose server-side WebSocket
// has the standard shape (Deno, the `ws` package on Node, workerd): admission before the
// upgrade, and a FanoutSocket over the socket. Bun has its own glue (edge/bun/ws.ts) for
// its native publish.
import { errorBody } from '../../src/api/errors.ts'
import type { ConnectionSlot, FanoutHub } from '../../src/fanout/hub.ts'
import type { WsSession } from '../../src/fanout/session.ts'
import type { FanoutSocket } from '../../src/fanout/socket.ts'

export const WS_PATH = '/v1/ws'

/** The part of a server-side WebSocket the fan-out uses. */
export interface StandardSocket {
  send(data: string): void
  close(code?: number, reason?: string): void
  /** workerd's WebSocket has none: then the slow-consumer bound cannot see the buffer. */
  readonly bufferedAmount?: number
}

export class StandardFanoutSocket implements FanoutSocket {
  constructor(readonly ws: StandardSocket) {}
  send(text: string): void {
    this.ws.send(text)
  }
  bufferedAmount(): number {
    return this.ws.bufferedAmount ?? 0
  }
  close(code: number, reason: string): void {
    try {
      this.ws.close(code, reason)
    } catch {
      // Already closing: the close event still reaches the session.
    }
  }
}

export function isUpgrade(req: Request): boolean {
  return (req.headers.get('upgrade') ?? '').toLowerCase() === 'websocket'
}

export function upgradeRequired(): Response {
  return Response.json(errorBody('UPGRADE_REQUIRED', `GET ${WS_PATH} is a WebSocket endpoint: send an upgrade request`), { status: 426 })
}

/**
 * Admission for `GET /v1/ws` (origin, draining, connection limit): a refusal to send instead of
 * upgrading, or the reserved slot. A request that is not an upgrade gets 426 after admission,
 * as on Bun, so every runtime answers the same request the same way.
 */
export function admitUpgrade(hub: FanoutHub, req: Request): { slot: ConnectionSlot } | { response: Response } {
  const admitted = hub.admit(req, 'ws')
  if ('response' in admitted) return admitted
  if (!isUpgrade(req)) {
    admitted.slot.release()
    return { response: upgradeRequired() }
  }
  return admitted
}

/** Wires a standard socket's events to a new session once it is open. */
export function attachSession(hub: FanoutHub, slot: ConnectionSlot, ws: StandardSocket): WsSession {
  return hub.openSession(new StandardFanoutSocket(ws), slot)
}
