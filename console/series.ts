// Bounded time series for the charts, and the produce rate derived from high watermarks.

export interface Point {
  /** Epoch ms of the sample. */
  t: number
  v: number
}

/** How much history a chart keeps: at the fastest poll (1 s) five minutes. */
export const SERIES_POINTS_MAX = 300

export class Series {
  readonly points: Point[] = []
  constructor(readonly max = SERIES_POINTS_MAX) {}

  push(t: number, v: number): void {
    this.points.push({ t, v })
    if (this.points.length > this.max) this.points.splice(0, this.points.length - this.max)
  }

  get last(): Point | undefined {
    return this.points[this.points.length - 1]
  }

  /** Points of the last `windowMs` before `now`. */
  within(windowMs: number, now: number): Point[] {
    return this.points.filter((p) => p.t >= now - windowMs)
  }
}

export interface Sample {
  t: number
  /** The sum of the partitions' high watermarks: how many records were ever made visible. */
  total: number
  partitions: number
}

/**
 * Records per second between two samples of a topic. undefined when the samples cannot be
 * compared: no time passed, the partition count changed (a new partition starts at 0), or the
 * total went down (the topic was deleted and created again).
 */
export function rateBetween(prev: Sample | undefined, next: Sample): number | undefined {
  if (prev === undefined) return undefined
  const dt = (next.t - prev.t) / 1000
  if (!(dt > 0)) return undefined
  if (next.partitions !== prev.partitions || next.total < prev.total) return undefined
  return (next.total - prev.total) / dt
}

export function sumHighWatermarks(partitions: ReadonlyArray<{ highWatermark: number }>): number {
  return partitions.reduce((sum, p) => sum + p.highWatermark, 0)
}
