// Brokers and edges on loopback for the edge relay tests: a broker behind a TCP proxy (so it
// can be stopped and restarted on a new port while edges keep one upstream URL), edges pointed
// at the proxy, and small waiting helpers.
import { startServer, tempDir, type TestServer } from './server.ts'
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts'

export interface Region {
  broker: TestServer
  proxy: TcpProxy
  /** The URL edges use: the proxy in front of the broker. */
  upstream: string
  dataDir: string
  /** Stops the broker (SIGTERM unless told otherwise); edges then see connection errors. */
  stop(signal?: NodeJS.Signals): Promise<void>
  /** Starts the broker again on the same data directory; the proxy follows it. */
  restart(): Promise<void>
  close(): Promise<void>
}

export async function startRegion(args: string[] = []): Promise<Region> {
  const dataDir = tempDir('edgelog-region-')
  const broker = await startServer({ dataDir, args: ['--fsync', 'batch', ...args] })
  const proxy = await startTcpProxy(broker.port)
  const region: Region = {
    broker,
    proxy,
    upstream: proxy.url,
    dataDir,
    async stop(signal = 'SIGTERM') {
      await region.broker.stop(signal)
      proxy.cutAll()
    },
    async restart() {
      region.broker = await startServer({ dataDir, args: ['--fsync', 'batch', ...args] })
      proxy.targetPort = region.broker.port
    },
    async close() {
      await region.broker.stop('SIGKILL')
      await proxy.close()
    },
  }
  return region
}

export function startEdge(upstream: string | string[], args: string[] = [], dataDir?: string): Promise<TestServer> {
  const ups = (Array.isArray(upstream) ? upstream : [upstream]).flatMap((u) => ['--upstream', u])
  return startServer({ ...(dataDir ? { dataDir } : {}), args: ['--role', 'edge', ...ups, '--metadata-refresh-ms', '200', ...args] })
}

export { waitUntil } from './wait.ts'

/** One sample of a Prometheus series (exact label set as rendered), or undefined. */
export async function metric(url: string, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text()
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1))
  }
  return undefined
}

/** Sum of every sample of a metric family (all label sets). */
export async function metricSum(url: string, family: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text()
  let sum = 0
  for (const line of text.split('\n')) {
    if (line.startsWith(family + '{') || line.startsWith(family + ' ')) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}
