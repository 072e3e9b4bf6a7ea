// What the console knows, refreshed by one poll loop at a bounded rate (the interval the user
// picks, 1–10 s; one poll at a time, never overlapping). Each poll reads the public API as any
// client would: the topic list and each topic's description (high watermarks → produce rate),
// the groups (their list when the node has `GET /v1/groups`, else the names the user typed)
// and their lag, the viewed group's members, and `/metrics` for an edge's outbox. History
// lives here, not in the views, so a chart keeps its past when you switch views.
import { ApiError, enc, getJson, getText } from './api.ts'
import { edgeStatus, parseMetrics, type EdgeStatus } from './metrics.ts'
import { rateBetween, type Sample, Series, sumHighWatermarks } from './series.ts'
import type { GroupDescription, GroupLag, GroupListEntry, TopicInfo, TopicListEntry } from './types.ts'

/** Topics whose descriptions are polled; a node with more shows the rest without a rate. */
export const TOPICS_POLLED_MAX = 100
/** Groups whose lag is polled each round (the listed ones first, then the typed ones). */
export const GROUPS_POLLED_MAX = 25
/** Requests of one poll in flight at once. */
const CONCURRENCY = 6
/** Metrics are re-read this often on a node that did not look like an edge (the token may change). */
const EDGE_PROBE_MS = 30_000
const WATCHED_KEY = 'edgelog.console.groups'
const WATCHED_MAX = 50

export interface TopicState {
  name: string
  partitionCount: number
  info?: TopicInfo
  error?: ApiError
  rate: Series
  lastSample?: Sample
}

export interface GroupState {
  name: string
  listed?: GroupListEntry
  lag?: GroupLag
  lagError?: ApiError
  lagSeries: Series
}

export type Support = 'unknown' | 'yes' | 'no'

