/** A counting semaphore; waiters are served in arrival order. Bounds work in flight. */
export class Slots {
  #free: number
  readonly #waiters: Array<() => void> = []

  constructor(count: number) {
    this.#free = count
  }

  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--
      return
    }
    await new Promise<void>((resolve) => this.#waiters.push(resolve))
  }

  release(): void {
    const next = this.#waiters.shift()
    if (next) next()
    else this.#free++
  }
}
