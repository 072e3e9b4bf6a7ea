// Broker-to-broker requests of the group coordinator (`/internal/v1/groups/*`, guarded by the
// peer token like the replica routes): a coordinator asks the leader of a committed partition
// for its positions (a commit's bounds, lag, resets), and a broker hands a WebSocket `commit`
// frame to the group's coordinator. HTTP requests from clients are forwarded whole instead
// (src/api/group-forward.ts), so the coordinator checks their credentials itself; a frame's
// socket was authenticated and authorized where it arrived, so it travels as a peer request.
import { z } from 'zod'
import { peerRequest } from './peer-request.ts'
import { CommitOffsetsSchema, HeartbeatSchema, JoinGroupSchema, memberId as MemberIdSchema } from '../api/schemas.ts'

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

/**
 * A WebSocket member's membership, relayed by the broker its socket is connected to (the
 * member's agent, src/fanout/group-subscription.ts) to the group's coordinator: join,
 * heartbeat, leave and the member's commits, exactly as the HTTP group API takes them.
 */
export const PeerMemberRequestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('join'), group: name, join: JoinGroupSchema }).strict(),
  z.object({ op: z.literal('heartbeat'), group: name, memberId: MemberIdSchema, heartbeat: HeartbeatSchema }).strict(),
  z.object({ op: z.literal('leave'), group: name, memberId: MemberIdSchema }).strict(),
  z.object({ op: z.literal('commit'), group: name, commit: CommitOffsetsSchema }).strict(),
])
export type PeerMemberRequest = z.infer<typeof PeerMemberRequestSchema>

const topicPartitions = z.array(z.object({ topic: name, partitions: z.array(nonNegative).max(100_000) }).strict()).max(1000)
/** A join or heartbeat answer, with the group's committed offsets of the partitions it assigns (where they start). */
export const PeerMemberAnswerSchema = z
  .object({
    memberId: MemberIdSchema,
    memberEpoch: z.number().int(),
    assignment: topicPartitions,
    heartbeatIntervalMs: nonNegative,
    committed: z.array(z.object({ topic: name, partition: nonNegative, offset: nonNegative }).strict()).max(100_000),
  })
  .strict()
export type PeerMemberAnswer = z.infer<typeof PeerMemberAnswerSchema>

/** Largest answer read from a peer: these answers are a few numbers. */
const MAX_ANSWER_BYTES = 64 * 1024
/** A member answer lists its assignment and their committed offsets. */
const MAX_MEMBER_ANSWER_BYTES = 8 * 1024 * 1024

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

  /** A member's join or heartbeat answer, or {} for leave and commit. */
  async member(url: string, req: PeerMemberRequest): Promise<PeerMemberAnswer | undefined> {
    const answer = await this.post(url, '/internal/v1/groups/member', req, MAX_MEMBER_ANSWER_BYTES)
    return req.op === 'join' || req.op === 'heartbeat' ? PeerMemberAnswerSchema.parse(answer) : undefined
  }

  private post(url: string, path: string, body: unknown, maxAnswerBytes = MAX_ANSWER_BYTES): Promise<unknown> {
    return peerRequest(url, path, body, { peerToken: this.opts.peerToken, timeoutMs: this.opts.timeoutMs, maxAnswerBytes, who: `broker ${url}` })
  }
}
