// The public-API suite (http.case.ts) against `npm run start:cloudflare`: the Worker and its
// Durable Object (ctx.storage.sql) in workerd through Miniflare, with --data kept across the
// restart case.
import { after, before, describe, test } from 'node:test'
import { commands, startWith } from '../helpers/runtimes.ts'
import { registerHttpSuite } from './http.case.ts'

registerHttpSuite(
  { name: 'Cloudflare Worker + Durable Object (workerd via Miniflare)', start: (dataDir) => startWith(commands.cloudflare(), dataDir) },
  { describe, test: test as never, before, after },
)
