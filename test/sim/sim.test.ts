// The deterministic simulation in the test command: 500 seeds (RF=3, min.insync.replicas=2,
// crashes, power losses, pauses, partitions, message loss/duplication/delay, clock jumps, and
// storage faults: bit flips, torn log tails, disks refusing writes, disks restored from an old
// copy), each
// checked for G1, G2, G3, G4, G6, G7, G8, G9 and G11. A failure names the seed and the command
// that replays it. More seeds: `npm run test:sim -- --seeds 5000 --from 1000`.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { replayCommand, runSeed } from './run.ts'

const SEEDS = 500
const CHUNK = 50

describe('simulation', () => {
  test('a seed replays exactly: the same events, the same trace (what the replay command relies on)', async () => {
    const a = await runSeed(77, { trace: true })
    const b = await runSeed(77, { trace: true })
    assert.ok(a.trace.length > 50 && a.events > 500)
    assert.equal(a.events, b.events)
    assert.deepEqual(a.trace, b.trace)
  })

  for (let from = 1; from <= SEEDS; from += CHUNK) {
    test(`seeds ${from}–${from + CHUNK - 1} keep every invariant`, async () => {
      const failures: string[] = []
      for (let seed = from; seed < from + CHUNK; seed++) {
        const r = await runSeed(seed)
        if (!r.ok) failures.push(`seed ${seed} (${r.config}):\n    ${r.violations.slice(0, 5).join('\n    ')}\n  replay: ${replayCommand(seed)}`)
      }
      assert.deepEqual(failures, [], failures.join('\n'))
    })
  }
})
