// `edgelog serve` options: flags, with PORT / EDGELOG_* environment fallbacks.
import { z } from 'zod'
import { DEFAULT_BROKER_OPTIONS } from '../broker/broker.ts'
import { DEFAULT_LIMITS } from '../api/limits.ts'
import { MAX_CLOCK_SKEW_SEC } from '../auth/jwt.ts'
import { DEFAULT_GROUP_OPTIONS } from '../groups/coordinator.ts'
import { DEFAULT_FANOUT_LIMITS as LIVE } from '../fanout/limits.ts'
import { DEFAULT_CLUSTER_CONFIG } from '../cluster/broker-agent.ts'
import { DEFAULT_REPLICATION_CONFIG } from '../replication/config.ts'
import { DEFAULT_EDGE_OPTIONS as EDGE } from '../edge/options.ts'

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max)
const bool = z.enum(['true', 'false']).transform((v) => v === 'true')
const path = z.string().min(1)

export const ServeOptionsSchema = z
  .object({
    port: int(0, 65535).default(8080),
    host: z.string().min(1).default('127.0.0.1'),
    data: z.string().min(1).default('./data'),
    fsync: z.enum(['always', 'batch', 'off']).default(DEFAULT_BROKER_OPTIONS.fsync),
    'fsync-interval-ms': int(1, 60_000).default(DEFAULT_BROKER_OPTIONS.fsyncIntervalMs),
    'node-id': int(0, 1_000_000).default(0),
    'max-request-bytes': int(1024, 1024 * 1024 * 1024).default(DEFAULT_LIMITS.maxRequestBytes),
    'max-records-per-request': int(1, 10_000_000).default(DEFAULT_LIMITS.maxRecordsPerRequest),
    'max-partitions': int(1, 100_000).default(DEFAULT_BROKER_OPTIONS.maxPartitions),
    'max-long-polls': int(1, 1_000_000).default(DEFAULT_BROKER_OPTIONS.maxLongPolls),
    'offsets-topic-partitions': int(1, 1024).default(DEFAULT_GROUP_OPTIONS.offsetsTopicPartitions),
    'group-max-size': int(1, 100_000).default(DEFAULT_GROUP_OPTIONS.maxGroupSize),
    'max-groups': int(1, 10_000_000).default(DEFAULT_GROUP_OPTIONS.maxGroups),
    'group-heartbeat-interval-ms': int(100, 600_000).default(DEFAULT_GROUP_OPTIONS.heartbeatIntervalMs),
    'group-min-session-timeout-ms': int(100, 3_600_000).default(DEFAULT_GROUP_OPTIONS.minSessionTimeoutMs),
    'group-max-session-timeout-ms': int(100, 3_600_000).default(DEFAULT_GROUP_OPTIONS.maxSessionTimeoutMs),
    'cleaner-interval-ms': int(10, 24 * 3600 * 1000).default(DEFAULT_BROKER_OPTIONS.cleanerIntervalMs),
    'max-batch-decompressed-bytes': int(64 * 1024, 1024 * 1024 * 1024).default(DEFAULT_BROKER_OPTIONS.maxBatchDecompressedBytes),
    'body-timeout-ms': int(100, 3_600_000).default(DEFAULT_LIMITS.bodyTimeoutMs),
    'body-min-bytes-per-sec': int(1, 1024 * 1024 * 1024).default(DEFAULT_LIMITS.bodyMinBytesPerSec),
    // Authentication (README "Security").
    'jwt-secret': z.string().min(1).optional(),
    'jwt-public-key': path.optional(),
    jwks: path.optional(),
    'jwt-audience': z.string().min(1).max(512).optional(),
    'jwt-issuer': z.string().min(1).max(512).optional(),
    'jwt-clock-skew-sec': int(0, MAX_CLOCK_SKEW_SEC).default(30),
    'allow-anonymous': bool.default(false),
    'anonymous-acl': z.string().min(2).optional(),
    'subscribe-token-secret': z.string().min(1).optional(),
    'tls-cert': path.optional(),
    'tls-key': path.optional(),
    // Quotas, off unless set.
    'quota-produce-bytes-per-sec': int(1, Number.MAX_SAFE_INTEGER).optional(),
    'quota-requests-per-sec': int(1, 1_000_000_000).optional(),
    'max-connections-per-ip': int(1, 10_000_000).optional(),
    'max-connections-per-principal': int(1, 10_000_000).optional(),
    'max-long-polls-per-principal': int(1, 1_000_000).optional(),
    'allowed-origins': z.string().optional(),
    'max-connections': int(1, 1_000_000).default(LIVE.maxConnections),
    'ws-max-frame-bytes': int(1024, 64 * 1024 * 1024).default(LIVE.maxFrameBytes),
    'ws-max-buffered-bytes': int(64 * 1024, 1024 * 1024 * 1024).default(LIVE.maxBufferedBytes),
    'ws-max-subscriptions': int(1, 100_000).default(LIVE.maxSubscriptionsPerSocket),
    'ws-idle-timeout': int(8, 960).default(LIVE.idleTimeoutSeconds),
    'ws-max-inflight-pubs': int(1, 1_000_000).default(LIVE.maxInflightPubs),
    // Cluster mode (issue 5): without --etcd the node is a cluster of one.
    etcd: z.string().min(1).optional(),
    advertise: z.string().url().optional(),
    'peer-token': z.string().min(16).max(1024).optional(),
    'lease-ttl-seconds': int(2, 300).default(DEFAULT_CLUSTER_CONFIG.leaseTtlSeconds),
    'metadata-interval-ms': int(10, 60_000).default(DEFAULT_CLUSTER_CONFIG.metadataIntervalMs),
    'replica-lag-time-max-ms': int(100, 600_000).default(DEFAULT_REPLICATION_CONFIG.replicaLagTimeMaxMs),
    'replica-fetch-max-bytes': int(1024, 64 * 1024 * 1024).default(DEFAULT_REPLICATION_CONFIG.replicaFetchMaxBytes),
    'replica-fetch-wait-max-ms': int(0, 30_000).default(DEFAULT_REPLICATION_CONFIG.replicaFetchWaitMaxMs),
    'request-timeout-ms': int(100, 600_000).default(DEFAULT_BROKER_OPTIONS.requestTimeoutMs),
    // An edge relay (src/edge/): --role edge with one or more --upstream brokers of its region.
    role: z.enum(['broker', 'edge']).default('broker'),
    upstream: z.array(z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' })).max(16).default([]),
    'outbox-bytes': int(64 * 1024, 1024 * 1024 * 1024 * 1024).default(EDGE.outboxBytes),
    'relay-cache-bytes': int(16 * 1024, 1024 * 1024 * 1024).default(EDGE.relayCacheBytes),
    'ship-batch-bytes': int(1024, 64 * 1024 * 1024).default(EDGE.shipBatchBytes),
    'ack-timeout-ms': int(100, 10 * 60_000).default(EDGE.ackTimeoutMs),
    'metadata-refresh-ms': int(100, 3600_000).default(EDGE.metadataRefreshMs),
    // The edge's own credential at its region (src/edge/upstream-credential.ts checks its shape).
    'upstream-token': z.string().min(1).max(16 * 1024).optional(),
    'upstream-token-file': path.optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o['group-min-session-timeout-ms'] > o['group-max-session-timeout-ms']) {
      ctx.addIssue({ code: 'custom', path: ['group-min-session-timeout-ms'], message: 'must not be above --group-max-session-timeout-ms' })
    }
    const auth = o['jwt-secret'] !== undefined || o['jwt-public-key'] !== undefined || o.jwks !== undefined
    if (!auth) {
      for (const flag of ['jwt-audience', 'jwt-issuer', 'anonymous-acl', 'subscribe-token-secret'] as const) {
        if (o[flag] !== undefined) ctx.addIssue({ code: 'custom', path: [flag], message: 'needs --jwt-secret, --jwt-public-key or --jwks' })
      }
      if (o['allow-anonymous']) ctx.addIssue({ code: 'custom', path: ['allow-anonymous'], message: 'needs --jwt-secret, --jwt-public-key or --jwks' })
    }
    // Replica routes (/internal/v1/) answer to the peer token, not to client tokens: a cluster
    // that authenticates its clients must authenticate its brokers too (RELIABILITY §5.4 #9).
    if (auth && o.etcd !== undefined && o['peer-token'] === undefined) {
      ctx.addIssue({ code: 'custom', path: ['peer-token'], message: 'a cluster (--etcd) with --jwt-* authentication needs --peer-token for its replica routes' })
    }
    if (o['anonymous-acl'] !== undefined && !o['allow-anonymous']) {
      ctx.addIssue({ code: 'custom', path: ['anonymous-acl'], message: 'needs --allow-anonymous' })
    }
    if ((o['tls-cert'] === undefined) !== (o['tls-key'] === undefined)) {
      ctx.addIssue({ code: 'custom', path: [o['tls-cert'] === undefined ? 'tls-cert' : 'tls-key'], message: '--tls-cert and --tls-key go together' })
    }
  })
  .superRefine((o, ctx) => {
    if (o.role === 'edge' && o.upstream.length === 0) ctx.addIssue({ code: 'custom', path: ['upstream'], message: 'an edge needs at least one --upstream URL' })
    if (o.role === 'broker' && o.upstream.length > 0) ctx.addIssue({ code: 'custom', path: ['upstream'], message: 'only an edge (--role edge) has upstreams' })
    if (o.role === 'edge' && o.etcd !== undefined) ctx.addIssue({ code: 'custom', path: ['etcd'], message: 'an edge is not a member of its region\'s cluster: give it --upstream URLs of the brokers instead' })
    for (const flag of ['upstream-token', 'upstream-token-file'] as const) {
      if (o[flag] !== undefined && o.role !== 'edge') ctx.addIssue({ code: 'custom', path: [flag], message: 'is the credential of an edge (--role edge) at its region' })
    }
    if (o['upstream-token'] !== undefined && o['upstream-token-file'] !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['upstream-token-file'], message: 'give --upstream-token or --upstream-token-file, not both' })
    }
  })

