#!/usr/bin/env bash
# The README's quick start as one script: start a node on a temporary data directory, create a
# topic, produce three lines, consume them back, stop the node.
# Run from the repository root after `npm install`:  bash examples/quickstart.sh
set -euo pipefail
port=${PORT:-8080}
data=$(mktemp -d)
node bin/edgelog.mjs serve --port "$port" --data "$data" &
node_pid=$!
trap 'kill $node_pid 2>/dev/null; wait $node_pid 2>/dev/null; rm -rf "$data"' EXIT
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.1; done
export EDGELOG_URL="http://127.0.0.1:$port"
node bin/edgelog.mjs topics create orders --partitions 3
printf 'one\ntwo\nthree\n' | node bin/edgelog.mjs produce orders --key customer-42
node bin/edgelog.mjs consume orders --from earliest
