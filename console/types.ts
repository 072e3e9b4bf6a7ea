// The shapes of the public API answers the console reads (README "HTTP API", "Consumer groups").
// Fields another node version may not send are optional, and the views say "–" for them.

export interface PartitionInfo {
  partition: number
  leader?: number | string | null
  leaderEpoch?: number
  replicas?: Array<number | string>
  isr?: Array<number | string>
  logStartOffset: number
  highWatermark: number
  logEndOffset?: number
  sizeBytes?: number
}

export interface TopicInfo {
  name: string
  topicId?: string
  config: Record<string, string>
  partitions: PartitionInfo[]
}

export interface TopicListEntry {
  name: string
  partitions: number
}

export interface LagPartition {
  topic: string
  partition: number
  committed: number | null
  logStartOffset?: number
  highWatermark: number
  lag: number
  owner?: string | null
}

export interface GroupLag {
  group: string
  state?: string
  partitions: LagPartition[]
  totalLag: number
}

export interface GroupListEntry {
  group: string
  state?: string
  members?: number
  groupEpoch?: number
}

export interface TopicPartitions {
  topic: string
  partitions: number[]
}

export interface GroupMember {
  memberId: string
  instanceId?: string | null
  memberEpoch?: number
  state?: string
  topics?: string[]
  assignment?: TopicPartitions[]
  pendingRevocation?: TopicPartitions[]
  targetAssignment?: TopicPartitions[]
}

export interface GroupDescription {
  group: string
  state?: string
  groupEpoch?: number
  assignmentEpoch?: number
  coordinator?: unknown
  members: GroupMember[]
}

export interface ResetAnswer {
  group: string
  dryRun: boolean
  offsets: Array<{ topic: string; partition: number; previous: number | null; offset: number }>
}