export type ServeOptions = z.infer<typeof ServeOptionsSchema>

/** Flags that take no value (`--allow-anonymous`, or `--allow-anonymous=false`). */
const SWITCHES = new Set(['allow-anonymous'])

export const SERVE_USAGE = `usage: edgelog serve [--port 8080] [--host 127.0.0.1] [--data ./data] [--fsync always|batch|off]
                    [--fsync-interval-ms 1000] [--node-id 0] [--max-request-bytes N]
                    [--max-records-per-request N] [--max-partitions N] [--max-long-polls N]
                    [--offsets-topic-partitions 8] [--group-max-size 1000] [--max-groups 10000]
                    [--group-heartbeat-interval-ms 3000] [--group-min-session-timeout-ms 1000]
                    [--group-max-session-timeout-ms 300000]
                    [--cleaner-interval-ms 30000] [--max-batch-decompressed-bytes N]
                    [--body-timeout-ms 20000] [--body-min-bytes-per-sec 1000]
  live:             [--allowed-origins https://a.example,https://b.example|*] [--max-connections N]
                    [--ws-max-frame-bytes N] [--ws-max-buffered-bytes N] [--ws-max-subscriptions N]
                    [--ws-idle-timeout SECONDS] [--ws-max-inflight-pubs N]
  cluster:          [--etcd http://127.0.0.1:2379[,...] --advertise URL] [--peer-token T]
                    [--lease-ttl-seconds 6] [--metadata-interval-ms 250] [--replica-lag-time-max-ms 10000]
                    [--replica-fetch-max-bytes N] [--replica-fetch-wait-max-ms 500] [--request-timeout-ms 30000]
  edge:             [--role broker|edge] [--upstream URL [--upstream URL ...]] [--outbox-bytes N]
                    [--relay-cache-bytes N] [--ship-batch-bytes N] [--ack-timeout-ms N]
                    [--metadata-refresh-ms N] [--upstream-token TOKEN | --upstream-token-file FILE]
  --etcd joins a cluster (--node-id unique per broker; --advertise is how the others reach it,
  http://HOST:PORT by default); without it the node is a cluster of one.
  --role edge: a relay near users that ships its outbox to the --upstream brokers (README, "Edge relays");
  it takes the security flags below for its own clients, and --upstream-token for the region.
  security:         [--jwt-secret SECRET | --jwt-public-key FILE | --jwks FILE] [--jwt-audience AUD]
                    [--jwt-issuer ISS] [--jwt-clock-skew-sec 30] [--allow-anonymous [--anonymous-acl JSON]]
                    [--subscribe-token-secret SECRET] [--tls-cert FILE --tls-key FILE]
  quotas:           [--quota-produce-bytes-per-sec N] [--quota-requests-per-sec N]
                    [--max-connections-per-ip N] [--max-connections-per-principal N]
                    [--max-long-polls-per-principal N]
  PORT, EDGELOG_DATA, EDGELOG_FSYNC, EDGELOG_ETCD, EDGELOG_PEER_TOKEN, EDGELOG_ROLE, EDGELOG_UPSTREAM
  (comma-separated URLs), EDGELOG_UPSTREAM_TOKEN, EDGELOG_JWT_SECRET and EDGELOG_SUBSCRIBE_TOKEN_SECRET
  set the defaults of --port, --data, --fsync, --etcd, --peer-token, --role, --upstream,
  --upstream-token, --jwt-secret and --subscribe-token-secret (secrets in the environment stay out
  of the process list).
  --allowed-origins unset: WebSocket and SSE accept same-origin and no-Origin clients only.`

