// One error type for everything the codec rejects, so the API layer can map it to Kafka's
// error names in one place without parsing messages.

/**
 * - CORRUPT_MESSAGE: bytes that claim to be a batch are not one (bad magic, truncation,
 *   lengths that disagree, varints that overflow). The data must not be stored or served.
 * - INVALID_RECORD: a caller asked us to encode something the format cannot hold
 *   (a timestamp outside the safe integer range, an empty batch, a non-string header key).
 * - UNSUPPORTED_COMPRESSION_TYPE: a well-formed batch whose compression we cannot decode (an
 *   undefined codec number), or a codec this node reads but cannot write.
 * - DECOMPRESSED_TOO_LARGE: compressed record data that inflates past the decompression limit
 *   (a compression bomb); decoding stopped at the limit.
 */
export type CodecErrorCode = 'CORRUPT_MESSAGE' | 'INVALID_RECORD' | 'UNSUPPORTED_COMPRESSION_TYPE' | 'DECOMPRESSED_TOO_LARGE'

export class CodecError extends Error {
  override readonly name = 'CodecError'
  readonly code: CodecErrorCode

  constructor(code: CodecErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}
