// Bad input for the consumer group endpoints (RELIABILITY.md §5.4 items 15, 17, 22, 23) against a
// real server: malformed, oversized and hostile bodies, unknown groups and members, commits for
// partitions the member does not own, stale epochs, offsets beyond the log end. Each gets its
// documented error with a clean message, no 5xx ever, and a refused request changes nothing:
// the group's members, epochs, assignment and committed offsets stay as they were.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { removeDir, startServer, type TestServer } from '../helpers/server.ts'

let server: TestServer
const serverErrors: string[] = []
const G = 'bad-group'

async function http(method: string, path: string, body?: string, contentType: string | null = 'application/json') {
  const headers: Record<string, string> = {}
  if (body !== undefined && contentType) headers['content-type'] = contentType
  const res = await fetch(server.url + path, { method, headers, body })
  if (res.status >= 500) serverErrors.push(`${method} ${path} -> ${res.status}`)
  const text = await res.text()
  return { status: res.status, text, json: () => JSON.parse(text) }
}

const send = (method: string, path: string, json?: unknown) => http(method, path, json === undefined ? undefined : JSON.stringify(json))

async function expectError(r: { status: number; text: string }, status: number, codes: string | string[]) {
  const want = Array.isArray(codes) ? codes : [codes]
  assert.equal(r.status, status, `status ${r.status}, expected ${status}: ${r.text.slice(0, 300)}`)
  const body = JSON.parse(r.text)
  assert.ok(want.includes(body.error?.code), `code ${body.error?.code}, expected ${want.join('|')}: ${body.error?.message}`)
  assert.equal(typeof body.error.message, 'string')
  assert.doesNotMatch(body.error.message, /\bat\s+\S+:\d+:\d+|SELECT|INSERT|sqlite|\/tmp\/|node_modules/i, 'a clean message')
}

async function ok(method: string, path: string, json?: unknown) {
  const r = await send(method, path, json)
  assert.ok(r.status < 300, `${method} ${path} → ${r.status} ${r.text}`)
  return r.json()
}

/** The group as a client can see it: description and committed offsets. */
async function snapshot() {
  return { described: await ok('GET', `/v1/groups/${G}`), offsets: await ok('GET', `/v1/groups/${G}/offsets`) }
}

/** Runs a refused request and checks the group did not change. */
async function unchanged(fn: () => Promise<void>) {
  const before = await snapshot()
  await fn()
  assert.deepEqual(await snapshot(), before, 'a refused request changed the group')
}

let member: { memberId: string; memberEpoch: number; assignment: Array<{ topic: string; partitions: number[] }> }
let other: { memberId: string; memberEpoch: number; assignment: Array<{ topic: string; partitions: number[] }> }

