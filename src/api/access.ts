// Who may call which route, in one table. Each rule runs as middleware on its route pattern,
// so it reads the same decoded path parameters the handler will use (`orders%2Esecret` is
// checked as `orders.secret`). A request under /v1/ that no rule claims needs an admin token:
// a route added later is closed until someone writes its rule here.
// Checks that depend on the body (the topics of an offset commit, the owner of a producer id)
// or filter an answer (the topic list) are made by the handlers through securityOf(c).
import type { Context, Hono, MiddlewareHandler } from 'hono'
import {
  mayProduceAnywhere,
  mayReadMetrics,
  requireAdmin,
  requireGroup,
  requireTopic,
  type Principal,
} from '../auth/principal.ts'
import { EdgelogError } from '../core/errors.ts'
import { securityOf } from './security-context.ts'

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
type Rule = (p: Principal, c: Context) => void

const topic = (op: 'produce' | 'consume' | 'describe'): Rule => (p, c) => requireTopic(p, op, c.req.param('topic') ?? '')
const admin = (what: string): Rule => (p) => requireAdmin(p, what)
const group: Rule = (p, c) => requireGroup(p, c.req.param('group') ?? '')
const authenticated: Rule = () => {}

export const ACCESS_RULES: ReadonlyArray<readonly [Method[], string, Rule]> = [
  [['POST'], '/v1/topics', admin('creating a topic')],
  // The list is filtered to the topics the caller may describe.
  [['GET'], '/v1/topics', authenticated],
  [['GET'], '/v1/topics/:topic', topic('describe')],
  [['DELETE'], '/v1/topics/:topic', admin('deleting a topic')],
  [['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], '/v1/topics/:topic/config', admin('changing topic config')],
  [['POST'], '/v1/topics/:topic/records', topic('produce')],
  [['POST'], '/v1/topics/:topic/partitions/:partition/records', topic('produce')],
  [['GET'], '/v1/topics/:topic/partitions/:partition/records', topic('consume')],
  [['GET'], '/v1/topics/:topic/partitions/:partition/offsets', topic('consume')],
  [['GET'], '/v1/topics/:topic/sse', topic('consume')],
  [
    ['POST'],
    '/v1/producers',
    (p) => {
      if (!mayProduceAnywhere(p)) throw new EdgelogError('CLUSTER_AUTHORIZATION_FAILED', 'producer ids are for principals that may produce')
    },
  ],
  // The handler checks the token's mint grant against the topic asked for.
  [['POST'], '/v1/tokens/subscribe', authenticated],
  // Broker addresses (Kafka's Metadata brokers): any authenticated client routes with them.
  [['GET'], '/v1/brokers', authenticated],
  // The list is filtered to the groups the caller's grant names.
  [['GET'], '/v1/groups', authenticated],
  // Group routes check the group here and the topics they touch in the handler (Kafka: Read
  // on the group and on each topic). Deleting a group and its offsets is an admin's.
  [['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], '/v1/groups/:group/*', group],
  [['DELETE'], '/v1/groups/:group', admin('deleting a group')],
  // Subscriptions are checked frame by frame by the WebSocket server.
  [['GET'], '/v1/ws', authenticated],
  [['GET'], '/metrics', (p) => {
    if (!mayReadMetrics(p)) throw new EdgelogError('CLUSTER_AUTHORIZATION_FAILED', 'metrics need a token with admin or metrics')
  }],
]

export function installAccessRules(app: Hono): void {
  for (const [methods, path, rule] of ACCESS_RULES) {
    app.on(methods, path, async function accessRule(c, next) {
      rule(securityOf(c).principal, c)
      c.set('authorized', true)
      await next()
    })
  }
  const closedByDefault: MiddlewareHandler = async function closedByDefault(c, next) {
    if (!c.get('authorized')) requireAdmin(securityOf(c).principal, 'this route')
    await next()
  }
  app.use('/v1/*', closedByDefault)
  app.use('/metrics', closedByDefault)
}
