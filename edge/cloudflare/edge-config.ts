// An edge relay's settings on Cloudflare: Worker vars and secrets instead of flags. Each
// `EDGELOG_X_Y` var is the `--x-y` flag of `edgelog serve --role edge` and is checked by the
// same parser (src/cli/serve-options.ts), so its range and meaning are the CLI's. A var that is
// not a setting of an edge on Cloudflare (a typo, a file path, a broker-only flag) is refused
// by name rather than ignored: an edge never runs half-configured.
import { parseServeOptions, type ServeOptions } from '../../src/cli/serve-options.ts'
import { parseUpstreamToken, type UpstreamCredential } from '../../src/edge/upstream-credential.ts'

/** Vars the Worker itself reads, not flags. */
const WORKER_VARS = new Set(['EDGELOG_NODE', 'EDGELOG_NODE_NAME', 'EDGELOG_ROLE'])

/** The flags an edge takes as vars on Cloudflare (files, TLS, fsync and ports are the platform's). */
export const EDGE_FLAGS = new Set([
  'upstream',
  'upstream-token',
  'outbox-bytes',
  'relay-cache-bytes',
  'ship-batch-bytes',
  'ack-timeout-ms',
  'metadata-refresh-ms',
  'allowed-origins',
  'max-connections',
  'ws-max-frame-bytes',
  'ws-max-subscriptions',
  'ws-max-inflight-pubs',
  'max-request-bytes',
  'max-records-per-request',
  'jwt-secret',
  'jwt-audience',
  'jwt-issuer',
  'allow-anonymous',
  'anonymous-acl',
  'subscribe-token-secret',
  'quota-produce-bytes-per-sec',
  'quota-requests-per-sec',
  'max-connections-per-ip',
  'max-connections-per-principal',
])

export const flagVar = (flag: string): string => `EDGELOG_${flag.toUpperCase().replace(/-/g, '_')}`
const varFlag = (name: string): string => name.slice('EDGELOG_'.length).toLowerCase().replace(/_/g, '-')

export interface EdgeConfig {
  options: ServeOptions
  credential?: UpstreamCredential
}

/** The edge's options from the Worker's env, or an Error whose message names the var that is wrong. */
export function parseEdgeEnv(env: Record<string, unknown>): EdgeConfig {
  const argv: string[] = ['--role', 'edge']
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('EDGELOG_') || WORKER_VARS.has(name)) continue
    if (typeof value !== 'string') throw new Error(`${name} must be a string var`)
    const flag = varFlag(name)
    if (!EDGE_FLAGS.has(flag)) {
      throw new Error(`${name} is not a setting of an edge relay on Cloudflare; it takes ${[...EDGE_FLAGS].map(flagVar).join(', ')}`)
    }
    if (value === '') continue
    if (flag === 'upstream') {
      for (const url of value.split(',').map((u) => u.trim()).filter(Boolean)) argv.push('--upstream', url)
    } else {
      argv.push(`--${flag}=${value}`)
    }
  }
  let options: ServeOptions
  try {
    options = parseServeOptions(argv, {})
  } catch (err) {
    // The CLI's message names flags and ends with its usage: name the vars instead.
    const first = (err as Error).message.split('\n')[0]!
    throw new Error(first.replace(/--([a-z][a-z-]*)/g, (_, f: string) => flagVar(f)))
  }
  const token = options['upstream-token']
  return { options, ...(token !== undefined ? { credential: parseUpstreamToken(token, 'EDGELOG_UPSTREAM_TOKEN') } : {}) }
}
