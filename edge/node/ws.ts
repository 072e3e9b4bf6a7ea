// The fan-out's WebSocket glue on Node: the `ws` package on the http server's 'upgrade'
// event, with admission before the handshake, the inbound frame limit, and a ping heartbeat
// that drops peers idle for --ws-idle-timeout (src/fanout/socket.ts lists the duties).
import type { IncomingMessage, Server } from 'node:http'
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import type { FanoutHub } from '../../src/fanout/hub.ts'
import { admitUpgrade, attachSession, WS_PATH } from '../shared/ws.ts'

function toRequest(req: IncomingMessage): Request {
  const headers = new Headers()
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!)
  return new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, { headers })
}

async function writeResponse(socket: Duplex, response: Response): Promise<void> {
  const body = Buffer.from(await response.arrayBuffer())
  const head = [`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}`]
  response.headers.forEach((value, name) => head.push(`${name}: ${value}`))
  head.push(`content-length: ${body.length}`, 'connection: close')
  socket.end(Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n\r\n'), body]))
}

/** Serves `/v1/ws` upgrades on `server`; returns a function that stops the heartbeat. */
export function nodeFanout(server: Server, hub: FanoutHub): () => void {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: hub.limits.maxFrameBytes, // closes with 1009 past it
    perMessageDeflate: false,
    handleProtocols: () => false, // never echo a subprotocol
  })
  const alive = new WeakSet<WebSocket>()

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const request = toRequest(req)
    if (new URL(request.url).pathname !== WS_PATH) {
      void writeResponse(socket, Response.json({ error: { code: 'NOT_FOUND', message: `no WebSocket endpoint at ${new URL(request.url).pathname}` } }, { status: 404 }))
      return
    }
    const admitted = admitUpgrade(hub, request)
    if ('response' in admitted) {
      void writeResponse(socket, admitted.response)
      return
    }
    // ws answers a bad handshake (400) itself and never calls back: release the slot then.
    let upgraded = false
    socket.once('close', () => {
      if (!upgraded) admitted.slot.release()
    })
    wss.handleUpgrade(req, socket, head, (ws) => {
      upgraded = true
      alive.add(ws)
      const session = attachSession(hub, admitted.slot, ws)
      ws.on('message', (data, isBinary) => session.onFrame(isBinary ? (data as Buffer) : data.toString()))
      ws.on('pong', () => alive.add(ws))
      ws.on('close', () => session.onClose())
      ws.on('error', (err) => hub.logError(err))
    })
  })

  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        ws.terminate()
        continue
      }
      alive.delete(ws)
      ws.ping()
    }
  }, hub.limits.idleTimeoutSeconds * 1000)
  heartbeat.unref()
  return () => clearInterval(heartbeat)
}
