/**
 * @module edgelog client: one ESM client for browsers, Deno, Bun and Node, built on the
 * web-standard `fetch` and `WebSocket` only. Browsers load it from any node at `/v1/client.js`.
 *
 * @example
 * ```ts
 * const client = new EdgelogClient({ url: 'http://127.0.0.1:8080' })
 * const sub = client.subscribe('comments', { from: 'earliest' }, (record) => console.log(record.offset, record.value))
 * const producer = client.producer({ transport: 'ws', acks: '1' })
 * await producer.send('comments', { key: 'room-1', value: { author: 'ada', text: 'hi', at: Date.now() } })
 * ```
 */
import { partitionForKey } from '../codec/partitioner.ts'
import { decodeBase64 } from '../core/base64.ts'
import type { BackoffOptions } from './backoff.ts'
import { EdgelogError } from './errors.ts'
import { HttpClient, type FetchFunction } from './http.ts'
import { TopicMetadata } from './metadata.ts'
import { HttpProduceTransport, WsProduceTransport } from './produce-transport.ts'
import { Producer, type ProducerOptions } from './producer.ts'
import { type RecordHandler, type SubscribeOptions, Subscription } from './subscription.ts'
import { type WebSocketConstructor, WsConnection } from './ws-connection.ts'

export interface EdgelogClientOptions {
  /** Any node, e.g. `http://127.0.0.1:8080`. In a browser page served by a node: defaults to the page's origin. */
  url?: string
  /** Default: `url` with ws(s): and `/v1/ws`. */
  wsUrl?: string
  /** Default: the global WebSocket. Node 20 has none: pass `ws`'s WebSocket. */
  WebSocket?: WebSocketConstructor
  /** Default: the global fetch. */
  fetch?: FetchFunction
  /** Sent with every HTTP request (a browser WebSocket cannot carry headers). */
  headers?: Record<string, string>
  /** Reconnect pacing of the WebSocket: exponential, full jitter. */
  reconnect?: BackoffOptions
  /** Largest frame sent; keep at or under the node's `--ws-max-frame-bytes`. */
  maxFrameBytes?: number
  timeoutMs?: number
  /**
   * Send each partition's produce and fetch requests straight to its leader, from the cluster
   * metadata (`GET /v1/brokers` and the topic's leaders), refreshed when a leader refuses or is
   * gone. Default true. False sends everything to `url` (a load balancer, or brokers whose
   * advertised URLs this client cannot reach); any broker forwards to the leader.
   */
  routeToLeaders?: boolean
  /** How long topic and broker metadata is trusted before it is read again (metadata.max.age.ms). Default 5 minutes. */
  metadataMaxAgeMs?: number
}

export interface ClientProducerOptions extends ProducerOptions {
  /** `ws` (the client's shared WebSocket) or `http` (default: one POST per batch). */
  transport?: 'ws' | 'http'
}

export class EdgelogClient {
  /** The plain HTTP API (topics, fetch, groups); see http.ts. */
  readonly http: HttpClient
  readonly url: string
  readonly wsUrl: string
  readonly #options: EdgelogClientOptions
  readonly #metadata: TopicMetadata
  #connection: WsConnection | undefined
  #closed = false

  constructor(options: EdgelogClientOptions = {}) {
    const url = options.url ?? (globalThis as { location?: { origin?: string } }).location?.origin
    if (url === undefined) throw new TypeError('EdgelogClient needs a url outside a browser page')
    this.#options = options
    this.http = new HttpClient({
      url,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.headers ? { headers: options.headers } : {}),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    })
    this.url = this.http.url
    this.wsUrl = options.wsUrl ?? webSocketUrl(this.url)
    this.#metadata = new TopicMetadata(this.http, options.metadataMaxAgeMs === undefined ? {} : { maxAgeMs: options.metadataMaxAgeMs })
    if (options.routeToLeaders !== false) this.http.useRouter(this.#metadata)
  }

