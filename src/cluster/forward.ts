// Any broker accepts any request (DESIGN: clients behind a load balancer work): what another
// broker leads goes there, one hop, marked so that it is never forwarded twice.
import type { Acks } from '../broker/broker.ts'
import type { NewRecord } from '../codec/record-batch.ts'
import { encodeBase64 } from '../core/base64.ts'
import { EdgelogError, type ErrorCode } from '../core/errors.ts'

/** Set on a forwarded request (to the forwarding broker's id): the receiver does not forward it again. */
export const FORWARDED_HEADER = 'x-edgelog-forwarded'

export interface ForwardOptions {
  nodeId: number
  /** The leader's advertised URL when another broker leads the partition. */
  leaderUrl: (topic: string, partition: number) => string | undefined
  timeoutMs: number
  maxResponseBytes: number
  onForward?: () => void
}

/** Broker.produce's forwardProduce: records for a partition led elsewhere, as that partition's produce request. */
export function forwardProduce(opts: ForwardOptions) {
  return async (
    topic: string,
    partition: number,
    records: NewRecord[],
    acks: Acks,
    producer?: { id: number; epoch: number; sequence: number },
  ): Promise<{ baseOffset: number | null; duplicate: boolean }> => {
    const url = opts.leaderUrl(topic, partition)
    if (!url) throw new EdgelogError('NOT_LEADER_OR_FOLLOWER', `${topic}-${partition} has no leader this broker can reach right now`)
    opts.onForward?.()
    const dec = new TextDecoder()
    const body = {
      records: records.map((r) => ({
        key: r.key === null ? null : { base64: encodeBase64(r.key) },
        value: r.value === null ? null : { base64: encodeBase64(r.value) },
        headers: r.headers ? Object.fromEntries(r.headers.map((h) => [h.key, h.value === null ? null : dec.decode(h.value)])) : undefined,
        timestamp: r.timestamp,
      })),
      ...(producer ? { producer } : {}),
    }
    let res: Response
    try {
      res = await fetch(`${url}/v1/topics/${encodeURIComponent(topic)}/partitions/${partition}/records?acks=${acks}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [FORWARDED_HEADER]: String(opts.nodeId) },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(opts.timeoutMs),
      })
    } catch (err) {
      throw new EdgelogError('REQUEST_TIMED_OUT', `the leader of ${topic}-${partition} did not answer: ${(err as Error).message}`)
    }
    const text = await res.text()
    if (text.length > opts.maxResponseBytes) throw new EdgelogError('INTERNAL', 'the leader answered too much')
    const json = JSON.parse(text) as { offsets?: Array<{ offset: number | null }>; duplicate?: boolean; error?: { code: ErrorCode; message: string } }
    if (!res.ok || !json.offsets) {
      throw new EdgelogError(json.error?.code ?? 'INTERNAL', json.error?.message ?? `the leader of ${topic}-${partition} answered ${res.status}`)
    }
    return { baseOffset: json.offsets[0]?.offset ?? null, duplicate: json.duplicate === true }
  }
}
