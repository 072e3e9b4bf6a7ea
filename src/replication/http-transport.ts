// Replica requests over HTTP between brokers (`/internal/v1/replica/*`, src/api/replication.ts).
// Bounded: every request has a timeout (the leader may hold a fetch up to its maxWaitMs) and
// every answer a size limit; a peer token, when the cluster has one, goes with each request.
import { OffsetsForLeaderEpochResponseSchema, type OffsetsForLeaderEpochRequest, type OffsetsForLeaderEpochResponse, type ReplicaFetchRequest, type ReplicaFetchResponse, type ReplicaTransport } from './protocol.ts'
import { decodeFetchResponse } from './wire.ts'
import { readBounded } from '../core/read-bounded.ts'

export interface HttpReplicaTransportOptions {
  /** The URL a broker advertised (from its registration), or undefined when it is not live. */
  resolve: (brokerId: number) => string | undefined
  /** On top of the fetch's own maxWaitMs. */
  requestTimeoutMs: number
  /** Largest fetch answer read: replica.fetch.max.bytes, plus one batch up to the largest max.message.bytes. */
  maxResponseBytes: number
  peerToken?: string
}

export class HttpReplicaTransport implements ReplicaTransport {
  constructor(private readonly opts: HttpReplicaTransportOptions) {}

  async fetch(leader: number, req: ReplicaFetchRequest): Promise<ReplicaFetchResponse> {
    const res = await this.post(leader, '/internal/v1/replica/fetch', req, req.maxWaitMs + this.opts.requestTimeoutMs)
    return decodeFetchResponse(await readBounded(res, this.opts.maxResponseBytes, 'replica answer'))
  }

  async offsetsForLeaderEpoch(leader: number, req: OffsetsForLeaderEpochRequest): Promise<OffsetsForLeaderEpochResponse> {
    const res = await this.post(leader, '/internal/v1/replica/offsets-for-leader-epoch', req, this.opts.requestTimeoutMs)
    const body = await readBounded(res, 4096, 'replica answer')
    return OffsetsForLeaderEpochResponseSchema.parse(JSON.parse(new TextDecoder().decode(body)))
  }

  private async post(leader: number, path: string, body: unknown, timeoutMs: number): Promise<Response> {
    const url = this.opts.resolve(leader)
    if (!url) throw new Error(`broker ${leader} has no registered address`)
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (this.opts.peerToken) headers.authorization = `Bearer ${this.opts.peerToken}`
    const res = await fetch(`${url}${path}`, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) })
    if (!res.ok) {
      const text = new TextDecoder().decode(await readBounded(res, 4096, 'replica answer').catch(() => new Uint8Array()))
      throw new Error(`broker ${leader} answered ${res.status} to ${path}: ${text.slice(0, 200)}`)
    }
    return res
  }
}
