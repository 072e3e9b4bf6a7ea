// Runs async operations one at a time, in arrival order, with a bound on how many may wait.
import { EdgelogError } from '../core/errors.ts'

export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve()
  private waiting = 0

  constructor(
    private readonly max: number,
    private readonly onIdle: () => void = () => {},
  ) {}

  get size(): number {
    return this.waiting
  }

  run<T>(fn: () => Promise<T> | T): Promise<T> {
    if (this.waiting >= this.max) {
      return Promise.reject(new EdgelogError('THROTTLED', `more than ${this.max} group operations are waiting; retry later`))
    }
    this.waiting++
    const result = this.tail.then(fn)
    this.tail = result.then(
      () => this.done(),
      () => this.done(),
    )
    return result
  }

  private done(): void {
    this.waiting--
    if (this.waiting === 0) this.onIdle()
  }
}
