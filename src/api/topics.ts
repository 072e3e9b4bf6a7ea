import { Hono } from 'hono'
import type { Broker } from '../broker/broker.ts'
import { readJson } from './body.ts'
import type { ApiLimits } from './limits.ts'
import { CreateTopicSchema } from './schemas.ts'

export function topicRoutes(broker: Broker, limits: ApiLimits) {
  return new Hono()
    .post('/', async (c) => {
      const body = CreateTopicSchema.parse(await readJson(c.req.raw, limits.maxRequestBytes))
      return c.json(broker.createTopic(body), 201)
    })
    // Internal topics (`__consumer_offsets`) are listed only with ?internal=true, as Kafka's
    // admin client lists them only when asked to.
    .get('/', (c) => c.json({ topics: broker.listTopics(c.req.query('internal') === 'true') }))
    .get('/:topic', (c) => c.json(broker.describeTopic(c.req.param('topic'))))
    .delete('/:topic', (c) => {
      broker.deleteTopic(c.req.param('topic'))
      return c.json({ name: c.req.param('topic'), deleted: true })
    })
}
