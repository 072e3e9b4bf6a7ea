// One owned partition's loop (Kafka's fetcher + poll loop, per partition): fetch from the
// position, hand each record to the handler, move the position only once the record is done,
// commit after each handled batch (unless auto-commit runs on a timer). A failed record is
// tried again in place, or with retry topics republished so the partition moves on. Apart from
// the membership loop (group-consumer.ts), which starts and stops workers but never looks
// inside one; the worker reaches the consumer only through WorkerContext.
import { isEdgelogError } from './errors.ts'
import type { ConsumedRecord, GroupConsumerOptions, GroupConsumerStats, TopicPartition } from './group-consumer-options.ts'
import type { HttpClient } from './http.ts'
import { backoffDelayMs, deadLetterTopicOf, republished, retryStateOf, retryTopicOf, type RetryState } from './retry.ts'
import type { FetchedRecord, FetchPosition, TopicPartitions } from './schemas.ts'
import type { Slots } from './slots.ts'

export const retryDelayMs = 250
export const retryDelayMaxMs = 2000

export interface Worker {
  tp: TopicPartition
  key: string
  stop: AbortController
  position: FetchPosition
  committed: number | undefined
  done: Promise<void>
}

/** What a worker needs from the consumer that owns it. */
export interface WorkerContext {
  readonly client: HttpClient
  readonly options: GroupConsumerOptions
  readonly stats: GroupConsumerStats
  /** Bounds fetches in flight across all of the consumer's partitions. */
  readonly slots: Slots
  /** Partitions the consumer owns now (many partitions: shorter long-polls). */
  workerCount(): number
  handle(record: ConsumedRecord): void | Promise<void>
  commit(workers: Worker[]): Promise<void>
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  report(error: unknown): void
}

export async function runWorker(ctx: WorkerContext, w: Worker): Promise<void> {
  const signal = w.stop.signal
  const waitMs = ctx.workerCount() <= 16 ? ctx.options.maxWaitMs ?? 1000 : 100
  let failures = 0
  while (!signal.aborted) {
    let fetched
    await ctx.slots.acquire()
    try {
      fetched = await ctx.client.fetchRecords(w.tp.topic, w.tp.partition, {
        offset: w.position,
        maxRecords: ctx.options.maxRecords ?? 500,
        waitMs,
        signal,
      })
      failures = 0
    } catch (error) {
      if (signal.aborted) return
      if (isEdgelogError(error) && error.code === 'OFFSET_OUT_OF_RANGE') {
        // The committed offset fell out of retention (or past the end): start over per policy.
        w.position = ctx.options.autoOffsetReset ?? 'earliest'
      } else {
        ctx.report(error)
        await ctx.sleep(Math.min(retryDelayMaxMs, retryDelayMs * 2 ** failures++), signal)
      }
      continue
    } finally {
      ctx.slots.release()
    }
    for (const record of fetched.records) {
      if (signal.aborted) return
      const done = await processRecord(ctx, w, record)
      if (!done) return // stopped before the record was finished: its next owner handles it
      w.position = record.offset + 1
    }
    if (fetched.records.length === 0) w.position = fetched.nextOffset
    if (ctx.options.autoCommitIntervalMs === undefined && !signal.aborted) await ctx.commit([w])
  }
}

/** Handles one record (retrying or republishing on failure); false if stopped before done. */
async function processRecord(ctx: WorkerContext, w: Worker, fetched: FetchedRecord): Promise<boolean> {
  const signal = w.stop.signal
  const retry = ctx.options.retry
  const state = retry ? retryStateOf(fetched, w.tp.topic, w.tp.partition) : undefined
  if (state && state.notBefore > Date.now()) {
    await ctx.sleep(state.notBefore - Date.now(), signal)
    if (signal.aborted) return false
  }
  const record: ConsumedRecord = {
    ...fetched,
    topic: w.tp.topic,
    partition: w.tp.partition,
    originalTopic: state?.originalTopic ?? w.tp.topic,
    attempt: state?.attempt ?? 1,
  }
  for (let inPlace = 0; ; inPlace++) {
    try {
      await ctx.handle(record)
      ctx.stats.processed++
      return true
    } catch (error) {
      ctx.stats.failed++
      if (retry && state) return republish(ctx, fetched, state, error, signal)
      // Without retry topics the record is tried again in place: its partition waits.
      ctx.report(error)
      await ctx.sleep(Math.min(30_000, retryDelayMs * 2 ** Math.min(inPlace, 7)), signal)
      if (signal.aborted) return false
    }
  }
}

async function republish(ctx: WorkerContext, fetched: FetchedRecord, state: RetryState, error: unknown, signal: AbortSignal): Promise<boolean> {
  const retry = ctx.options.retry!
  const dead = state.attempt >= retry.maxAttempts
  const topic = dead ? deadLetterTopicOf(retry, state.originalTopic) : retryTopicOf(retry, state.originalTopic)
  const notBefore = dead ? 0 : Date.now() + backoffDelayMs(retry, state.attempt)
  const record = republished(fetched, state, error, dead ? state.attempt : state.attempt + 1, notBefore)
  // The offset moves on only once the republished record is acknowledged: nothing is lost.
  for (let failures = 0; ; failures++) {
    try {
      await ctx.client.produce(topic, [record], { acks: 'all' })
      if (dead) ctx.stats.deadLettered++
      else ctx.stats.retried++
      return true
    } catch (produceError) {
      if (signal.aborted) return false
      ctx.report(produceError)
      await ctx.sleep(Math.min(retryDelayMaxMs, retryDelayMs * 2 ** Math.min(failures, 4)), signal)
      if (signal.aborted) return false
    }
  }
}

export function tpKey(topic: string, partition: number): string {
  return `${topic}:${partition}`
}

export function byTopicPartition(a: TopicPartition, b: TopicPartition): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition
}

/** The partitions of these workers as a heartbeat reports them (owned partitions, by topic). */
export function toTopicPartitions(workers: Iterable<Worker>): TopicPartitions {
  const byTopic = new Map<string, number[]>()
  for (const w of workers) {
    let list = byTopic.get(w.tp.topic)
    if (!list) byTopic.set(w.tp.topic, (list = []))
    list.push(w.tp.partition)
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }))
}
