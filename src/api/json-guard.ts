/**
 * Checks JSON text before JSON.parse sees it, in one linear pass, for what JSON.parse would let
 * through: nesting deeper than maxDepth (100,000 nested brackets must be refused here, not
 * reach code that recurses) and repeated keys in one object (JSON.parse keeps the last one
 * silently, so `{"records": [bad], "records": [smuggled]}` would validate only what it kept).
 * Returns what is wrong, or undefined. Syntax errors are left to JSON.parse.
 */
export function jsonProblem(text: string, maxDepth: number): string | undefined {
  // One entry per open container: the keys seen so far for an object, null for an array.
  const stack: Array<Set<string> | null> = []
  let expectKey = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 34 /* " */) {
      const start = i + 1
      let escaped = false
      for (i = start; i < text.length; i++) {
        const d = text.charCodeAt(i)
        if (d === 92 /* \ */) {
          escaped = true
          i++
        } else if (d === 34) break
      }
      if (expectKey) {
        const keys = stack[stack.length - 1]!
        let key = text.slice(start, i)
        if (escaped) {
          try {
            key = JSON.parse(text.slice(start - 1, i + 1)) as string
          } catch {
            return undefined // malformed: JSON.parse will say so
          }
        }
        if (keys.has(key)) return `the key '${key.slice(0, 64)}' appears twice in one object`
        keys.add(key)
        expectKey = false
      }
    } else if (c === 123 /* { */) {
      if (stack.length >= maxDepth) return `it nests deeper than ${maxDepth} levels`
      stack.push(new Set())
      expectKey = true
    } else if (c === 91 /* [ */) {
      if (stack.length >= maxDepth) return `it nests deeper than ${maxDepth} levels`
      stack.push(null)
      expectKey = false
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      stack.pop()
      expectKey = false
    } else if (c === 44 /* , */) {
      expectKey = stack.length > 0 && stack[stack.length - 1] !== null
    }
  }
  return undefined
}
