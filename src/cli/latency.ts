// Latency percentiles in bounded memory: a log-bucketed histogram (each bucket 1% wider than the
// one before, from 1 µs to over an hour: about 2,200 counters), so a bench of a hundred million
// requests holds the same few kilobytes as one of ten. Percentiles are exact to within 1%.

const minMs = 0.001
const growth = 1.01
const logGrowth = Math.log(growth)
const bucketsMax = Math.ceil(Math.log(3_600_000 / minMs) / logGrowth) + 2

export class LatencyHistogram {
  readonly #counts = new Float64Array(bucketsMax)
  count = 0
  sum = 0
  max = 0
  min = Infinity

  record(ms: number): void {
    if (!(ms >= 0)) return
    this.#counts[bucketOf(ms)]!++
    this.count++
    this.sum += ms
    if (ms > this.max) this.max = ms
    if (ms < this.min) this.min = ms
  }

  /** The value at or below which `p` (0–100) percent of the samples fall; 0 with no samples. */
  percentile(p: number): number {
    if (this.count === 0) return 0
    if (p >= 100) return this.max
    const rank = Math.max(1, Math.ceil((p / 100) * this.count))
    let seen = 0
    for (let i = 0; i < bucketsMax; i++) {
      seen += this.#counts[i]!
      // A bucket's upper bound, but never above the largest sample seen.
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, upperBound(i)))
    }
    return this.max
  }

  get mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count
  }
}

function bucketOf(ms: number): number {
  if (ms <= minMs) return 0
  return Math.min(bucketsMax - 1, 1 + Math.floor(Math.log(ms / minMs) / logGrowth))
}

function upperBound(bucket: number): number {
  return minMs * growth ** bucket
}