export class Store {
  topics = new Map<string, TopicState>()
  topicNames: string[] = []
  topicsError: ApiError | undefined
  groups = new Map<string, GroupState>()
  /** `GET /v1/groups` (consumer group membership, issue 4) on this node. */
  groupListing: Support = 'unknown'
  groupsError: ApiError | undefined
  /** Group names typed in by the user (kept for this tab). */
  watched: string[] = loadWatched()
  /** The group whose members the open view shows, described on every poll. */
  focusGroup: string | undefined
  focusDescription: GroupDescription | undefined
  focusError: ApiError | undefined
  describeSupport: Support = 'unknown'
  edge: EdgeStatus | undefined
  edgeError: ApiError | undefined
  edgeOutbox = new Series()
  edgeLag = new Series()
  #edgeProbedAt = -Infinity
  lastPollAt = 0
  polls = 0
  #listeners = new Set<() => void>()

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  changed(): void {
    for (const listener of this.#listeners) listener()
  }

  watch(group: string): void {
    if (!this.watched.includes(group)) this.watched = [group, ...this.watched].slice(0, WATCHED_MAX)
    saveWatched(this.watched)
  }

  unwatch(group: string): void {
    this.watched = this.watched.filter((g) => g !== group)
    saveWatched(this.watched)
  }

  /** Forget what depended on the token: the next poll asks again. */
  resetAccess(): void {
    this.#edgeProbedAt = -Infinity
    this.groupListing = this.groupListing === 'no' ? 'no' : 'unknown'
  }

  async poll(): Promise<void> {
    const now = Date.now()
    await Promise.all([this.#pollTopics(), this.#pollGroups(), this.#pollEdge(now)])
    this.lastPollAt = now
    this.polls++
    this.changed()
  }

  async #pollTopics(): Promise<void> {
    let list: TopicListEntry[]
    try {
      list = (await getJson<{ topics: TopicListEntry[] }>('/v1/topics')).topics
      this.topicsError = undefined
    } catch (err) {
      this.topicsError = asApiError(err)
      return
    }
    const names = list.map((t) => t.name)
    for (const gone of [...this.topics.keys()].filter((n) => !names.includes(n))) this.topics.delete(gone)
    this.topicNames = names
    for (const t of list) {
      const state = this.topics.get(t.name) ?? { name: t.name, partitionCount: t.partitions, rate: new Series() }
      state.partitionCount = t.partitions
      this.topics.set(t.name, state)
    }
    await eachLimited(list.slice(0, TOPICS_POLLED_MAX), CONCURRENCY, async (t) => {
      const state = this.topics.get(t.name)!
      try {
        const info = await getJson<TopicInfo>(`/v1/topics/${enc(t.name)}`)
        state.info = info
        state.error = undefined
        const sample: Sample = { t: Date.now(), total: sumHighWatermarks(info.partitions), partitions: info.partitions.length }
        const rate = rateBetween(state.lastSample, sample)
        if (rate !== undefined) state.rate.push(sample.t, rate)
        state.lastSample = sample
      } catch (err) {
        state.error = asApiError(err)
      }
    })
  }

  async #pollGroups(): Promise<void> {
    let listed: GroupListEntry[] = []
    if (this.groupListing !== 'no') {
      try {
        listed = (await getJson<{ groups: GroupListEntry[] }>('/v1/groups')).groups
        this.groupListing = 'yes'
        this.groupsError = undefined
      } catch (err) {
        const e = asApiError(err)
        if (e.missingRoute) this.groupListing = 'no'
        else this.groupsError = e
      }
    }
    const names = [...new Set([...listed.map((g) => g.group), ...this.watched, ...(this.focusGroup ? [this.focusGroup] : [])])]
    const polled = names.slice(0, GROUPS_POLLED_MAX)
    if (this.focusGroup !== undefined && !polled.includes(this.focusGroup)) polled.push(this.focusGroup)
    for (const gone of [...this.groups.keys()].filter((n) => !names.includes(n))) this.groups.delete(gone)
    for (const name of names) {
      const state = this.groups.get(name) ?? { name, lagSeries: new Series() }
      state.listed = listed.find((g) => g.group === name)
      this.groups.set(name, state)
    }
    await eachLimited(polled, CONCURRENCY, async (name) => {
      const state = this.groups.get(name)!
      try {
        state.lag = await getJson<GroupLag>(`/v1/groups/${enc(name)}/lag`)
        state.lagError = undefined
        state.lagSeries.push(Date.now(), state.lag.totalLag)
      } catch (err) {
        state.lagError = asApiError(err)
      }
    })
    await this.#describeFocus()
  }

  async #describeFocus(): Promise<void> {
    const group = this.focusGroup
    if (group === undefined || this.describeSupport === 'no') return
    try {
      const description = await getJson<GroupDescription>(`/v1/groups/${enc(group)}`)
      if (this.focusGroup !== group) return
      this.focusDescription = description
      this.focusError = undefined
      this.describeSupport = 'yes'
    } catch (err) {
      const e = asApiError(err)
      if (e.missingRoute) this.describeSupport = 'no'
      if (this.focusGroup !== group) return
      this.focusDescription = undefined
      this.focusError = e
    }
  }

  async #pollEdge(now: number): Promise<void> {
    const known = this.edge?.isEdge === true
    if (!known && now - this.#edgeProbedAt < EDGE_PROBE_MS) return
    this.#edgeProbedAt = now
    try {
      const edge = edgeStatus(parseMetrics(await getText('/metrics')))
      this.edge = edge
      this.edgeError = undefined
      if (edge.isEdge) {
        const t = Date.now()
        this.edgeOutbox.push(t, edge.outboxRecords)
        this.edgeLag.push(t, edge.shippingLagSeconds)
      }
    } catch (err) {
      this.edgeError = asApiError(err)
    }
  }

  /** Polls now (after a change the user made) instead of waiting for the next tick; main.ts routes it through its poll loop. */
  refreshNow: () => Promise<void> = () => this.poll()
}

function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err
  return new ApiError(0, 'CONSOLE_ERROR', err instanceof Error ? err.message : String(err), 'GET', '')
}

async function eachLimited<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) await run(items[next++]!)
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

function loadWatched(): string[] {
  try {
    const parsed: unknown = JSON.parse(sessionStorage.getItem(WATCHED_KEY) ?? '[]')
    return Array.isArray(parsed) ? parsed.filter((g): g is string => typeof g === 'string').slice(0, WATCHED_MAX) : []
  } catch {
    return []
  }
}

function saveWatched(groups: string[]): void {
  try {
    sessionStorage.setItem(WATCHED_KEY, JSON.stringify(groups))
  } catch {
    // Storage full or denied: the list lasts until the page is closed.
  }
}
