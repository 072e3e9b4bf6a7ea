// A thin client for the v1 HTTP contract: one method per endpoint, every answer validated.
// It never retries on its own; errors say whether a retry is safe (EdgelogError.retriable)
// and the caller, who knows whether the request was idempotent, decides.
import type { z } from 'zod'
import { EdgelogError } from './errors.ts'
import {
  type Acks,
  type CreateTopicRequest,
  type FetchPosition,
  type OffsetCommit,
  type ProduceRecord,
  type ProducerBatchState,
  type HeartbeatRequest,
  type JoinGroupRequest,
  type ResetOffsetsRequest,
  CommitOffsetsResponse,
  CommittedOffsetsResponse,
  DeleteGroupResponse,
  DeleteTopicResponse,
  ErrorBody,
  FetchResponse,
  GroupDescription,
  GroupLagResponse,
  GroupList,
  LeaveGroupResponse,
  MemberResponse,
  ResetOffsetsResponse,
  InitProducerResponse,
  OffsetForTimestampResponse,
  ProduceResponse,
  BrokerList,
  TopicDescription,
  TopicList,
} from './schemas.ts'

/** How long a request may take unless the caller says otherwise. Long polls add their waitMs. */
export const requestTimeoutMsDefault = 30_000
/** A larger answer is refused rather than buffered: fetches are bounded by maxBytes anyway. */
export const responseBytesMaxDefault = 64 * 1024 * 1024

export type FetchFunction = (request: Request) => Promise<Response>

export interface HttpClientOptions {
  /** Base URL of any node, e.g. `http://127.0.0.1:8080`. */
  url: string
  /** Defaults to the global fetch; pass one to add auth, tracing or a test double. */
  fetch?: FetchFunction
  /** Sent with every request (e.g. `authorization`). */
  headers?: Record<string, string>
  timeoutMs?: number
  responseBytesMax?: number
}

export interface RequestOptions {
  /** Aborting rejects with the signal's reason, not with an EdgelogError. */
  signal?: AbortSignal
  timeoutMs?: number
  /** Send to this node instead of `url` (a partition leader's advertised URL, from metadata). */
  baseUrl?: string
}

/**
 * Where a partition's requests go (the client routing by metadata, see metadata.ts). Without a
 * router, or when it knows no leader, every request goes to the bootstrap `url`.
 */
export interface PartitionRouter {
  /** The partition leader's URL, or undefined for the bootstrap URL. */
  leaderUrl(topic: string, partition: number): string | undefined
  /**
   * The metadata for `topic` may be stale: a request sent to `url` (undefined: the bootstrap)
   * was refused with NOT_LEADER_OR_FOLLOWER, never answered, or answered through another broker.
   */
  stale(topic: string, url: string | undefined, reason: StaleReason): void
  /** Reads the topic's metadata again now. */
  refresh(topic: string): Promise<void>
}

export type StaleReason = 'not-leader' | 'unreachable' | 'forwarded'

/** Set by a broker on an answer it got from the leader for us: our metadata is stale. */
export const FORWARDED_BY_HEADER = 'x-edgelog-forwarded-by'

export interface ProduceOptions extends RequestOptions {
  acks?: Acks
  /** Ask the node to store the batches gzipped (when the topic's compression.type is `producer`). */
  compression?: 'none' | 'gzip'
}

export interface ProduceToPartitionOptions extends ProduceOptions {
  producer?: ProducerBatchState
}

export interface CommitOptions extends RequestOptions {
  /** The committing member and the epoch it holds; omitted for a group without members. */
  member?: { memberId: string; memberEpoch: number }
}

export interface FetchRecordsOptions extends RequestOptions {
  offset: FetchPosition
  maxRecords?: number
  maxBytes?: number
  /** Long poll: the server holds the request up to this long when there is nothing to read. */
  waitMs?: number
}

interface Call<S extends z.ZodType> {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  path: string
  query?: Record<string, string | number | undefined>
  body?: unknown
  schema: S
  options?: RequestOptions | undefined
  /** Extra time on top of the timeout, for long polls. */
  waitMs?: number | undefined
  /** Sets when the answer came through another broker (its forwarded-by header). */
  onForwarded?: () => void
}

