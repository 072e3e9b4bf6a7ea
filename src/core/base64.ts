// Standard base64 (RFC 4648 §4, padded) with strict validation: atob alone accepts whitespace
// and missing padding, and a value that does not round-trip must be refused, not guessed.
const STRICT = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** The engine's own base64 (TC39 Uint8Array.fromBase64 / toBase64), where it has one: far faster than atob/btoa loops. */
const native = Uint8Array as unknown as { fromBase64?: (text: string) => Uint8Array }
const nativeTo = (Uint8Array.prototype as unknown as { toBase64?: () => string }).toBase64

export function decodeBase64(text: string): Uint8Array | undefined {
  if (!STRICT.test(text)) return undefined
  if (native.fromBase64) return native.fromBase64(text)
  const bin = atob(text)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}

export function encodeBase64(bytes: Uint8Array): string {
  if (nativeTo) return nativeTo.call(bytes)
  let bin = ''
  // Chunks keep String.fromCharCode's argument list short on every engine.
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(bin)
}
