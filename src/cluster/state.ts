// What the cluster keeps in its metadata store, and where. Every value is JSON validated with
// zod on the way in: the store is shared by every broker, so a bad value is refused, not trusted.
import { z } from 'zod'
import type { TopicRecord } from '../broker/metadata.ts'
import type { KeyValue } from './meta-store.ts'

export const ROOT = '/edgelog/'
export const BROKERS = `${ROOT}brokers/`
export const TOPICS = `${ROOT}topics/`
export const PARTITIONS = `${ROOT}partitions/`
export const CONTROLLER = `${ROOT}controller`
export const PRODUCER_ID_BLOCK = `${ROOT}producer-ids/next-block`
export const PRODUCERS = `${ROOT}producers/`

export const brokerKey = (id: number) => `${BROKERS}${id}`
export const topicKey = (name: string) => `${TOPICS}${name}`
export const partitionKey = (topic: string, p: number) => `${PARTITIONS}${topic}/${p}`
export const producerKey = (id: number) => `${PRODUCERS}${id}`

const nodeId = z.number().int().min(0).max(1_000_000)

/** A live broker: the key is attached to the broker's lease, so it disappears when the broker does. */
export const BrokerRegistrationSchema = z
  .object({
    id: nodeId,
    /** Per boot, persisted and incremented on every start (R5). */
    incarnation: z.number().int().min(0),
    /** Where other brokers and forwarded requests reach it. */
    url: z.string().max(2048),
    /** True when this boot found no clean-shutdown marker: the node may have lost un-fsynced writes. */
    unclean: z.boolean(),
  })
  .strict()
export type BrokerRegistration = z.infer<typeof BrokerRegistrationSchema>

/** One replica in the ISR or ELR: the broker id and the incarnation that was in sync (KIP-903). */
export const ReplicaRefSchema = z.object({ id: nodeId, incarnation: z.number().int().min(0) }).strict()
export type ReplicaRef = z.infer<typeof ReplicaRefSchema>

/**
 * A partition's replication state, changed only by compare-and-swap on its key: by the
 * controller (elections, fencing dead or uncleanly restarted brokers) and by the leader (ISR
 * shrink and expand, guarded by the key's revision, so a fenced leader's change fails).
 */
export const PartitionStateSchema = z
  .object({
    replicas: z.array(nodeId).min(1).max(64),
    /** -1 when no replica may lead. */
    leader: z.number().int().min(-1),
    leaderEpoch: z.number().int().min(0),
    /** The leader's incarnation when it was elected: a restarted leader does not lead until re-elected. */
    leaderIncarnation: z.number().int().min(-1),
    isr: z.array(ReplicaRefSchema).max(64),
    /** Eligible leader replicas (KIP-966): out of the ISR, yet holding every committed record. */
    elr: z.array(ReplicaRefSchema).max(64),
    /** Unclean elections this partition went through (each may have lost acknowledged records). */
    uncleanElections: z.number().int().min(0),
  })
  .strict()
export type PartitionState = z.infer<typeof PartitionStateSchema>

export const TopicRecordSchema = z
  .object({
    name: z.string().min(1).max(249),
    topicId: z.string().min(1).max(64),
    partitions: z.number().int().min(1).max(100_000),
    replicationFactor: z.number().int().min(1).max(64),
    createdAt: z.number().int(),
    config: z.record(z.string(), z.string()),
  })
  .strict()

export const ControllerSchema = z.object({ id: nodeId, incarnation: z.number().int().min(0) }).strict()

export interface Versioned<T> {
  value: T
  modRevision: number
}

/** Everything under ROOT at one revision, parsed. */
export interface ClusterSnapshot {
  revision: number
  brokers: Map<number, Versioned<BrokerRegistration>>
  topics: Map<string, Versioned<TopicRecord>>
  /** Keyed by `${topic}/${partition}`. */
  partitions: Map<string, Versioned<PartitionState>>
  controller: Versioned<z.infer<typeof ControllerSchema>> | undefined
}

export function parseJson<T>(schema: z.ZodType<T>, text: string): T | undefined {
  try {
    const r = schema.safeParse(JSON.parse(text))
    return r.success ? r.data : undefined
  } catch {
    return undefined
  }
}

/** Parses a range over ROOT; a value that fails validation is left out (and reported). */
export function parseSnapshot(kvs: KeyValue[], revision: number, onInvalid?: (key: string) => void): ClusterSnapshot {
  const snap: ClusterSnapshot = { revision, brokers: new Map(), topics: new Map(), partitions: new Map(), controller: undefined }
  for (const kv of kvs) {
    const bad = () => onInvalid?.(kv.key)
    if (kv.key.startsWith(BROKERS)) {
      const v = parseJson(BrokerRegistrationSchema, kv.value)
      if (v && String(v.id) === kv.key.slice(BROKERS.length)) snap.brokers.set(v.id, { value: v, modRevision: kv.modRevision })
      else bad()
    } else if (kv.key.startsWith(TOPICS)) {
      const v = parseJson(TopicRecordSchema, kv.value)
      if (v && v.name === kv.key.slice(TOPICS.length)) snap.topics.set(v.name, { value: v, modRevision: kv.modRevision })
      else bad()
    } else if (kv.key.startsWith(PARTITIONS)) {
      const v = parseJson(PartitionStateSchema, kv.value)
      if (v) snap.partitions.set(kv.key.slice(PARTITIONS.length), { value: v, modRevision: kv.modRevision })
      else bad()
    } else if (kv.key === CONTROLLER) {
      const v = parseJson(ControllerSchema, kv.value)
      if (v) snap.controller = { value: v, modRevision: kv.modRevision }
      else bad()
    }
  }
  return snap
}

export const isrIds = (refs: ReplicaRef[]) => refs.map((r) => r.id)
