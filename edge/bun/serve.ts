// `edgelog serve` on Bun (the default `npm start`, and the `dist/edgelog` binary): bun:sqlite
// and Bun.serve around the shared node setup in edge/shared/serve.ts.
import { bunStorage } from '../../storage/bun-sqlite.ts'
import { serveNode } from '../shared/serve.ts'

export async function main(argv: string[]): Promise<void> {
  await serveNode({
    runtime: `Bun ${Bun.version}`,
    driver: 'bun:sqlite',
    argv,
    env: process.env,
    openStorage: bunStorage,
    async listen(fetch, { port, host }) {
      const server = Bun.serve({
        port,
        hostname: host,
        fetch,
        // The body limit is enforced by the app while streaming (src/api/body.ts), which answers
        // with our JSON error; Bun's own ceiling would answer a bare 413 first.
        maxRequestBodySize: Number.MAX_SAFE_INTEGER,
        idleTimeout: 60,
      })
      return { port: server.port!, stop: () => server.stop() }
    },
    onSignal: (signal, handler) => void process.on(signal, handler),
    exit: (code) => process.exit(code),
  })
}

if (import.meta.main) await main(process.argv.slice(2))
