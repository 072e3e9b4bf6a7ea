// One error type for everything the codec rejects, so the API layer can map it to Kafka's
// error names in one place without parsing messages.

/**
 * - CORRUPT_MESSAGE: bytes that claim to be a batch are not one (bad magic, truncation,
 *   lengths that disagree, varints that overflow). The data must not be stored or served.
 * - INVALID_RECORD: a caller asked us to encode something the format cannot hold
 *   (a timestamp outside the safe integer range, an empty batch, a non-string header key).
 * - UNSUPPORTED_COMPRESSION_TYPE: a well-formed batch whose compression we cannot decode yet.
 */
export type CodecErrorCode = 'CORRUPT_MESSAGE' | 'INVALID_RECORD' | 'UNSUPPORTED_COMPRESSION_TYPE'

export class CodecError extends Error {
  override readonly name = 'CodecError'
  readonly code: CodecErrorCode

  constructor(code: CodecErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}
