// Topic-partitions as the group protocol carries them: on the wire a list of
// `{topic, partitions: [..]}` (KIP-848's TopicPartitions), inside the coordinator a key
// `topic:partition` (a topic name never contains ':'), so sets and maps stay cheap.

export interface TopicPartitions {
  topic: string
  partitions: number[]
}

export type TpKey = string

export function tpKey(topic: string, partition: number): TpKey {
  return `${topic}:${partition}`
}

export function parseTpKey(key: TpKey): { topic: string; partition: number } {
  const at = key.lastIndexOf(':')
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) }
}

/** Orders keys by topic, then partition number (not by string: 10 sorts after 9). */
export function compareTpKeys(a: TpKey, b: TpKey): number {
  const x = parseTpKey(a)
  const y = parseTpKey(b)
  if (x.topic !== y.topic) return x.topic < y.topic ? -1 : 1
  return x.partition - y.partition
}

/** Keys to the wire form: topics sorted by name, partitions ascending. */
export function toTopicPartitions(keys: Iterable<TpKey>): TopicPartitions[] {
  const byTopic = new Map<string, number[]>()
  for (const key of keys) {
    const { topic, partition } = parseTpKey(key)
    let list = byTopic.get(topic)
    if (!list) byTopic.set(topic, (list = []))
    list.push(partition)
  }
  return [...byTopic.keys()]
    .sort()
    .map((topic) => ({ topic, partitions: byTopic.get(topic)!.sort((a, b) => a - b) }))
}

export function fromTopicPartitions(list: readonly TopicPartitions[]): Set<TpKey> {
  const out = new Set<TpKey>()
  for (const t of list) for (const p of t.partitions) out.add(tpKey(t.topic, p))
  return out
}
