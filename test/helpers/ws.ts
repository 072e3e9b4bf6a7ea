// WebSocket and SSE clients for the live fan-out tests: the global WebSocket Bun provides, and a
// raw TCP client for what a browser-like client cannot do (never read, craft frames).
import assert from 'node:assert/strict'
import net from 'node:net'

export type Frame = Record<string, any>

/** A /v1/ws client that keeps every frame it got, in order, and can wait for one. */
export class WsClient {
  readonly frames: Frame[] = []
  closed: { code: number; reason: string } | undefined
  private waiters: Array<() => void> = []

  private constructor(readonly ws: WebSocket) {
    ws.onmessage = (e) => {
      this.frames.push(JSON.parse(String(e.data)))
      this.wake()
    }
    ws.onclose = (e) => {
      this.closed = { code: e.code, reason: e.reason }
      this.wake()
    }
  }

  static async open(baseUrl: string, headers?: Record<string, string>, query = ''): Promise<WsClient> {
    const url = baseUrl.replace(/^http/, 'ws') + '/v1/ws' + query
    const ws = headers ? new WebSocket(url, { headers } as any) : new WebSocket(url)
    const client = new WsClient(ws)
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true })
      ws.addEventListener('error', () => reject(new Error(`cannot open ${url}`)), { once: true })
    })
    return client
  }

  send(frame: Frame | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
  }

  /** Waits until some frame (at or after index `from`) satisfies `match`, and returns it. */
  async next(match: (f: Frame) => boolean, timeoutMs = 15_000, from = 0): Promise<Frame> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      for (let i = from; i < this.frames.length; i++) if (match(this.frames[i]!)) return this.frames[i]!
      if (this.closed) throw new Error(`socket closed (${this.closed.code} ${this.closed.reason}) while waiting; frames: ${JSON.stringify(this.frames.slice(-5))}`)
      if (Date.now() > deadline) throw new Error(`timed out waiting for a frame; last frames: ${JSON.stringify(this.frames.slice(-5))}`)
      await this.changed(deadline - Date.now())
    }
  }

  /** The answer (ok, ack or err) to the frame with this id, sent after `from`. */
  answer(id: string, from = 0): Promise<Frame> {
    return this.next((f) => f.id === id && (f.op === 'ok' || f.op === 'ack' || f.op === 'err'), 15_000, from)
  }

  /** Sends a frame and waits for its answer. */
  async call(frame: Frame): Promise<Frame> {
    const from = this.frames.length
    this.send(frame)
    return this.answer(frame.id, from)
  }

  /** Records delivered to subscription `sub`, flattened from msg and msgs, in arrival order. */
  records(sub: string): Array<Frame & { partition: number; offset: number }> {
    const out: Array<Frame & { partition: number; offset: number }> = []
    for (const f of this.frames) {
      if (f.sub !== sub) continue
      if (f.op === 'msg') out.push({ ...f, partition: f.partition, offset: f.offset })
      if (f.op === 'msgs') for (const r of f.records) out.push({ ...r, partition: f.partition, topic: f.topic })
    }
    return out
  }

  /** Waits until subscription `sub` has received `n` records. */
  async waitRecords(sub: string, n: number, timeoutMs = 20_000): Promise<Array<Frame & { partition: number; offset: number }>> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const got = this.records(sub)
      if (got.length >= n) return got
      if (this.closed) throw new Error(`socket closed (${this.closed.code}) with ${got.length}/${n} records of ${sub}`)
      if (Date.now() > deadline) throw new Error(`timed out with ${got.length}/${n} records of ${sub}`)
      await this.changed(deadline - Date.now())
    }
  }

  async waitClose(timeoutMs = 15_000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the socket to close')
      await this.changed(deadline - Date.now())
    }
    return this.closed
  }

  close(): void {
    this.ws.close()
  }

  private changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, Math.max(1, Math.min(ms, 1000)))
      this.waiters.push(() => {
        clearTimeout(t)
        resolve()
      })
    })
  }

  private wake(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }
}

/** The clients a suite opens against its server, all closed at its end (`closeAll` in `after`). */
export class WsClients {
  private readonly opened: WsClient[] = []
  constructor(private readonly baseUrl: () => string) {}

  async open(): Promise<WsClient> {
    const c = await WsClient.open(this.baseUrl())
    this.opened.push(c)
    return c
  }

  closeAll(): void {
    for (const c of this.opened) c.close()
  }
}

