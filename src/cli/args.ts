// A small, strict argument parser. Strict because a misspelt flag that is silently ignored
// (`--partiton 3`) sends records somewhere the user did not ask for; every unknown flag,
// missing value, repeated single-valued flag or out-of-range number is a usage error.

export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export interface FlagSpec {
  type: 'string' | 'integer' | 'boolean'
  /** May be given more than once; the values are collected in order. */
  multiple?: boolean
  /** Inclusive bounds for integers. */
  min?: number
  max?: number
  /** Allowed values for strings. */
  choices?: readonly string[]
  /** One-letter alias, e.g. `h` for `-h`. */
  short?: string
}

export type FlagSpecs = Record<string, FlagSpec>

export interface ArgsSpec<F extends FlagSpecs> {
  flags: F
  /** Names of the positional arguments, for messages; `min` of them are required. */
  positionals: { names: readonly string[]; min: number; max: number }
}

type FlagValue<S extends FlagSpec> = S['type'] extends 'boolean'
  ? boolean
  : S extends { multiple: true }
    ? S['type'] extends 'integer' ? number[] : string[]
    : (S['type'] extends 'integer' ? number : string) | undefined

export type ParsedFlags<F extends FlagSpecs> = { [K in keyof F]: FlagValue<F[K]> }

export interface ParsedArgs<F extends FlagSpecs> {
  flags: ParsedFlags<F>
  positionals: string[]
}

/** Bounds the work a hostile or runaway argv can cause. */
const argumentsMax = 10_000

export function parseArgs<F extends FlagSpecs>(argv: readonly string[], spec: ArgsSpec<F>): ParsedArgs<F> {
  if (argv.length > argumentsMax) throw new UsageError(`too many arguments (${argv.length}, at most ${argumentsMax})`)
  const values = new Map<string, unknown>()
  const positionals: string[] = []
  let index = 0
  while (index < argv.length) {
    const arg = argv[index++]!
    if (arg === '--') {
      positionals.push(...argv.slice(index))
      break
    }
    if (!isFlag(arg)) {
      positionals.push(arg)
      continue
    }
    const { name, inlineValue } = splitFlag(arg, spec.flags)
    const flag = spec.flags[name]!
    let raw = inlineValue
    if (flag.type !== 'boolean' && raw === undefined) {
      raw = argv[index++]
      if (raw === undefined) throw new UsageError(`--${name} needs a value`)
      if (raw.startsWith('--') && raw.length > 2) {
        throw new UsageError(`--${name} needs a value, got the flag ${raw} (write --${name}=${raw} if you meant it)`)
      }
    }
    store(values, name, flag, convert(name, flag, raw))
  }
  checkPositionals(positionals, spec.positionals)
  return { flags: withDefaults(values, spec.flags) as ParsedFlags<F>, positionals }
}

function isFlag(arg: string): boolean {
  // A lone "-" is a positional (conventionally stdin); "-1" is a value, not a flag.
  return arg.startsWith('--') || (arg.length > 1 && arg.startsWith('-') && !/^-\d/.test(arg))
}

function splitFlag(arg: string, flags: FlagSpecs): { name: string; inlineValue: string | undefined } {
  if (!arg.startsWith('--')) {
    const letter = arg.slice(1)
    const name = Object.keys(flags).find((candidate) => flags[candidate]!.short === letter)
    if (name === undefined) throw new UsageError(`unknown flag ${arg}${suggest(letter, flags)}`)
    return { name, inlineValue: undefined }
  }
  const equals = arg.indexOf('=')
  const name = equals === -1 ? arg.slice(2) : arg.slice(2, equals)
  const inlineValue = equals === -1 ? undefined : arg.slice(equals + 1)
  if (!Object.hasOwn(flags, name)) throw new UsageError(`unknown flag --${name}${suggest(name, flags)}`)
  return { name, inlineValue }
}

function convert(name: string, flag: FlagSpec, raw: string | undefined): string | number | boolean {
  if (flag.type === 'boolean') {
    if (raw === undefined || raw === 'true') return true
    if (raw === 'false') return false
    throw new UsageError(`--${name} is a switch; it takes no value (or =true / =false), got '${raw}'`)
  }
  if (flag.type === 'integer') return parseInteger(name, raw!, flag)
  if (flag.choices && !flag.choices.includes(raw!)) {
    throw new UsageError(`--${name} must be one of ${flag.choices.join(', ')}, got '${raw}'`)
  }
  return raw!
}

function parseInteger(name: string, raw: string, flag: FlagSpec): number {
  const min = flag.min ?? Number.MIN_SAFE_INTEGER
  const max = flag.max ?? Number.MAX_SAFE_INTEGER
  const value = /^-?\d{1,16}$/.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got '${raw}'`)
  }
  return value
}

function store(values: Map<string, unknown>, name: string, flag: FlagSpec, value: unknown): void {
  if (flag.multiple) {
    const list = (values.get(name) as unknown[] | undefined) ?? []
    list.push(value)
    values.set(name, list)
    return
  }
  if (values.has(name) && flag.type !== 'boolean') throw new UsageError(`--${name} was given more than once`)
  values.set(name, value)
}

function withDefaults(values: Map<string, unknown>, flags: FlagSpecs): Record<string, unknown> {
  const result: Record<string, unknown> = {}
  for (const [name, flag] of Object.entries(flags)) {
    const fallback = flag.multiple ? [] : flag.type === 'boolean' ? false : undefined
    result[name] = values.has(name) ? values.get(name) : fallback
  }
  return result
}

function checkPositionals(positionals: string[], spec: ArgsSpec<FlagSpecs>['positionals']): void {
  if (positionals.length < spec.min) {
    const missing = spec.names.slice(positionals.length, spec.min).join(' ')
    throw new UsageError(`missing ${missing}`)
  }
  if (positionals.length > spec.max) {
    const extra = positionals.slice(spec.max).join(' ')
    throw new UsageError(`unexpected argument${positionals.length - spec.max > 1 ? 's' : ''}: ${extra}`)
  }
}

/** " (did you mean --partitions?)" when a known flag is one or two edits away or a prefix. */
function suggest(name: string, flags: FlagSpecs): string {
  let best: string | undefined
  let bestDistance = 3
  for (const candidate of Object.keys(flags)) {
    const distance = candidate.startsWith(name) && name.length >= 3 ? 1 : editDistance(name, candidate)
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best === undefined ? '' : ` (did you mean --${best}?)`
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2 || a.length > 64 || b.length > 64) return 3
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution))
    }
    previous = current
  }
  return previous[b.length]!
}

/** Flags every command takes. */
export const commonFlags = {
  url: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies FlagSpecs
