// A consumer group member as its own process, for tests that SIGKILL or SIGSTOP one. It runs a
// GroupConsumer and prints one JSON line per event on stdout, each with the wall-clock time
// (same machine, same clock as the test):
//   {"e":"assign"|"revoke","t":ms,"tps":["topic:p",...],"lost":bool}
//   {"e":"rec","t":ms,"topic","partition","offset","value"}
//   {"e":"error","t":ms,"code","message"}
// Settings come from the environment: EDGELOG_URL, GROUP, TOPICS (comma-separated),
// SESSION_TIMEOUT_MS, INSTANCE_ID, HANDLE_MS (time spent per record). SIGTERM stops it
// gracefully (commit, leave).
import { GroupConsumer } from '../../src/client/group-consumer.ts'
import { isEdgelogError } from '../../src/client/errors.ts'

const env = process.env
const out = (event: Record<string, unknown>) => process.stdout.write(JSON.stringify({ ...event, t: Date.now() }) + '\n')
const handleMs = Number(env.HANDLE_MS ?? 0)

const consumer = new GroupConsumer({
  url: env.EDGELOG_URL!,
  group: env.GROUP!,
  topics: env.TOPICS!.split(','),
  sessionTimeoutMs: Number(env.SESSION_TIMEOUT_MS ?? 4000),
  ...(env.INSTANCE_ID ? { instanceId: env.INSTANCE_ID } : {}),
  maxWaitMs: 200,
  onAssign: (tps) => out({ e: 'assign', tps: tps.map((tp) => `${tp.topic}:${tp.partition}`) }),
  onRevoke: (tps, lost) => out({ e: 'revoke', tps: tps.map((tp) => `${tp.topic}:${tp.partition}`), lost }),
  onError: (error) => out({ e: 'error', code: isEdgelogError(error) ? error.code : 'OTHER', message: String((error as Error)?.message ?? error) }),
})

process.on('SIGTERM', () => void consumer.stop())
await consumer.run(async (r) => {
  if (handleMs > 0) await new Promise((resolve) => setTimeout(resolve, handleMs))
  out({ e: 'rec', topic: r.topic, partition: r.partition, offset: r.offset, value: r.value })
})
out({ e: 'stopped' })
process.exit(0)