describe('consumer groups: bad input', () => {
  before(async () => {
    server = await startServer({ args: ['--group-max-size', '3', '--group-min-session-timeout-ms', '1000', '--group-max-session-timeout-ms', '60000'] })
    await ok('POST', '/v1/topics', { name: 'bad-t', partitions: 4 })
    await ok('POST', '/v1/topics/bad-t/records', { records: [0, 1, 2, 3].map((p) => ({ value: p, partition: p })) })
    member = await ok('POST', `/v1/groups/${G}/members`, { topics: ['bad-t'], sessionTimeoutMs: 60_000 })
    other = await ok('POST', `/v1/groups/${G}/members`, { topics: ['bad-t'], sessionTimeoutMs: 60_000 })
    // Settle: the first member gives up half, the second takes it.
    for (let i = 0; i < 3; i++) {
      for (const m of [member, other]) {
        const r = await ok('POST', `/v1/groups/${G}/members/${m.memberId}/heartbeat`, { memberEpoch: m.memberEpoch, ownedPartitions: m.assignment })
        m.memberEpoch = r.memberEpoch
        m.assignment = r.assignment
      }
    }
    assert.equal(member.assignment[0]!.partitions.length, 2)
    assert.equal(other.assignment[0]!.partitions.length, 2)
    const p = member.assignment[0]!.partitions[0]!
    await ok('POST', `/v1/groups/${G}/offsets`, { memberId: member.memberId, memberEpoch: member.memberEpoch, offsets: [{ topic: 'bad-t', partition: p, offset: 1 }] })
  })
  after(async () => {
    await server.stop()
    removeDir(server.dataDir)
  })

  describe('join: POST /v1/groups/{group}/members', () => {
    const path = `/v1/groups/${G}/members`
    const cases: Array<[string, () => ReturnType<typeof http>, number, string | string[]]> = [
      ['malformed JSON', () => http('POST', path, '{"topics":['), 400, 'INVALID_REQUEST'],
      ['an array body', () => http('POST', path, '["bad-t"]'), 400, 'INVALID_REQUEST'],
      ['an empty body', () => http('POST', path, ''), 400, 'INVALID_REQUEST'],
      ['a wrong content-type', () => http('POST', path, '{"topics":["bad-t"]}', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['deep nesting', () => http('POST', path, `{"topics":${'['.repeat(100_000)}${']'.repeat(100_000)}}`), 400, 'INVALID_REQUEST'],
      ['repeated keys', () => http('POST', path, '{"topics":["bad-t"],"topics":["x"]}'), 400, 'INVALID_REQUEST'],
      ['topics missing', () => send('POST', path, {}), 400, 'INVALID_REQUEST'],
      ['topics empty', () => send('POST', path, { topics: [] }), 400, 'INVALID_REQUEST'],
      ['topics not strings', () => send('POST', path, { topics: [1] }), 400, 'INVALID_REQUEST'],
      ['101 topics', () => send('POST', path, { topics: Array.from({ length: 101 }, (_, i) => `t${i}`) }), 400, 'INVALID_REQUEST'],
      ['an illegal topic name', () => send('POST', path, { topics: ['a/b'] }), 400, 'INVALID_TOPIC'],
      ['a topic name with SQL', () => send('POST', path, { topics: ["x'); DROP TABLE topics;--"] }), 400, 'INVALID_TOPIC'],
      ['an internal topic', () => send('POST', path, { topics: ['__consumer_offsets'] }), 400, 'INVALID_TOPIC'],
      ['an unknown field', () => send('POST', path, { topics: ['bad-t'], protocol: 'classic' }), 400, 'INVALID_REQUEST'],
      ['a session timeout below the minimum', () => send('POST', path, { topics: ['bad-t'], sessionTimeoutMs: 10 }), 400, 'INVALID_SESSION_TIMEOUT'],
      ['a session timeout above the maximum', () => send('POST', path, { topics: ['bad-t'], sessionTimeoutMs: 3_600_000 }), 400, 'INVALID_SESSION_TIMEOUT'],
      ['a negative session timeout', () => send('POST', path, { topics: ['bad-t'], sessionTimeoutMs: -1 }), 400, 'INVALID_REQUEST'],
      ['a fractional session timeout', () => send('POST', path, { topics: ['bad-t'], sessionTimeoutMs: 1500.5 }), 400, 'INVALID_REQUEST'],
      ['a session timeout as a string', () => send('POST', path, { topics: ['bad-t'], sessionTimeoutMs: '5000' }), 400, 'INVALID_REQUEST'],
      ['a rebalance timeout below the minimum', () => send('POST', path, { topics: ['bad-t'], rebalanceTimeoutMs: 1 }), 400, 'INVALID_SESSION_TIMEOUT'],
      ['an instance id with control characters', () => send('POST', path, { topics: ['bad-t'], instanceId: 'a\u0000b' }), 400, 'INVALID_REQUEST'],
      ['an instance id of 256 characters', () => send('POST', path, { topics: ['bad-t'], instanceId: 'i'.repeat(256) }), 400, 'INVALID_REQUEST'],
      ['an oversized body', () => http('POST', path, JSON.stringify({ topics: ['bad-t'], pad: 'x'.repeat(2 * 1024 * 1024) })), 413, 'RECORD_LIST_TOO_LARGE'],
    ]
    for (const [what, run, status, code] of cases) {
      test(`refuses ${what}`, async () => {
        await unchanged(async () => expectError(await run(), status, code))
      })
    }

    test('refuses a group id with control characters, a slash or 256 characters on every group route', async () => {
      for (const id of ['a%00b', 'a%2Fb', 'g'.repeat(256), '%E2%80%AE']) {
        await expectError(await send('POST', `/v1/groups/${id}/members`, { topics: ['bad-t'] }), 400, 'INVALID_REQUEST')
        await expectError(await send('POST', `/v1/groups/${id}/members/abc/heartbeat`, { memberEpoch: 1, ownedPartitions: [] }), 400, 'INVALID_REQUEST')
        await expectError(await send('DELETE', `/v1/groups/${id}/members/abc`), 400, 'INVALID_REQUEST')
        await expectError(await send('GET', `/v1/groups/${id}`), 400, 'INVALID_REQUEST')
        await expectError(await send('POST', `/v1/groups/${id}/offsets/reset`, { to: 'earliest' }), 400, 'INVALID_REQUEST')
      }
    })

    test('refuses a member past the group\'s size limit (--group-max-size)', async () => {
      const third = await ok('POST', '/v1/groups/full-group/members', { topics: ['bad-t'] })
      await ok('POST', '/v1/groups/full-group/members', { topics: ['bad-t'] })
      await ok('POST', '/v1/groups/full-group/members', { topics: ['bad-t'] })
      await expectError(await send('POST', '/v1/groups/full-group/members', { topics: ['bad-t'] }), 409, 'GROUP_MAX_SIZE_REACHED')
      assert.equal((await ok('GET', '/v1/groups/full-group')).members.length, 3)
      await ok('DELETE', `/v1/groups/full-group/members/${third.memberId}`)
      await ok('POST', '/v1/groups/full-group/members', { topics: ['bad-t'] })
    })
  })

  describe('heartbeat and leave', () => {
    const hb = (id: string) => `/v1/groups/${G}/members/${id}/heartbeat`
    test('an unknown member, in a known group and in an unknown one, is 404 UNKNOWN_MEMBER_ID', async () => {
      await unchanged(async () => {
        await expectError(await send('POST', hb('nobody'), { memberEpoch: 1, ownedPartitions: [] }), 404, 'UNKNOWN_MEMBER_ID')
        await expectError(await send('POST', '/v1/groups/no-such-group/members/nobody/heartbeat', { memberEpoch: 1, ownedPartitions: [] }), 404, 'UNKNOWN_MEMBER_ID')
        await expectError(await send('DELETE', `/v1/groups/${G}/members/nobody`), 404, 'UNKNOWN_MEMBER_ID')
        await expectError(await send('DELETE', '/v1/groups/no-such-group/members/nobody'), 404, 'UNKNOWN_MEMBER_ID')
      })
    })

    test('a member id that is not one this node issues is 400', async () => {
      for (const id of ['a.b', '%20', 'x'.repeat(65), 'a%00', '%E2%80%AE']) {
        await expectError(await send('POST', hb(id), { memberEpoch: 1, ownedPartitions: [] }), 400, 'INVALID_REQUEST')
        await expectError(await send('DELETE', `/v1/groups/${G}/members/${id}`), 400, 'INVALID_REQUEST')
      }
    })

    const bodies: Array<[string, unknown]> = [
      ['no memberEpoch', { ownedPartitions: [] }],
      ['no ownedPartitions', { memberEpoch: 1 }],
      ['a negative epoch', { memberEpoch: -1, ownedPartitions: [] }],
      ['an epoch as a string', { memberEpoch: '1', ownedPartitions: [] }],
      ['an epoch past 2^31', { memberEpoch: 2 ** 31, ownedPartitions: [] }],
      ['ownedPartitions an object', { memberEpoch: 1, ownedPartitions: { topic: 'bad-t', partitions: [0] } }],
      ['partitions not an array', { memberEpoch: 1, ownedPartitions: [{ topic: 'bad-t', partitions: 0 }] }],
      ['a negative partition', { memberEpoch: 1, ownedPartitions: [{ topic: 'bad-t', partitions: [-1] }] }],
      ['an unknown field in ownedPartitions', { memberEpoch: 1, ownedPartitions: [{ topic: 'bad-t', partitions: [0], leaderEpoch: 1 }] }],
      ['an unknown top-level field', { memberEpoch: 1, ownedPartitions: [], rack: 'a' }],
      ['an empty topics list', { memberEpoch: 1, ownedPartitions: [], topics: [] }],
    ]
    for (const [what, body] of bodies) {
      test(`a heartbeat with ${what} is 400 and changes nothing`, async () => {
        await unchanged(async () => expectError(await send('POST', hb(member.memberId), body), 400, 'INVALID_REQUEST'))
      })
    }

    test('a heartbeat claiming partitions another member owns does not take them', async () => {
      const all = [{ topic: 'bad-t', partitions: [0, 1, 2, 3] }]
      const r = await ok('POST', hb(member.memberId), { memberEpoch: member.memberEpoch, ownedPartitions: all })
      assert.deepEqual(r.assignment, member.assignment)
      const d = await ok('GET', `/v1/groups/${G}`)
      const o = d.members.find((m: any) => m.memberId === other.memberId)
      assert.deepEqual(o.assignment, other.assignment)
    })

    test('a heartbeat subscribing to an internal topic is refused', async () => {
      await unchanged(async () =>
        expectError(await send('POST', hb(member.memberId), { memberEpoch: member.memberEpoch, ownedPartitions: member.assignment, topics: ['__consumer_offsets'] }), 400, 'INVALID_TOPIC'))
    })
  })

  describe('member commits: POST /v1/groups/{group}/offsets', () => {
    const path = `/v1/groups/${G}/offsets`
    const notOwned = () => other.assignment[0]!.partitions[0]!
    const owned = () => member.assignment[0]!.partitions[0]!
    const cases: Array<[string, () => unknown, number, string]> = [
      ['memberId without memberEpoch', () => ({ memberId: member.memberId, offsets: [{ topic: 'bad-t', partition: owned(), offset: 0 }] }), 400, 'INVALID_REQUEST'],
      ['memberEpoch without memberId', () => ({ memberEpoch: member.memberEpoch, offsets: [{ topic: 'bad-t', partition: owned(), offset: 0 }] }), 400, 'INVALID_REQUEST'],
      ['a negative memberEpoch', () => ({ memberId: member.memberId, memberEpoch: -1, offsets: [{ topic: 'bad-t', partition: owned(), offset: 0 }] }), 400, 'INVALID_REQUEST'],
      ['a malformed memberId', () => ({ memberId: 'a b', memberEpoch: 1, offsets: [{ topic: 'bad-t', partition: owned(), offset: 0 }] }), 400, 'INVALID_REQUEST'],
      ['an unknown member', () => ({ memberId: 'nobody', memberEpoch: 1, offsets: [{ topic: 'bad-t', partition: owned(), offset: 0 }] }), 404, 'UNKNOWN_MEMBER_ID'],
      ['a partition the member does not own', () => ({ memberId: member.memberId, memberEpoch: member.memberEpoch, offsets: [{ topic: 'bad-t', partition: notOwned(), offset: 0 }] }), 409, 'STALE_MEMBER_EPOCH'],
      ['one owned and one not owned partition', () => ({ memberId: member.memberId, memberEpoch: member.memberEpoch, offsets: [{ topic: 'bad-t', partition: owned(), offset: 0 }, { topic: 'bad-t', partition: notOwned(), offset: 0 }] }), 409, 'STALE_MEMBER_EPOCH'],
      ['an epoch ahead of the member\'s', () => ({ memberId: member.memberId, memberEpoch: member.memberEpoch + 1, offsets: [{ topic: 'bad-t', partition: owned(), offset: 0 }] }), 409, 'STALE_MEMBER_EPOCH'],
      ['an offset beyond the log end', () => ({ memberId: member.memberId, memberEpoch: member.memberEpoch, offsets: [{ topic: 'bad-t', partition: owned(), offset: 2 }] }), 416, 'OFFSET_OUT_OF_RANGE'],
      ['a plain commit to a group with members', () => ({ offsets: [{ topic: 'bad-t', partition: owned(), offset: 0 }] }), 404, 'UNKNOWN_MEMBER_ID'],
      ['a commit for an internal topic', () => ({ memberId: member.memberId, memberEpoch: member.memberEpoch, offsets: [{ topic: '__consumer_offsets', partition: 0, offset: 0 }] }), 404, 'UNKNOWN_TOPIC_OR_PARTITION'],
    ]
    for (const [what, body, status, code] of cases) {
      test(`refuses ${what}, storing nothing`, async () => {
        await unchanged(async () => expectError(await send('POST', path, body()), status, code))
      })
    }
    test('a member commit to a group that does not exist is UNKNOWN_MEMBER_ID', async () => {
      await expectError(await send('POST', '/v1/groups/ghost/offsets', { memberId: 'abc', memberEpoch: 1, offsets: [{ topic: 'bad-t', partition: 0, offset: 0 }] }), 404, 'UNKNOWN_MEMBER_ID')
      await expectError(await send('GET', '/v1/groups/ghost'), 404, 'GROUP_ID_NOT_FOUND')
    })
  })

  describe('reset, describe, lag, delete', () => {
    const path = '/v1/groups/reset-bad/offsets/reset'
    const bodies: Array<[string, unknown]> = [
      ['no to', { topics: [{ topic: 'bad-t' }] }],
      ['an unknown to', { to: 'middle' }],
      ['a negative offset', { to: { offset: -1 } }],
      ['a fractional offset', { to: { offset: 1.5 } }],
      ['a timestamp as a string', { to: { timestamp: '2024-01-01' } }],
      ['both offset and timestamp', { to: { offset: 1, timestamp: 2 } }],
      ['an empty topics list', { to: 'earliest', topics: [] }],
      ['an empty partitions list', { to: 'earliest', topics: [{ topic: 'bad-t', partitions: [] }] }],
      ['dryRun as a string', { to: 'earliest', dryRun: 'yes' }],
      ['an unknown field', { to: 'earliest', execute: true }],
    ]
    for (const [what, body] of bodies) {
      test(`a reset with ${what} is 400`, async () => {
        await expectError(await send('POST', path, body), 400, 'INVALID_REQUEST')
      })
    }
    test('a reset of a group with members is NON_EMPTY_GROUP and changes nothing', async () => {
      await unchanged(async () => expectError(await send('POST', `/v1/groups/${G}/offsets/reset`, { to: 'earliest' }), 409, 'NON_EMPTY_GROUP'))
    })
    test('describe and delete of an unknown group are 404; its lag is empty', async () => {
      await expectError(await send('GET', '/v1/groups/nope-group'), 404, 'GROUP_ID_NOT_FOUND')
      await expectError(await send('DELETE', '/v1/groups/nope-group'), 404, 'GROUP_ID_NOT_FOUND')
      assert.deepEqual(await ok('GET', '/v1/groups/nope-group/lag'), { group: 'nope-group', state: 'Empty', partitions: [], totalLag: 0 })
    })
  })

  test('no request here made the server answer 5xx, and the group still works', async () => {
    assert.deepEqual(serverErrors, [])
    const r = await ok('POST', `/v1/groups/${G}/members/${member.memberId}/heartbeat`, { memberEpoch: member.memberEpoch, ownedPartitions: member.assignment })
    assert.deepEqual(r.assignment, member.assignment)
  })
})
