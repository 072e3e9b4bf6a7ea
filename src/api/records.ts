// Produce and fetch over HTTP.
import { Hono } from 'hono'
import type { Broker, ProduceRecord } from '../broker/broker.ts'
import { isAdmin } from '../auth/principal.ts'
import { EdgelogError } from '../core/errors.ts'
import { bodyKind, parseJsonText, readBodyText } from './body.ts'
import type { ApiLimits } from './limits.ts'
import { boundedInt, parseAcks, parseCompression, parseNonNegativeInt, parseOffsetSpec, parsePartition } from './params.ts'
import { renderRecord, toProduceRecord } from './record-json.ts'
import { JsonRecordSchema, PartitionProduceBodySchema, ProduceBodySchema } from './schemas.ts'
import { securityOf } from './security-context.ts'

function tooManyRecords(limits: ApiLimits) {
  return new EdgelogError('RECORD_LIST_TOO_LARGE', `a produce request carries at most ${limits.maxRecordsPerRequest} records`)
}

/** Parses a produce body (JSON `{records}` or one record per NDJSON line) into records (an edge parses with it too). */
export async function readProduceBody(req: Request, broker: Pick<Broker, 'runtime'>, limits: ApiLimits, partitioned: boolean) {
  const kind = bodyKind(req)
  const text = await readBodyText(req, limits.maxRequestBytes)
  const now = broker.runtime.clock.now()
  let json: { records: unknown[]; producer?: { id: number; epoch: number; sequence: number } }
  if (kind === 'json') {
    json = (partitioned ? PartitionProduceBodySchema : ProduceBodySchema).parse(parseJsonText(text))
  } else {
    const records: ProduceRecord[] = []
    let line = 0
    for (const raw of text.split('\n')) {
      line++
      if (raw.trim() === '') continue
      if (records.length >= limits.maxRecordsPerRequest) throw tooManyRecords(limits)
      const parsed = JsonRecordSchema.safeParse(parseJsonText(raw, `NDJSON line ${line}`))
      if (!parsed.success) throw new EdgelogError('INVALID_REQUEST', `NDJSON line ${line}: ${parsed.error.issues[0]?.message ?? 'not a record'}`)
      try {
        records.push(toProduceRecord(parsed.data, records.length, now))
      } catch (err) {
        if (err instanceof EdgelogError) throw new EdgelogError(err.code, `NDJSON line ${line}: ${err.message}`)
        throw err
      }
    }
    if (records.length === 0) throw new EdgelogError('INVALID_REQUEST', 'the NDJSON body has no records')
    return { records, producer: undefined }
  }
  if (json.records.length > limits.maxRecordsPerRequest) throw tooManyRecords(limits)
  const records: ProduceRecord[] = json.records.map((r, i) => toProduceRecord(r as never, i, now))
  return { records, producer: json.producer }
}

/** Every record of a request to `/partitions/{p}/records` goes to p; one naming another is refused. */
export function pinPartition(records: ProduceRecord[], partition: number): void {
  for (const r of records) {
    if (r.partition !== undefined && r.partition !== partition) {
      throw new EdgelogError('INVALID_RECORD', `a record names partition ${r.partition} in a request to partition ${partition}`)
    }
    r.partition = partition
  }
}

/** What a produce counts against the byte quota: the record bytes, as Kafka's produce quota. */
export function recordBytes(records: ProduceRecord[]): number {
  let n = 0
  for (const r of records) {
    n += (r.key?.byteLength ?? 0) + (r.value?.byteLength ?? 0)
    for (const h of r.headers ?? []) n += h.key.length + (h.value?.byteLength ?? 0)
  }
  return n
}

export function recordRoutes(broker: Broker, limits: ApiLimits) {
  return new Hono()
    .post('/:topic/records', async (c) => {
      const acks = parseAcks(c.req.query('acks'))
      const compression = parseCompression(c.req.query('compression'))
      const topic = c.req.param('topic')
      broker.describeTopic(topic) // unknown topic: 404 before the body is read
      const security = securityOf(c)
      security.checkProduceBytes()
      const { records } = await readProduceBody(c.req.raw, broker, limits, false)
      security.chargeProduceBytes(recordBytes(records))
      const offsets = await broker.produce(topic, records, acks, { compression })
      return c.json({ offsets }, acks === '0' ? 202 : 200)
    })
    .post('/:topic/partitions/:partition/records', async (c) => {
      const acks = parseAcks(c.req.query('acks'))
      const compression = parseCompression(c.req.query('compression'))
      const topic = c.req.param('topic')
      const partition = parsePartition(c.req.param('partition'))
      broker.partition(topic, partition)
      const security = securityOf(c)
      security.checkProduceBytes()
      const { records, producer } = await readProduceBody(c.req.raw, broker, limits, true)
      if (producer) await broker.checkProducerOwner(producer.id, security.principal.id, isAdmin(security.principal))
      security.chargeProduceBytes(recordBytes(records))
      pinPartition(records, partition)
      if (!producer) {
        // A partition's own route is forwarded (or not) before it gets here: see ./forward.ts.
        const offsets = await broker.produce(topic, records, acks, { compression, noForward: true })
        return c.json({ offsets }, acks === '0' ? 202 : 200)
      }
      const r = await broker.produceIdempotent(topic, partition, records, acks, producer, { compression, noForward: true })
      const offsets = records.map((_, i) => ({ partition, offset: r.baseOffset === null ? null : r.baseOffset + i }))
      return c.json({ offsets, duplicate: r.duplicate }, acks === '0' ? 202 : 200)
    })
    .get('/:topic/partitions/:partition/records', async (c) => {
      const topic = c.req.param('topic')
      const partition = parsePartition(c.req.param('partition'))
      const offset = broker.resolveOffset(topic, partition, parseOffsetSpec(c.req.query('offset')))
      const request = {
        offset,
        maxRecords: boundedInt(c.req.query('maxRecords'), 'maxRecords', 500, 1, limits.maxFetchRecords),
        maxBytes: boundedInt(c.req.query('maxBytes'), 'maxBytes', 1024 * 1024, 1, limits.maxFetchBytes),
        waitMs: boundedInt(c.req.query('waitMs'), 'waitMs', 0, 0, broker.options.maxWaitMs),
      }
      const release = request.waitMs > 0 ? securityOf(c).acquireLongPoll() : undefined
      let result
      try {
        result = await broker.fetch(topic, partition, request)
      } finally {
        release?.()
      }
      return c.json({
        records: result.records.map(renderRecord),
        nextOffset: result.nextOffset,
        highWatermark: result.highWatermark,
        logStartOffset: result.logStartOffset,
      })
    })
    .get('/:topic/partitions/:partition/offsets', async (c) => {
      const topic = c.req.param('topic')
      const partition = parsePartition(c.req.param('partition'))
      const p = broker.partition(topic, partition)
      const timestamp = parseNonNegativeInt(c.req.query('timestamp'), 'timestamp')
      const offsets = { logStartOffset: p.log.logStartOffset, highWatermark: p.highWatermark, logEndOffset: p.log.logEndOffset }
      if (timestamp === undefined) return c.json({ partition, ...offsets })
      return c.json({ partition, timestamp, offset: await broker.offsetForTimestamp(topic, partition, timestamp), ...offsets })
    })
}
