#!/usr/bin/env bash
# What samples of drops cost, measured on the same drops: two agents at once on
# skb:kfree_skb, counting the storm's network namespace, one with a logs pipeline taking
# samples (samples_per_second: 10, so the budget is spent within the first milliseconds of
# each second of the storm), one with no logs pipeline (no sampling code runs). Every drop
# of a storm runs both programs under the same load; the storms alternate which program
# attaches first, as bench/location.sh does. It also checks that the counts stay exact
# (the agent's count against the iptables rule's), that the samples delivered stay within
# the budget, and the CPU the sampling agent used. Run as root from the repository root,
# after bench/run.sh has built bench/.build/storm:
#
#   sudo bash bench/samples.sh
#
# Knobs (environment): STORM_SECONDS (5), ROUNDS (2: each order this many times),
# STORM_CPUS ("0 1": a sender on each CPU, for a storm over 500k drops/s), INTERVAL (1:
# the agents' collection_interval in seconds; the default config's is 10).
set -Eeuo pipefail
STORM_SECONDS=${STORM_SECONDS:-5}
ROUNDS=${ROUNDS:-2}
INTERVAL=${INTERVAL:-1}
export STORM_CPUS=${STORM_CPUS:-0 1}
PER_SECOND=10
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=bench/.build
NS="drsmp-$$"
# shellcheck source=bench/ab.sh
. bench/ab.sh

config() { # on|off port
  cat >"$BUILD/samples-$1.yaml" <<YAML
receivers:
  dropreason:
    collection_interval: ${INTERVAL}s
    netns: /run/netns/$NS
    samples_per_second: $PER_SECOND
exporters:
  prometheus:
    endpoint: 127.0.0.1:$2
  debug:
    verbosity: normal
service:
  pipelines:
    metrics:
      receivers: [dropreason]
      exporters: [prometheus]
YAML
  if [ "$1" = on ]; then
    printf '    logs:\n      receivers: [dropreason]\n      exporters: [debug]\n' >>"$BUILD/samples-$1.yaml"
  fi
}
config on 19511
config off 19512
declare -A PORT=([on]=19511 [off]=19512)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rule_drops() { ip netns exec "$NS" iptables -L OUTPUT -v -x -n | awk '/DROP/ { print $1; exit }'; }
counted() { # port -> the agent's IPTABLE_RULE_DROP count
  curl -s "127.0.0.1:$1/metrics" |
    awk '/^dropreason_drop_count_total\{/ && /reason="IPTABLE_RULE_DROP"/ { s += $NF } END { print s + 0 }'
}
sample_lines() { grep -c ' drop IPTABLE_RULE_DROP ' "$BUILD/samples-on.log" || true; }

HZ=$(getconf CLK_TCK)
echo "| attached first | samples on: ns per run | samples off: ns per run | on − off | program runs | drops/s | samples (budget) | counted on/off = rule | agent CPU on / off, whole storm | after its first 2 s |"
echo "|---|---|---|---|---|---|---|---|---|---|"
one_storm() { # first second
  # A 1 s storm first, and a collection after it: the drop site's location is named
  # (a read of /proc/kallsyms, once) before the measured storm.
  STORM_SECONDS=1 storm
  sleep $((INTERVAL + 1))
  sysctl -qw kernel.bpf_stats_enabled=1
  read -r on_t0 on_c0 <<<"$(stats "${ID[on]}")"
  read -r off_t0 off_c0 <<<"$(stats "${ID[off]}")"
  cpu0=$(cpu_ticks "${PID[on]}"); cpuoff0=$(cpu_ticks "${PID[off]}")
  t0=$(date +%s%N)
  storm &
  sleep 2
  cpu2=$(cpu_ticks "${PID[on]}"); cpuoff2=$(cpu_ticks "${PID[off]}"); t2=$(date +%s%N)
  wait $!
  t1=$(date +%s%N)
  cpu1=$(cpu_ticks "${PID[on]}"); cpuoff1=$(cpu_ticks "${PID[off]}")
  read -r on_t1 on_c1 <<<"$(stats "${ID[on]}")"
  read -r off_t1 off_c1 <<<"$(stats "${ID[off]}")"
  sysctl -qw kernel.bpf_stats_enabled=0
  drops=$(rule_drops)
  sleep $((2 * INTERVAL + 1)) # two collections and at least two sample turns
  on=$(counted "${PORT[on]}"); off=$(counted "${PORT[off]}"); samples=$(sample_lines)
  budget=$((PER_SECOND * (1 + INTERVAL + 1 + STORM_SECONDS + 5)))
  awk -v f="$1" -v a=$((on_t1 - on_t0)) -v b=$((on_c1 - on_c0)) \
    -v c=$((off_t1 - off_t0)) -v d=$((off_c1 - off_c0)) -v dr="$drops" -v ns=$((t1 - t0)) \
    -v s="$samples" -v bu="$budget" -v on="$on" -v off="$off" -v cpu=$((cpu1 - cpu0)) -v cpuoff=$((cpuoff1 - cpuoff0)) -v hz="$HZ" \
    -v cpus=$((cpu1 - cpu2)) -v cpuoffs=$((cpuoff1 - cpuoff2)) -v steady=$((t1 - t2)) \
    'BEGIN { printf "| %s | %.1f | %.1f | %+.1f | %d | %.0f | %d (≤ %d) | %d/%d = %d | %.2f%% / %.2f%% | %.2f%% / %.2f%% |\n",
             f, a / b, c / d, a / b - c / d, b, dr / (ns / 1e9), s, bu, on, off, dr,
             100 * cpu / hz / (ns / 1e9), 100 * cpuoff / hz / (ns / 1e9),
             100 * cpus / hz / (steady / 1e9), 100 * cpuoffs / hz / (steady / 1e9) }'
}
each_order samples on off