export class HttpClient {
  readonly url: string
  readonly #fetch: FetchFunction
  readonly #headers: Record<string, string>
  readonly #timeoutMs: number
  readonly #responseBytesMax: number
  #router: PartitionRouter | undefined

  constructor(options: HttpClientOptions) {
    const base = new URL(options.url) // throws a TypeError on a malformed URL, at construction
    this.url = base.href.replace(/\/+$/, '')
    this.#fetch = options.fetch ?? ((request) => globalThis.fetch(request))
    this.#headers = { ...options.headers }
    this.#timeoutMs = options.timeoutMs ?? requestTimeoutMsDefault
    this.#responseBytesMax = options.responseBytesMax ?? responseBytesMaxDefault
  }

  /** Routes partition requests (produce to a partition, fetch, offsets) by metadata from now on. */
  useRouter(router: PartitionRouter): void {
    this.#router = router
  }

  /** Lists the cluster's live brokers and their advertised URLs; a cluster of one lists none. */
  listBrokers(options?: RequestOptions): Promise<BrokerList> {
    return this.#call({ method: 'GET', path: '/v1/brokers', schema: BrokerList, options })
  }

  // ---- topics -----------------------------------------------------------------------------

  createTopic(request: CreateTopicRequest, options?: RequestOptions): Promise<TopicDescription> {
    return this.#call({ method: 'POST', path: '/v1/topics', body: request, schema: TopicDescription, options })
  }

  listTopics(options?: RequestOptions): Promise<TopicList> {
    return this.#call({ method: 'GET', path: '/v1/topics', schema: TopicList, options })
  }

  describeTopic(topic: string, options?: RequestOptions): Promise<TopicDescription> {
    return this.#call({ method: 'GET', path: topicPath(topic), schema: TopicDescription, options })
  }

  /** Changes topic configs at runtime: `set` overrides keys, `delete` returns them to defaults. */
  alterTopicConfig(topic: string, change: { set?: Record<string, string | number | boolean>; delete?: string[] }, options?: RequestOptions): Promise<TopicDescription> {
    return this.#call({ method: 'PATCH', path: `${topicPath(topic)}/config`, body: change, schema: TopicDescription, options })
  }

  deleteTopic(topic: string, options?: RequestOptions): Promise<DeleteTopicResponse> {
    return this.#call({ method: 'DELETE', path: topicPath(topic), schema: DeleteTopicResponse, options })
  }

  // ---- produce ----------------------------------------------------------------------------

