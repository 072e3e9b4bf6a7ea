// How a producer's batch reaches a node: one `POST /v1/topics/{t}/partitions/{p}/records`, or
// one `pub` frame with `records` on the shared WebSocket. Both carry the idempotent producer
// state, so the node recognises a retry of the same batch and answers its original offsets.
import { EdgelogError } from './errors.ts'
import type { PubRecord } from './frames.ts'
import type { HttpClient } from './http.ts'
import type { Acks, ProducerBatchState } from './schemas.ts'
import type { WsConnection } from './ws-connection.ts'

export interface BatchRequest {
  topic: string
  partition: number
  /** Records without `partition`: the batch's partition applies to all. */
  records: PubRecord[]
  acks: Acks
  producer?: ProducerBatchState
  timeoutMs: number
}

export interface BatchResult {
  /** One per record, in order; null when acks=0 left it unknown. */
  offsets: Array<number | null>
  /** The node had this batch already (a retry whose first attempt landed). */
  duplicate: boolean
}

export interface ProduceTransport {
  readonly kind: 'http' | 'ws'
  /** False while a batch sent now could only fail (the socket is down, or its buffer is full). */
  readonly ready: boolean
  send(request: BatchRequest): Promise<BatchResult>
}

export class HttpProduceTransport implements ProduceTransport {
  readonly kind = 'http'
  readonly ready = true
  readonly #http: HttpClient

  constructor(http: HttpClient) {
    this.#http = http
  }

  async send(request: BatchRequest): Promise<BatchResult> {
    const answer = await this.#http.produceToPartition(request.topic, request.partition, request.records, {
      acks: request.acks,
      timeoutMs: request.timeoutMs,
      ...(request.producer ? { producer: request.producer } : {}),
    })
    const offsets = answer.offsets.map((o) => o.offset)
    checkAnswer(offsets.length, request, answer.offsets.map((o) => o.partition))
    return { offsets, duplicate: (answer as { duplicate?: unknown }).duplicate === true }
  }
}

let pubCounter = 0

export class WsProduceTransport implements ProduceTransport {
  readonly kind = 'ws'
  readonly #connection: WsConnection

  constructor(connection: WsConnection) {
    this.#connection = connection
  }

  get ready(): boolean {
    return this.#connection.isOpen && this.#connection.writable
  }

  async send(request: BatchRequest): Promise<BatchResult> {
    const id = `p${++pubCounter}`
    const answer = await this.#connection.request(
      {
        op: 'pub',
        id,
        topic: request.topic,
        partition: request.partition,
        records: request.records,
        acks: request.acks,
        ...(request.producer ? { producer: request.producer } : {}),
      },
      request.timeoutMs,
    )
    if (answer.op !== 'ack') throw new EdgelogError('INVALID_RESPONSE', `pub ${id} was answered by ${answer.op}`)
    let offsets: Array<number | null>
    let partitions: number[]
    if (answer.offsets !== undefined) {
      offsets = answer.offsets.map((o) => o.offset)
      partitions = answer.offsets.map((o) => o.partition)
    } else if (answer.partition !== undefined && answer.offset !== undefined && request.records.length === 1) {
      offsets = [answer.offset]
      partitions = [answer.partition]
    } else {
      throw new EdgelogError('INVALID_RESPONSE', `the ack of pub ${id} has no offsets`)
    }
    checkAnswer(offsets.length, request, partitions)
    return { offsets, duplicate: answer.duplicate === true }
  }
}

function checkAnswer(count: number, request: BatchRequest, partitions: number[]): void {
  if (count !== request.records.length) {
    throw new EdgelogError('INVALID_RESPONSE', `${request.records.length} records were answered with ${count} offsets`)
  }
  if (partitions.some((p) => p !== request.partition)) {
    throw new EdgelogError('INVALID_RESPONSE', `records sent to partition ${request.partition} were acknowledged on another`)
  }
}
