// One WebSocket to `/v1/ws`, shared by every subscription and producer of a client, that
// comes back by itself. It holds no queue of frames: whoever sends (a subscription, a
// producer) keeps its own state and sends again from that state when the socket reopens, so a
// disconnect can neither lose a frame nor grow a buffer. What it does hold is bounded: the
// requests waiting for an answer, and the socket's own send buffer.
import { Backoff, type BackoffOptions } from './backoff.ts'
import { EdgelogError } from './errors.ts'
import { type AckFrame, type ClientFrame, type ErrFrame, type OkFrame, type ServerFrame, parseServerFrame } from './frames.ts'

/** The part of the web-standard WebSocket this client uses (browsers, Deno, Bun, Node 22+, `ws`). */
export interface WebSocketLike {
  readonly readyState: number
  /** Absent on a Cloudflare Worker's WebSocket: then the send buffer is taken as empty. */
  readonly bufferedAmount?: number
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: ((event: unknown) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: { code: number; reason: string }) => void) | null
  onerror: ((event: unknown) => void) | null
}

export type WebSocketConstructor = new (url: string) => WebSocketLike

const OPEN = 1

export const connectTimeoutMsDefault = 10_000
export const maxPendingRequestsDefault = 10_000
/** The largest frame this client sends; the server closes a socket that sends a larger one (1009). */
export const maxFrameBytesDefault = 1024 * 1024
/** Above this many bytes queued in the socket, senders wait (see whenWritable). */
export const maxBufferedBytesDefault = 4 * 1024 * 1024

export interface WsConnectionOptions {
  /** `ws://` or `wss://` URL of `/v1/ws`. */
  url: string
  /** Defaults to the global WebSocket; Node 20 has none, pass `ws`'s there. */
  WebSocket?: WebSocketConstructor
  backoff?: BackoffOptions
  connectTimeoutMs?: number
  maxPendingRequests?: number
  maxFrameBytes?: number
  maxBufferedBytes?: number
}

/** What a subscription or producer registers to hear about the socket. */
export interface ConnectionUser {
  /** A socket is open: (re)send whatever this user needs the server to know. */
  onOpen(): void
  /** The socket is gone (the connection will retry by itself while users remain). */
  onDisconnect(error: EdgelogError): void
}

/**
 * Receives every frame about one subscription id that no request() waits for: its `ok` or
 * `err` answer, its `msg`, `msgs` and `gap` frames, and an `err` naming it after its `ok`
 * (the server ended the subscription). Called synchronously, in frame order.
 */
export type SubscriptionSink = (frame: Extract<ServerFrame, { sub: string }> | ErrFrame | OkFrame) => void

interface Pending {
  resolve(frame: OkFrame | AckFrame): void
  reject(error: EdgelogError): void
  timer: ReturnType<typeof setTimeout> | undefined
}

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'closed'

export class WsConnection {
  readonly url: string
  readonly maxFrameBytes: number
  readonly #WebSocket: WebSocketConstructor
  readonly #backoff: Backoff
  readonly #connectTimeoutMs: number
  readonly #maxPendingRequests: number
  readonly #maxBufferedBytes: number
  readonly #users = new Set<ConnectionUser>()
  readonly #sinks = new Map<string, SubscriptionSink>()
  readonly #pending = new Map<string, Pending>()
  readonly #errorListeners = new Set<(error: EdgelogError) => void>()
  #socket: WebSocketLike | undefined
  #state: ConnectionState = 'idle'
  #retryTimer: ReturnType<typeof setTimeout> | undefined
  #connectTimer: ReturnType<typeof setTimeout> | undefined
  #connects = 0

  constructor(options: WsConnectionOptions) {
    const url = new URL(options.url)
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new TypeError(`a WebSocket URL must be ws: or wss:, got ${url.protocol}`)
    this.url = url.href
    const ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
    if (ctor === undefined) {
      throw new TypeError('this runtime has no global WebSocket (Node 20): pass the WebSocket option, e.g. `ws`')
    }
    this.#WebSocket = ctor
    this.#backoff = new Backoff(options.backoff)
    this.#connectTimeoutMs = options.connectTimeoutMs ?? connectTimeoutMsDefault
    this.#maxPendingRequests = options.maxPendingRequests ?? maxPendingRequestsDefault
    this.maxFrameBytes = options.maxFrameBytes ?? maxFrameBytesDefault
    this.#maxBufferedBytes = options.maxBufferedBytes ?? maxBufferedBytesDefault
  }

  get state(): ConnectionState {
    return this.#state
  }

  /** How many sockets have been opened so far (1 after the first connect). */
  get connects(): number {
    return this.#connects
  }

