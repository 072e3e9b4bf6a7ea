// Turns any thrown error into the public error shape. Only EdgelogError and validation
// failures say what went wrong; anything else is an internal error with no details.
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { ZodError } from 'zod'
import { CodecError } from '../codec/errors.ts'
import { EdgelogError, type ErrorCode } from '../core/errors.ts'

export function errorBody(code: ErrorCode, message: string) {
  return { error: { code, message } }
}

export function toEdgelogError(err: unknown): EdgelogError {
  if (err instanceof EdgelogError) return err
  if (err instanceof ZodError) return new EdgelogError('INVALID_REQUEST', describeZodError(err))
  if (err instanceof CodecError) {
    // A record the client built wrong is its error; bytes that do not decode are corruption.
    if (err.code === 'INVALID_RECORD') return new EdgelogError('INVALID_RECORD', err.message)
    if (err.code === 'UNSUPPORTED_COMPRESSION_TYPE') return new EdgelogError('UNSUPPORTED_COMPRESSION_TYPE', err.message)
    if (err.code === 'DECOMPRESSED_TOO_LARGE') return new EdgelogError('CORRUPT_MESSAGE', 'a stored record batch decompresses past the limit; refused')
    return new EdgelogError('CORRUPT_MESSAGE', 'a stored record batch could not be decoded')
  }
  return new EdgelogError('INTERNAL', 'internal error')
}

export function errorResponse(c: Context, err: unknown, log: (e: unknown) => void): Response {
  const e = toEdgelogError(err)
  if (e.status >= 500) log(err)
  return c.json(errorBody(e.code, e.message), e.status as ContentfulStatusCode)
}

function describeZodError(err: ZodError): string {
  const issue = err.issues[0]
  if (!issue) return 'the request is not valid'
  const path = issue.path.length > 0 ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') : 'body'
  if (issue.code === 'unrecognized_keys') return `${path}: unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`
  return `${path}: ${issue.message}`
}
