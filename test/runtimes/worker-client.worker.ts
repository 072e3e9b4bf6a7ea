// A Worker that uses the edgelog client library (src/client/) against a node it reaches over
// the network, the way an edge function would: it creates a topic, produces over HTTP and over
// the WebSocket, subscribes over the WebSocket, and long-polls a fetch. worker-client.mf.ts
// runs it in workerd (Miniflare) against a Bun node on loopback.
//   GET /run?url=http://127.0.0.1:PORT&topic=T → a JSON report of what the client saw
import { EdgelogClient } from '../../src/client/index.ts'

async function run(url: string, topic: string) {
  const client = new EdgelogClient({ url })
  await client.http.createTopic({ name: topic, partitions: 2 })
  const got: Array<{ partition: number; offset: number; value: unknown }> = []
  const sub = client.subscribe(topic, { from: 'earliest' }, (r) => void got.push({ partition: r.partition, offset: r.offset, value: r.value }))
  const http = client.producer({ transport: 'http', lingerMs: 0, deliveryTimeoutMs: 20_000 })
  const ws = client.producer({ transport: 'ws', lingerMs: 0, deliveryTimeoutMs: 20_000 })
  const acks = []
  for (let i = 0; i < 3; i++) acks.push(await http.send(topic, { key: 'edge', value: { via: 'http', i } }))
  for (let i = 3; i < 6; i++) acks.push(await ws.send(topic, { key: 'edge', value: { via: 'ws', i } }))
  // A long poll from the Worker: waits for the record produced after it started.
  const partition = acks[0]!.partition
  const end = acks[acks.length - 1]!.offset! + 1
  const polled = client.http.fetchRecords(topic, partition, { offset: end, waitMs: 10_000 })
  await new Promise((r) => setTimeout(r, 200))
  await http.send(topic, { key: 'edge', value: { via: 'http', i: 6 } })
  const poll = await polled
  const deadline = Date.now() + 15_000
  while (got.length < 7 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  await http.close()
  await ws.close()
  sub.close()
  client.close()
  return { acks, polled: poll.records.map((r) => r.value), subscribed: got }
}

export default {
  async fetch(request: Request): Promise<Response> {
    const params = new URL(request.url).searchParams
    try {
      return Response.json(await run(params.get('url')!, params.get('topic')!))
    } catch (err) {
      return Response.json({ error: err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err) }, { status: 500 })
    }
  },
}
