import { Hono } from 'hono'
import type { Broker } from '../broker/broker.ts'
import { readJson } from './body.ts'
import type { ApiLimits } from './limits.ts'
import { AlterTopicConfigSchema, CreateTopicSchema } from './schemas.ts'

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
    .patch('/:topic/config', async (c) => {
      const topic = c.req.param('topic')
      broker.describeTopic(topic) // unknown topic: 404 before the body is read
      const body = AlterTopicConfigSchema.parse(await readJson(c.req.raw, 64 * 1024))
      return c.json(broker.alterTopicConfig(topic, body.set ?? {}, body.delete ?? []))
    })
    .delete('/:topic', (c) => {
      broker.deleteTopic(c.req.param('topic'))
      return c.json({ name: c.req.param('topic'), deleted: true })
    })
}
