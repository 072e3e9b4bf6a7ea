// Broker-to-broker routes: a follower's replica fetch and OffsetsForLeaderEpoch. Not for
// clients: with a peer token configured, a request without it is refused (RELIABILITY §5.4 #9).
import { Hono } from 'hono'
import { EdgelogError } from '../core/errors.ts'
import {
  OffsetsForLeaderEpochRequestSchema,
  ReplicaFetchRequestSchema,
  type OffsetsForLeaderEpochRequest,
  type OffsetsForLeaderEpochResponse,
  type ReplicaFetchRequest,
  type ReplicaFetchResponse,
} from '../replication/protocol.ts'
import { encodeFetchResponse } from '../replication/wire.ts'
import {
  PeerCommitRequestSchema,
  PeerMemberRequestSchema,
  PositionsRequestSchema,
  type PeerCommitRequest,
  type PeerMemberAnswer,
  type PeerMemberRequest,
  type PositionsRequest,
  type PositionsResponse,
} from '../cluster/group-peers.ts'
import { ForwardedProduceSchema, forwardedProduceMaxBytes, type ForwardedProduce, type ForwardedProduceAnswer } from '../cluster/forward.ts'
import { readJson } from './body.ts'
import { DEFAULT_LIMITS } from './limits.ts'

export interface ReplicaEndpoints {
  handleReplicaFetch(req: ReplicaFetchRequest): Promise<ReplicaFetchResponse>
  handleOffsetsForLeaderEpoch(req: OffsetsForLeaderEpochRequest): OffsetsForLeaderEpochResponse
  /** The group coordinator's requests (src/cluster/group-peers.ts); absent where there are none. */
  handlePositions?(req: PositionsRequest): Promise<PositionsResponse>
  handlePeerCommit?(req: PeerCommitRequest): Promise<void>
  /** A WebSocket member's membership, relayed from the broker its socket is connected to. */
  handlePeerMember?(req: PeerMemberRequest): Promise<PeerMemberAnswer | undefined>
  /** A produce another broker split by partition and handed on (src/cluster/forward.ts). */
  handleForwardedProduce?(req: ForwardedProduce): Promise<ForwardedProduceAnswer>
  /** The client request limit, which bounds a forwarded produce. */
  maxRequestBytes?: number
  /** When set, every request must carry `authorization: Bearer <token>`. */
  peerToken?: string
}

/** A replica request is a few numbers. */
const MAX_REQUEST_BYTES = 4096
/** A commit frame's offsets, handed on to the coordinator. */
const MAX_PEER_COMMIT_BYTES = 2 * 1024 * 1024

export function replicationRoutes(node: ReplicaEndpoints) {
  return new Hono()
    .use(async (c, next) => {
      if (node.peerToken !== undefined && !sameToken(c.req.header('authorization') ?? '', `Bearer ${node.peerToken}`)) {
        throw new EdgelogError('UNAUTHORIZED', 'replica requests need the cluster peer token')
      }
      await next()
    })
    .post('/replica/fetch', async (c) => {
      const req = ReplicaFetchRequestSchema.parse(await readJson(c.req.raw, MAX_REQUEST_BYTES))
      const body = encodeFetchResponse(await node.handleReplicaFetch(req))
      return new Response(body, { headers: { 'content-type': 'application/vnd.edgelog.replica-fetch' } })
    })
    .post('/replica/offsets-for-leader-epoch', async (c) => {
      const req = OffsetsForLeaderEpochRequestSchema.parse(await readJson(c.req.raw, MAX_REQUEST_BYTES))
      return c.json(node.handleOffsetsForLeaderEpoch(req))
    })
    .post('/groups/positions', async (c) => {
      if (!node.handlePositions) throw new EdgelogError('NOT_FOUND', 'no group coordinator here')
      const req = PositionsRequestSchema.parse(await readJson(c.req.raw, MAX_REQUEST_BYTES))
      return c.json(await node.handlePositions(req))
    })
    .post('/produce', async (c) => {
      if (!node.handleForwardedProduce) throw new EdgelogError('NOT_FOUND', 'this node takes no forwarded produce')
      const req = ForwardedProduceSchema.parse(await readJson(c.req.raw, forwardedProduceMaxBytes(node.maxRequestBytes ?? DEFAULT_LIMITS.maxRequestBytes)))
      return c.json(await node.handleForwardedProduce(req))
    })
    .post('/groups/member', async (c) => {
      if (!node.handlePeerMember) throw new EdgelogError('NOT_FOUND', 'no group coordinator here')
      const req = PeerMemberRequestSchema.parse(await readJson(c.req.raw, MAX_PEER_COMMIT_BYTES))
      return c.json((await node.handlePeerMember(req)) ?? {})
    })
    .post('/groups/commit', async (c) => {
      if (!node.handlePeerCommit) throw new EdgelogError('NOT_FOUND', 'no group coordinator here')
      const req = PeerCommitRequestSchema.parse(await readJson(c.req.raw, MAX_PEER_COMMIT_BYTES))
      await node.handlePeerCommit(req)
      return c.json({ group: req.group, committed: req.offsets.length })
    })
}

/** Compares without an early exit, so the time taken says nothing about the token. */
function sameToken(a: string, b: string): boolean {
  let diff = a.length ^ b.length
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0)
  return diff === 0
}
