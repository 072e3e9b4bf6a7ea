// The outbox: what an edge has accepted and not yet seen confirmed by its region. One local
// partition log per (topic, partition) in SQLite (`outbox/<topic>-<partition>.db`), appended
// with the broker's own group commit (src/broker/partition.ts), so acks=1 at an edge means
// exactly what acks=1 means at a broker: the record is in this node's SQLite log. Outbox
// offsets are local; the region assigns the final ones when the shipper delivers (shipper.ts).
// The outbox is bounded: --outbox-bytes of stored and queued bytes, all partitions together.
import type { StorageProvider } from '../../storage/driver.ts'
import { Partition } from '../broker/partition.ts'
import { COMPRESSION } from '../codec/compression.ts'
import { compressBatch, readBatchHeader } from '../codec/record-batch.ts'
import type { Runtime } from '../core/clock.ts'
import { assert, EdgelogError } from '../core/errors.ts'
import type { AppendRequest } from '../log/partition-log.ts'
import { PartitionLog } from '../log/partition-log.ts'

/** OUTBOX_FULL, with how long the client should wait before trying again. */
export class OutboxFullError extends EdgelogError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('OUTBOX_FULL', message)
  }
}

export class OutboxPartition {
  readonly partition: Partition
  constructor(
    readonly topic: string,
    readonly index: number,
    readonly log: PartitionLog,
    runtime: Runtime,
    onCommit: (p: OutboxPartition, records: number) => void,
  ) {
    this.partition = new Partition(topic, index, log, runtime, (_p, records) => onCommit(this, records))
  }

  /** Records committed to this outbox partition (its log end: everything appended is committed). */
  get end(): number {
    return this.partition.highWatermark
  }
}

export class Outbox {
  private readonly parts = new Map<string, OutboxPartition>()
  /** Bytes of appends validated and queued, not yet in a log. */
  private reserved = 0
  private closed = false

  constructor(
    private readonly storage: StorageProvider,
    private readonly runtime: Runtime,
    readonly limitBytes: number,
    private readonly onCommit: (p: OutboxPartition, records: number) => void,
  ) {}

  get(topic: string, index: number): OutboxPartition | undefined {
    return this.parts.get(key(topic, index))
  }

  /** The outbox partition, opened (created on first use) from its SQLite file. */
  open(topic: string, index: number): OutboxPartition {
    assert(!this.closed, 'the outbox is open')
    let p = this.parts.get(key(topic, index))
    if (!p) {
      // Topic names were checked (names.ts) before they got here: they are safe in a file name.
      p = new OutboxPartition(topic, index, PartitionLog.open(this.storage.open(fileName(topic, index))), this.runtime, this.onCommit)
      this.parts.set(key(topic, index), p)
    }
    return p
  }

  all(): OutboxPartition[] {
    return [...this.parts.values()]
  }

  /** Stored bytes in every outbox log plus what is queued for them. */
  get usedBytes(): number {
    let bytes = this.reserved
    for (const p of this.parts.values()) bytes += p.log.sizeBytes
    return bytes
  }

  /**
   * Reserves room for `bytes` about to be appended, or refuses with OUTBOX_FULL: the outbox
   * never grows past its limit, however long the region is away. Release the reservation once
   * the appends settled (their bytes are then counted in the logs).
   */
  reserve(bytes: number, retryAfterSeconds: number): () => void {
    if (this.closed) throw new EdgelogError('SHUTTING_DOWN', 'the node is shutting down')
    const used = this.usedBytes
    if (used + bytes > this.limitBytes) {
      throw new OutboxFullError(
        `the edge's outbox holds ${used} of its ${this.limitBytes} bytes and cannot take ${bytes} more until upstream confirms what it holds`,
        retryAfterSeconds,
      )
    }
    this.reserved += bytes
    let released = false
    return () => {
      if (released) return
      released = true
      this.reserved -= bytes
      assert(this.reserved >= 0, 'outbox reservations never go negative')
    }
  }

  /** Appends through the partition's group commit; gzip first when the topic or request asks for it. */
  append(p: OutboxPartition, request: AppendRequest, codec: 'none' | 'gzip', maxBytes: number) {
    const prepared: AppendRequest | Promise<AppendRequest> =
      codec === 'none'
        ? request
        : compressBatch(request.batch, COMPRESSION.gzip).then((batch) =>
            // Incompressible records can grow by a few bytes; the uncompressed batch always fits.
            batch.byteLength > maxBytes ? request : { batch, header: readBatchHeader(batch) },
          )
    return p.partition.append(prepared, request.batch.byteLength)
  }

  close(sync: (p: OutboxPartition) => void): void {
    if (this.closed) return
    this.closed = true
    for (const p of this.parts.values()) {
      p.partition.close()
      sync(p)
      p.log.close()
    }
  }
}

function key(topic: string, index: number): string {
  return `${index}\u0000${topic}`
}

/** `outbox/<topic>-<partition>`: the partition number after the last '-' keeps names unique. */
function fileName(topic: string, index: number): string {
  return `outbox/${topic}-${index}`
}
