// The crash scenario for the file-backed drivers: an appender child (crash-child.ts, under the
// same runtime and driver) is killed with SIGKILL at a random moment, a few times over; then
// the log is reopened here and checked with verifyCrashedLog.
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { StorageProvider } from '../../storage/driver.ts'
import { verifyCrashedLog, type StorageFixture } from './driver.case.ts'

export const CRASH_CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url))

/** A fixture of file databases in a fresh temporary folder. */
export function fileFixture(open: (dir: string) => StorageProvider): StorageFixture {
  const dir = mkdtempSync(join(tmpdir(), 'edgelog-driver-'))
  return {
    provider: open(dir),
    reopen: () => open(dir),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
    files: () => readdirSync(dir).sort(),
  }
}

/**
 * Starts an appender that prints `acked <end offset>` per commit, waits for `minAcks` commits,
 * kills it with SIGKILL a few milliseconds later; returns the last acknowledged end offset.
 * With processGroup, the child leads its own process group and the whole group is killed
 * (Miniflare's workerd is the child's child).
 */
export async function killAppender(command: string, args: string[], minAcks: number, processGroup = false): Promise<number> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: processGroup })
  const kill = () => (processGroup ? process.kill(-child.pid!, 'SIGKILL') : child.kill('SIGKILL'))
  let out = ''
  let err = ''
  let acks = 0
  let acked = -1
  let killed = false
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      let nl
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl)
        out = out.slice(nl + 1)
        const m = /^acked (\d+)$/.exec(line)
        if (!m || killed) continue
        acked = Number(m[1])
        if (++acks >= minAcks) {
          killed = true
          // Somewhere in the next few appends, not right after an ack.
          setTimeout(() => {
            kill()
            resolve()
          }, Math.floor(Math.random() * 15))
        }
      }
    })
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()))
    child.once('exit', (code, signal) => {
      if (!killed) reject(new Error(`the appender exited by itself (${code ?? signal}):\n${err}`))
    })
    const watchdog = setTimeout(() => {
      if (!killed) {
        kill()
        reject(new Error(`the appender made ${acks} appends in 60 s:\n${err}`))
      }
    }, 60_000)
    void exited.then(() => clearTimeout(watchdog))
  })
  await exited
  // Lines that arrived after the kill decision still count: they were acknowledged.
  for (const m of out.matchAll(/^acked (\d+)$/gm)) acked = Math.max(acked, Number(m[1]))
  return acked
}

/**
 * Kills the appender `rounds` times, each time after some commits, then checks the log.
 * `command` + `args` start crash-child.ts; the folder is appended to args.
 */
export async function runFileCrash(open: (dir: string) => StorageProvider, command: string, args: string[], rounds = 3) {
  const dir = mkdtempSync(join(tmpdir(), 'edgelog-crash-'))
  try {
    let ackedEndOffset = 0
    for (let round = 0; round < rounds; round++) {
      ackedEndOffset = Math.max(ackedEndOffset, await killAppender(command, [...args, dir], 10 + Math.floor(Math.random() * 20)))
      // Between kills the log must already be whole: the next appender starts from it.
      verifyCrashedLog(open(dir), 'crash', ackedEndOffset)
    }
    return { ...verifyCrashedLog(open(dir), 'crash', ackedEndOffset), ackedEndOffset }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
