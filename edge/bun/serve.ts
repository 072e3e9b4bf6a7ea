// `edgelog serve` on Bun (the default `npm start`, and the `dist/edgelog` binary): bun:sqlite,
// Bun.serve (with TLS) and Bun's native WebSocket publish (ws.ts) around edge/shared/serve.ts.
import type { Server } from 'bun'
import { bunStorage } from '../../storage/bun-sqlite.ts'
import { serveNode, type ServeHooks } from '../shared/serve.ts'
import { WS_PATH } from '../shared/ws.ts'
import { bunFanout, type WsData } from './ws.ts'

export type { ServeHooks }

/** Bun hands the Server to fetch; Hono passes it on as `c.env`. */
const requestIP = (req: Request, env: unknown) => (env as Server<WsData> | undefined)?.requestIP?.(req)?.address

export async function main(argv: string[], hooks: ServeHooks = {}): Promise<void> {
  await serveNode(
    {
      runtime: `Bun ${Bun.version}`,
      driver: 'bun:sqlite',
      argv,
      env: process.env,
      openStorage: bunStorage,
      clientAddress: requestIP,
      async listen({ fetch, hub, gate }, { port, host, tls }) {
        const live = bunFanout(hub)
        // `GET /v1/ws`: the security gate (token, caps), then the hub's admission, then Bun's upgrade.
        const upgrade = async (req: Request, srv: Server<WsData>): Promise<Response | undefined> => {
          const gated = gate ? await gate.admitLive(req, requestIP(req, srv)) : {}
          if ('response' in gated) return gated.response
          const refused = live.upgrade(req, srv, gated.access)
          if (refused) gated.access?.release()
          return refused
        }
        const server = Bun.serve<WsData>({
          port,
          hostname: host,
          fetch: (req, srv) => (new URL(req.url).pathname === WS_PATH ? upgrade(req, srv) : fetch(req, srv)),
          websocket: live.websocket,
          // The body limit is enforced by the app while streaming (src/api/body.ts), which answers
          // with our JSON error; Bun's own ceiling would answer a bare 413 first.
          maxRequestBodySize: Number.MAX_SAFE_INTEGER,
          // Longer than the longest long poll (30 s). Headers are cut off by Bun itself after about
          // 10 s however slowly they trickle; bodies by the app's body deadline (src/api/body.ts).
          idleTimeout: 60,
          // The app answers every error itself; this is the last line, and it tells nothing.
          error: () =>
            new Response('{"error":{"code":"INTERNAL","message":"internal error"}}', { status: 500, headers: { 'content-type': 'application/json' } }),
          tls,
        })
        hub.useNativeChannels(live.channels(server))
        return { port: server.port!, stop: () => server.stop() }
      },
      onSignal: (signal, handler) => void process.on(signal, handler),
      exit: (code) => process.exit(code),
    },
    hooks,
  )
}

if (import.meta.main) await main(process.argv.slice(2))
