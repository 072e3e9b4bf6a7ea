// A token bucket on a monotonic clock: `ratePerSec` tokens a second, at most `burst` saved up.
// Requests take a token up front; bytes are charged once they have arrived and may leave the
// bucket in debt, which the next request waits off (Kafka's quota model: a client is slowed by
// the time its excess takes to drain, rather than having a request refused half-read).

export class TokenBucket {
  private level: number
  private last: number

  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
    now: number,
  ) {
    if (!(ratePerSec > 0) || !(burst > 0)) throw new Error('a token bucket needs a positive rate and burst')
    this.level = burst
    this.last = now
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.level = Math.min(this.burst, this.level + ((now - this.last) * this.ratePerSec) / 1000)
      this.last = now
    }
  }

  /** Takes n tokens and returns 0, or takes nothing and returns the ms until n would be there. */
  tryTake(n: number, now: number): number {
    this.refill(now)
    if (this.level >= n) {
      this.level -= n
      return 0
    }
    return Math.ceil(((n - this.level) * 1000) / this.ratePerSec)
  }

  /** Takes n tokens unconditionally; the bucket may go into debt. */
  charge(n: number, now: number): void {
    this.refill(now)
    this.level -= n
  }

  /** Ms until the bucket is out of debt; 0 when it is not in debt. */
  debtMs(now: number): number {
    this.refill(now)
    return this.level >= 0 ? 0 : Math.ceil((-this.level * 1000) / this.ratePerSec)
  }

  /** Full again: forgetting this bucket would change nothing. */
  isFull(now: number): boolean {
    this.refill(now)
    return this.level >= this.burst
  }
}
