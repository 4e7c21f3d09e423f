#!/usr/bin/env bash
# What drop locations cost the kernel program, measured on the same drops: two agents at
# once on skb:kfree_skb, one with the receiver's `location: true`, one with `false`, so
# every drop of a storm runs both programs under the same load. The program attached
# first pays for the cold cache lines of the skb, so the storms alternate which one
# attaches first; the cost of locations is the mean over both orders. Run as root from the
# repository root, after bench/run.sh has built bench/.build/storm:
#
#   sudo bash bench/location.sh
#
# Knobs (environment): STORM_SECONDS (5), ROUNDS (3: each order this many times).
set -Eeuo pipefail
STORM_SECONDS=${STORM_SECONDS:-5}
ROUNDS=${ROUNDS:-3}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=bench/.build
NS="drloc-$$"
[ -x "$BUILD/storm" ] || { echo "build the storm first (bench/run.sh does)" >&2; exit 1; }

config() { # location port
  sed "s/19464/$2/; s/^    location: true$/    location: $1/" bench/config.yaml >"$BUILD/location-$1.yaml"
}
config true 19501
config false 19502
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  ip netns del "$NS" 2>/dev/null || true
  sysctl -qw kernel.bpf_stats_enabled=0
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" iptables -A OUTPUT -d 127.0.0.2 -p udp --dport 9 -j DROP

stats() { # prog id -> "run_time_ns run_cnt"
  bpftool prog show id "$1" -j | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("run_time_ns",0), d.get("run_cnt",0))'
}
prog_of() { # pid -> id of its first BPF program
  local fd
  for fd in /proc/"$1"/fd/*; do
    [ "$(readlink "$fd")" = anon_inode:bpf-prog ] && awk '/prog_id/ { print $2 }' "/proc/$1/fdinfo/${fd##*/}"
  done | head -1
}
start() { # location -> pid, once it counts
  taskset -c 0 ./bin/dropreason --config "$BUILD/location-$1.yaml" >"$BUILD/location-$1.log" 2>&1 &
  local pid=$! i
  for i in $(seq 300); do grep -q 'counting kernel drops' "$BUILD/location-$1.log" && break; sleep 0.2; done
  echo "$pid"
}

echo "| attached first | location on: ns per drop | location off: ns per drop | on − off | drops |"
echo "|---|---|---|---|---|"
for _ in $(seq "$ROUNDS"); do
  for order in "true false" "false true"; do
    read -r first second <<<"$order"
    p1=$(start "$first"); PIDS+=("$p1")
    p2=$(start "$second"); PIDS+=("$p2")
    declare -A id=(["$first"]=$(prog_of "$p1") ["$second"]=$(prog_of "$p2"))
    sysctl -qw kernel.bpf_stats_enabled=1
    read -r on_t0 on_c0 <<<"$(stats "${id[true]}")"
    read -r off_t0 off_c0 <<<"$(stats "${id[false]}")"
    ip netns exec "$NS" "$BUILD/storm" 127.0.0.2 9 "$STORM_SECONDS" 1 64 16 >/dev/null
    read -r on_t1 on_c1 <<<"$(stats "${id[true]}")"
    read -r off_t1 off_c1 <<<"$(stats "${id[false]}")"
    sysctl -qw kernel.bpf_stats_enabled=0
    awk -v f="$([ "$first" = true ] && echo on || echo off)" -v a=$((on_t1 - on_t0)) -v b=$((on_c1 - on_c0)) \
      -v c=$((off_t1 - off_t0)) -v d=$((off_c1 - off_c0)) \
      'BEGIN { printf "| %s | %.1f | %.1f | %+.1f | %d |\n", f, a / b, c / d, a / b - c / d, b }'
    kill "$p1" "$p2"
    wait "$p1" "$p2" 2>/dev/null || true
    PIDS=()
  done
done