  /**
   * Delivers every record of `topic` from `options.from` on, in offset order per partition,
   * across disconnects and server restarts: each reconnect resumes at the offset after the last
   * record delivered, so nothing is lost or seen twice. Records no longer retained are
   * reported to `options.onGap`. The handler may return a promise; the next record of the
   * subscription waits for it.
   */
  subscribe(topic: string, options: SubscribeOptions, onRecord: RecordHandler): Subscription {
    return new Subscription(this.#ws(), topic, options, onRecord)
  }

  /** A batching, idempotent producer (see producer.ts). Close it to flush. */
  producer(options: ClientProducerOptions = {}): Producer {
    this.#checkOpen()
    const { transport = 'http', ...producerOptions } = options
    if (transport === 'ws') {
      const connection = this.#ws()
      const producer: Producer = new Producer(new WsProduceTransport(connection), this.http, this.#metadata, producerOptions, () =>
        connection.detach(producer),
      )
      connection.attach(producer)
      return producer
    }
    if (transport !== 'http') throw new TypeError(`transport must be "ws" or "http", got ${String(transport)}`)
    return new Producer(new HttpProduceTransport(this.http), this.http, this.#metadata, producerOptions)
  }

  /**
   * The partition a key goes to: murmur2 of its bytes, as the server and Kafka's Java client
   * compute it. A subscriber interested in one key subscribes to just this partition.
   */
  async partitionFor(topic: string, key: string | { base64: string }): Promise<number> {
    const bytes = typeof key === 'string' ? new TextEncoder().encode(key) : decodeBase64(key.base64)
    if (bytes === undefined) throw new EdgelogError('INVALID_RECORD', 'key.base64 is not valid base64')
    return partitionForKey(bytes, await this.#metadata.partitionCount(topic))
  }

  /** The shared WebSocket's state, for status displays. */
  get connectionState(): string {
    return this.#connection?.state ?? 'idle'
  }

  /** Closes the WebSocket for good; subscriptions stop, producers' pending sends fail. */
  close(): void {
    this.#closed = true
    this.#connection?.close()
  }

  #ws(): WsConnection {
    this.#checkOpen()
    this.#connection ??= new WsConnection({
      url: this.wsUrl,
      ...(this.#options.WebSocket ? { WebSocket: this.#options.WebSocket } : {}),
      ...(this.#options.reconnect ? { backoff: this.#options.reconnect } : {}),
      ...(this.#options.maxFrameBytes ? { maxFrameBytes: this.#options.maxFrameBytes } : {}),
    })
    return this.#connection
  }

  #checkOpen(): void {
    if (this.#closed) throw new EdgelogError('CLIENT_CLOSED', 'the client is closed')
  }
}

/** `http://host:port/base` → `ws://host:port/base/v1/ws` (https → wss). */
export function webSocketUrl(httpUrl: string): string {
  const url = new URL(httpUrl)
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/ws`
  url.search = ''
  url.hash = ''
  return url.href
}

export { Backoff, type BackoffOptions } from './backoff.ts'
export { EdgelogError, isEdgelogError, isRetriableCode } from './errors.ts'
export type { ServerFrame, StartPosition } from './frames.ts'
export { HttpClient, type HttpClientOptions, type PartitionRouter } from './http.ts'
export { TopicMetadata, type TopicMetadataOptions } from './metadata.ts'
export {
  GroupConsumer,
  type ConsumedRecord as GroupConsumerRecord,
  type GroupConsumerOptions,
  type GroupConsumerStats,
  type TopicPartition,
} from './group-consumer.ts'
export { RETRY_HEADERS, type RetryOptions } from './retry.ts'
export { Producer, producerDefaults, type ProducerOptions, type RecordMetadata } from './producer.ts'
export type { Acks, ProduceRecord, RecordKey, RecordHeaders, FetchedHeaders } from './schemas.ts'
export {
  Subscription,
  type ConsumedRecord,
  type Gap,
  type RecordHandler,
  type SubscribeFrom,
  type SubscribeOptions,
  type SubscriptionStatus,
} from './subscription.ts'
export type { WebSocketConstructor, WebSocketLike } from './ws-connection.ts'
