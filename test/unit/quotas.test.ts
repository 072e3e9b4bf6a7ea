// Token buckets and quota bookkeeping with a hand-driven clock: the math, the 429 shape, and
// that no map grows without bound.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { BucketMap, Quotas, SlotCounter, ThrottledError } from '../../src/quota/quotas.ts'
import { TokenBucket } from '../../src/quota/token-bucket.ts'

function fakeClock() {
  let t = 1000
  return { now: () => t, monotonic: () => t, advance: (ms: number) => (t += ms) }
}

describe('token bucket', () => {
  test('takes up to the burst, then refills at the rate', () => {
    const b = new TokenBucket(10, 10, 0)
    for (let i = 0; i < 10; i++) assert.equal(b.tryTake(1, 0), 0)
    assert.equal(b.tryTake(1, 0), 100, 'one token takes 100 ms at 10/s')
    assert.equal(b.tryTake(1, 50), 50)
    assert.equal(b.tryTake(1, 100), 0)
    assert.ok(!b.isFull(100))
    assert.ok(b.isFull(10_000))
    assert.equal(b.tryTake(1, 10_000), 0)
    assert.equal(b.tryTake(10, 10_000), 100, 'never more than the burst saved up')
  })

  test('charging goes into debt, which is waited off', () => {
    const b = new TokenBucket(1000, 1000, 0)
    b.charge(5000, 0)
    assert.equal(b.debtMs(0), 4000)
    assert.equal(b.debtMs(3000), 1000)
    assert.equal(b.debtMs(4000), 0)
  })

  test('a clock that does not move does not refill, one that moves back does not drain', () => {
    const b = new TokenBucket(1, 1, 100)
    assert.equal(b.tryTake(1, 100), 0)
    assert.ok(b.tryTake(1, 50) > 0)
    assert.equal(b.tryTake(1, 1100), 0)
  })
})

describe('bounded maps', () => {
  test('BucketMap keeps at most max buckets and forgets the least recently used first', () => {
    const m = new BucketMap(1, 3)
    m.get('a', 0).tryTake(1, 0)
    m.get('b', 0)
    m.get('c', 0)
    m.get('a', 0) // a is now the most recent
    m.get('d', 0) // evicts b
    assert.equal(m.size, 3)
    assert.ok(m.get('a', 0).tryTake(1, 0) > 0, 'a kept its state')
    for (let i = 0; i < 10_000; i++) m.get(`k${i}`, 0)
    assert.equal(m.size, 3)
  })

  test('SlotCounter refuses past the limit and forgets keys at zero; a release is idempotent', () => {
    const s = new SlotCounter(2)
    const r1 = s.acquire('x')!
    const r2 = s.acquire('x')!
    assert.equal(s.acquire('x'), undefined)
    r1()
    r1()
    assert.ok(s.acquire('x'))
    r2()
    assert.equal(s.size, 1)
  })
})

describe('quotas', () => {
  test('over the request rate: THROTTLED with a Retry-After in whole seconds, per key', () => {
    const clock = fakeClock()
    const q = new Quotas({ requestsPerSec: 2 }, clock)
    q.takeRequest('a')
    q.takeRequest('a')
    assert.throws(
      () => q.takeRequest('a'),
      (err: unknown) => err instanceof ThrottledError && err.code === 'THROTTLED' && err.status === 429 && err.headers?.['retry-after'] === '1' && err.quota === 'requests',
    )
    q.takeRequest('b')
    clock.advance(500)
    q.takeRequest('a')
  })

  test('produce bytes: a request is refused while its principal is in debt, with the debt as Retry-After', () => {
    const clock = fakeClock()
    const q = new Quotas({ produceBytesPerSec: 1000 }, clock)
    q.checkProduceBytes('a')
    q.chargeProduceBytes('a', 4500)
    assert.throws(() => q.checkProduceBytes('a'), (err: unknown) => err instanceof ThrottledError && err.headers?.['retry-after'] === '4')
    q.checkProduceBytes('b')
    clock.advance(3500)
    q.checkProduceBytes('a')
  })

  test('connection and long-poll caps release their slots', () => {
    const q = new Quotas({ maxConnectionsPerIp: 1, maxConnectionsPerPrincipal: 1, maxLongPollsPerPrincipal: 1 }, fakeClock())
    const ip = q.acquireIp('1.2.3.4')
    assert.throws(() => q.acquireIp('1.2.3.4'), (e: unknown) => e instanceof ThrottledError && e.quota === 'connections_per_ip')
    q.acquireIp('5.6.7.8')
    ip()
    q.acquireIp('1.2.3.4')
    const lp = q.acquireLongPoll('p')
    assert.throws(() => q.acquireLongPoll('p'), (e: unknown) => e instanceof ThrottledError && e.quota === 'long_polls_per_principal')
    lp()
    q.acquireLongPoll('p')
    q.acquirePrincipal('p')
    assert.throws(() => q.acquirePrincipal('p'), (e: unknown) => e instanceof ThrottledError && e.quota === 'connections_per_principal')
  })

  test('no quota set: inactive, and every call is free', () => {
    const q = new Quotas({}, fakeClock())
    assert.equal(q.active, false)
    for (let i = 0; i < 1000; i++) {
      q.takeRequest('a')
      q.acquireIp('x')
      q.checkProduceBytes('a')
      q.chargeProduceBytes('a', 1e9)
    }
  })
})
