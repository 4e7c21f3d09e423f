# Shell functions shared by the benchmarks that run two agents at once on the same drops
# (bench/location.sh, bench/samples.sh, bench/advanced_ab.sh): a network namespace whose
# iptables rule drops UDP to 127.0.0.2:9, two agents started from configs (from this tree
# or another), their counting programs' run time.
# Sourced, not run; the caller sets ROOT, BUILD and NS (and TREE[name] for an agent built
# elsewhere), and gets the namespace made and undone on exit. Processes it starts are
# listed in PIDS and stopped on exit.
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
    if [ "$(readlink "$fd")" = anon_inode:bpf-prog ]; then awk '/prog_id/ { print $2 }' "/proc/$1/fdinfo/${fd##*/}"; fi
  done | awk 'NR == 1' # all read: a plain assignment of it fails with the pipeline
}

start() { # config log [agent tree, default ROOT] -> pid, once it counts
  taskset -c 0 "${3:-$ROOT}/bin/dropreason" --config "$1" >"$2" 2>&1 &
  local pid=$! i
  for i in $(seq 300); do grep -q 'counting kernel drops' "$2" && break; sleep 0.2; done
  echo "$pid"
}

# Calls the caller's one_storm FIRST SECOND for ROUNDS rounds of both orders of two agents
# (the first attached pays for the skb's cold cache lines, so the orders alternate). Before
# each call, agent NAME runs from $BUILD/PREFIX-NAME.yaml, logging to PREFIX-NAME.log, from
# TREE[NAME] if set, with its pid in PID[NAME] and its counting program in ID[NAME]; the
# rule's counter is zeroed. After it, everything in PIDS is stopped.
declare -A PID ID
declare -A TREE
each_order() { # prefix name name
  local prefix=$1 round order first second name
  for round in $(seq "$ROUNDS"); do
    for order in "$2 $3" "$3 $2"; do
      read -r first second <<<"$order"
      ip netns exec "$NS" iptables -Z OUTPUT
      for name in "$first" "$second"; do
        PID[$name]=$(start "$BUILD/$prefix-$name.yaml" "$BUILD/$prefix-$name.log" "${TREE[$name]:-$ROOT}")
        PIDS+=("${PID[$name]}")
      done
      for name in "$first" "$second"; do ID[$name]=$(prog_of "${PID[$name]}"); done
      one_storm "$first" "$second"
      kill "${PIDS[@]}" 2>/dev/null || true
      wait "${PIDS[@]}" 2>/dev/null || true
      PIDS=()
    done
  done
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
