// Errors from elsewhere (an upstream broker, the client library) as errors this node answers with.
import { isEdgelogError } from '../client/errors.ts'
import { EdgelogError, knownErrorCode } from '../core/errors.ts'

/** Answers meaning the region did not accept this edge's credential (401), or not for this (403). */
export const CREDENTIAL_REFUSED: ReadonlySet<string> = new Set([
  'UNAUTHORIZED',
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
])

export function codeOf(err: unknown): string {
  return isEdgelogError(err) ? err.code : err instanceof EdgelogError ? err.code : 'INTERNAL'
}

/** The region refused one of the edge's own requests (made with --upstream-token) for its credential. */
export function credentialRefused(err: unknown): boolean {
  return isEdgelogError(err) && CREDENTIAL_REFUSED.has(err.code)
}

/**
 * An upstream or client-library error as one this node answers with (unknown codes:
 * NETWORK_EXCEPTION). A 401 or 403 the region gave the edge's own credential is the edge's
 * problem, not its client's: passing it on would tell a client with a good token that its token
 * is bad, so it becomes a 503 that says what happened.
 */
export function serverError(err: unknown): EdgelogError {
  if (err instanceof EdgelogError) return err
  if (credentialRefused(err)) {
    const e = err as { code: string; message: string }
    return new EdgelogError('NETWORK_EXCEPTION', `the region refused this edge's credential (${e.code}: ${e.message})`)
  }
  if (isEdgelogError(err)) return new EdgelogError(knownErrorCode(err.code) ?? 'NETWORK_EXCEPTION', err.message)
  return new EdgelogError('INTERNAL', 'internal error')
}
