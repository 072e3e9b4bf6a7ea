// Storage faults on a real node's files (RELIABILITY.md F16, F17): bytes changed in a stopped
// server's SQLite batch rows, as a bad disk or a cut file would, then a restart.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Database } from 'bun:sqlite'
import { join } from 'node:path'
import { removeDir, startServer, tempDir, type TestServer } from '../helpers/server.ts'

async function call(server: TestServer, path: string, body?: unknown) {
  const res = await fetch(server.url + path, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, body: (await res.json()) as any }
}

/** Changes one stored batch row of a stopped server's partition file. */
function rewriteBatch(dataDir: string, topicId: string, baseOffset: number, change: (d: Uint8Array) => Uint8Array): void {
  const db = new Database(join(dataDir, 'partitions', `${topicId}-0.db`))
  try {
    const row = db.query('SELECT data FROM batches WHERE base_offset = ?').get(baseOffset) as { data: Uint8Array }
    db.query('UPDATE batches SET data = ? WHERE base_offset = ?').run(change(new Uint8Array(row.data)), baseOffset)
  } finally {
    db.close()
  }
}

async function fiveBatches(server: TestServer, topic: string): Promise<string> {
  assert.equal((await call(server, '/v1/topics', { name: topic, partitions: 1 })).status, 201)
  for (let i = 0; i < 5; i++) assert.equal((await call(server, `/v1/topics/${topic}/records`, { records: [{ value: `v${i}` }] })).status, 200)
  return (await call(server, `/v1/topics/${topic}`)).body.topicId
}

describe('storage faults on a real node', () => {
  test('a flipped bit in a stored batch: a fetch that reaches it gets CORRUPT_MESSAGE, never its bytes; the records after it are still served', async () => {
    const dataDir = tempDir()
    let server = await startServer({ dataDir })
    try {
      const topicId = await fiveBatches(server, 'flip')
      await server.stop('SIGTERM')
      rewriteBatch(dataDir, topicId, 2, (d) => {
        d[d.length - 2]! ^= 0x20
        return d
      })
      server = await startServer({ dataDir })
      const bad = await call(server, '/v1/topics/flip/partitions/0/records?offset=2')
      assert.equal(bad.status, 500)
      assert.equal(bad.body.error.code, 'CORRUPT_MESSAGE')
      assert.ok(!JSON.stringify(bad.body).includes('v2'))
      const before = await call(server, '/v1/topics/flip/partitions/0/records?offset=0&maxRecords=2')
      assert.deepEqual(before.body.records.map((r: any) => r.value), ['v0', 'v1'])
      const after = await call(server, '/v1/topics/flip/partitions/0/records?offset=3')
      assert.deepEqual(after.body.records.map((r: any) => r.value), ['v3', 'v4'], 'nothing whole was cut with the flipped batch')
    } finally {
      await server.stop('SIGKILL')
      removeDir(dataDir)
    }
  })

  test('a torn last batch: the restarted node ends its log at the last whole batch and appends from there', async () => {
    const dataDir = tempDir()
    let server = await startServer({ dataDir })
    try {
      const topicId = await fiveBatches(server, 'torn')
      await server.stop('SIGKILL')
      rewriteBatch(dataDir, topicId, 4, (d) => d.slice(0, d.length - 9))
      server = await startServer({ dataDir })
      const t = await call(server, '/v1/topics/torn')
      assert.equal(t.body.partitions[0].logEndOffset, 4, 'the torn batch is gone')
      const produced = await call(server, '/v1/topics/torn/records', { records: [{ value: 'after' }] })
      assert.equal(produced.body.offsets[0].offset, 4)
      const all = await call(server, '/v1/topics/torn/partitions/0/records?offset=0')
      assert.deepEqual(all.body.records.map((r: any) => r.value), ['v0', 'v1', 'v2', 'v3', 'after'])
    } finally {
      await server.stop('SIGKILL')
      removeDir(dataDir)
    }
  })
})