  get isOpen(): boolean {
    return this.#state === 'open'
  }

  /** Registers a user; the first one starts connecting. Its onOpen runs now if already open. */
  attach(user: ConnectionUser): void {
    if (this.#state === 'closed') throw new EdgelogError('CLIENT_CLOSED', 'the client is closed')
    this.#users.add(user)
    if (this.#state === 'open') user.onOpen()
    else if (this.#state === 'idle' && this.#retryTimer === undefined) this.#connect()
  }

  /** The last user leaving closes the socket; it reopens when a user attaches again. */
  detach(user: ConnectionUser): void {
    this.#users.delete(user)
    if (this.#users.size === 0 && this.#state !== 'closed') this.#drop(new EdgelogError('NETWORK_EXCEPTION', 'no users left'), false)
  }

  addSink(sub: string, sink: SubscriptionSink): void {
    this.#sinks.set(sub, sink)
  }

  removeSink(sub: string): void {
    this.#sinks.delete(sub)
  }

  /** Errors the server sent without an id, and frames it sent that this client cannot read. */
  onError(listener: (error: EdgelogError) => void): () => void {
    this.#errorListeners.add(listener)
    return () => this.#errorListeners.delete(listener)
  }

  /** Sends a frame that expects no answer. Throws NETWORK_EXCEPTION when no socket is open. */
  send(frame: ClientFrame): void {
    const text = this.#encode(frame)
    const socket = this.#socket
    if (this.#state !== 'open' || socket === undefined) throw notConnected()
    socket.send(text)
  }

  /**
   * Sends a frame with an `id` and resolves with its `ok` or `ack`; an `err` answer rejects with
   * the server's code. A lost socket rejects with NETWORK_EXCEPTION (retriable): the frame may
   * or may not have been acted on, and only the sender knows whether resending is safe.
   */
  request(frame: ClientFrame & { id: string }, timeoutMs?: number): Promise<OkFrame | AckFrame> {
    if (this.#pending.has(frame.id)) return Promise.reject(new TypeError(`request id ${frame.id} is already waiting`))
    if (this.#pending.size >= this.#maxPendingRequests) {
      return Promise.reject(new EdgelogError('BUFFER_EXHAUSTED', `${this.#maxPendingRequests} requests are already waiting for an answer`))
    }
    let text: string
    try {
      text = this.#encode(frame)
    } catch (error) {
      return Promise.reject(error)
    }
    const socket = this.#socket
    if (this.#state !== 'open' || socket === undefined) return Promise.reject(notConnected())
    return new Promise((resolve, reject) => {
      const pending: Pending = { resolve, reject, timer: undefined }
      if (timeoutMs !== undefined) {
        pending.timer = setTimeout(() => {
          this.#pending.delete(frame.id)
          reject(new EdgelogError('REQUEST_TIMED_OUT', `${frame.op} ${frame.id}: no answer within ${timeoutMs} ms`))
        }, timeoutMs)
      }
      this.#pending.set(frame.id, pending)
      socket.send(text)
    })
  }

  /** True while the socket's send buffer has room (always true when not open: nothing is sent). */
  get writable(): boolean {
    // `?? 0`: workerd's WebSocket has no bufferedAmount, and `undefined < n` would never send.
    return this.#socket === undefined || (this.#socket.bufferedAmount ?? 0) < this.#maxBufferedBytes
  }

  /** Closes for good: pending requests reject, no reconnect. */
  close(): void {
    if (this.#state === 'closed') return
    this.#drop(new EdgelogError('CLIENT_CLOSED', 'the client is closed'), false)
    this.#state = 'closed'
    this.#users.clear()
    this.#sinks.clear()
  }

  // ---- socket lifecycle -----------------------------------------------------------------

  #encode(frame: ClientFrame): string {
    const text = JSON.stringify(frame)
    // UTF-16 length is a lower bound of the UTF-8 length; encode only when it could matter.
    const bytes = text.length * 3 <= this.maxFrameBytes ? text.length : new TextEncoder().encode(text).byteLength
    if (bytes > this.maxFrameBytes) {
      throw new EdgelogError('MESSAGE_TOO_LARGE', `a ${frame.op} frame of ${bytes} bytes is over the ${this.maxFrameBytes}-byte frame limit`)
    }
    return text
  }

  #connect(): void {
    this.#retryTimer = undefined
    if (this.#state === 'closed' || this.#users.size === 0) {
      if (this.#state !== 'closed') this.#state = 'idle'
      return
    }
    this.#state = 'connecting'
    let socket: WebSocketLike
    try {
      socket = new this.#WebSocket(this.url)
    } catch (cause) {
      this.#scheduleRetry(new EdgelogError('NETWORK_EXCEPTION', `cannot open ${this.url}: ${messageOf(cause)}`, { cause }))
      return
    }
    this.#socket = socket
    this.#connectTimer = setTimeout(() => {
      this.#drop(new EdgelogError('REQUEST_TIMED_OUT', `no WebSocket to ${this.url} within ${this.#connectTimeoutMs} ms`), true)
    }, this.#connectTimeoutMs)
    socket.onopen = () => {
      if (this.#socket !== socket) return
      clearTimeout(this.#connectTimer)
      this.#connectTimer = undefined
      this.#state = 'open'
      this.#connects++
      for (const user of [...this.#users]) {
        if (this.#socket !== socket) return // a user's onOpen dropped the socket
        user.onOpen()
      }
    }
    socket.onmessage = (event) => {
      if (this.#socket !== socket) return
      if (typeof event.data !== 'string') {
        this.#protocolError('the server sent a binary frame')
        return
      }
      this.#dispatch(event.data)
    }
    socket.onclose = (event) => {
      if (this.#socket !== socket) return
      const reason = event.reason ? `: ${event.reason}` : ''
      this.#drop(new EdgelogError('NETWORK_EXCEPTION', `the WebSocket closed (${event.code}${reason})`), true)
    }
    socket.onerror = () => {
      // Browsers say nothing useful here, and a close event always follows; wait for it.
    }
  }

  #dispatch(text: string): void {
    const parsed = parseServerFrame(text)
    if (parsed.kind === 'unknown') return // a newer server's frame; nothing here depends on it
    if (parsed.kind === 'invalid') {
      this.#protocolError(parsed.reason)
      return
    }
    const frame = parsed.frame
    switch (frame.op) {
      case 'ok':
      case 'ack': {
        this.#backoff.reset()
        if (this.#settle(frame.id, (p) => p.resolve(frame))) return
        if (frame.op === 'ok') this.#sinks.get(frame.id)?.(frame)
        return
      }
      case 'err': {
        const error = errorOf(frame)
        if (frame.id !== undefined && this.#settle(frame.id, (p) => p.reject(error))) return
        const sink = frame.id === undefined ? undefined : this.#sinks.get(frame.id)
        if (sink !== undefined) {
          sink(frame)
          return
        }
        for (const listener of this.#errorListeners) listener(error)
        return
      }
      default: {
        // msg, msgs, gap: frames for a subscription id that is gone (unsubscribed, replaced
        // after a reconnect) are expected and dropped.
        this.#sinks.get(frame.sub)?.(frame)
      }
    }
  }

  #settle(id: string, how: (pending: Pending) => void): boolean {
    const pending = this.#pending.get(id)
    if (pending === undefined) return false
    this.#pending.delete(id)
    clearTimeout(pending.timer)
    how(pending)
    return true
  }

  /**
   * A frame this client cannot read may have been a record: carrying on would skip it. So the
   * socket is dropped and every subscription resumes from its last delivered offset.
   */
  #protocolError(reason: string): void {
    const error = new EdgelogError('INVALID_RESPONSE', reason)
    for (const listener of this.#errorListeners) listener(error)
    this.#drop(error, true)
  }

  /** Forgets the socket, fails what waited on it, tells users, and (maybe) retries later. */
  #drop(error: EdgelogError, retry: boolean): void {
    const socket = this.#socket
    this.#socket = undefined
    clearTimeout(this.#connectTimer)
    this.#connectTimer = undefined
    if (socket !== undefined) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null
      try {
        socket.close(1000)
      } catch {
        // Already closing or never opened; nothing to do.
      }
    }
    const wasOpen = this.#state === 'open'
    this.#state = 'idle'
    const pending = [...this.#pending.values()]
    this.#pending.clear()
    for (const p of pending) {
      clearTimeout(p.timer)
      p.reject(error)
    }
    if (wasOpen) for (const user of [...this.#users]) user.onDisconnect(error)
    if (retry) this.#scheduleRetry(error)
    else {
      clearTimeout(this.#retryTimer)
      this.#retryTimer = undefined
    }
  }

  #scheduleRetry(error: EdgelogError): void {
    if (this.#state === 'closed' || this.#users.size === 0) return
    this.#state = 'idle'
    if (this.#retryTimer !== undefined) return
    for (const listener of this.#errorListeners) listener(error)
    const delay = this.#backoff.next()
    this.#retryTimer = setTimeout(() => this.#connect(), delay)
  }
}

function errorOf(frame: ErrFrame): EdgelogError {
  return new EdgelogError(frame.code, frame.message)
}

function notConnected(): EdgelogError {
  return new EdgelogError('NETWORK_EXCEPTION', 'the WebSocket is not open')
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
