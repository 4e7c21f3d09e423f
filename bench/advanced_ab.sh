#!/usr/bin/env bash
# Advanced mode, one build against another on the same drops: two agents at once in
# `mode: advanced` (bench/advanced.yaml), each from its own tree (a built checkout, or a
# copy made by bench/snapshot.sh), and the empty program of bench/floor.bpf.c, all on
# skb:kfree_skb while a storm spreads its drops round robin over FLOWS flows. The storms
# alternate which agent attaches first (the first pays for the skb's cold cache lines),
# as bench/location.sh does; the floor attaches last. Each agent counts the storm's
# network namespace only, and its pod series must sum to the iptables rule's counter. A
# 1 s storm first puts every flow in the agents' maps, so the measured storm meets them
# there as a long storm does between two collections (10 s apart).
# Run as root from the repository root, after bench/run.sh has built bench/.build/storm:
#
#   sudo bash bench/advanced_ab.sh TREE_A TREE_B
#
# Knobs (environment): STORM_SECONDS (5), ROUNDS (2: each order this many times),
# FLOWS (10000), FLOW_PORTS (10).
set -Eeuo pipefail
STORM_SECONDS=${STORM_SECONDS:-5}
ROUNDS=${ROUNDS:-2}
FLOWS=${FLOWS:-10000}
FLOW_PORTS=${FLOW_PORTS:-10}
[ $# = 2 ] || { echo "usage: bench/advanced_ab.sh TREE_A TREE_B" >&2; exit 2; }
declare -A TREE=([A]=$(cd "$1" && pwd) [B]=$(cd "$2" && pwd))
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=bench/.build
NS="dradv-$$"
# shellcheck source=bench/ab.sh
. bench/ab.sh
# Flows from 127.0.0.2:9 on, FLOW_PORTS ports per address: all within 127.0.0.0/16.
ip netns exec "$NS" iptables -I OUTPUT 1 -d 127.0.0.0/16 -p udp -j DROP
export STORM_FLOWS="$FLOWS $FLOW_PORTS"

declare -A PORT=([A]=19521 [B]=19522)
for ab in A B; do
  sed "s/19465/${PORT[$ab]}/; s|^    mode: advanced$|&\n    netns: /run/netns/$NS|" \
    bench/advanced.yaml >"$BUILD/advab-$ab.yaml"
done
clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -I"$ROOT/bpf/vmlinux/$(uname -m)" \
  -c bench/floor.bpf.c -o "$BUILD/floor.bpf.o"

rule_drops() { ip netns exec "$NS" iptables -L OUTPUT 1 -v -x -n | awk '{ print $1 }'; }
counted() { # port -> the sum of the pod series of the storm's drops
  curl -s "127.0.0.1:$1/metrics" |
    awk '/^dropreason_pod_drop_count_total\{/ && /reason="IPTABLE_RULE_DROP"/ { s += $NF } END { printf "%.0f\n", s }'
}

revision() { # tree -> what it was built from: bench/snapshot.sh's note, or its commit
  cat "$1/REVISION" 2>/dev/null || git -C "$1" rev-parse --short HEAD
}
echo "A: ${TREE[A]} ($(revision "${TREE[A]}")); B: ${TREE[B]} ($(revision "${TREE[B]}")); $FLOWS flows; $(date -u +%Y-%m-%dT%H:%MZ); $(uptime | sed 's/.*load/load/')"
echo
echo "| attached first | A: ns per drop | B: ns per drop | B − A | floor: ns per drop | drops (measured storm) | counted A / B = rule (both storms) |"
echo "|---|---|---|---|---|---|---|"
one_storm() { # first second
  # In a subshell, as start() does: storm() waits for all of this shell's children.
  local pf
  pf=$(taskset -c 0 node bench/attach.mjs "$BUILD/floor.bpf.o" >"$BUILD/advab-floor.log" 2>&1 & echo $!)
  PIDS+=("$pf")
  for _ in $(seq 100); do grep -q attached "$BUILD/advab-floor.log" && break; sleep 0.1; done
  ID[floor]=$(prog_of "$pf")
  STORM_SECONDS=1 storm # every flow in the map before the measured storm
  sysctl -qw kernel.bpf_stats_enabled=1
  read -r a_t0 a_c0 <<<"$(stats "${ID[A]}")"
  read -r b_t0 b_c0 <<<"$(stats "${ID[B]}")"
  read -r f_t0 f_c0 <<<"$(stats "${ID[floor]}")"
  storm
  read -r a_t1 a_c1 <<<"$(stats "${ID[A]}")"
  read -r b_t1 b_c1 <<<"$(stats "${ID[B]}")"
  read -r f_t1 f_c1 <<<"$(stats "${ID[floor]}")"
  sysctl -qw kernel.bpf_stats_enabled=0
  drops=$(rule_drops)
  sleep 11 # a collection after the storm (every 10 s)
  ca=$(counted "${PORT[A]}"); cb=$(counted "${PORT[B]}")
  awk -v f="$1" -v a=$((a_t1 - a_t0)) -v b=$((a_c1 - a_c0)) -v c=$((b_t1 - b_t0)) -v d=$((b_c1 - b_c0)) \
    -v e=$((f_t1 - f_t0)) -v g=$((f_c1 - f_c0)) -v dr="$drops" -v ca="$ca" -v cb="$cb" \
    'BEGIN { printf "| %s | %.1f | %.1f | %+.1f | %.1f | %d | %s / %s = %d%s |\n", f, a / b, c / d, c / d - a / b, e / g, d,
             ca, cb, dr, (ca == dr && cb == dr) ? "" : " (NOT EXACT)" }'
}
each_order advab A B
