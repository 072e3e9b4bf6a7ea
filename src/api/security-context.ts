// What the security middleware leaves on a request's context for the handlers: who is asking
// and the quota hooks of that principal. A node without authentication or quotas sets nothing,
// and securityOf() answers with an anonymous caller who may do everything.
import type { Context } from 'hono'
import { ANONYMOUS_SUPERUSER, type Principal } from '../auth/principal.ts'

export interface RequestSecurity {
  readonly principal: Principal
  /** Before a produce body is read: refuses (THROTTLED) while the principal is over its byte quota. */
  checkProduceBytes(): void
  /** After a produce body is read and validated: its record bytes count against the quota. */
  chargeProduceBytes(bytes: number): void
  /** A long-poll slot of this principal, released when the fetch answers. */
  acquireLongPoll(): () => void
  /**
   * Keeps this request's per-IP and per-principal slots past its answer (a WebSocket or an SSE
   * stream holds them while it is open) and returns their release, to be called exactly when
   * the connection ends. Without it they are released when the handler returns.
   */
  retain(): () => void
}

declare module 'hono' {
  interface ContextVariableMap {
    security: RequestSecurity
    /** An access rule claimed this request (src/api/access.ts). */
    authorized: boolean
  }
}

const noop = () => {}

export const OPEN_SECURITY: RequestSecurity = Object.freeze({
  principal: ANONYMOUS_SUPERUSER,
  checkProduceBytes: noop,
  chargeProduceBytes: noop,
  acquireLongPoll: () => noop,
  retain: () => noop,
})

export function securityOf(c: Context): RequestSecurity {
  return c.get('security') ?? OPEN_SECURITY
}
