/**
 * True when JSON text nests arrays/objects deeper than maxDepth. Run before JSON.parse so a
 * hostile body (100,000 nested brackets) is refused in one linear pass instead of reaching
 * code that recurses.
 */
export function jsonTooDeep(text: string, maxDepth: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92 /* \\ */) i++
      else if (c === 34 /* " */) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > maxDepth) return true
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--
  }
  return false
}