  /** Offsets come back in request order; with acks=0 every offset is null. */
  produce(topic: string, records: ProduceRecord[], options: ProduceOptions = {}): Promise<ProduceResponse> {
    return this.#call({
      method: 'POST',
      path: `${topicPath(topic)}/records`,
      query: { acks: options.acks, compression: options.compression },
      body: { records },
      schema: ProduceResponse,
      options,
    })
  }

  produceToPartition(
    topic: string,
    partition: number,
    records: ProduceRecord[],
    options: ProduceToPartitionOptions = {},
  ): Promise<ProduceResponse> {
    const body = options.producer === undefined ? { records } : { records, producer: options.producer }
    // Not retried here: whether a retry may duplicate is the caller's to judge (the idempotent
    // producer retries with the same sequence). The router learns, so the retry goes elsewhere.
    return this.#partitionCall(topic, partition, false, {
      method: 'POST',
      path: `${partitionPath(topic, partition)}/records`,
      query: { acks: options.acks, compression: options.compression },
      body,
      schema: ProduceResponse,
      options,
    })
  }

  /**
   * Allocates a producer id and epoch for idempotent produce (Kafka's InitProducerId). Given an
   * id it already holds, the node bumps its epoch instead: sequences restart at 0 and batches
   * still travelling under the old epoch are fenced.
   */
  initProducer(options?: RequestOptions & { producerId?: number }): Promise<InitProducerResponse> {
    const body = options?.producerId === undefined ? {} : { producerId: options.producerId }
    return this.#call({ method: 'POST', path: '/v1/producers', body, schema: InitProducerResponse, options })
  }

  // ---- fetch ------------------------------------------------------------------------------

  fetchRecords(topic: string, partition: number, options: FetchRecordsOptions): Promise<FetchResponse> {
    return this.#partitionCall(topic, partition, true, {
      method: 'GET',
      path: `${partitionPath(topic, partition)}/records`,
      query: {
        offset: options.offset,
        maxRecords: options.maxRecords,
        maxBytes: options.maxBytes,
        waitMs: options.waitMs,
      },
      schema: FetchResponse,
      options,
      waitMs: options.waitMs,
    })
  }

  /** The first offset whose timestamp is at or after `timestamp` (epoch ms); null if none. */
  offsetForTimestamp(
    topic: string,
    partition: number,
    timestamp: number,
    options?: RequestOptions,
  ): Promise<OffsetForTimestampResponse> {
    return this.#partitionCall(topic, partition, true, {
      method: 'GET',
      path: `${partitionPath(topic, partition)}/offsets`,
      query: { timestamp },
      schema: OffsetForTimestampResponse,
      options,
    })
  }

  // ---- groups -----------------------------------------------------------------------------

  /** Commits offsets; a member passes `member` and is fenced if it no longer owns the partitions. */
  commitOffsets(group: string, offsets: OffsetCommit[], options?: CommitOptions): Promise<CommitOffsetsResponse> {
    const body = options?.member === undefined ? { offsets } : { ...options.member, offsets }
    return this.#call({
      method: 'POST',
      path: `${groupPath(group)}/offsets`,
      body,
      schema: CommitOffsetsResponse,
      options,
    })
  }

  /** Joins a group (KIP-848): the answer carries the member id, epoch and first assignment. */
  joinGroup(group: string, request: JoinGroupRequest, options?: RequestOptions): Promise<MemberResponse> {
    return this.#call({ method: 'POST', path: `${groupPath(group)}/members`, body: request, schema: MemberResponse, options })
  }

  heartbeat(group: string, memberId: string, request: HeartbeatRequest, options?: RequestOptions): Promise<MemberResponse> {
    return this.#call({
      method: 'POST',
      path: `${memberPath(group, memberId)}/heartbeat`,
      body: request,
      schema: MemberResponse,
      options,
    })
  }

  leaveGroup(group: string, memberId: string, options?: RequestOptions): Promise<LeaveGroupResponse> {
    return this.#call({ method: 'DELETE', path: memberPath(group, memberId), schema: LeaveGroupResponse, options })
  }

  listGroups(options?: RequestOptions): Promise<GroupList> {
    return this.#call({ method: 'GET', path: '/v1/groups', schema: GroupList, options })
  }

  describeGroup(group: string, options?: RequestOptions): Promise<GroupDescription> {
    return this.#call({ method: 'GET', path: groupPath(group), schema: GroupDescription, options })
  }

  /** Moves an empty group's committed offsets to the earliest, latest, a timestamp's or a given offset. */
  resetOffsets(group: string, request: ResetOffsetsRequest, options?: RequestOptions): Promise<ResetOffsetsResponse> {
    return this.#call({ method: 'POST', path: `${groupPath(group)}/offsets/reset`, body: request, schema: ResetOffsetsResponse, options })
  }

  /** Deletes an empty group and its committed offsets. */
  deleteGroup(group: string, options?: RequestOptions): Promise<DeleteGroupResponse> {
    return this.#call({ method: 'DELETE', path: groupPath(group), schema: DeleteGroupResponse, options })
  }

  committedOffsets(group: string, options?: RequestOptions): Promise<CommittedOffsetsResponse> {
    return this.#call({ method: 'GET', path: `${groupPath(group)}/offsets`, schema: CommittedOffsetsResponse, options })
  }

  groupLag(group: string, options?: RequestOptions): Promise<GroupLagResponse> {
    return this.#call({ method: 'GET', path: `${groupPath(group)}/lag`, schema: GroupLagResponse, options })
  }

  // ---- node -------------------------------------------------------------------------------

  /** Resolves when the node answers /healthz with 2xx; rejects with an EdgelogError otherwise. */
  async health(options?: RequestOptions): Promise<void> {
    const response = await this.#send('GET', '/healthz', undefined, undefined, options, 0)
    const text = await this.#readText(response)
    if (!response.ok) throw errorFromResponse(response, text)
  }

  // ---- plumbing ---------------------------------------------------------------------------

  /**
   * A request about one partition, sent straight to its leader when the router knows it. When
   * the leader refuses (NOT_LEADER_OR_FOLLOWER) or cannot be reached, the router hears of it;
   * a read (`retry`) is then sent once more, after a metadata refresh, to the new leader or the
   * bootstrap node (which forwards it).
   */
  async #partitionCall<S extends z.ZodType>(topic: string, partition: number, retry: boolean, call: Call<S>): Promise<z.infer<S>> {
    const router = this.#router
    if (router === undefined || call.options?.baseUrl !== undefined) return this.#call(call)
    const routed = router.leaderUrl(topic, partition)
    const attempt = (url: string | undefined) =>
      this.#call({
        ...call,
        options: { ...call.options, ...(url === undefined ? {} : { baseUrl: url }) },
        // Answered through another broker: the leader is elsewhere than we sent it.
        onForwarded: () => router.stale(topic, url, 'forwarded'),
      })
    try {
      return await attempt(routed)
    } catch (error) {
      const failure = routingFailure(error, call.options?.signal)
      if (failure === undefined) throw error
      router.stale(topic, routed, failure)
      // Read the metadata before anyone retries (Kafka's producer waits for it too), so the
      // retry goes to the new leader rather than through the bootstrap broker.
      await router.refresh(topic).catch(() => {})
      if (!retry) throw error
      const next = router.leaderUrl(topic, partition)
      if (failure === 'unreachable' && routed === undefined && next === undefined) throw error
      return attempt(next)
    }
  }

  async #call<S extends z.ZodType>(call: Call<S>): Promise<z.infer<S>> {
    const response = await this.#send(call.method, call.path, call.query, call.body, call.options, call.waitMs ?? 0)
    if (call.onForwarded !== undefined && response.headers.has(FORWARDED_BY_HEADER)) call.onForwarded()
    const text = await this.#readText(response)
    if (!response.ok) throw errorFromResponse(response, text)
    return parseResponse(call.schema, text, response.status, `${call.method} ${call.path}`)
  }

  async #send(
    method: string,
    path: string,
    query: Record<string, string | number | undefined> | undefined,
    body: unknown,
    options: RequestOptions = {},
    waitMs: number,
  ): Promise<Response> {
    const base = options.baseUrl === undefined ? this.url : options.baseUrl.replace(/\/+$/, '')
    const url = new URL(base + path)
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value))
    }
    const timeoutMs = (options.timeoutMs ?? this.#timeoutMs) + waitMs
    const timeout = AbortSignal.timeout(timeoutMs)
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
    const headers: Record<string, string> = { accept: 'application/json', ...this.#headers }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const request = new Request(url, {
      method,
      headers,
      signal,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    try {
      return await this.#fetch(request)
    } catch (cause) {
      throw transportError(cause, options.signal, timeout, timeoutMs, `${method} ${url.pathname}`)
    }
  }

  async #readText(response: Response): Promise<string> {
    try {
      return await readBodyText(response, this.#responseBytesMax)
    } catch (cause) {
      if (cause instanceof EdgelogError) throw cause
      throw new EdgelogError('NETWORK_EXCEPTION', `reading the response failed: ${messageOf(cause)}`, {
        status: response.status,
        cause,
      })
    }
  }
}

