import { Hono } from 'hono'
import type { Broker } from '../broker/broker.ts'
import { mayAccessTopic } from '../auth/principal.ts'
import { readJson } from './body.ts'
import type { ApiLimits } from './limits.ts'
import { CreateTopicSchema } from './schemas.ts'
import { securityOf } from './security-context.ts'

export function topicRoutes(broker: Broker, limits: ApiLimits) {
  return new Hono()
    .post('/', async (c) => {
      const body = CreateTopicSchema.parse(await readJson(c.req.raw, limits.maxRequestBytes))
      return c.json(broker.createTopic(body), 201)
    })
    .get('/', (c) => {
      // Kafka lists only the topics the caller may describe; the others stay invisible.
      const principal = securityOf(c).principal
      return c.json({ topics: broker.listTopics().filter((t) => mayAccessTopic(principal, 'describe', t.name)) })
    })
    .get('/:topic', (c) => c.json(broker.describeTopic(c.req.param('topic'))))
    .delete('/:topic', (c) => {
      broker.deleteTopic(c.req.param('topic'))
      return c.json({ name: c.req.param('topic'), deleted: true })
    })
}
