// The `edgelog` command line, minus `serve`. Runtime-agnostic: the entry point for each
// runtime (edge/bun/cli.ts) hands in stdin, the output writers and the environment, and
// turns the returned number into the process exit code.
import { HttpClient } from '../client/http.ts'
import { isEdgelogError } from '../client/errors.ts'
import { UsageError } from './args.ts'
import { commandHelp, mainHelp } from './help.ts'
import { runTopics } from './topics.ts'
import { runProduce } from './produce.ts'
import { runConsume } from './consume.ts'
import { runBench } from './bench.ts'
import { runGroups } from './groups.ts'

export interface CliIO {
  stdin: ReadableStream<Uint8Array>
  /** May return a promise that settles once the output was taken, for back-pressure. */
  stdout: (text: string) => void | Promise<void>
  stderr: (text: string) => void
  /** True when a person is watching the terminal the progress line is written to (stderr). */
  isTTY: boolean
  /** True when stdout is a terminal too: a command printing records there shows no "\r" line. */
  stdoutIsTTY?: boolean
  /** stdin's size in bytes when it is redirected from a regular file (`< data.txt`): an ETA. */
  stdinSize?: number
  /** Opens a file (`produce --file`): src/ reads no files itself, the runtime does. */
  openFile?: (path: string) => Promise<{ stream: ReadableStream<Uint8Array>; size: number | undefined }>
  env: Record<string, string | undefined>
  /** Aborted on SIGINT/SIGTERM: produce sends what it has read, consume stops, both exit 130. */
  signal?: AbortSignal
}

export interface CliContext {
  io: CliIO
  /** A client for `--url`, else $EDGELOG_URL, else the default local node. */
  client(url: string | undefined): HttpClient
}

export const urlDefault = 'http://127.0.0.1:8080'

export const exitOk = 0
export const exitError = 1
export const exitUsage = 2
/** 128 + SIGINT, what a shell reports for a command stopped with Ctrl-C. */
export const exitInterrupted = 130

type CommandRunner = (argv: string[], context: CliContext) => Promise<number>

const commands: Record<string, CommandRunner> = {
  topics: runTopics,
  produce: runProduce,
  consume: runConsume,
  groups: runGroups,
  bench: runBench,
}

export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined) {
    io.stderr(mainHelp())
    return exitUsage
  }
  if (name === '--help' || name === '-h') return showHelp(undefined, io)
  if (name === 'help') return showHelp(rest[0], io)
  const run = Object.hasOwn(commands, name) ? commands[name] : undefined
  if (run === undefined) {
    io.stderr(`error: unknown command '${name}'\nRun 'edgelog --help' for the list of commands.\n`)
    return exitUsage
  }
  if (wantsHelp(rest)) return showHelp(name, io)
  const context: CliContext = { io, client: (url) => createClient(url, io.env) }
  try {
    return await run(rest, context)
  } catch (error) {
    return reportError(error, name, io)
  }
}

function showHelp(name: string | undefined, io: CliIO): number {
  if (name === undefined) {
    io.stdout(mainHelp())
    return exitOk
  }
  const text = commandHelp(name)
  if (text === undefined) {
    io.stderr(`error: unknown command '${name}'\nRun 'edgelog --help' for the list of commands.\n`)
    return exitUsage
  }
  io.stdout(text)
  return exitOk
}

/** `--help` anywhere before `--` wins over every other check, so it works on a half-typed line. */
function wantsHelp(argv: string[]): boolean {
  for (const arg of argv) {
    if (arg === '--') return false
    if (arg === '--help' || arg === '-h') return true
  }
  return false
}

function createClient(url: string | undefined, env: Record<string, string | undefined>): HttpClient {
  const chosen = url ?? (env.EDGELOG_URL || undefined) ?? urlDefault
  let parsed: URL
  try {
    parsed = new URL(chosen)
  } catch {
    throw new UsageError(`'${chosen}' is not a URL (expected something like ${urlDefault})`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`'${chosen}' is not an http:// or https:// URL`)
  }
  return new HttpClient({ url: parsed.href })
}

function reportError(error: unknown, command: string, io: CliIO): number {
  if (error instanceof UsageError) {
    io.stderr(`error: ${error.message}\nRun 'edgelog ${command} --help' for usage.\n`)
    return exitUsage
  }
  if (isEdgelogError(error)) {
    io.stderr(`error: ${error.code}: ${error.message}\n`)
    return exitError
  }
  io.stderr(`error: ${error instanceof Error ? error.message : String(error)}\n`)
  return exitError
}
