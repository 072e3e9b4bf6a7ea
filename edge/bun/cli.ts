// Bun entry point of the `edgelog` command. `serve` runs a node in this process; every other
// command goes to the runtime-agnostic CLI in src/cli/, which gets stdin, the output writers
// and an abort signal for Ctrl-C from here.
import { fstatSync, statSync } from 'node:fs'
import type { CliIO } from '../../src/cli/main.ts'

/** After Ctrl-C a command flushes and exits; if that takes longer than this, exit anyway. */
const shutdownGraceMs = 3_000

const args = process.argv.slice(2)
if (args[0] === 'serve') {
  const serve = await import('./serve.ts')
  await serve.main(args.slice(1))
} else {
  const { runCli } = await import('../../src/cli/main.ts')
  const code = await runCli(args, terminalIO())
  await flushStdout()
  process.exit(code)
}

function terminalIO(): CliIO {
  const interrupt = new AbortController()
  // The node launcher forwards the terminal's SIGINT, so one Ctrl-C can arrive twice:
  // the first starts a graceful stop, repeats are ignored, and a timer caps the wait.
  const stopGracefully = () => {
    if (interrupt.signal.aborted) return
    interrupt.abort()
    setTimeout(() => process.exit(130), shutdownGraceMs).unref()
  }
  process.on('SIGINT', stopGracefully)
  process.on('SIGTERM', stopGracefully)
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    // `edgelog consume t | head` closes the pipe early; that is how such a run ends.
    if (error.code === 'EPIPE') process.exit(0)
    process.stderr.write(`error: writing to stdout failed: ${error.message}\n`)
    process.exit(1)
  })
  return {
    stdin: Bun.stdin.stream() as ReadableStream<Uint8Array>,
    stdout: writeStdout,
    stderr: (text) => void process.stderr.write(text),
    // The live progress line goes to stderr, so that is the stream that must be a terminal.
    isTTY: Boolean(process.stderr.isTTY),
    stdoutIsTTY: Boolean(process.stdout.isTTY),
    stdinSize: regularFileSize(() => fstatSync(0)),
    openFile,
    env: process.env,
    signal: interrupt.signal,
  }
}

/** The size of a regular file; undefined for pipes, terminals, sockets and devices. */
function regularFileSize(stat: () => { isFile(): boolean; size: number }): number | undefined {
  try {
    const info = stat()
    return info.isFile() ? info.size : undefined
  } catch {
    return undefined
  }
}

async function openFile(path: string): Promise<{ stream: ReadableStream<Uint8Array>; size: number | undefined }> {
  let info
  try {
    info = statSync(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new Error(`cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code)}`)
  }
  if (info.isDirectory()) throw new Error(`cannot read ${path}: it is a directory`)
  return { stream: Bun.file(path).stream() as ReadableStream<Uint8Array>, size: info.isFile() ? info.size : undefined }
}

function writeStdout(text: string): void | Promise<void> {
  if (process.stdout.write(text)) return
  return new Promise((resolve) => process.stdout.once('drain', () => resolve()))
}

function flushStdout(): Promise<void> {
  return new Promise((resolve) => process.stdout.write('', () => resolve()))
}
