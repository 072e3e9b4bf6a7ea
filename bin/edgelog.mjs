#!/usr/bin/env node
// The package's `edgelog` command. edgelog runs on Bun, so this launcher finds the Bun binary
// that the `bun` npm dependency installed (or one on PATH) and runs edge/bun/cli.ts with it,
// passing signals through so Ctrl-C and `kill` reach the real process.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const forwardedSignals = ['SIGINT', 'SIGTERM', 'SIGHUP']

function findBun() {
  const executable = process.platform === 'win32' ? 'bun.exe' : 'bun'
  const local = join(root, 'node_modules', '.bin', executable)
  if (existsSync(local)) return local
  // Installed as a dependency, the `bun` package is hoisted next to us rather than inside.
  try {
    const packageJson = createRequire(import.meta.url).resolve('bun/package.json')
    const installed = join(dirname(packageJson), 'bin', 'bun.exe')
    if (existsSync(installed)) return installed
  } catch {
    // Not installed; fall through to PATH.
  }
  return 'bun'
}

const bun = findBun()
const child = spawn(bun, [join(root, 'edge', 'bun', 'cli.ts'), ...process.argv.slice(2)], { stdio: 'inherit' })

const forward = (signal) => {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal)
}
for (const signal of forwardedSignals) process.on(signal, forward)

child.on('error', (error) => {
  process.stderr.write(`edgelog: could not start Bun (${bun}): ${error.message}\n`)
  process.exit(127)
})

child.on('exit', (code, signal) => {
  if (signal !== null) {
    // Die the same way, so a shell or supervisor sees what really happened.
    for (const forwarded of forwardedSignals) process.off(forwarded, forward)
    process.kill(process.pid, signal)
    return
  }
  process.exit(code ?? 1)
})
