// The server-side assignor against its three promises, on generated groups: balanced (equal
// subscriptions: counts differ by at most one; unequal: no partition could move to a member
// with two fewer), sticky (a member keeps its partitions up to its fair share; an unchanged
// group is left alone) and deterministic (member and input order do not matter).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { assignPartitions, type AssignorMember } from '../../src/groups/assignor.ts'
import { parseTpKey, tpKey, type TpKey } from '../../src/groups/topic-partitions.ts'

const topicNames = ['a', 'b', 'c', 'd']

const counts = fc
  .tuple(...topicNames.map(() => fc.integer({ min: 0, max: 12 })))
  .map((ns) => new Map(topicNames.flatMap((t, i) => (ns[i]! > 0 ? [[t, ns[i]!] as [string, number]] : []))))

const memberIds = fc.uniqueArray(fc.stringMatching(/^[a-z0-9]{1,6}$/), { minLength: 1, maxLength: 9 })

function allPartitions(partitionCounts: Map<string, number>, topics: Iterable<string>): Set<TpKey> {
  const out = new Set<TpKey>()
  for (const t of new Set(topics)) for (let p = 0; p < (partitionCounts.get(t) ?? 0); p++) out.add(tpKey(t, p))
  return out
}

function checkComplete(members: AssignorMember[], partitionCounts: Map<string, number>, result: Map<string, Set<TpKey>>) {
  const owner = new Map<TpKey, string>()
  for (const [id, tps] of result) {
    const subscribed = new Set(members.find((m) => m.memberId === id)!.topics)
    for (const tp of tps) {
      assert.ok(!owner.has(tp), `${tp} is given to ${owner.get(tp)} and ${id}`)
      owner.set(tp, id)
      assert.ok(subscribed.has(parseTpKey(tp).topic), `${id} got ${tp} without subscribing to its topic`)
    }
  }
  const wanted = allPartitions(partitionCounts, members.flatMap((m) => m.topics))
  assert.deepEqual(new Set(owner.keys()), wanted, 'every subscribed partition is assigned, nothing else')
}

function spread(result: Map<string, Set<TpKey>>): number {
  const sizes = [...result.values()].map((s) => s.size)
  return Math.max(...sizes) - Math.min(...sizes)
}

