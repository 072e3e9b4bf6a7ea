// Wires a broker into a cluster on real infrastructure: etcd through its JSON gateway for the
// metadata, HTTP between brokers for replication and forwarding. Runtime-agnostic (fetch
// only): the runtime entry point brings storage and the clock.
import type { StorageProvider } from '../../storage/driver.ts'
import type { ClusterApi } from '../api/cluster.ts'
import type { BrokerOpenOptions } from '../broker/broker.ts'
import type { Runtime } from '../core/clock.ts'
import { DEFAULT_REPLICATION_CONFIG, type ReplicationConfig } from '../replication/config.ts'
import { HttpReplicaTransport } from '../replication/http-transport.ts'
import type { ClusterConfig } from './broker-agent.ts'
import { EtcdMetaStore } from './etcd-store.ts'
import { forwardProduce, handleForwardedProduce } from './forward.ts'
import { GroupPeers } from './group-peers.ts'
import { validateGroupName } from '../broker/names.ts'
import { ClusterNode } from './node.ts'

export interface ClusterStartOptions {
  nodeId: number
  etcd: string[]
  storage: StorageProvider
  runtime: Runtime
  broker: BrokerOpenOptions
  replication?: Partial<ReplicationConfig>
  cluster?: Partial<ClusterConfig>
  /** Shared by the cluster's brokers; replica routes refuse requests without it. */
  peerToken?: string
  log?: (message: string) => void
  /** The longest a forwarded request may take (a long poll's wait included). */
  forwardTimeoutMs: number
  maxRequestBytes: number
  /** `--offsets-topic-replication-factor`; min(3, live brokers) when absent. */
  offsetsTopicReplicationFactor?: number
}

/** Largest replica fetch answer: replica.fetch.max.bytes plus one batch of the largest max.message.bytes. */
const MAX_FETCH_ANSWER_BYTES = 64 * 1024 * 1024

/** Opens the broker as a cluster member; `node.join(url)` once the server listens. */
export function openClusterNode(opts: ClusterStartOptions): { node: ClusterNode; api: ClusterApi } {
  const replication = { ...DEFAULT_REPLICATION_CONFIG, ...opts.replication }
  let node: ClusterNode | undefined
  const leaderUrl = (topic: string, partition: number) => node?.leaderUrl(topic, partition)
  let countForward: (kind: 'produce' | 'fetch' | 'group' | 'other') => void = () => {}
  node = ClusterNode.open({
    nodeId: opts.nodeId,
    advertisedUrl: '',
    storage: opts.storage,
    runtime: opts.runtime,
    store: new EtcdMetaStore({ endpoints: opts.etcd }),
    transport: (agent) => new HttpReplicaTransport({
      resolve: (id) => agent.snapshot?.brokers.get(id)?.value.url,
      requestTimeoutMs: replication.replicaRequestTimeoutMs,
      maxResponseBytes: MAX_FETCH_ANSWER_BYTES,
      peerToken: opts.peerToken,
    }),
    broker: {
      ...opts.broker,
      forwardProduce: forwardProduce({
        nodeId: opts.nodeId,
        leaderUrl,
        timeoutMs: opts.forwardTimeoutMs,
        maxResponseBytes: 64 * 1024 * 1024,
        peerToken: opts.peerToken,
        onForward: () => countForward('produce'),
      }),
    },
    replication,
    cluster: opts.cluster,
    log: opts.log,
    offsetsTopicReplicationFactor: opts.offsetsTopicReplicationFactor,
    groupPeers: new GroupPeers({ peerToken: opts.peerToken, timeoutMs: opts.forwardTimeoutMs }),
  })
  const n = node
  const forwarded = n.broker.metrics.counter('edgelog_forwarded_requests_total', 'Requests passed on to the partition leader on a client\'s behalf (one hop), per kind')
  countForward = (kind) => forwarded.inc({ kind })
  const api: ClusterApi = {
    createTopic: (input) => n.createTopic(input),
    deleteTopic: (name) => n.deleteTopic(name),
    alterTopicConfig: (name, set, remove) => n.alterTopicConfig(name, set, remove),
    handleReplicaFetch: (req) => n.handleReplicaFetch(req),
    handleOffsetsForLeaderEpoch: (req) => n.handleOffsetsForLeaderEpoch(req),
    peerToken: opts.peerToken,
    forward: { nodeId: opts.nodeId, leaderUrl, timeoutMs: opts.forwardTimeoutMs, maxRequestBytes: opts.maxRequestBytes, onForward: (kind) => countForward(kind) },
    brokers: () => n.brokersView(),
    coordinatorOf: (group, create) => n.coordinatorOf(group, create),
    awaitCoordinator: (group, create, ms) => n.awaitCoordinator(group, create, ms),
    handlePositions: (req) => n.localPositions(req),
    handleForwardedProduce: (req) => handleForwardedProduce(n.broker, req),
    maxRequestBytes: opts.maxRequestBytes,
    // Routed by the broker the frame arrived at; a stale route is answered NOT_COORDINATOR here.
    handlePeerMember: (req) => n.handlePeerMember({ ...req, group: validateGroupName(req.group) }),
    handlePeerCommit: async (req) => {
      await n.broker.groups.commit(validateGroupName(req.group), { offsets: req.offsets })
    },
  }
  return { node: n, api }
}
