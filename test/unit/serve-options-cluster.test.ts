// `edgelog serve` cluster flags: --etcd joins a cluster, and the cluster's knobs are bounded.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { parseServeOptions } from '../../src/cli/serve-options.ts'

describe('serve options for a cluster', () => {
  test('without --etcd the node is a cluster of one; --etcd and --peer-token also come from the environment', () => {
    assert.equal(parseServeOptions([], {}).etcd, undefined)
    const o = parseServeOptions(['--node-id', '2', '--advertise', 'http://10.0.0.2:8080'], { EDGELOG_ETCD: 'http://127.0.0.1:2379', EDGELOG_PEER_TOKEN: 'sixteen-chars-ok' })
    assert.equal(o.etcd, 'http://127.0.0.1:2379')
    assert.equal(o['peer-token'], 'sixteen-chars-ok')
    assert.equal(o['node-id'], 2)
    assert.equal(o['lease-ttl-seconds'], 6)
  })

  test('bad cluster flags are refused with the flag named', () => {
    assert.throws(() => parseServeOptions(['--advertise', 'not a url'], {}), /--advertise/)
    assert.throws(() => parseServeOptions(['--peer-token', 'short'], {}), /--peer-token/)
    assert.throws(() => parseServeOptions(['--lease-ttl-seconds', '1'], {}), /--lease-ttl-seconds/)
    assert.throws(() => parseServeOptions(['--replica-lag-time-max-ms', '-5'], {}), /--replica-lag-time-max-ms/)
    assert.throws(() => parseServeOptions(['--offsets-topic-replication-factor', '0'], {}), /--offsets-topic-replication-factor/)
    assert.throws(() => parseServeOptions(['--offsets-topic-replication-factor', 'three'], {}), /--offsets-topic-replication-factor/)
  })

  test('--offsets-topic-replication-factor is unset by default (min(3, live brokers) at creation) and taken when given', () => {
    assert.equal(parseServeOptions([], {})['offsets-topic-replication-factor'], undefined)
    assert.equal(parseServeOptions(['--offsets-topic-replication-factor', '2'], {})['offsets-topic-replication-factor'], 2)
  })
})
