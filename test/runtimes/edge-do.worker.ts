// The edgelog Worker (edge/cloudflare/worker.ts) with one test-only route on its Durable
// Object, for edge-do.test.ts: `GET /__test/abort` resets the object (`ctx.abort()`), as an
// eviction or a platform restart does: its memory and timers are gone, its SQLite and alarm
// stay. What starts it again afterwards is then the next request or its alarm, nothing else.
import worker, { EdgelogNode } from '../../edge/cloudflare/worker.ts'

export class TestEdgelogNode extends EdgelogNode {
  override async fetch(request: Request): Promise<Response> {
    if (new URL(request.url).pathname !== '/__test/abort') return super.fetch(request)
    ;(this.ctx as unknown as { abort(reason?: string): void }).abort('edge-do.test.ts: reset the object')
    return Response.json({ aborted: false })
  }
}

export default worker
