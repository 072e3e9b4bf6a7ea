// The ACL rules on their own (RELIABILITY.md §5.4 items 5, 6, 7, 10): prefix patterns are the
// only wildcard, deny overrides, nothing granted means refused, admin bypasses.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { AclSchema, patternCovers, patternMatches, toAcl } from '../../src/auth/acl.ts'
import { mayAccessTopic, mayMint, mayUseGroup, type Principal } from '../../src/auth/principal.ts'

const principal = (acl: Parameters<typeof toAcl>[0]): Principal => ({ id: 'p', subject: 'p', anonymous: false, acl: toAcl(AclSchema.parse(acl)) })

describe('patterns', () => {
  test('a trailing * matches a prefix; everything else is literal', () => {
    assert.ok(patternMatches('orders.*', 'orders.eu'))
    assert.ok(patternMatches('orders.*', 'orders.a.b'), 'a prefix, not a NATS single token')
    assert.ok(patternMatches('orders.*', 'orders.'))
    assert.ok(!patternMatches('orders.*', 'orders'))
    assert.ok(!patternMatches('orders.*', 'ordersX'))
    assert.ok(patternMatches('*', 'anything'))
    assert.ok(patternMatches('comments', 'comments'))
    assert.ok(!patternMatches('comments', 'comments2'))
    assert.ok(!patternMatches('comments', 'Comments'), 'names are case-sensitive, as Kafka topics')
    // Requested names are literal: asking for a "pattern" matches only a grant of that literal.
    assert.ok(!patternMatches('orders.eu', 'orders.*'))
    assert.ok(!patternMatches('orders.eu', '*'))
  })

  test('only [a-zA-Z0-9._-] with one trailing * validates', () => {
    for (const ok of ['orders.*', '*', 'a', 'billing-*', 'x_y.z-1']) assert.ok(AclSchema.safeParse({ consume: [ok] }).success, ok)
    for (const bad of ['>', 'orders.>', '*.x', 'a*b', '**', '', 'a b', 'a/b', 'a\u0000', 'é']) {
      assert.ok(!AclSchema.safeParse({ consume: [bad] }).success, JSON.stringify(bad))
    }
  })

  test('covering: a prefix covers longer prefixes and names under it, a literal only itself', () => {
    assert.ok(patternCovers('live.*', 'live.game-1'))
    assert.ok(patternCovers('live.*', 'live.game-*'))
    assert.ok(patternCovers('live.*', 'live.*'))
    assert.ok(!patternCovers('live.*', 'live*'))
    assert.ok(!patternCovers('live.*', '*'))
    assert.ok(!patternCovers('live.game', 'live.game-*'))
    assert.ok(patternCovers('*', '*'))
  })
})

describe('topic access (§5.4 items 5-7)', () => {
  const p = principal({ produce: ['orders.*'], consume: ['orders.*', 'comments'], groups: ['billing-*'], deny: ['orders.secret'] })

  test('the example claim: produce and consume under orders., consume comments, deny overrides', () => {
    assert.ok(mayAccessTopic(p, 'produce', 'orders.eu'))
    assert.ok(mayAccessTopic(p, 'consume', 'orders.eu'))
    assert.ok(!mayAccessTopic(p, 'produce', 'comments'), 'consume does not imply produce')
    assert.ok(mayAccessTopic(p, 'consume', 'comments'))
    assert.ok(mayAccessTopic(p, 'describe', 'comments'), 'consume implies describe')
    for (const op of ['produce', 'consume', 'describe'] as const) assert.ok(!mayAccessTopic(p, op, 'orders.secret'), op)
    assert.ok(mayAccessTopic(p, 'consume', 'orders.secret2'), 'deny is literal too')
    for (const t of ['>', '*', 'orders', 'payments', 'ORDERS.eu']) assert.ok(!mayAccessTopic(p, 'consume', t), t)
    // 'orders.>' is a literal name under the prefix, not a wildcard; it is no legal topic name,
    // so no topic can answer to it (the HTTP test checks it gets nothing).
    assert.ok(mayAccessTopic(p, 'consume', 'orders.>'))
  })

  test('a topic no grant names is closed to everyone but admins; a grant to one never opens it to another', () => {
    const other = principal({ consume: ['audit'] })
    assert.ok(mayAccessTopic(other, 'consume', 'audit'))
    assert.ok(!mayAccessTopic(p, 'consume', 'audit'))
    assert.ok(!mayAccessTopic(principal({}), 'describe', 'audit'))
    assert.ok(mayAccessTopic(principal({ admin: true, deny: ['audit'] }), 'produce', 'audit'), 'admin is a super user')
  })

  test('describe-only is not a thing: no grant, no describe; produce implies describe', () => {
    const producer = principal({ produce: ['events'] })
    assert.ok(mayAccessTopic(producer, 'describe', 'events'))
    assert.ok(!mayAccessTopic(producer, 'consume', 'events'))
  })

  test('groups: prefix patterns, deny does not name groups', () => {
    assert.ok(mayUseGroup(p, 'billing-workers'))
    assert.ok(!mayUseGroup(p, 'billing'))
    assert.ok(!mayUseGroup(p, 'orders.secret'))
    assert.ok(!mayUseGroup(principal({}), 'g'))
  })

  test('minting: only for topics or prefixes the mint grant covers', () => {
    const minter = principal({ mint: ['live.*'] })
    assert.ok(mayMint(minter, 'live.match-7'))
    assert.ok(mayMint(minter, 'live.match-*'))
    assert.ok(!mayMint(minter, 'live*'))
    assert.ok(!mayMint(minter, '*'))
    assert.ok(!mayMint(minter, 'orders.x'))
    assert.ok(!mayMint(p, 'orders.x'), 'consume does not grant minting')
    assert.ok(mayMint(principal({ admin: true }), '*'))
  })
})
