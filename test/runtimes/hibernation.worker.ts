// The edgelog Worker (edge/cloudflare/worker.ts) with one test-only route on its Durable Object,
// for hibernation.test.ts: it replaces the hibernation attachment of the sockets whose
// attachment contains `match`, to plant what cannot arise on its own before an eviction — a
// consumer-group socket that survived one (such a socket heartbeats on a timer, which keeps the
// object awake), or an attachment that cannot be read. Everything else is the shipped Worker.
//   GET /__test/attachment?match=TEXT[&value=TEXT]  (no value: the attachment becomes null)
import worker, { EdgelogNode } from '../../edge/cloudflare/worker.ts'

export class TestEdgelogNode extends EdgelogNode {
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url)
    if (url.pathname !== '/__test/attachment') return super.fetch(request)
    const match = url.searchParams.get('match') ?? ''
    const value = url.searchParams.get('value')
    let replaced = 0
    for (const ws of this.ctx.getWebSockets()) {
      const current = ws.deserializeAttachment()
      if (typeof current !== 'string' || !current.includes(match)) continue
      ws.serializeAttachment(value)
      replaced++
    }
    return Response.json({ replaced })
  }
}

export default worker
