// Errors from elsewhere (an upstream broker, the client library) as errors this node answers with.
import { isEdgelogError } from '../client/errors.ts'
import { EdgelogError, knownErrorCode } from '../core/errors.ts'

export function codeOf(err: unknown): string {
  return isEdgelogError(err) ? err.code : err instanceof EdgelogError ? err.code : 'INTERNAL'
}

/** An upstream or client-library error as one this node answers with (unknown codes: NETWORK_EXCEPTION). */
export function serverError(err: unknown): EdgelogError {
  if (err instanceof EdgelogError) return err
  if (isEdgelogError(err)) return new EdgelogError(knownErrorCode(err.code) ?? 'NETWORK_EXCEPTION', err.message)
  return new EdgelogError('INTERNAL', 'internal error')
}
