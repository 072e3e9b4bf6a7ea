// `edgelog serve` on Deno (`deno task start`): node:sqlite and Deno.serve around the shared
// node setup in edge/shared/serve.ts. npm packages come from node_modules (deno.json
// "nodeModulesDir": "manual"), so it runs offline after `npm install`.
//   deno run -A edge/deno/serve.ts --port 8080 --data ./data
import { nodeSqliteStorage } from '../../storage/node-sqlite.ts'
import { serveNode } from '../shared/serve.ts'

await serveNode({
  runtime: `Deno ${Deno.version.deno}`,
  driver: 'node:sqlite',
  argv: Deno.args,
  env: Deno.env.toObject(),
  openStorage: nodeSqliteStorage,
  async listen(fetch, { port, host }) {
    // onListen replaces Deno's own "Listening on" line; the shared code prints ours.
    const server = Deno.serve({ port, hostname: host, onListen: () => {} }, fetch)
    return { port: server.addr.port, stop: () => server.shutdown() }
  },
  onSignal: (signal, handler) => Deno.addSignalListener(signal, handler),
  exit: (code) => Deno.exit(code),
})
