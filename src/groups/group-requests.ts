// The shapes of the group requests the coordinator answers (join, heartbeat, commit, reset)
// and the checks a join or heartbeat gets before it reaches the group: timeouts within the
// configured bounds, a bounded list of valid, non-internal topics, a fresh member id. Pure
// functions of the request and the options, so they are apart from the coordinator's state.
import type { Random } from '../core/clock.ts'
import { fail } from '../core/errors.ts'
import { validateTopicName } from '../broker/names.ts'
import { MAX_SUBSCRIBED_TOPICS, type GroupOptions } from './group-config.ts'
import type { JoinSpec } from './group.ts'
import type { Member } from './member.ts'
import { isInternalTopic } from './offsets-topic.ts'
import type { TopicPartitions } from './topic-partitions.ts'

export interface JoinRequest {
  topics: string[]
  instanceId?: string
  sessionTimeoutMs?: number
  rebalanceTimeoutMs?: number
}

export interface MemberAnswer {
  memberId: string
  memberEpoch: number
  assignment: TopicPartitions[]
  heartbeatIntervalMs: number
}

export interface CommitRequest {
  memberId?: string
  memberEpoch?: number
  offsets: Array<{ topic: string; partition: number; offset: number; metadata?: string }>
}

export type ResetTo = 'earliest' | 'latest' | { timestamp: number } | { offset: number }

export interface ResetRequest {
  /** Partitions to reset; all partitions of the group's committed topics when omitted. */
  topics?: Array<{ topic: string; partitions?: number[] }>
  to: ResetTo
  dryRun?: boolean
}

export function joinSpec(o: GroupOptions, req: JoinRequest): JoinSpec {
  const sessionTimeoutMs = req.sessionTimeoutMs ?? Math.min(Math.max(o.defaultSessionTimeoutMs, o.minSessionTimeoutMs), o.maxSessionTimeoutMs)
  if (sessionTimeoutMs < o.minSessionTimeoutMs || sessionTimeoutMs > o.maxSessionTimeoutMs) {
    fail('INVALID_SESSION_TIMEOUT', `sessionTimeoutMs must be from ${o.minSessionTimeoutMs} to ${o.maxSessionTimeoutMs}, got ${sessionTimeoutMs}`)
  }
  const rebalanceTimeoutMs = req.rebalanceTimeoutMs ?? Math.min(Math.max(o.defaultRebalanceTimeoutMs, o.minSessionTimeoutMs), o.maxRebalanceTimeoutMs)
  if (rebalanceTimeoutMs < o.minSessionTimeoutMs || rebalanceTimeoutMs > o.maxRebalanceTimeoutMs) {
    fail('INVALID_SESSION_TIMEOUT', `rebalanceTimeoutMs must be from ${o.minSessionTimeoutMs} to ${o.maxRebalanceTimeoutMs}, got ${rebalanceTimeoutMs}`)
  }
  return { topics: checkTopics(req.topics), instanceId: req.instanceId ?? null, sessionTimeoutMs, rebalanceTimeoutMs }
}

export function checkTopics(topics: string[]): string[] {
  if (topics.length === 0) fail('INVALID_REQUEST', 'topics: subscribe to at least one topic')
  if (topics.length > MAX_SUBSCRIBED_TOPICS) fail('INVALID_REQUEST', `topics: at most ${MAX_SUBSCRIBED_TOPICS} topics per member`)
  for (const t of topics) {
    validateTopicName(t)
    if (isInternalTopic(t)) fail('INVALID_TOPIC', `'${t}' is an internal topic; groups cannot subscribe to it`)
  }
  return topics
}

/** A third of the session timeout at most, so two heartbeats may be lost before it expires. */
export function heartbeatIntervalMs(o: GroupOptions, m: Member): number {
  return Math.max(100, Math.min(o.heartbeatIntervalMs, Math.floor(m.sessionTimeoutMs / 3)))
}

export function newMemberId(random: Random): string {
  // 128 random bits, base64url: Kafka's member ids are UUIDs.
  const bytes = new Uint8Array(16)
  for (let i = 0; i < 16; i++) bytes[i] = Math.floor(random.next() * 256)
  let bin = ''
  for (const b of bytes) bin += String.fromCharCode(b)
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}
