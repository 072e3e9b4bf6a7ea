// `edgelog serve` on Node (`npm run start:node`): @hono/node-server around the shared node
// setup in edge/shared/serve.ts, with the SQLite driver this Node has: node:sqlite on Node 24
// (22.13+), better-sqlite3 on Node 20. EDGELOG_SQLITE=better-sqlite3|node:sqlite overrides.
//   node --import tsx edge/node/serve.ts --port 8080 --data ./data
import { serve } from '@hono/node-server'
import { defaultFileDriver, isFileDriverName, openFileStorage } from '../../storage/select.ts'
import { serveNode } from '../shared/serve.ts'

const wanted = process.env.EDGELOG_SQLITE
if (wanted !== undefined && (!isFileDriverName(wanted) || wanted === 'bun:sqlite')) {
  console.error(`EDGELOG_SQLITE must be node:sqlite or better-sqlite3, not '${wanted}'`)
  process.exit(2)
}
const driver = wanted ?? (await defaultFileDriver())

await serveNode({
  runtime: `Node ${process.versions.node}`,
  driver,
  argv: process.argv.slice(2),
  env: process.env,
  openStorage: (dir, fsync) => openFileStorage(driver, dir, fsync),
  listen(fetch, { port, host }) {
    return new Promise((resolve) => {
      const server = serve({ fetch, port, hostname: host }, (info) =>
        resolve({ port: info.port, stop: () => new Promise<void>((done) => server.close(() => done())) }),
      )
    })
  },
  onSignal: (signal, handler) => void process.on(signal, handler),
  exit: (code) => process.exit(code),
})