/** Checks that each partition's offsets are consecutive from its start, with no duplicates. */
export function assertContiguous(records: Array<{ partition: number; offset: number }>, starts: Record<number, number>): Map<number, number> {
  const next = new Map<number, number>(Object.entries(starts).map(([p, o]) => [Number(p), o]))
  for (const r of records) {
    const expected = next.get(r.partition)
    if (expected === undefined) throw new Error(`record of unexpected partition ${r.partition}`)
    if (r.offset !== expected) throw new Error(`partition ${r.partition}: got offset ${r.offset}, expected ${expected}`)
    next.set(r.partition, expected + 1)
  }
  return next
}

/** A raw TCP WebSocket client: handshake, hand-made frames, reading only when asked. */
export class RawWs {
  private buf = Buffer.alloc(0)
  ended = false

  private constructor(
    readonly socket: net.Socket,
    readonly status: number,
    readonly headers: Record<string, string>,
  ) {}

  static async connect(port: number, headers: Record<string, string> = {}, path = '/v1/ws'): Promise<RawWs> {
    const socket = net.connect(port, '127.0.0.1')
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve())
      socket.once('error', reject)
    })
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
    )
    let head = Buffer.alloc(0)
    const rest = await new Promise<Buffer>((resolve, reject) => {
      const onData = (d: Buffer) => {
        head = Buffer.concat([head, d])
        const end = head.indexOf('\r\n\r\n')
        if (end < 0) return
        socket.off('data', onData)
        socket.pause()
        resolve(head)
      }
      socket.on('data', onData)
      socket.once('error', reject)
    })
    const end = rest.indexOf('\r\n\r\n')
    const lines = rest.subarray(0, end).toString().split('\r\n')
    const status = Number(lines[0]!.split(' ')[1])
    const hdrs: Record<string, string> = {}
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':')
      hdrs[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim()
    }
    const raw = new RawWs(socket, status, hdrs)
    raw.buf = Buffer.from(rest.subarray(end + 4))
    // One listener for the socket's life: data is only ever read while resumed (readFrames).
    socket.on('data', (d: Buffer) => {
      raw.buf = Buffer.concat([raw.buf, d])
      raw.notify?.()
    })
    const ended = () => {
      raw.ended = true
      raw.notify?.()
    }
    socket.on('end', ended)
    socket.on('close', ended)
    socket.on('error', ended)
    return raw
  }

  /** Writes one client frame (masked, as RFC 6455 requires of clients). */
  writeFrame(opcode: number, payload: Uint8Array | string, fin = true, rsv1 = false): void {
    const data = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload)
    const mask = Buffer.from([1, 2, 3, 4])
    let header: Buffer
    const b0 = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode
    if (data.length < 126) header = Buffer.from([b0, 0x80 | data.length])
    else if (data.length < 65536) {
      header = Buffer.alloc(4)
      header[0] = b0
      header[1] = 0x80 | 126
      header.writeUInt16BE(data.length, 2)
    } else {
      header = Buffer.alloc(10)
      header[0] = b0
      header[1] = 0x80 | 127
      header.writeBigUInt64BE(BigInt(data.length), 2)
    }
    const masked = Buffer.alloc(data.length)
    for (let i = 0; i < data.length; i++) masked[i] = data[i]! ^ mask[i % 4]!
    this.socket.write(Buffer.concat([header, mask, masked]))
  }

  /**
   * Reads server frames until `stop` says so, the connection ends, or the timeout passes.
   * Pings are not answered (this client plays a dead peer unless it answers itself).
   */
  async readFrames(stop: (f: { opcode: number; payload: Buffer }) => boolean, timeoutMs = 15_000): Promise<Array<{ opcode: number; payload: Buffer }>> {
    const out: Array<{ opcode: number; payload: Buffer }> = []
    const deadline = Date.now() + timeoutMs
    this.socket.resume()
    try {
      for (;;) {
        for (let f = this.parseOne(); f; f = this.parseOne()) {
          out.push(f)
          if (stop(f)) return out
        }
        if (this.ended || Date.now() > deadline) return out
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, Math.min(200, Math.max(1, deadline - Date.now())))
          const self = this
          function done() {
            clearTimeout(t)
            self.notify = undefined
            resolve()
          }
          this.notify = done
        })
      }
    } finally {
      this.socket.pause()
    }
  }

  private notify: (() => void) | undefined

  /** The close frame's code and reason, reading (and discarding) everything before it. */
  async readClose(timeoutMs = 15_000): Promise<{ code: number | undefined; reason: string; ended: boolean }> {
    const frames = await this.readFrames((f) => f.opcode === 8, timeoutMs)
    const close = frames.find((f) => f.opcode === 8)
    if (!close) return { code: undefined, reason: '', ended: this.ended }
    return { code: close.payload.length >= 2 ? close.payload.readUInt16BE(0) : undefined, reason: close.payload.subarray(2).toString(), ended: this.ended }
  }

  destroy(): void {
    this.socket.destroy()
  }

  private parseOne(): { opcode: number; payload: Buffer } | undefined {
    const b = this.buf
    if (b.length < 2) return undefined
    let len = b[1]! & 0x7f
    let at = 2
    if (len === 126) {
      if (b.length < 4) return undefined
      len = b.readUInt16BE(2)
      at = 4
    } else if (len === 127) {
      if (b.length < 10) return undefined
      len = Number(b.readBigUInt64BE(2))
      at = 10
    }
    if (b.length < at + len) return undefined
    const frame = { opcode: b[0]! & 0x0f, payload: Buffer.from(b.subarray(at, at + len)) }
    this.buf = b.subarray(at + len)
    return frame
  }
}

