#!/usr/bin/env bash
# Read cost of the interface drop counters with N veth interfaces (N/2 pairs) in a
# scratch namespace: the agent's sysfs reader, and netlink dumps for comparison.
#   sudo bench/interface_read.sh [N] [ROUNDS]     (after npm run build:ts)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/env.sh"
N=${1:-200}
ROUNDS=${2:-50}
NS="dr-ifbench-$$"
ip netns add "$NS"
trap 'ip netns del "$NS"' EXIT
for i in $(seq 1 $((N / 2))); do
  ip -n "$NS" link add "va$i" type veth peer name "vb$i"
done
ip -n "$NS" link set lo up
echo "interfaces: $(ip netns exec "$NS" ls /sys/class/net | wc -l) (veths and lo)"
ip netns exec "$NS" node "$ROOT/bench/interface_read.mjs" "$ROUNDS"
ip netns exec "$NS" python3 "$ROOT/bench/interface_read_netlink.py" "$ROUNDS"
