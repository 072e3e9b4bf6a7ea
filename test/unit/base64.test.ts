// base64 as records carry it: the engine's native codec (when there is one) and the portable
// fallback agree byte for byte, and the strict refusals stay.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { decodeBase64, encodeBase64 } from '../../src/core/base64.ts'

function fallbackEncode(bytes: Uint8Array): string {
  let bin = ''
  for (const b of bytes) bin += String.fromCharCode(b)
  return btoa(bin)
}

describe('base64', () => {
  test('round trips random bytes of every length up to 300, equal to the btoa encoding', () => {
    let seed = 7
    for (let n = 0; n <= 300; n++) {
      const bytes = new Uint8Array(n)
      for (let i = 0; i < n; i++) bytes[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24
      const text = encodeBase64(bytes)
      assert.equal(text, fallbackEncode(bytes))
      assert.deepEqual(decodeBase64(text), bytes)
    }
  })

  test('refuses what is not strict padded base64', () => {
    for (const bad of ['a', 'ab=', 'abc', 'ab cd', 'ab\ncd', '====', 'ab==cd==', 'é===', 'QQ']) assert.equal(decodeBase64(bad), undefined, bad)
    assert.deepEqual(decodeBase64(''), new Uint8Array(0))
  })
})
