// Consumer groups (KIP-848 over HTTP): membership (join, heartbeat, leave), fenced offset
// commits, committed offsets, lag, offset resets, and the group listing and description.
// Every route answers from the group's coordinator (src/groups/coordinator.ts).
// With authentication on, the access rules (src/api/access.ts) check the group; the handlers
// here check the topics a request names (Kafka: Read on the group and on each topic) and
// leave out of their answers the topics the caller may not describe.
import { Hono } from 'hono'
import type { Broker } from '../broker/broker.ts'
import { mayAccessTopic, mayUseGroup, requireTopic } from '../auth/principal.ts'
import { validateGroupName } from '../broker/names.ts'
import { EdgelogError } from '../core/errors.ts'
import { readJson } from './body.ts'
import type { ApiLimits } from './limits.ts'
import { CommitOffsetsSchema, HeartbeatSchema, JoinGroupSchema, memberId as MemberIdSchema, ResetOffsetsSchema } from './schemas.ts'
import { securityOf } from './security-context.ts'

/** Membership bodies are small; a heartbeat lists at most the member's partitions. */
const MEMBERSHIP_BODY_BYTES = 1024 * 1024

function parseMemberId(raw: string): string {
  const r = MemberIdSchema.safeParse(raw)
  if (!r.success) throw new EdgelogError('INVALID_REQUEST', 'memberId is not a member id this node issues')
  return r.data
}

export function groupRoutes(broker: Broker, limits: ApiLimits) {
  const groups = broker.groups
  const bodyBytes = Math.min(limits.maxRequestBytes, MEMBERSHIP_BODY_BYTES)
  return new Hono()
    .get('/', (c) => {
      const principal = securityOf(c).principal
      return c.json({ groups: groups.list().filter((g) => mayUseGroup(principal, g.group)) })
    })
    .get('/:group', (c) => c.json(groups.describe(validateGroupName(c.req.param('group')))))
    .delete('/:group', async (c) => c.json(await groups.deleteGroup(validateGroupName(c.req.param('group')))))
    .post('/:group/members', async (c) => {
      const group = validateGroupName(c.req.param('group'))
      const body = JoinGroupSchema.parse(await readJson(c.req.raw, bodyBytes))
      const principal = securityOf(c).principal
      for (const t of body.topics) requireTopic(principal, 'consume', t)
      return c.json(await groups.join(group, body))
    })
    .post('/:group/members/:memberId/heartbeat', async (c) => {
      const group = validateGroupName(c.req.param('group'))
      const member = parseMemberId(c.req.param('memberId'))
      const body = HeartbeatSchema.parse(await readJson(c.req.raw, bodyBytes))
      const principal = securityOf(c).principal
      for (const t of body.topics ?? []) requireTopic(principal, 'consume', t)
      return c.json(await groups.heartbeat(group, member, body))
    })
    .delete('/:group/members/:memberId', async (c) => {
      const group = validateGroupName(c.req.param('group'))
      const member = parseMemberId(c.req.param('memberId'))
      return c.json(await groups.leave(group, member))
    })
    .post('/:group/offsets', async (c) => {
      const group = validateGroupName(c.req.param('group'))
      const body = CommitOffsetsSchema.parse(await readJson(c.req.raw, limits.maxRequestBytes))
      const principal = securityOf(c).principal
      for (const o of body.offsets) requireTopic(principal, 'consume', o.topic)
      return c.json(await groups.commit(group, body))
    })
    .get('/:group/offsets', (c) => {
      const group = validateGroupName(c.req.param('group'))
      const topic = c.req.query('topic')
      const principal = securityOf(c).principal
      const offsets = groups
        .committed(group)
        .filter((o) => (topic === undefined || o.topic === topic) && mayAccessTopic(principal, 'describe', o.topic))
        .map(({ topic, partition, offset, metadata }) => ({ topic, partition, offset, metadata }))
      return c.json({ group, offsets })
    })
    .post('/:group/offsets/reset', async (c) => {
      const group = validateGroupName(c.req.param('group'))
      const body = ResetOffsetsSchema.parse(await readJson(c.req.raw, bodyBytes))
      const principal = securityOf(c).principal
      // Without a topic list the reset covers every topic the group has offsets for.
      const topics = body.topics?.map((t) => t.topic) ?? groups.committed(group).map((o) => o.topic)
      for (const t of topics) requireTopic(principal, 'consume', t)
      return c.json(await groups.reset(group, body))
    })
    .get('/:group/lag', async (c) => {
      const principal = securityOf(c).principal
      const lag = await groups.lag(validateGroupName(c.req.param('group')))
      if (principal.acl.admin) return c.json(lag)
      const partitions = lag.partitions.filter((p) => mayAccessTopic(principal, 'describe', p.topic))
      return c.json({ ...lag, partitions, totalLag: partitions.reduce((s, p) => s + p.lag, 0) })
    })
}