/** A minimal SSE reader over fetch: events with their id, event type and data, in order. */
export class SseClient {
  readonly events: Array<{ id?: string; event: string; data: string }> = []
  status = 0
  ended = false
  private controller = new AbortController()

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const c = new SseClient()
    const res = await fetch(url, { headers, signal: c.controller.signal })
    c.status = res.status
    if (res.status !== 200) {
      c.body = await res.text()
      c.ended = true
      return c
    }
    void c.pump(res.body!)
    return c
  }

  body = ''

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder()
    let buf = ''
    try {
      for await (const chunk of body) {
        buf += decoder.decode(chunk, { stream: true })
        for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
          const block = buf.slice(0, end)
          buf = buf.slice(end + 2)
          const ev: { id?: string; event: string; data: string } = { event: 'message', data: '' }
          let hasData = false
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue
            const i = line.indexOf(':')
            const field = i < 0 ? line : line.slice(0, i)
            const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '')
            if (field === 'id') ev.id = value
            else if (field === 'event') ev.event = value
            else if (field === 'data') {
              ev.data += (hasData ? '\n' : '') + value
              hasData = true
            }
          }
          if (hasData) this.events.push(ev)
        }
      }
    } catch {
      // aborted or cut
    } finally {
      this.ended = true
    }
  }

  records(): Array<Record<string, any>> {
    return this.events.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data))
  }

  lastId(): string | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) if (this.events[i]!.id !== undefined) return this.events[i]!.id
    return undefined
  }

  async waitFor(pred: () => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`SSE: timed out; ${this.events.length} events, ended ${this.ended}`)
      await new Promise((r) => setTimeout(r, 10))
    }
  }

  close(): void {
    this.controller.abort()
  }
}

/** An HTTP GET on a raw socket that reads nothing after the response head (a stalled client). */
export async function stalledGet(port: number, path: string): Promise<{ status: number; socket: net.Socket; closed: () => boolean }> {
  const socket = net.connect(port, '127.0.0.1')
  let closed = false
  socket.on('close', () => (closed = true))
  socket.on('error', () => (closed = true))
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('error', reject)
  })
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`)
  const head = await new Promise<string>((resolve) => {
    let buf = ''
    const onData = (d: Buffer) => {
      buf += d.toString('latin1')
      if (!buf.includes('\r\n\r\n')) return
      socket.off('data', onData)
      socket.pause()
      resolve(buf)
    }
    socket.on('data', onData)
  })
  return { status: Number(head.split(' ')[1]), socket, closed: () => closed }
}

export async function postJson(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, body: await res.json() }
}

/** Creates a topic over HTTP and returns the node's answer; fails unless it is a 201. */
export async function createTopic(baseUrl: string, name: string, partitions = 1, config?: Record<string, string>): Promise<any> {
  const res = await fetch(`${baseUrl}/v1/topics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, partitions, ...(config ? { config } : {}) }),
  })
  const text = await res.text()
  assert.equal(res.status, 201, text)
  return JSON.parse(text)
}

/** Produces `n` records with values {i} over HTTP, `perRequest` at a time; returns their offsets. */
export async function produceMany(baseUrl: string, topic: string, n: number, opts: { perRequest?: number; key?: (i: number) => string | null; from?: number } = {}) {
  const per = opts.perRequest ?? 100
  const offsets: Array<{ partition: number; offset: number }> = []
  for (let i = 0; i < n; i += per) {
    const records = []
    for (let j = i; j < Math.min(n, i + per); j++) records.push({ key: opts.key ? opts.key(j + (opts.from ?? 0)) : null, value: { i: j + (opts.from ?? 0) } })
    const r = await postJson(`${baseUrl}/v1/topics/${topic}/records?acks=1`, { records })
    if (r.status !== 200) throw new Error(`produce: ${r.status} ${JSON.stringify(r.body)}`)
    offsets.push(...r.body.offsets)
  }
  return offsets
}
