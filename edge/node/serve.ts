// `edgelog serve` on Node (`npm run start:node`): @hono/node-server and the `ws` package
// (ws.ts) around edge/shared/serve.ts, with the SQLite driver this Node has: node:sqlite on
// Node 24 (22.13+), better-sqlite3 on Node 20. EDGELOG_SQLITE=better-sqlite3|node:sqlite
// overrides the choice.
//   node --import tsx edge/node/serve.ts --port 8080 --data ./data
import type { IncomingMessage, Server } from 'node:http'
import { serve } from '@hono/node-server'
import { WebSocket as WsClient } from 'ws'
import type { WebSocketConstructor } from '../../src/client/ws-connection.ts'
import { defaultFileDriver, isFileDriverName, openFileStorage } from '../../storage/select.ts'
import { serveNode } from '../shared/serve.ts'
import { admitLiveUpgrade, WS_PATH } from '../shared/ws.ts'
import { nodeFanout } from './ws.ts'

const wanted = process.env.EDGELOG_SQLITE
if (wanted !== undefined && (!isFileDriverName(wanted) || wanted === 'bun:sqlite')) {
  console.error(`EDGELOG_SQLITE must be node:sqlite or better-sqlite3, not '${wanted}'`)
  process.exit(2)
}
const driver = wanted ?? (await defaultFileDriver())

function remoteAddress(env: unknown): string | undefined {
  return (env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket?.remoteAddress
}

await serveNode({
  runtime: `Node ${process.versions.node}`,
  driver,
  argv: process.argv.slice(2),
  env: process.env,
  openStorage: (dir, fsync) => openFileStorage(driver, dir, fsync),
  // @hono/node-server hands { incoming, outgoing } to fetch; Hono passes it on as `c.env`.
  clientAddress: (_req, env) => remoteAddress(env),
  listen({ fetch, hub, gate }, { port, host, tls }) {
    // TLS is served by Bun only so far (edge/bun/serve.ts); put a TLS proxy in front of Node.
    if (tls) return Promise.reject(new Error('--tls-cert / --tls-key are served on Bun only; terminate TLS in front of this node'))
    return new Promise((resolve) => {
      const server = serve(
        {
          // A plain GET /v1/ws (no upgrade) gets the same answer as on Bun: the gate, admission, then 426.
          fetch: async (req: Request, env: unknown) => {
            if (new URL(req.url).pathname !== WS_PATH) return fetch(req, env)
            const admitted = await admitLiveUpgrade(hub, gate, req, remoteAddress(env))
            if ('response' in admitted) return admitted.response
            admitted.slot.release()
            admitted.access?.release()
            return new Response(null, { status: 500 })
          },
          port,
          hostname: host,
        },
        (info) => {
          const stopHeartbeat = nodeFanout(server as Server, hub, gate)
          resolve({
            port: info.port,
            stop: () =>
              new Promise<void>((done) => {
                stopHeartbeat()
                server.close(() => done())
              }),
          })
        },
      )
    })
  },
  onSignal: (signal, handler) => void process.on(signal, handler),
  exit: (code) => process.exit(code),
  // Node 20 has no global WebSocket; an edge's upstream subscriptions use `ws`'s client there.
  ...(typeof globalThis.WebSocket === 'undefined' ? { WebSocket: WsClient as unknown as WebSocketConstructor } : {}),
})
