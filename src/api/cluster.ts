// Cluster mode (`edgelog serve --etcd`): topics are created, deleted and reconfigured through
// the cluster metadata store, whichever broker is asked; broker-to-broker replica routes; and
// requests for a partition another broker leads are forwarded to it (one hop).
import { Hono } from 'hono'
import type { TopicDescription } from '../broker/broker.ts'
import { readJson } from './body.ts'
import { forwardToLeader, type ForwardTarget } from './forward.ts'
import { forwardToCoordinator, listGroupsEverywhere, type GroupRouting } from './group-forward.ts'
import type { ApiLimits } from './limits.ts'
import { replicationRoutes, type ReplicaEndpoints } from './replication.ts'
import { AlterTopicConfigSchema, CreateTopicSchema } from './schemas.ts'

export interface ClusterApi extends ReplicaEndpoints, GroupRouting {
  createTopic(input: { name: unknown; partitions?: number; replicationFactor?: number; config?: Record<string, unknown> }): Promise<TopicDescription>
  deleteTopic(name: string): Promise<void>
  alterTopicConfig(name: string, set: Record<string, unknown>, remove: string[]): Promise<void>
  forward: ForwardTarget
  /** `GET /v1/brokers`: the live brokers' advertised URLs and the controller. */
  brokers(): { brokers: Array<{ nodeId: number; url: string }>; controller: number | null }
}

export function mountCluster(app: Hono, cluster: ClusterApi, limits: ApiLimits): void {
  app.route('/internal/v1', replicationRoutes(cluster))
  app.use('/v1/topics/:topic/partitions/:partition/*', forwardToLeader(cluster.forward))
  app.get('/v1/brokers', (c) => c.json(cluster.brokers()))
  app.get('/v1/groups', listGroupsEverywhere(cluster, cluster.forward))
  app.use('/v1/groups/:group', forwardToCoordinator(cluster, cluster.forward))
  app.use('/v1/groups/:group/*', forwardToCoordinator(cluster, cluster.forward))
  app.route(
    '/v1/topics',
    new Hono()
      .post('/', async (c) => {
        const body = CreateTopicSchema.parse(await readJson(c.req.raw, limits.maxRequestBytes))
        return c.json(await cluster.createTopic(body), 201)
      })
      .patch('/:topic/config', async (c) => {
        const body = AlterTopicConfigSchema.parse(await readJson(c.req.raw, 64 * 1024))
        await cluster.alterTopicConfig(c.req.param('topic'), body.set ?? {}, body.delete ?? [])
        return c.json({ name: c.req.param('topic'), altered: true })
      })
      .delete('/:topic', async (c) => {
        await cluster.deleteTopic(c.req.param('topic'))
        return c.json({ name: c.req.param('topic'), deleted: true })
      }),
  )
}
