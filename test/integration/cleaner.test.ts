// Retention, compaction, runtime config changes and compression against a real `edgelog serve`
// process whose log cleaner runs every 200 ms.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { removeDir, startServer, type TestServer } from '../helpers/server.ts'

let server: TestServer

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(server.url + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text }
}

/** Polls until `check` returns a truthy value (the cleaner runs in the background). */
async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    const v = await check()
    if (v) return v
    last = v
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`)
}

const partition0 = async (topic: string) => (await call('GET', `/v1/topics/${topic}`)).body.partitions[0]

describe('log cleaner against a real server', () => {
  before(async () => {
    server = await startServer({ args: ['--cleaner-interval-ms', '200'] })
  })
  after(async () => {
    await server.stop()
    removeDir(server.dataDir)
  })

  test('records past retention.ms expire: the log start advances, a fetch below it is 416, earliest moves', async () => {
    assert.equal((await call('POST', '/v1/topics', { name: 'expiring', partitions: 1, config: { 'retention.ms': 60_000 } })).status, 201)
    const old = Date.now() - 10 * 60_000
    const r1 = await call('POST', '/v1/topics/expiring/records', { records: [{ value: 'old-1', timestamp: old }, { value: 'old-2', timestamp: old }] })
    assert.equal(r1.status, 200)
    await call('POST', '/v1/topics/expiring/records', { records: [{ value: 'fresh' }] })
    const p = await eventually('the log start to pass the old records', async () => {
      const p = await partition0('expiring')
      return p.logStartOffset === 2 && p
    })
    assert.equal(p.highWatermark, 3)
    const below = await call('GET', '/v1/topics/expiring/partitions/0/records?offset=0')
    assert.equal(below.status, 416)
    assert.equal(below.body.error.code, 'OFFSET_OUT_OF_RANGE')
    const earliest = await call('GET', '/v1/topics/expiring/partitions/0/records?offset=earliest')
    assert.deepEqual(earliest.body.records.map((r: { offset: number; value: string }) => [r.offset, r.value]), [[2, 'fresh']])
    assert.equal(earliest.body.logStartOffset, 2)
    // The fresh record stays: the cleaner keeps running and leaves it alone.
    await new Promise((r) => setTimeout(r, 600))
    assert.equal((await partition0('expiring')).logStartOffset, 2)
  })

  test('PATCH /v1/topics/{t}/config is validated, persisted and live: lowering retention.bytes deletes at the next run, and survives a restart', async () => {
    await call('POST', '/v1/topics', { name: 'patched', partitions: 1 })
    for (let i = 0; i < 5; i++) await call('POST', '/v1/topics/patched/records', { records: [{ value: { i, pad: 'x'.repeat(200) } }] })
    await new Promise((r) => setTimeout(r, 500))
    assert.equal((await partition0('patched')).logStartOffset, 0, 'the defaults keep everything')

    const bad = [
      [{ set: { 'retention.mss': 1 } }, 400, 'INVALID_CONFIG'],
      [{ set: { 'retention.ms': 'soon' } }, 400, 'INVALID_CONFIG'],
      [{ set: { 'compression.type': 'lz4' } }, 400, 'INVALID_CONFIG'],
      [{ delete: ['nope'] }, 400, 'INVALID_CONFIG'],
      [{ set: { 'retention.ms': 1 }, delete: ['retention.ms'] }, 400, 'INVALID_CONFIG'],
      [{}, 400, 'INVALID_REQUEST'],
      [{ set: {}, extra: 1 }, 400, 'INVALID_REQUEST'],
      ['not json', 400, 'INVALID_REQUEST'],
    ] as const
    for (const [body, status, code] of bad) {
      const r = await call('PATCH', '/v1/topics/patched/config', body)
      assert.equal(r.status, status, JSON.stringify(body))
      assert.equal(r.body.error.code, code, JSON.stringify(body))
    }
    assert.equal((await call('PATCH', '/v1/topics/nope/config', { set: { 'retention.ms': 1 } })).status, 404)

    const patched = await call('PATCH', '/v1/topics/patched/config', { set: { 'retention.bytes': 0, 'delete.retention.ms': 1000 } })
    assert.equal(patched.status, 200)
    assert.equal(patched.body.config['retention.bytes'], '0')
    await eventually('retention.bytes=0 to empty the partition', async () => (await partition0('patched')).logStartOffset === 5)
    assert.equal((await partition0('patched')).sizeBytes, 0)
    const back = await call('PATCH', '/v1/topics/patched/config', { delete: ['retention.bytes'] })
    assert.equal(back.body.config['retention.bytes'], '-1')

    // Restart on the same data directory: the override and the log start are still there.
    await server.stop()
    server = await startServer({ dataDir: server.dataDir, args: ['--cleaner-interval-ms', '200'] })
    const after = await call('GET', '/v1/topics/patched')
    assert.equal(after.body.config['delete.retention.ms'], '1000')
    assert.equal(after.body.config['retention.bytes'], '-1')
    assert.equal(after.body.partitions[0].logStartOffset, 5)
    assert.equal(after.body.partitions[0].logEndOffset, 5)
    const next = await call('POST', '/v1/topics/patched/records', { records: [{ value: 'after restart' }] })
    assert.deepEqual(next.body.offsets, [{ partition: 0, offset: 5 }], 'offsets continue after the deleted ones')
  })

  test('a compacted topic serves the latest value per key with its original offset; keyless records are refused', async () => {
    await call('POST', '/v1/topics', { name: 'profiles', partitions: 1, config: { 'cleanup.policy': 'compact' } })
    const keyless = await call('POST', '/v1/topics/profiles/records', { records: [{ value: 'no key' }] })
    assert.equal(keyless.status, 400)
    assert.equal(keyless.body.error.code, 'INVALID_RECORD')
    const writes: Array<[string, unknown]> = [
      ['user-1', { name: 'Ada' }],
      ['user-2', { name: 'Bob' }],
      ['user-1', { name: 'Ada L.' }],
      ['user-3', { name: 'Cy' }],
      ['user-2', null], // tombstone (kept: delete.retention.ms is a day)
      ['user-1', { name: 'Ada Lovelace' }],
      ['tail', 'newest batch'],
    ]
    for (const [key, value] of writes) await call('POST', '/v1/topics/profiles/records', { records: [{ key, value }] })
    const expected = [
      [3, 'user-3', { name: 'Cy' }],
      [4, 'user-2', null],
      [5, 'user-1', { name: 'Ada Lovelace' }],
      [6, 'tail', 'newest batch'],
    ]
    await eventually('compaction to leave the latest per key', async () => {
      const f = await call('GET', '/v1/topics/profiles/partitions/0/records?offset=0')
      const got = f.body.records.map((r: { offset: number; key: string; value: unknown }) => [r.offset, r.key, r.value])
      return JSON.stringify(got) === JSON.stringify(expected) && f
    })
    const p = await partition0('profiles')
    assert.deepEqual([p.logStartOffset, p.highWatermark, p.logEndOffset], [0, 7, 7], 'offsets and the log end never move')
    // Reading from an offset compaction removed continues with the next survivor.
    const mid = await call('GET', '/v1/topics/profiles/partitions/0/records?offset=1&maxRecords=1')
    assert.deepEqual([mid.body.records[0].offset, mid.body.nextOffset], [3, 4])
  })

  test('a gzip topic round trips; a producer can ask for gzip; snappy, lz4 and zstd cannot be written', async () => {
    await call('POST', '/v1/topics', { name: 'zipped', partitions: 1, config: { 'compression.type': 'gzip' } })
    const values = Array.from({ length: 300 }, (_, i) => ({ i, text: 'compressible '.repeat(10) }))
    const produced = await call('POST', '/v1/topics/zipped/records', { records: values.map((value) => ({ value })) })
    assert.equal(produced.status, 200)
    const p = await partition0('zipped')
    assert.ok(p.sizeBytes < JSON.stringify(values).length / 4, `stored compressed: ${p.sizeBytes} bytes`)
    const f = await call('GET', '/v1/topics/zipped/partitions/0/records?offset=0&maxRecords=1000')
    assert.deepEqual(f.body.records.map((r: { value: unknown }) => r.value), values)

    await call('POST', '/v1/topics', { name: 'asked', partitions: 1 })
    const asked = await call('POST', '/v1/topics/asked/records?compression=gzip', { records: values.map((value) => ({ value })) })
    assert.equal(asked.status, 200)
    assert.ok((await partition0('asked')).sizeBytes < JSON.stringify(values).length / 4)
    const back = await call('GET', '/v1/topics/asked/partitions/0/records?offset=299')
    assert.deepEqual(back.body.records[0].value, values[299])
    for (const codec of ['zstd', 'lz4', 'snappy', 'brotli']) {
      const r = await call('POST', `/v1/topics/asked/records?compression=${codec}`, { records: [{ value: 1 }] })
      assert.equal(r.status, 400, codec)
      assert.equal(r.body.error.code, 'INVALID_REQUEST')
    }
    const bad = await call('POST', '/v1/topics', { name: 'zstd-topic', partitions: 1, config: { 'compression.type': 'zstd' } })
    assert.equal(bad.body.error.code, 'INVALID_CONFIG')
  })

  test('GET /metrics reports cleaner runs, compaction and compression (counters since the restart above)', async () => {
    const m = (await call('GET', '/metrics')).body as string
    assert.match(m, /edgelog_cleaner_runs_total [1-9]\d*\n/)
    assert.match(m, /edgelog_compaction_records_removed_total\{topic="profiles"\} [1-9]\n/)
    assert.match(m, /edgelog_compressed_batches_total\{topic="zipped",codec="gzip"\} 1\n/)
    assert.match(m, /edgelog_partition_log_start_offset\{topic="expiring",partition="0"\} 2\n/)
  })
})
