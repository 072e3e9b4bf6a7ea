// The Bun glue of the fan-out (src/fanout/socket.ts describes the seam): Bun's native
// WebSocket server, with `server.publish` as the live channels, so a record at the head is
// written to every subscriber of a channel by one native call.
import type { Server, ServerWebSocket, WebSocketHandler } from 'bun'
import { errorBody } from '../../src/api/errors.ts'
import type { ConnectionSlot, FanoutHub } from '../../src/fanout/hub.ts'
import type { WsSession } from '../../src/fanout/session.ts'
import { CloseCode, type FanoutSocket, type NativeChannels } from '../../src/fanout/socket.ts'

interface WsData {
  slot: ConnectionSlot
  socket?: BunSocket
  session?: WsSession
}

class BunSocket implements FanoutSocket {
  constructor(readonly ws: ServerWebSocket<WsData>) {}
  send(text: string): void {
    this.ws.send(text)
  }
  bufferedAmount(): number {
    return this.ws.getBufferedAmount()
  }
  close(code: number, reason: string): void {
    this.ws.close(code, reason)
  }
}

export function bunFanout(hub: FanoutHub) {
  const limits = hub.limits
  const websocket: WebSocketHandler<WsData> = {
    // Bun closes with 1009 past this, after decompression and across fragments.
    maxPayloadLength: limits.maxFrameBytes,
    // The session closes a slow consumer at maxBufferedBytes (4001, with a reason). Bun's own
    // limit is only the backstop for a burst between two checks; past it Bun drops the frame
    // and, with closeOnBackpressureLimit, the connection (1006): never a silent gap.
    backpressureLimit: Math.max(4 * limits.maxBufferedBytes, 64 * 1024 * 1024),
    closeOnBackpressureLimit: true,
    idleTimeout: limits.idleTimeoutSeconds,
    sendPings: true,
    perMessageDeflate: false,
    publishToSelf: false,
    open(ws) {
      const socket = new BunSocket(ws)
      ws.data.socket = socket
      ws.data.session = hub.openSession(socket, ws.data.slot)
    },
    message(ws, message) {
      ws.data.session?.onFrame(message)
    },
    drain(ws) {
      ws.data.session?.onDrain()
    },
    close(ws) {
      if (ws.data.session) ws.data.session.onClose()
      else ws.data.slot.release()
    },
    error(err, ws) {
      hub.logError(err)
      ws.data.session?.close(CloseCode.INTERNAL_ERROR, 'internal error')
    },
  }

  /** `GET /v1/ws`: a refusal, or undefined once Bun has taken the request for the upgrade. */
  function upgrade(req: Request, server: Server<WsData>): Response | undefined {
    const admitted = hub.admit(req, 'ws')
    if ('response' in admitted) return admitted.response
    // No subprotocol is negotiated; an empty header keeps Bun from echoing the client's offer.
    if (server.upgrade(req, { data: { slot: admitted.slot }, headers: { 'Sec-WebSocket-Protocol': '' } })) return undefined
    admitted.slot.release()
    return Response.json(errorBody('UPGRADE_REQUIRED', 'GET /v1/ws is a WebSocket endpoint: send an upgrade request'), { status: 426 })
  }

  function channels(server: Server<WsData>): NativeChannels {
    return {
      join: (socket, channel) => void (socket as BunSocket).ws.subscribe(channel),
      leave: (socket, channel) => void (socket as BunSocket).ws.unsubscribe(channel),
      publish: (channel, text) => void server.publish(channel, text, false),
    }
  }

  return { websocket, upgrade, channels }
}
