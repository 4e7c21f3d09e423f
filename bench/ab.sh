# Shell functions shared by the benchmarks that run two agents at once on the same drops
# (bench/location.sh, bench/samples.sh, bench/advanced_ab.sh): a network namespace whose
# iptables rule drops UDP to 127.0.0.2:9, two agents started from configs (from this tree
# or another), their counting programs' run time.
# Sourced, not run; the caller sets ROOT, BUILD and NS, and gets the namespace made and
# undone on exit. Agents it starts are listed in PIDS and stopped on exit.
# shellcheck shell=bash

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  ip netns del "$NS" 2>/dev/null || true
  sysctl -qw kernel.bpf_stats_enabled=0
}
trap cleanup EXIT

[ -x "$BUILD/storm" ] || { echo "build the storm first (bench/run.sh does)" >&2; exit 1; }
ip netns add "$NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" iptables -A OUTPUT -d 127.0.0.2 -p udp --dport 9 -j DROP

stats() { # prog id -> "run_time_ns run_cnt"
  bpftool prog show id "$1" -j | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("run_time_ns",0), d.get("run_cnt",0))'
}

prog_of() { # pid -> id of its first BPF program (the counter)
  local fd
  for fd in /proc/"$1"/fd/*; do
    [ "$(readlink "$fd")" = anon_inode:bpf-prog ] && awk '/prog_id/ { print $2 }' "/proc/$1/fdinfo/${fd##*/}"
  done | head -1
}

start() { # config log [agent tree, default ROOT] -> pid, once it counts
  taskset -c 0 "${3:-$ROOT}/bin/dropreason" --config "$1" >"$2" 2>&1 &
  local pid=$! i
  for i in $(seq 300); do grep -q 'counting kernel drops' "$2" && break; sleep 0.2; done
  echo "$pid"
}

# One sender per CPU in STORM_CPUS (default: CPU 1, the agents being on CPU 0). Each drop
# ends its sendmmsg() call (EPERM), so one sender gives about 400k drops/s here.
# STORM_FLOWS, if set, is storm.c's "FLOWS PORTS": flows from 127.0.0.2:9 on, which the
# caller's rule must drop.
storm() {
  local cpu
  for cpu in ${STORM_CPUS:-1}; do
    # shellcheck disable=SC2086 # two numbers, or nothing
    ip netns exec "$NS" "$BUILD/storm" 127.0.0.2 9 "$STORM_SECONDS" "$cpu" 64 16 ${STORM_FLOWS:-} >/dev/null &
  done
  wait
}