/** Thrown for --help: the caller prints SERVE_USAGE and exits 0. */
export class ServeHelp extends Error {
  constructor() {
    super(SERVE_USAGE)
  }
}

/** Flags that may be given more than once; their values collect in order. */
const REPEATABLE = new Set(['upstream'])

/** Parses `--flag value` / `--flag=value` pairs; every flag of serve but the switches takes a value. */
export function parseServeOptions(argv: string[], env: Record<string, string | undefined>): ServeOptions {
  const flags: Record<string, string | string[]> = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--help' || arg === '-h') throw new ServeHelp()
    if (!arg.startsWith('--')) throw new Error(`unexpected argument '${arg}'\n${SERVE_USAGE}`)
    const eq = arg.indexOf('=')
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2)
    const value = eq > 0 ? arg.slice(eq + 1) : SWITCHES.has(name) ? 'true' : argv[++i]
    if (value === undefined) throw new Error(`--${name} needs a value\n${SERVE_USAGE}`)
    if (REPEATABLE.has(name)) flags[name] = [...((flags[name] as string[] | undefined) ?? []), value]
    else flags[name] = value
  }
  if (flags.port === undefined && env.PORT) flags.port = env.PORT
  if (flags.data === undefined && env.EDGELOG_DATA) flags.data = env.EDGELOG_DATA
  if (flags.fsync === undefined && env.EDGELOG_FSYNC) flags.fsync = env.EDGELOG_FSYNC
  if (flags['jwt-secret'] === undefined && env.EDGELOG_JWT_SECRET) flags['jwt-secret'] = env.EDGELOG_JWT_SECRET
  if (flags['subscribe-token-secret'] === undefined && env.EDGELOG_SUBSCRIBE_TOKEN_SECRET) {
    flags['subscribe-token-secret'] = env.EDGELOG_SUBSCRIBE_TOKEN_SECRET
  }
  if (flags.etcd === undefined && env.EDGELOG_ETCD) flags.etcd = env.EDGELOG_ETCD
  if (flags['peer-token'] === undefined && env.EDGELOG_PEER_TOKEN) flags['peer-token'] = env.EDGELOG_PEER_TOKEN
  if (flags.role === undefined && env.EDGELOG_ROLE) flags.role = env.EDGELOG_ROLE
  // Only an edge reads its upstream token from the environment: a broker started in the same
  // environment is not refused for a secret meant for an edge (the flag on a broker is).
  if (flags.role === 'edge' && flags['upstream-token'] === undefined && flags['upstream-token-file'] === undefined && env.EDGELOG_UPSTREAM_TOKEN) {
    flags['upstream-token'] = env.EDGELOG_UPSTREAM_TOKEN
  }
  if (flags.upstream === undefined && env.EDGELOG_UPSTREAM) flags.upstream = env.EDGELOG_UPSTREAM.split(',').map((u) => u.trim()).filter(Boolean)
  const parsed = ServeOptionsSchema.safeParse(flags)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const where = issue.code === 'unrecognized_keys' ? `unknown option --${issue.keys[0]}` : `--${String(issue.path[0])}: ${issue.message}`
    throw new Error(`${where}\n${SERVE_USAGE}`)
  }
  return parsed.data
}
