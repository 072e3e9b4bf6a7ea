// `edgelog serve` on Bun (the default `npm start`, and the `dist/edgelog` binary): bun:sqlite,
// Bun.serve and Bun's native WebSocket publish (ws.ts) around edge/shared/serve.ts.
import { bunStorage } from '../../storage/bun-sqlite.ts'
import { serveNode, type ServeHooks } from '../shared/serve.ts'
import { WS_PATH } from '../shared/ws.ts'
import { bunFanout } from './ws.ts'

export type { ServeHooks }

export async function main(argv: string[], hooks: ServeHooks = {}): Promise<void> {
  await serveNode(
    {
      runtime: `Bun ${Bun.version}`,
      driver: 'bun:sqlite',
      argv,
      env: process.env,
      openStorage: bunStorage,
      async listen({ fetch, hub }, { port, host }) {
        const live = bunFanout(hub)
        const server = Bun.serve({
          port,
          hostname: host,
          fetch: (req, srv) => (new URL(req.url).pathname === WS_PATH ? live.upgrade(req, srv) : fetch(req)),
          websocket: live.websocket,
          // The body limit is enforced by the app while streaming (src/api/body.ts), which answers
          // with our JSON error; Bun's own ceiling would answer a bare 413 first.
          maxRequestBodySize: Number.MAX_SAFE_INTEGER,
          idleTimeout: 60,
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
