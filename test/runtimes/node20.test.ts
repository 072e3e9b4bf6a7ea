// The public-API suite (http.case.ts) against the bundled Node entry (dist/node/edgelog.mjs, built
// from edge/node/serve.ts) on the machine's Node 20 (better-sqlite3, @hono/node-server, ws): what
// `npm run start:node` runs where `node` is Node 20.
import { after, before, describe, test } from 'node:test'
import { commands, nodeVersion, startWith, systemNode } from '../helpers/runtimes.ts'
import { registerHttpSuite } from './http.case.ts'

const node = systemNode()

registerHttpSuite(
  { name: `Node ${nodeVersion(node)} (better-sqlite3)`, start: (dataDir) => startWith(commands.node(node), dataDir) },
  { describe, test: test as never, before, after },
)
