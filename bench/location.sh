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
# shellcheck source=bench/ab.sh
. bench/ab.sh

config() { # location port
  sed "s/19464/$2/; s/^    location: true$/    location: $1/" bench/config.yaml >"$BUILD/location-$1.yaml"
}
config true 19501
config false 19502

echo "| attached first | location on: ns per drop | location off: ns per drop | on − off | drops |"
echo "|---|---|---|---|---|"
one_storm() { # first second
  sysctl -qw kernel.bpf_stats_enabled=1
  read -r on_t0 on_c0 <<<"$(stats "${ID[true]}")"
  read -r off_t0 off_c0 <<<"$(stats "${ID[false]}")"
  storm
  read -r on_t1 on_c1 <<<"$(stats "${ID[true]}")"
  read -r off_t1 off_c1 <<<"$(stats "${ID[false]}")"
  sysctl -qw kernel.bpf_stats_enabled=0
  awk -v f="$([ "$1" = true ] && echo on || echo off)" -v a=$((on_t1 - on_t0)) -v b=$((on_c1 - on_c0)) \
    -v c=$((off_t1 - off_t0)) -v d=$((off_c1 - off_c0)) \
    'BEGIN { printf "| %s | %.1f | %.1f | %+.1f | %d |\n", f, a / b, c / d, a / b - c / d, b }'
}
each_order location true false
