// `edgelog serve` on Deno (`deno task start`): node:sqlite, Deno.serve and
// Deno.upgradeWebSocket around edge/shared/serve.ts. npm packages come from node_modules
// (deno.json "nodeModulesDir": "manual"), so it runs offline after `npm install`.
//   deno run -A edge/deno/serve.ts --port 8080 --data ./data
import type { WsSession } from '../../src/fanout/session.ts'
import { nodeSqliteStorage } from '../../storage/node-sqlite.ts'
import { serveNode } from '../shared/serve.ts'
import { admitUpgrade, attachSession, WS_PATH } from '../shared/ws.ts'

await serveNode({
  runtime: `Deno ${Deno.version.deno}`,
  driver: 'node:sqlite',
  argv: Deno.args,
  env: Deno.env.toObject(),
  openStorage: nodeSqliteStorage,
  async listen({ fetch, hub }, { port, host }) {
    const handler = (req: Request): Response | Promise<Response> => {
      if (new URL(req.url).pathname !== WS_PATH) return fetch(req)
      const admitted = admitUpgrade(hub, req)
      if ('response' in admitted) return admitted.response
      // idleTimeout: Deno pings and closes a peer that has not answered within it.
      const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: hub.limits.idleTimeoutSeconds })
      socket.binaryType = 'arraybuffer'
      let session: WsSession | undefined
      socket.onopen = () => {
        session = attachSession(hub, admitted.slot, socket)
      }
      socket.onmessage = (e) => session?.onFrame(e.data)
      socket.onclose = () => (session ? session.onClose() : admitted.slot.release())
      socket.onerror = () => {}
      return response
    }
    // onListen replaces Deno's own "Listening on" line; the shared code prints ours.
    const server = Deno.serve({ port, hostname: host, onListen: () => {} }, handler)
    return { port: server.addr.port, stop: () => server.shutdown() }
  },
  onSignal: (signal, handler) => Deno.addSignalListener(signal, handler),
  exit: (code) => Deno.exit(code),
})
