// Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and
// Jitter"): the delay is uniform in [0, min(cap, base * 2^attempt)). Full jitter spreads the
// reconnects of thousands of browsers that lost the same node at the same moment, instead of
// bringing them back in synchronised waves.

export interface BackoffOptions {
  /** The ceiling of the first delay. */
  baseMs?: number
  /** No delay is ever longer than this. */
  maxMs?: number
  /** Uniform in [0, 1); injectable so tests can pin the jitter. */
  random?: () => number
}

export const backoffBaseMsDefault = 100
export const backoffMaxMsDefault = 10_000

export class Backoff {
  readonly baseMs: number
  readonly maxMs: number
  readonly #random: () => number
  #attempt = 0

  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? backoffBaseMsDefault
    this.maxMs = options.maxMs ?? backoffMaxMsDefault
    if (!(this.baseMs > 0) || !(this.maxMs >= this.baseMs)) {
      throw new RangeError(`backoff needs 0 < baseMs <= maxMs, got ${this.baseMs} and ${this.maxMs}`)
    }
    this.#random = options.random ?? Math.random
  }

  /** Failures since the last reset. */
  get attempt(): number {
    return this.#attempt
  }

  /** The delay before the next try; each call counts one more failure. */
  next(): number {
    // 2^attempt overflows to Infinity long after the cap is reached; the min keeps it finite.
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.#attempt, 52))
    this.#attempt++
    const r = this.#random()
    if (!(r >= 0 && r < 1)) throw new RangeError(`random() must return a number in [0, 1), got ${r}`)
    return Math.floor(r * ceiling)
  }

  /** Called after a success: the next failure starts from the smallest delay again. */
  reset(): void {
    this.#attempt = 0
  }
}
