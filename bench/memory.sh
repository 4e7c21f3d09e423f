#!/usr/bin/env bash
# Resident memory of the agent in basic mode with the embedded otel-config.yaml, beside a
# bare Node in the same run, and what each module it may load costs. Run as root from
# the repository root, after npm run build:
#
#   sudo bash bench/memory.sh
#
# 1. reference  `node -e 'setInterval(() => {}, 1e3)'`, the same Node binary, no flags:
#               VmRSS after SETTLE seconds
# 2. agent      bin/dropreason with otel-config.yaml (its two ports moved to free ones, so
#               a running agent is not in the way): VmRSS, VmHWM, RssAnon, RssFile once
#               it is ready and SETTLE seconds (two collections at its 10 s interval) on
# 3. modules    bench/import_cost.mjs: each module in a fresh process with bin/dropreason's
#               Node flags and malloc settings
#
# Prints markdown and writes it to bench/.build/memory.md. Knobs: SETTLE (25).
set -Eeuo pipefail

SETTLE=${SETTLE:-25}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="$ROOT/bench/.build"
OUT="$BUILD/memory.md"
cd "$ROOT"
[ "$(id -u)" = 0 ] || { echo "bench/memory.sh: must run as root (the agent loads eBPF)" >&2; exit 1; }
[ -e dist/cli.js ] || { echo "bench/memory.sh: run npm run build first" >&2; exit 1; }
mkdir -p "$BUILD"

NODE="$ROOT/.toolchain/node/bin/node"
[ -x "$NODE" ] || NODE=node
# bin/dropreason's Node flags and malloc settings, read from it so they are not restated.
FLAGS=$(sed -n 's/^exec "$node" \(.*\) "$root\/dist\/cli.js".*/\1/p' bin/dropreason)
eval "$(grep '^export ' bin/dropreason)"

status() { # pid -> "rss hwm anon file" in MiB
  awk '/^(VmRSS|VmHWM|RssAnon|RssFile):/ { v[$1] = $2 / 1024 }
    END { printf "%.1f %.1f %.1f %.1f\n", v["VmRSS:"], v["VmHWM:"], v["RssAnon:"], v["RssFile:"] }' "/proc/$1/status"
}
free_port() { "$NODE" -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'; }

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# 1. reference
env -u MALLOC_ARENA_MAX -u GLIBC_TUNABLES "$NODE" -e 'setInterval(() => {}, 1e3)' &
PIDS+=($!)
sleep "$SETTLE"
read -r REF_RSS REF_HWM REF_ANON REF_FILE < <(status "${PIDS[0]}")
kill "${PIDS[0]}"

# 2. the agent
CONFIG="$BUILD/memory-config.yaml"
sed -e "s/127.0.0.1:9464/127.0.0.1:$(free_port)/g" -e "s/127.0.0.1:8888/127.0.0.1:$(free_port)/g" otel-config.yaml >"$CONFIG"
LOG="$BUILD/memory-agent.log"
bin/dropreason --config "$CONFIG" >/dev/null 2>"$LOG" &
AGENT=$!
PIDS+=("$AGENT")
for _ in $(seq 900); do
  grep -q 'everything is ready' "$LOG" && break
  kill -0 "$AGENT" 2>/dev/null || { cat "$LOG" >&2; exit 1; }
  sleep 0.1
done
grep -q 'everything is ready' "$LOG" || { echo "the agent did not become ready" >&2; exit 1; }
sleep "$SETTLE"
read -r RSS HWM ANON FILE < <(status "$AGENT")
kill -TERM "$AGENT"
wait "$AGENT" || true

# 3. modules
MODULES=(
  ''
  yaml
  node:http
  require:node:http
  @opentelemetry/api
  @opentelemetry/resources
  @opentelemetry/sdk-metrics
  @opentelemetry/exporter-prometheus
  @opentelemetry/otlp-transformer
  @grpc/grpc-js
  @kubernetes/client-node
  ../dist/components.js
  '../dist/components.js ../dist/service/service.js'
)
{
  echo "Node $("$NODE" --version), $(uname -r), $(nproc) CPUs; agent flags: \`$FLAGS\`, MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX."
  echo
  echo "| process | VmRSS (MiB) | VmHWM (MiB) | RssAnon (MiB) | RssFile (MiB) |"
  echo "|---|---|---|---|---|"
  echo "| reference: bare \`node -e 'setInterval(() => {}, 1e3)'\` | $REF_RSS | $REF_HWM | $REF_ANON | $REF_FILE |"
  echo "| agent, basic mode, embedded otel-config.yaml, ${SETTLE} s after ready | $RSS | $HWM | $ANON | $FILE |"
  echo "| agent above the reference | $(awk "BEGIN { printf \"%.1f\", $RSS - $REF_RSS }") | | $(awk "BEGIN { printf \"%.1f\", $ANON - $REF_ANON }") | $(awk "BEGIN { printf \"%.1f\", $FILE - $REF_FILE }") |"
  echo
  echo "Loading modules, each row a fresh process with the agent's flags (MiB):"
  echo
  echo "| modules | VmRSS after | VmRSS grew | RssAnon grew | RssFile grew | V8 heap used grew |"
  echo "|---|---|---|---|---|---|"
  for m in "${MODULES[@]}"; do
    # shellcheck disable=SC2086 # the flags and the module list are words
    "$NODE" --expose-gc $FLAGS bench/import_cost.mjs $m
  done
} | tee "$OUT"
