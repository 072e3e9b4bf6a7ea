// Committed offsets and lag. Group membership arrives with consumer groups (issue 4).
import { Hono } from 'hono'
import type { Broker } from '../broker/broker.ts'
import { validateGroupName } from '../broker/names.ts'
import { readJson } from './body.ts'
import type { ApiLimits } from './limits.ts'
import { CommitOffsetsSchema } from './schemas.ts'

export function groupRoutes(broker: Broker, limits: ApiLimits) {
  return new Hono()
    .post('/:group/offsets', async (c) => {
      const group = validateGroupName(c.req.param('group'))
      const body = CommitOffsetsSchema.parse(await readJson(c.req.raw, limits.maxRequestBytes))
      broker.commitOffsets(group, body.offsets)
      return c.json({ group, offsets: body.offsets })
    })
    .get('/:group/offsets', (c) => {
      const group = validateGroupName(c.req.param('group'))
      const topic = c.req.query('topic')
      const offsets = broker
        .committedOffsets(group)
        .filter((o) => topic === undefined || o.topic === topic)
        .map(({ topic, partition, offset, metadata }) => ({ topic, partition, offset, metadata }))
      return c.json({ group, offsets })
    })
    .get('/:group/lag', (c) => c.json(broker.lag(validateGroupName(c.req.param('group')))))
}
