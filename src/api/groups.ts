// Committed offsets and lag. Group membership arrives with consumer groups (issue 4).
import { Hono } from 'hono'
import type { Broker } from '../broker/broker.ts'
import { mayAccessTopic, requireTopic } from '../auth/principal.ts'
import { validateGroupName } from '../broker/names.ts'
import { readJson } from './body.ts'
import type { ApiLimits } from './limits.ts'
import { CommitOffsetsSchema } from './schemas.ts'
import { securityOf } from './security-context.ts'

export function groupRoutes(broker: Broker, limits: ApiLimits) {
  return new Hono()
    .post('/:group/offsets', async (c) => {
      const group = validateGroupName(c.req.param('group'))
      const body = CommitOffsetsSchema.parse(await readJson(c.req.raw, limits.maxRequestBytes))
      // Kafka's OffsetCommit: Read on the group (the access rule) and on every topic committed.
      const principal = securityOf(c).principal
      for (const o of body.offsets) requireTopic(principal, 'consume', o.topic)
      broker.commitOffsets(group, body.offsets)
      return c.json({ group, offsets: body.offsets })
    })
    .get('/:group/offsets', (c) => {
      const group = validateGroupName(c.req.param('group'))
      const topic = c.req.query('topic')
      const principal = securityOf(c).principal
      const offsets = broker
        .committedOffsets(group)
        .filter((o) => (topic === undefined || o.topic === topic) && mayAccessTopic(principal, 'describe', o.topic))
        .map(({ topic, partition, offset, metadata }) => ({ topic, partition, offset, metadata }))
      return c.json({ group, offsets })
    })
    .get('/:group/lag', (c) => {
      const principal = securityOf(c).principal
      const lag = broker.lag(validateGroupName(c.req.param('group')))
      if (principal.acl.admin) return c.json(lag)
      const partitions = lag.partitions.filter((p) => mayAccessTopic(principal, 'describe', p.topic))
      return c.json({ ...lag, partitions, totalLag: partitions.reduce((s, p) => s + p.lag, 0) })
    })
}
