// `npm run example:live-comments`: one edgelog node (the same `serve` as `edgelog serve`, with
// every flag it takes) that also serves the live comments page, on one port. The page and the
// public API share an origin, so the browser's WebSocket passes the node's origin check.
//
//   PORT=8080 npm run example:live-comments        then open http://127.0.0.1:8080/?room=42
//   EDGELOG_DATA=./data/live-comments (default)    where the log lives
//
// The `comments` topic is created through the node's own HTTP API if it is missing.
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Hono } from 'hono'
import { main } from '../../edge/bun/serve.ts'

const here = import.meta.dir
const root = resolve(here, '../..')
/** Partitions of `comments`: rooms spread over them by murmur2 of the room id. */
const commentsPartitions = 4

const files: Record<string, { body: string; type: string }> = {
  '/': { body: readFileSync(join(here, 'index.html'), 'utf8'), type: 'text/html; charset=utf-8' },
  '/app.js': { body: readFileSync(join(here, 'app.js'), 'utf8'), type: 'text/javascript; charset=utf-8' },
  '/style.css': { body: readFileSync(join(here, 'style.css'), 'utf8'), type: 'text/css; charset=utf-8' },
}

async function mountPage(app: Hono): Promise<void> {
  for (const [path, file] of Object.entries(files)) {
    app.get(path, (c) =>
      c.body(file.body, 200, {
        'content-type': file.type,
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        // The page runs only its own module and the node's client bundle.
        'content-security-policy': "default-src 'self'; script-src 'self'; connect-src 'self' ws: wss:; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'",
      }),
    )
  }
  // Through the public API, in process: the same validation and errors as over HTTP.
  const created = await app.request('/v1/topics', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'comments', partitions: commentsPartitions }),
  })
  if (created.status !== 200 && created.status !== 201) {
    const body = (await created.json()) as { error?: { code?: string } }
    if (body.error?.code !== 'TOPIC_ALREADY_EXISTS') throw new Error(`cannot create topic comments: ${JSON.stringify(body)}`)
  }
}

const argv = process.argv.slice(2)
if (!argv.some((a) => a === '--data' || a.startsWith('--data=')) && !process.env.EDGELOG_DATA) {
  argv.push('--data', join(root, 'data', 'live-comments'))
}
await main(argv, { extend: mountPage })
