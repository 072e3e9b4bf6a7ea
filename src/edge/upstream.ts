// The brokers of the region an edge ships to and relays from: one HTTP client per --upstream
// URL, the one in use now, and what each answered last. A connection error, a timeout or a
// leader change moves the edge to the next URL (brokers of one region, in the order given).
import { HttpClient, type FetchFunction } from '../client/http.ts'
import { TopicMetadata } from '../client/metadata.ts'
import { EdgelogError as ClientError, isEdgelogError } from '../client/errors.ts'
import { webSocketUrl } from '../client/index.ts'
import type { Runtime } from '../core/clock.ts'
import type { UpstreamCredential } from './upstream-credential.ts'
import { CREDENTIAL_REFUSED } from './errors.ts'

/** Answers after which another upstream may do better (the request may be sent there again only if it is idempotent). */
const MOVE_ON: ReadonlySet<string> = new Set(['NETWORK_EXCEPTION', 'REQUEST_TIMED_OUT', 'NOT_LEADER_OR_FOLLOWER', 'SHUTTING_DOWN'])

interface UrlState {
  url: string
  http: HttpClient
  /** undefined until first contact. */
  up: boolean | undefined
  lastOkAt: number
  lastError: string
}

export interface UpstreamOptions {
  urls: string[]
  timeoutMs: number
  reachabilityWindowMs: number
  /** Replaces the global fetch (tests run a broker's app in-process through this). */
  fetch?: FetchFunction
  /** The edge's own token at the region; without it the edge's requests carry none. */
  credential?: UpstreamCredential
  /** The region answered one of the edge's own requests with 401 or 403 (CREDENTIAL_REFUSED). */
  onCredentialRefused?: (code: string, message: string, first: boolean) => void
}

export class Upstream {
  /** The fetch requests to upstream go through (the global one unless a test passed its own). */
  readonly fetch: (input: string, init: RequestInit) => Promise<Response>
  private readonly states: UrlState[]
  private current = 0
  /** Monotonic ms of the last answer from any upstream (an error answer counts: it is reachable). */
  private lastContact = -Infinity
  /** Monotonic ms of the last request that got no answer at all. */
  private lastFailure = -Infinity
  /** Why the region last refused the edge's credential (401), until one of its requests succeeds. */
  private refusal: { message: string; at: number } | undefined

  constructor(
    private readonly runtime: Runtime,
    readonly options: UpstreamOptions,
  ) {
    if (options.urls.length === 0) throw new RangeError('an edge needs at least one upstream URL')
    const f = options.fetch
    this.fetch = f ? (input, init) => f(new Request(input, init)) : (input, init) => globalThis.fetch(input, init)
    this.states = options.urls.map((url) => {
      const http = new HttpClient({
        url,
        timeoutMs: options.timeoutMs,
        ...(options.fetch ? { fetch: options.fetch } : {}),
        ...(options.credential ? { headers: { authorization: `Bearer ${options.credential.token}` } } : {}),
      })
      // A region that lists its brokers (GET /v1/brokers, cluster mode) gets each partition's
      // requests at its leader; a single broker lists none and gets everything.
      http.useRouter(new TopicMetadata(http, { now: () => runtime.clock.now() }))
      return { url, http, up: undefined, lastOkAt: 0, lastError: '' }
    })
  }

  get urls(): string[] {
    return this.states.map((s) => s.url)
  }

  /** The URL requests go to now. */
  get url(): string {
    return this.states[this.current]!.url
  }

  /**
   * The current upstream's `/v1/ws` URL; with the edge's token as `?token=`, which every runtime's
   * WebSocket client can send (not all of them can set an Authorization header on the upgrade).
   */
  get wsUrl(): string {
    const url = new URL(webSocketUrl(this.url))
    if (this.options.credential) url.searchParams.set('token', this.options.credential.token)
    return url.href
  }

  /** The region refused the edge's credential (401) and has accepted none of its requests since. */
  get credentialRefused(): { message: string; at: number } | undefined {
    return this.refusal
  }

  get http(): HttpClient {
    return this.states[this.current]!.http
  }

  /** Some upstream answered the latest request that was made, within the reachability window. */
  get reachable(): boolean {
    return this.lastContact > this.lastFailure && this.runtime.clock.monotonic() - this.lastContact <= this.options.reachabilityWindowMs
  }

  /** The latest request to any upstream got no answer: asking again now would only wait for a timeout. */
  get down(): boolean {
    return this.lastFailure > this.lastContact
  }

  /** Per URL: 1 when its last request got an answer, 0 when it failed, absent before first contact. */
  upStates(): Array<{ url: string; up: boolean | undefined }> {
    return this.states.map((s) => ({ url: s.url, up: s.up }))
  }

  /**
   * Runs `fn` against the current upstream. An answer that another broker may handle better
   * (connection error, timeout, not the leader) moves to the next URL; with `idempotent` the
   * request is tried there too, once per URL, else the error is returned.
   */
  async call<T>(fn: (http: HttpClient) => Promise<T>, options: { idempotent: boolean }): Promise<T> {
    let lastError: unknown
    for (let attempt = 0; attempt < this.states.length; attempt++) {
      const index = this.current
      const state = this.states[index]!
      try {
        const result = await fn(state.http)
        this.noteAnswer(state, true)
        this.refusal = undefined
        return result
      } catch (err) {
        lastError = err
        const code = isEdgelogError(err) ? err.code : 'NETWORK_EXCEPTION'
        if (CREDENTIAL_REFUSED.has(code)) this.noteRefusal(code, String((err as Error)?.message ?? err))
        this.noteAnswer(state, !(code === 'NETWORK_EXCEPTION' || code === 'REQUEST_TIMED_OUT'), String((err as Error)?.message ?? err))
        if (!MOVE_ON.has(code)) throw err
        this.moveOn(index)
        if (!options.idempotent) throw err
      }
    }
    throw lastError
  }

  /** A request (or the relay's WebSocket) failed against `url`'s broker: the next one is used from now on. */
  moveOnFrom(url: string): void {
    const index = this.states.findIndex((s) => s.url === url)
    if (index >= 0) this.moveOn(index)
  }

  /** Records an answer (or its absence) from a URL; the relay's WebSocket reports here too. */
  noteContact(url: string, answered: boolean, error = ''): void {
    const state = this.states.find((s) => s.url === url)
    if (state) this.noteAnswer(state, answered, error)
  }

  /** One of the edge's own requests was refused for its credential: reported, never retried here. */
  private noteRefusal(code: string, message: string): void {
    const first = code === 'UNAUTHORIZED' && this.refusal === undefined
    if (code === 'UNAUTHORIZED') this.refusal = { message: message.slice(0, 300), at: this.runtime.clock.now() }
    this.options.onCredentialRefused?.(code, message, first)
  }

  private noteAnswer(state: UrlState, answered: boolean, error = ''): void {
    state.up = answered
    if (answered) {
      state.lastOkAt = this.runtime.clock.now()
      this.lastContact = this.runtime.clock.monotonic()
    } else {
      state.lastError = error.slice(0, 200)
      this.lastFailure = this.runtime.clock.monotonic()
    }
  }

  private moveOn(from: number): void {
    // Only the first failure of the current URL moves it: concurrent failures do not skip a broker.
    if (this.current === from && this.states.length > 1) this.current = (from + 1) % this.states.length
  }
}

/** A client-side error as one this node can answer with (unknown codes become NETWORK_EXCEPTION). */
export function isClientError(err: unknown): err is ClientError {
  return isEdgelogError(err)
}