/** Whether an error says the request's node is not (or no longer) the leader, or is gone. */
function routingFailure(error: unknown, callerSignal: AbortSignal | undefined): 'not-leader' | 'unreachable' | undefined {
  if (callerSignal?.aborted || !(error instanceof EdgelogError)) return undefined
  if (error.code === 'NOT_LEADER_OR_FOLLOWER' || error.code === 'LEADER_NOT_AVAILABLE') return 'not-leader'
  if (error.status === 0 && (error.code === 'NETWORK_EXCEPTION' || error.code === 'REQUEST_TIMED_OUT')) return 'unreachable'
  return undefined
}

function topicPath(topic: string): string {
  return `/v1/topics/${encodeURIComponent(topic)}`
}

function partitionPath(topic: string, partition: number): string {
  if (!Number.isInteger(partition) || partition < 0) throw new RangeError(`partition must be an integer >= 0, got ${partition}`)
  return `${topicPath(topic)}/partitions/${partition}`
}

function groupPath(group: string): string {
  return `/v1/groups/${encodeURIComponent(group)}`
}

function memberPath(group: string, memberId: string): string {
  return `${groupPath(group)}/members/${encodeURIComponent(memberId)}`
}

function transportError(
  cause: unknown,
  callerSignal: AbortSignal | undefined,
  timeout: AbortSignal,
  timeoutMs: number,
  what: string,
): unknown {
  // A caller's abort is not a failure of the request; hand back their reason unchanged.
  if (callerSignal?.aborted) return callerSignal.reason
  if (timeout.aborted) {
    return new EdgelogError('REQUEST_TIMED_OUT', `${what}: no answer within ${timeoutMs} ms`, { cause })
  }
  return new EdgelogError('NETWORK_EXCEPTION', `${what}: ${messageOf(cause)}`, { cause })
}

