// Broker-to-broker requests of the group coordinator (`/internal/v1/groups/*`, guarded by the
// peer token like the replica routes): a coordinator asks the leader of a committed partition
// for its positions (a commit's bounds, lag, resets), and a broker hands a WebSocket `commit`
// frame to the group's coordinator. HTTP requests from clients are forwarded whole instead
// (src/api/group-forward.ts), so the coordinator checks their credentials itself; a frame's
// socket was authenticated and authorized where it arrived, so it travels as a peer request.
import { z } from 'zod'
import { EdgelogError, knownErrorCode } from '../core/errors.ts'

const nonNegative = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const name = z.string().min(1).max(255)

export const PositionsRequestSchema = z
  .object({ topic: name, partition: nonNegative, timestamp: nonNegative.optional() })
  .strict()
export type PositionsRequest = z.infer<typeof PositionsRequestSchema>

export const PositionsResponseSchema = z
  .object({ logStartOffset: nonNegative, highWatermark: nonNegative, logEndOffset: nonNegative, offset: nonNegative.nullable().optional() })
  .strict()
export type PositionsResponse = z.infer<typeof PositionsResponseSchema>

/** A plain (memberless) commit, as a `commit` frame of a socket that is not a group member sends. */
export const PeerCommitRequestSchema = z
  .object({
    group: name,
    offsets: z
      .array(z.object({ topic: name, partition: nonNegative, offset: nonNegative, metadata: z.string().max(4096).optional() }).strict())
      .min(1)
      .max(10_000),
  })
  .strict()
export type PeerCommitRequest = z.infer<typeof PeerCommitRequestSchema>

const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) })

/** Largest answer read from a peer: these answers are a few numbers. */
const MAX_ANSWER_BYTES = 64 * 1024

export interface GroupPeerOptions {
  peerToken?: string
  timeoutMs: number
}

export class GroupPeers {
  constructor(private readonly opts: GroupPeerOptions) {}

  async positions(url: string, req: PositionsRequest): Promise<PositionsResponse> {
    return PositionsResponseSchema.parse(await this.post(url, '/internal/v1/groups/positions', req))
  }

  async commit(url: string, req: PeerCommitRequest): Promise<void> {
    await this.post(url, '/internal/v1/groups/commit', req)
  }

  private async post(url: string, path: string, body: unknown): Promise<unknown> {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (this.opts.peerToken) headers.authorization = `Bearer ${this.opts.peerToken}`
    let res: Response
    try {
      res = await fetch(`${url}${path}`, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(this.opts.timeoutMs) })
    } catch (err) {
      throw new EdgelogError('REQUEST_TIMED_OUT', `broker ${url} did not answer: ${(err as Error).message}`)
    }
    const text = await res.text()
    if (text.length > MAX_ANSWER_BYTES) throw new EdgelogError('INTERNAL', `broker ${url} answered too much`)
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      throw new EdgelogError('INTERNAL', `broker ${url} answered ${res.status} with no JSON`)
    }
    if (!res.ok) {
      const e = ErrorBody.safeParse(json)
      // The other broker's own error (NOT_COORDINATOR, OFFSET_OUT_OF_RANGE, ...) goes on unchanged.
      if (e.success) throw new EdgelogError(knownErrorCode(e.data.error.code) ?? 'INTERNAL', e.data.error.message)
      throw new EdgelogError('INTERNAL', `broker ${url} answered ${res.status}`)
    }
    return json
  }
}