describe('uniform assignor', () => {
  test('equal subscriptions: every partition once, counts differ by at most one', () => {
    fc.assert(
      fc.property(memberIds, counts, fc.subarray(topicNames, { minLength: 1 }), (ids, partitionCounts, topics) => {
        const members = ids.map((memberId) => ({ memberId, topics, previous: [] }))
        const result = assignPartitions(members, partitionCounts)
        checkComplete(members, partitionCounts, result)
        assert.ok(spread(result) <= 1, `spread ${spread(result)}`)
      }),
      { numRuns: 300 },
    )
  })

  test('unequal subscriptions: complete, and no partition could move to a member with two fewer', () => {
    fc.assert(
      fc.property(
        memberIds.chain((ids) => fc.tuple(fc.constant(ids), fc.array(fc.subarray(topicNames, { minLength: 1 }), { minLength: ids.length, maxLength: ids.length }))),
        counts,
        ([ids, subs], partitionCounts) => {
          const members = ids.map((memberId, i) => ({ memberId, topics: subs[i]!, previous: [] }))
          const result = assignPartitions(members, partitionCounts)
          checkComplete(members, partitionCounts, result)
          for (const a of members) {
            for (const b of members) {
              const from = result.get(a.memberId)!
              const to = result.get(b.memberId)!
              if (from.size < to.size + 2) continue
              const movable = [...from].filter((tp) => b.topics.includes(parseTpKey(tp).topic))
              assert.deepEqual(movable, [], `${a.memberId} (${from.size}) could give ${movable[0]} to ${b.memberId} (${to.size})`)
            }
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  test('deterministic: the order of members and of their previous partitions does not matter', () => {
    fc.assert(
      fc.property(memberIds, counts, fc.subarray(topicNames, { minLength: 1 }), fc.integer(), (ids, partitionCounts, topics, seed) => {
        const first = assignPartitions(ids.map((memberId) => ({ memberId, topics, previous: [] })), partitionCounts)
        const members = ids.map((memberId) => ({ memberId, topics, previous: [...first.get(memberId)!].reverse() }))
        const shuffled = [...members].sort((x, y) => ((hash(x.memberId) ^ seed) - (hash(y.memberId) ^ seed)))
        const a = assignPartitions(members, partitionCounts)
        const b = assignPartitions(shuffled, partitionCounts)
        assert.deepEqual(normalize(a), normalize(b))
        // And again, from scratch, the same answer.
        assert.deepEqual(normalize(assignPartitions(ids.map((memberId) => ({ memberId, topics, previous: [] })).reverse(), partitionCounts)), normalize(first))
      }),
      { numRuns: 200 },
    )
  })

  test('sticky: an unchanged group keeps its assignment exactly', () => {
    fc.assert(
      fc.property(memberIds, counts, fc.subarray(topicNames, { minLength: 1 }), (ids, partitionCounts, topics) => {
        const first = assignPartitions(ids.map((memberId) => ({ memberId, topics, previous: [] })), partitionCounts)
        const again = assignPartitions(ids.map((memberId) => ({ memberId, topics, previous: first.get(memberId)! })), partitionCounts)
        assert.deepEqual(normalize(again), normalize(first))
      }),
      { numRuns: 200 },
    )
  })

  test('sticky: when members join and leave, each one that stays keeps its partitions up to its fair share', () => {
    fc.assert(
      fc.property(
        memberIds,
        fc.uniqueArray(fc.stringMatching(/^[A-Z]{1,4}$/), { maxLength: 5 }),
        fc.array(fc.boolean(), { minLength: 9, maxLength: 9 }),
        counts,
        fc.subarray(topicNames, { minLength: 1 }),
        (ids, joining, leaves, partitionCounts, topics) => {
          const before = assignPartitions(ids.map((memberId) => ({ memberId, topics, previous: [] })), partitionCounts)
          const staying = ids.filter((_, i) => !leaves[i])
          const after = [...staying, ...joining]
          if (after.length === 0) return
          const members = after.map((memberId) => ({ memberId, topics, previous: before.get(memberId) ?? new Set<TpKey>() }))
          const result = assignPartitions(members, partitionCounts)
          checkComplete(members, partitionCounts, result)
          assert.ok(spread(result) <= 1)
          const total = allPartitions(partitionCounts, topics).size
          const floor = Math.floor(total / after.length)
          let moved = 0
          for (const id of staying) {
            const had = before.get(id)!
            const kept = [...had].filter((tp) => result.get(id)!.has(tp)).length
            assert.ok(kept >= Math.min(had.size, floor), `${id} kept ${kept} of ${had.size} (fair share ${floor})`)
            moved += had.size - kept
          }
          // Partitions move away from a member that stays only while it has more than its share.
          const excess = staying.reduce((s, id) => s + Math.max(0, before.get(id)!.size - floor), 0)
          assert.ok(moved <= excess, `moved ${moved}, more than the ${excess} above the fair share`)
        },
      ),
      { numRuns: 300 },
    )
  })

  test('3 members and 6 partitions: two each, disjoint, covering all', () => {
    const members = ['m1', 'm2', 'm3'].map((memberId) => ({ memberId, topics: ['orders'], previous: [] }))
    const result = assignPartitions(members, new Map([['orders', 6]]))
    assert.deepEqual([...result.values()].map((s) => s.size), [2, 2, 2])
    assert.equal(new Set([...result.values()].flatMap((s) => [...s])).size, 6)
  })
})

function normalize(result: Map<string, Set<TpKey>>): Array<[string, string[]]> {
  return [...result].map(([id, s]) => [id, [...s].sort()] as [string, string[]]).sort(([a], [b]) => (a < b ? -1 : 1))
}

function hash(s: string): number {
  let h = 0
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0
  return h
}