/** Turns a non-2xx answer into an error carrying the server's code, or a stand-in code. */
export function errorFromResponse(response: Response, text: string): EdgelogError {
  const parsed = ErrorBody.safeParse(tryParseJson(text))
  if (parsed.success) {
    return new EdgelogError(parsed.data.error.code, parsed.data.error.message, { status: response.status })
  }
  // Not our error shape: a proxy, a load balancer, or a server from another version.
  const code = response.status === 429 ? 'THROTTLED' : 'UNKNOWN_SERVER_ERROR'
  const snippet = text.length > 200 ? `${text.slice(0, 200)}...` : text
  const detail = snippet.trim() === '' ? '' : `: ${snippet.trim()}`
  return new EdgelogError(code, `HTTP ${response.status} ${response.statusText}${detail}`.trim(), {
    status: response.status,
  })
}

/** Validates a 2xx body; a malformed answer becomes INVALID_RESPONSE, never a TypeError later. */
export function parseResponse<S extends z.ZodType>(schema: S, text: string, status: number, what: string): z.infer<S> {
  const json = tryParseJson(text)
  if (json === undefined) {
    throw new EdgelogError('INVALID_RESPONSE', `${what}: the answer is not JSON`, { status })
  }
  const result = schema.safeParse(json)
  if (!result.success) {
    const issue = result.error.issues[0]
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : ''
    throw new EdgelogError('INVALID_RESPONSE', `${what}: unexpected answer${where}: ${issue?.message ?? 'invalid'}`, {
      status,
      cause: result.error,
    })
  }
  return result.data
}

function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

/** Reads a body as text, refusing (and cancelling) once it passes bytesMax. */
async function readBodyText(response: Response, bytesMax: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 0)
  if (declared > bytesMax) {
    await response.body?.cancel()
    throw tooLarge(response.status, bytesMax)
  }
  if (response.body === null) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > bytesMax) {
      await reader.cancel()
      throw tooLarge(response.status, bytesMax)
    }
    chunks.push(value)
  }
  const bytes = new Uint8Array(total)
  let at = 0
  for (const chunk of chunks) {
    bytes.set(chunk, at)
    at += chunk.byteLength
  }
  return new TextDecoder().decode(bytes)
}

function tooLarge(status: number, bytesMax: number): EdgelogError {
  return new EdgelogError('INVALID_RESPONSE', `the answer is larger than ${bytesMax} bytes`, { status })
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
