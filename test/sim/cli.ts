// `npm run test:sim -- --seeds N [--from S]` runs N seeds; `--seed S [--trace]` replays one.
// Every failing seed is printed with the one-line command that replays it.
import { replayCommand, runSeed } from './run.ts'

const args = process.argv.slice(2)
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const trace = args.includes('--trace')
const one = flag('seed')
const seeds = one !== undefined ? [Number(one)] : Array.from({ length: Number(flag('seeds') ?? 100) }, (_, i) => Number(flag('from') ?? 1) + i)
if (seeds.some((s) => !Number.isSafeInteger(s))) {
  console.error('usage: test:sim [--seeds N] [--from S] | --seed S [--trace]')
  process.exit(2)
}

let failed = 0
const started = performance.now()
for (const seed of seeds) {
  const r = await runSeed(seed, { trace })
  if (trace) for (const line of r.trace) console.log(line)
  if (!r.ok || one !== undefined) {
    console.log(`seed ${seed} ${r.ok ? 'ok' : 'FAILED'} (${r.config}; ${r.simTimeMs} ms simulated, ${r.events} events, ${r.realMs} ms) ${JSON.stringify(r.stats)}`)
    if (one !== undefined) for (const n of r.nemesis) console.log(`  nemesis ${n}`)
    for (const v of r.violations) console.log(`  ${v}`)
    if (!r.ok) console.log(`  replay: ${replayCommand(seed)}`)
  }
  if (!r.ok) failed++
}
const secs = ((performance.now() - started) / 1000).toFixed(1)
console.log(`${seeds.length - failed}/${seeds.length} seeds passed in ${secs} s`)
process.exit(failed === 0 ? 0 : 1)
