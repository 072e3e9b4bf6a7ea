// The public-API suite (http.case.ts) against `bun edge/bun/serve.ts`, the default `npm start`.
import { after, before, describe, test } from 'node:test'
import { commands, startWith } from '../helpers/runtimes.ts'
import { registerHttpSuite } from './http.case.ts'

registerHttpSuite(
  { name: `Bun ${Bun.version} (bun:sqlite)`, start: (dataDir) => startWith(commands.bun(), dataDir) },
  { describe, test: test as never, before, after },
)
