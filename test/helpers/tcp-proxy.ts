// A loopback TCP proxy in front of a test server, for faults a real network has: answers that
// never arrive (the request reached the node, the reply was lost) and connections cut at once.
// It forwards bytes unchanged, so HTTP and WebSocket traffic both pass through it.
import { createServer, connect, type Server, type Socket } from 'node:net'

export interface TcpProxy {
  /** `http://127.0.0.1:<proxy port>` */
  url: string
  port: number
  /** Where connections go; change it to follow a restarted server. */
  targetPort: number
  /** While true, bytes from the server are dropped: requests arrive, answers do not. */
  swallowAnswers: boolean
  /** Client → server bytes seen so far, all connections together (for counting requests). */
  clientBytes(): string
  /** Connections accepted so far. */
  connections(): number
  /** Destroys every open connection (both sides see a reset). */
  cutAll(): void
  close(): Promise<void>
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>()
  let seen = ''
  let accepted = 0
  const proxy: TcpProxy = {
    url: '',
    port: 0,
    targetPort,
    swallowAnswers: false,
    clientBytes: () => seen,
    connections: () => accepted,
    cutAll() {
      for (const socket of open) socket.destroy()
      open.clear()
    },
    close: () =>
      new Promise<void>((resolve) => {
        proxy.cutAll()
        server.close(() => resolve())
      }),
  }
  const server: Server = createServer((client) => {
    accepted++
    const upstream = connect(proxy.targetPort, '127.0.0.1')
    open.add(client)
    open.add(upstream)
    client.on('data', (chunk) => {
      // Keep a bounded tail: enough to count requests in a test, never a growing buffer.
      seen = (seen + chunk.toString('latin1')).slice(-1_000_000)
      upstream.write(chunk)
    })
    upstream.on('data', (chunk) => {
      if (!proxy.swallowAnswers) client.write(chunk)
    })
    const end = () => {
      client.destroy()
      upstream.destroy()
      open.delete(client)
      open.delete(upstream)
    }
    client.on('close', end)
    upstream.on('close', end)
    client.on('error', end)
    upstream.on('error', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port')
  proxy.port = address.port
  proxy.url = `http://127.0.0.1:${address.port}`
  return proxy
}
