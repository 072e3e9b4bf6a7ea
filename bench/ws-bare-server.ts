// The comparison for bench/ws.ts: a bare Bun.serve broadcast loop. Every socket is subscribed to
// one channel; each frame a publisher socket sends is wrapped into a `msg` frame shaped like
// edgelog's and written to every subscriber with one native server.publish. No log, no
// validation: the ceiling for fan-out on this machine.
const server = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch(req, srv) {
    const publisher = new URL(req.url).pathname === '/pub'
    if (srv.upgrade(req, { data: { publisher } })) return undefined
    return new Response('websocket only', { status: 426 })
  },
  websocket: {
    data: {} as { publisher: boolean },
    idleTimeout: 120,
    backpressureLimit: 64 * 1024 * 1024,
    open(ws) {
      if (!ws.data.publisher) ws.subscribe('bench')
    },
    message(ws, message) {
      const f = JSON.parse(String(message)) as { id: string; value: unknown }
      offset++
      server.publish('bench', `{"op":"msg","sub":"s1","topic":"bench","partition":0,"offset":${offset},"key":null,"value":${JSON.stringify(f.value)},"headers":{},"timestamp":${Date.now()}}`, false)
      ws.send(JSON.stringify({ op: 'ack', id: f.id, partition: 0, offset }))
    },
  },
})
let offset = -1
console.log(`bare listening on http://127.0.0.1:${server.port}`)
