// Usage text, kept in one place so `edgelog --help` and each command's `--help` agree.
// test/unit/cli-args.test.ts checks that every flag a command accepts is documented here.

const common = `Common flags:
  --url URL        the node to talk to (default $EDGELOG_URL, else http://127.0.0.1:8080)
  -h, --help       show this help
`

const progress = `Progress (to stderr):
  --progress auto|live|plain|off   auto (default): a live line on a terminal, a plain line
                                   every 2 s when stderr is not a terminal (logs, CI)
  --progress-interval-ms N         how often it is drawn (live 100, plain 2000)
`

const main = `edgelog: a Kafka-style event log for the edge

Usage: edgelog COMMAND [flags]

Commands:
  serve      run a node (edgelog serve --help)
  topics     create, list, describe, alter and delete topics
  produce    send lines or JSON records from stdin to a topic
  consume    print records of a topic to stdout
  groups     list, describe, reset and delete consumer groups
  bench      produce N records of S bytes and print throughput and latency percentiles

Run 'edgelog COMMAND --help' for a command's flags.
Exit codes: 0 ok, 1 the server or the input refused (error: CODE: message), 2 usage error,
130 interrupted.
`

const topics = `Usage:
  edgelog topics create NAME [--partitions N] [--replication-factor N] [--config key=value ...]
  edgelog topics list
  edgelog topics describe NAME
  edgelog topics alter NAME [--config key=value ...] [--delete-config key ...]
  edgelog topics delete NAME

Flags:
  --partitions N           partitions of a new topic (default 1)
  --replication-factor N   copies of each partition (default: the server's)
  --config key=value       topic config in Kafka's spelling, repeatable, e.g.
                           --config retention.ms=86400000 --config cleanup.policy=compact
  --delete-config key      (alter) return a config to its default, repeatable
  --json                   print the server's JSON answer instead of a table
${common}`

const produce = `Usage: edgelog produce TOPIC [flags] < input
       edgelog produce TOPIC --file PATH [flags]

Reads stdin (or the file) and sends one record per line, in batches.

Flags:
  --format lines|ndjson   lines (default): each line is a string value;
                          ndjson: each line is a JSON value
  --records               with ndjson, a line that is an object with a "value" field is a
                          whole record: {"key", "value", "headers", "partition", "timestamp"}
  --key K                 give every record the key K (same key, same partition)
  --key-field F           with ndjson, take the key from field F of each value
  --partition P           send every record to partition P
  --acks 0|1|all          durability to wait for (default: the server's)
  --batch-size N          records per request (default 1000)
  --linger-ms N           wait up to N ms for a batch to fill (default 20)
  --max-in-flight N       requests in flight at once (default 1); above 1 records of one
                          partition may be stored out of order if a request is slow
  --file PATH             read PATH instead of stdin ('-' is stdin)
${progress}${common}
Progress shows records, bytes, records/s and bytes/s, and, when the input's size is known
(--file, or stdin redirected from a file), the share done and an ETA. A summary (records,
bytes, seconds, records/s) goes to stderr at the end. The first error stops the run with
exit code 1.
`

const consume = `Usage: edgelog consume TOPIC [flags]

Prints the records of every partition (or one) to stdout.

Flags:
  --from earliest|latest|OFFSET   where to start (default earliest)
  --partition P                   read only partition P
  --group G                       start from group G's committed offsets (else --from) and
                                  commit after printing each batch
  --follow                        keep waiting for new records until Ctrl-C or stdin closes;
                                  without it, stop at the high watermark seen at start
  --to-end                        stop at the high watermarks seen at start (the default
                                  without --follow; say it in scripts)
  --max-records N                 stop after N records
  --format ndjson|value           ndjson (default): one JSON object per record
                                  {topic, partition, offset, key, value, headers, timestamp};
                                  value: only the value, strings raw, others as JSON
${progress}${common}
Without --follow, progress shows each partition's position against its end offset, the
share done, records/s and an ETA, then a summary line; auto shows no live line when the
records themselves go to the terminal.

Note: with --follow a closed stdin ends the run; use '< /dev/tty' or keep a pipe open when
running it from a service manager or 'docker run' without -i.
`

const groups = `Usage:
  edgelog groups list
  edgelog groups describe GROUP
  edgelog groups reset GROUP (--to earliest|latest | --to-offset N | --to-timestamp T)
                       [--topic TOPIC[:P,P...] ...] [--dry-run]
  edgelog groups delete GROUP

describe shows the group's state and epoch, each member with its epoch, state, assignment
and the partitions it is giving up, and per partition the committed offset, high watermark,
lag and owning member. reset moves the committed offsets of a group that has no members;
delete removes an empty group and its offsets.

Flags:
  --to earliest|latest     reset to the log start or the high watermark
  --to-offset N            reset to offset N (it must be in the log)
  --to-timestamp T         reset to the first record at or after T (epoch ms or
                           ISO-8601 with a zone, e.g. 2024-05-01T12:00:00Z)
  --topic TOPIC[:P,P...]   the partitions to reset, repeatable (default: every partition
                           the group has committed offsets for)
  --dry-run                show the new offsets without storing them
  --json                   print the server's JSON answer instead of a table
${common}`

// serve's flags belong to the server (src/cli/serve-options.ts prints them); repeating them
// here would drift.
const serve = `Usage: edgelog serve [flags]

Runs a node in this process. 'edgelog serve --help' lists its flags.
`

const bench = `Usage: edgelog bench [TOPIC] [flags]

Produces N records of S random bytes to TOPIC (default edgelog-bench; created with
--partitions if missing) and prints the throughput and the latency percentiles of the produce
requests (p50, p95, p99, p99.9, max), like kafka-producer-perf-test.

Flags:
  --records N          records to send (default 100000)
  --record-size S      bytes per record value (default 100)
  --batch-size B       records per request (default 100)
  --max-in-flight C    requests in flight at once (default 4)
  --acks 0|1|all       durability to wait for (default 1)
  --throughput R       pace the run at R records/s (default: as fast as the node takes them)
  --partitions P       partitions of the topic if bench creates it (default 1)
  --json               print the result as one JSON object
${progress}${common}`

const texts: Record<string, string> = { topics, produce, consume, groups, serve, bench }

export function mainHelp(): string {
  return main
}

/** Help for one command, or undefined when there is no such command. */
export function commandHelp(command: string): string | undefined {
  return Object.hasOwn(texts, command) ? texts[command] : undefined
}
