# Shell functions and settings shared by the drop-storm benchmarks (bench/run.sh,
# bench/advanced.sh). Sourced, not run, once the caller has set ROOT and BENCH. Besides the
# settings below they use the caller's CONFIG, DST_ADDR, DST_PORT and WATCH_FILE; the
# caller defines ipt_counters (the DROP rule's counters).
# STORM_EXTRA holds further arguments for bench/storm.c (FLOWS, PORTS); none by default.
# shellcheck shell=bash disable=SC2154,SC2034

# The knobs both benchmarks take (their headers say what each does), with their defaults.
STORM_SECONDS=${STORM_SECONDS:-10}
STORM_CPU=${STORM_CPU:-1}
AGENT_CPU=${AGENT_CPU:-0}
STORM_BATCH=${STORM_BATCH:-64}
STORM_PAYLOAD=${STORM_PAYLOAD:-16}
QUIET_WAIT=${QUIET_WAIT:-60}
QUIET_BUSY=${QUIET_BUSY:-15}
ATTEMPTS=${ATTEMPTS:-3}

# The reference one-liner, the agent's series of the storm's drops, and the storm's target.
BPFTRACE_PROG='tracepoint:skb:kfree_skb { @[args->reason] = count(); }'
METRIC_COUNT='dropreason_drop_count_total'
METRIC_BYTES='dropreason_drop_bytes_total'
LABELS='direction="egress",reason="IPTABLE_RULE_DROP"'
MIN_STORM_PPS=500000

BUILD="$BENCH/.build"
SRC_ADDR=198.18.0.1 # the sender, in NS_TX
NS_TX="drbench-tx-$$"
NS_RX="drbench-rx-$$"

STORM_EXTRA=()
# What cleanup undoes, set as each is made.
AGENT_PID="" BPFTRACE_PID="" WATCH_PID="" FLOOR_PID="" API_PID="" NETNS_MADE="" OLD_BPF_STATS=""
NOTES=()

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- process helpers

# True while the process runs (an exited child not yet reaped is a zombie: false).
alive() {
  local st
  st=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

stop_pid() { # pid signal: signal it and wait up to 15 s for it to go
  local pid=$1 sig=$2 i
  [ -n "$pid" ] || return 0
  alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
  kill "-$sig" "$pid" 2>/dev/null || true
  for i in $(seq 150); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    log "pid $pid did not exit on SIG$sig; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM ERR
  set +e
  stop_pid "$WATCH_PID" TERM
  stop_pid "$BPFTRACE_PID" INT
  stop_pid "$FLOOR_PID" TERM
  stop_pid "$AGENT_PID" TERM
  stop_pid "$API_PID" TERM
  if [ -n "$NETNS_MADE" ]; then
    # Deleting the namespaces removes the veth pair and the iptables rule inside them.
    ip netns del "$NS_TX" 2>/dev/null
    ip netns del "$NS_RX" 2>/dev/null
  fi
  if [ -n "$OLD_BPF_STATS" ]; then
    sysctl -qw "kernel.bpf_stats_enabled=$OLD_BPF_STATS" >/dev/null
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'log "ERROR: command failed (line $LINENO): $BASH_COMMAND"' ERR

# ---------------------------------------------------------------- small helpers
now() { date +%s.%N; }

# printf one awk expression (parenthesized: a bare > in awk's printf would redirect).
calc() { local fmt=$1; shift; awk "BEGIN { printf \"$fmt\", ($*) }"; }
pass() { if [ "$(calc %d "($1) ? 1 : 0")" = 1 ]; then echo PASS; else echo FAIL; fi; }
f1() { calc %.1f "$1"; }
f2() { calc %.2f "$1"; }

# 1234567.8 -> 1,234,568
fmt_int() {
  awk -v n="$1" 'BEGIN { s = sprintf("%.0f", n); o = "";
    while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) }
    print s o }'
}

# utime + stime of a process, all threads, in clock ticks.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# ---------------------------------------------------------------- eBPF helpers

# The eBPF program ids a process holds (program and link fds both name one in fdinfo).
prog_ids_of() {
  { grep -h '^prog_id:' "/proc/$1"/fdinfo/* 2>/dev/null || true; } | awk '{ print $2 }' | sort -un | tr '\n' ' '
}

prog_field() { # id field
  bpftool prog show id "$1" -j | { grep -o "\"$2\":[^,}]*" || true; } | head -1 | cut -d: -f2- | tr -d '"'
}

prog_stats() { # id -> "run_time_ns run_cnt" (bpftool leaves both out while they are 0)
  local j rt rc
  j=$(bpftool prog show id "$1" -j)
  rt=$({ grep -o '"run_time_ns":[0-9]*' <<<"$j" || true; } | cut -d: -f2)
  rc=$({ grep -o '"run_cnt":[0-9]*' <<<"$j" || true; } | cut -d: -f2)
  printf '%s %s\n' "${rt:-0}" "${rc:-0}"
}

# Tracing eBPF programs loaded on the machine, one "ID TYPE NAME" a line.
tracing_progs() {
  bpftool prog show -j |
    { grep -o '"id":[0-9]*,"type":"[a-z_]*","name":"[^"]*"' || true; } |
    sed 's/^"id":\([0-9]*\),"type":"\([a-z_]*\)","name":"\([^"]*\)"$/\1 \2 \3/' |
    awk '$2 == "tracing" || $2 == "tracepoint" || $2 == "raw_tracepoint"'
}

# Background: every half second, which tracing programs are loaded ("TIME ID TYPE NAME").
watch_progs() {
  local sp=""
  trap - EXIT ERR INT
  trap '[ -z "$sp" ] || kill "$sp" 2>/dev/null; exit 0' TERM
  while :; do
    { tracing_progs || true; } | sed "s/^/$(now) /" >>"$WATCH_FILE"
    sleep 0.5 &
    sp=$!
    wait "$sp" || true
  done
}

# Tracing programs other than the given ids seen between two times: "ID:NAME ...".
others_during() { # t0 t1 ids-to-leave-out...
  local t0=$1 t1=$2
  shift 2
  awk -v t0="$t0" -v t1="$t1" -v skip=" $* " '
    $1 >= t0 && $1 <= t1 && index(skip, " " $2 " ") == 0 && !seen[$2]++ { printf "%s:%s ", $2, $4 }
  ' "$WATCH_FILE"
}

# Busy share of all CPUs over half a second, in percent (from /proc/stat).
busy_pct() {
  local a b
  a=$(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
  sleep 0.5
  b=$(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
    busy = y[1] - x[1]; idle = y[2] - x[2]; printf "%.0f", (busy + idle > 0 ? busy * 100 / (busy + idle) : 0) }'
}

# Waits up to QUIET_WAIT s for a quiet machine: no tracing eBPF program but the given ids,
# and under QUIET_BUSY % of the CPUs busy. Notes it when it gives up.
quiet_wait() { # phase ids-to-leave-out...
  local phase=$1 skip i others busy deadline
  shift
  skip=" $* "
  deadline=$(calc %.3f "$(now) + $QUIET_WAIT")
  for i in $(seq 1000000); do
    others=$(tracing_progs | awk -v skip="$skip" 'index(skip, " " $1 " ") == 0 { printf "%s:%s ", $1, $3 }')
    busy=$(busy_pct)
    [ -z "$others" ] && [ "$busy" -lt "$QUIET_BUSY" ] && return 0
    [ "$i" != 1 ] || log "waiting up to ${QUIET_WAIT} s for a quiet machine (CPUs ${busy} % busy; other tracing programs: ${others:-none})"
    if [ "$(calc %d "$(now) >= $deadline")" = 1 ]; then
      log "WARNING: the machine did not quieten; measuring anyway"
      NOTES+=("$phase: the machine did not quieten within ${QUIET_WAIT} s (CPUs ${busy} % busy; other tracing programs: ${others:-none}).")
      return 0
    fi
    sleep 0.5
  done
}

# ---------------------------------------------------------------- storm helpers

ipt_zero() { ip netns exec "$NS_TX" iptables -Z OUTPUT; }

storm_field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

# One storm, the rule counters zeroed first. Sets IPT_PKTS, IPT_BYTES, SECS (wall clock),
# PPS (drops/s), PPS_CPU (drops per CPU-second of the sender: its CPU time includes every
# eBPF program run on its drops, and not the time other processes took the CPU away),
# SHARE (% of the wall time the sender was on its CPU), T_STORM0 and T_STORM1.
storm() {
  local out pkts cpu
  ipt_zero
  T_STORM0=$(now)
  out=$(ip netns exec "$NS_TX" "$BUILD/storm" "$DST_ADDR" "$DST_PORT" "$STORM_SECONDS" \
    "$STORM_CPU" "$STORM_BATCH" "$STORM_PAYLOAD" "${STORM_EXTRA[@]}") || die "storm failed: $out"
  T_STORM1=$(now)
  log "storm: $out"
  pkts=$(storm_field packets "$out")
  SECS=$(storm_field seconds "$out")
  cpu=$(storm_field cpu_seconds "$out")
  [ -n "$pkts" ] && [ -n "$SECS" ] && [ -n "$cpu" ] || die "cannot parse storm output: $out"
  read -r IPT_PKTS IPT_BYTES <<<"$(ipt_counters)"
  [ -n "$IPT_PKTS" ] || die "cannot read the iptables rule counter in $NS_TX"
  if [ "$IPT_PKTS" != "$pkts" ]; then
    NOTES+=("the storm counted $pkts datagrams sent, the iptables rule $IPT_PKTS drops.")
  fi
  PPS=$(calc %.3f "$IPT_PKTS / $SECS")
  PPS_CPU=$(calc %.3f "$IPT_PKTS / $cpu")
  SHARE=$(calc %.3f "$cpu / $SECS * 100")
}

# Repeats fn (which sets OTHERS) while other tracing programs were seen, ATTEMPTS at most.
with_attempts() { # phase fn
  local phase=$1 fn=$2 n
  for n in $(seq "$ATTEMPTS"); do
    "$fn"
    [ -n "$OTHERS" ] || return 0
    log "WARNING: other tracing eBPF programs were loaded during the measurement: $OTHERS"
    if [ "$n" -lt "$ATTEMPTS" ]; then
      NOTES+=("$phase: attempt $n discarded, other tracing eBPF programs were loaded during it ($OTHERS).")
      log "repeating the $phase measurement"
    else
      NOTES+=("$phase: other tracing eBPF programs were loaded during all $ATTEMPTS attempts; the last one is reported ($OTHERS).")
    fi
  done
}

# ---------------------------------------------------------------- agent
# Starts ./bin/dropreason --config $CONFIG with its output in $AGENT_LOG, waits until it
# answers at $URL and its kfree_skb counter is loaded. Sets AGENT_BUILT, AGENT_PID,
# OUR_PROG (the counter's id), AGENT_PROGS (all its program ids), OUR_PROG_NAME and
# OUR_PROG_TYPE.
start_agent() {
  AGENT_BUILT=$(find dist build/Release -type f -printf '%T@\n' | sort -n | tail -1)
  ./bin/dropreason --config "$CONFIG" >"$AGENT_LOG" 2>&1 &
  AGENT_PID=$!
  local i id
  for i in $(seq 300); do
    alive "$AGENT_PID" || die "the agent exited at start; its log ($AGENT_LOG):
$(tail -20 "$AGENT_LOG")"
    curl -sf -o /dev/null --max-time 1 "$URL" && break
    sleep 0.1
  done
  curl -sf -o /dev/null --max-time 2 "$URL" || die "the agent did not answer at $URL within 30 s"
  log "agent pid $AGENT_PID answers at $URL"

  # The endpoint can answer before the receiver has loaded its programs: wait for them.
  OUR_PROG=""
  for i in $(seq 300); do
    alive "$AGENT_PID" || die "the agent exited at start; its log ($AGENT_LOG):
$(tail -20 "$AGENT_LOG")"
    for id in $(prog_ids_of "$AGENT_PID"); do
      case "$(prog_field "$id" name)" in dr_kfree_skb*) OUR_PROG=$id ;; esac
    done
    [ -z "$OUR_PROG" ] || break
    sleep 0.1
  done
  [ -n "$OUR_PROG" ] || die "no dr_kfree_skb_* program among the fds of the agent (pid $AGENT_PID) within 30 s; its log: $AGENT_LOG"
  sleep 2 # let it finish starting (other programs, first collection)
  AGENT_PROGS=$(prog_ids_of "$AGENT_PID")
  OUR_PROG_NAME=$(prog_field "$OUR_PROG" name)
  OUR_PROG_TYPE=$(prog_field "$OUR_PROG" type)
  AGENT_PROGS=${AGENT_PROGS% }
}

# run_time_ns summed over programs, and the run_cnt of the first (the counter: one run
# per drop).
progs_stats() { # ids...
  local id rt rc sum=0 first=""
  for id in "$@"; do
    read -r rt rc <<<"$(prog_stats "$id")"
    sum=$((sum + rt))
    [ -n "$first" ] || first=$rc
  done
  echo "$sum ${first:-0}"
}

# Two storms back to back with programs attached:
#   throughput  kernel.bpf_stats_enabled=0: the accounting reads the clock twice per
#               program run, which cost the sender about 100 ns per drop on our VM,
#               more than either program's own run time
#   cost        kernel.bpf_stats_enabled=1: run time per drop from progs_stats
# Sets TP_* (throughput storm), RT0 RC0 RT1 RC1 and CS_PPS_CPU (cost storm), SUM_PKTS,
# SUM_BYTES.
two_storms() { # prog-ids (the counter first)
  sysctl -qw kernel.bpf_stats_enabled=0
  storm
  TP_PPS=$PPS TP_PPS_CPU=$PPS_CPU TP_SHARE=$SHARE TP_SECS=$SECS TP_T0=$T_STORM0
  SUM_PKTS=$IPT_PKTS SUM_BYTES=$IPT_BYTES
  sysctl -qw kernel.bpf_stats_enabled=1
  read -r RT0 RC0 <<<"$(progs_stats "$@")"
  storm
  read -r RT1 RC1 <<<"$(progs_stats "$@")"
  sysctl -qw kernel.bpf_stats_enabled=0
  CS_PPS_CPU=$PPS_CPU
  SUM_PKTS=$((SUM_PKTS + IPT_PKTS)) SUM_BYTES=$((SUM_BYTES + IPT_BYTES))
}

# ---------------------------------------------------------------- checks and topology
# What a run needs before it starts: root, the built agent, the given tools, two CPUs,
# a free Prometheus endpoint and whole-second interval in CONFIG (sets ENDPOINT, URL,
# INTERVAL; NCPU too), tracefs and run-time accounting. Then pins this shell to AGENT_CPU and
# compiles the storm.
preflight() { # script tools...
  local script=$1 f tool
  shift
  [ "$(id -u)" = 0 ] || die "must run as root (it creates network namespaces, iptables rules and eBPF programs): sudo bash $script"
  cd "$ROOT"
  for f in bin/dropreason dist/cli.js dist/bpf/dropreason.bpf.o build/Release/bpf_addon.node; do
    [ -e "$f" ] || die "the agent is not built ($f is missing): run 'npm run build' first"
  done
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "'$tool' is not installed"
  done
  NCPU=$(nproc)
  [ "$NCPU" -ge 2 ] || die "needs at least 2 CPUs (storm on one, agent on another); this machine has $NCPU"
  [ "$STORM_CPU" != "$AGENT_CPU" ] || die "STORM_CPU and AGENT_CPU must differ"
  ENDPOINT=$(awk '$1 == "endpoint:" { print $2; exit }' "$CONFIG")
  [ -n "$ENDPOINT" ] || die "no prometheus endpoint in $CONFIG"
  URL="http://$ENDPOINT/metrics"
  INTERVAL=$(awk '$1 == "collection_interval:" { sub(/s$/, "", $2); print $2; exit }' "$CONFIG")
  [[ "$INTERVAL" =~ ^[0-9]+$ ]] || die "collection_interval in $CONFIG must be whole seconds (e.g. 10s)"
  if curl -s -o /dev/null --max-time 2 "$URL"; then
    die "something already answers at $URL; stop it or change the endpoint in $CONFIG"
  fi
  export PATH="$ROOT/.toolchain/node/bin:$PATH"
  ./bin/dropreason validate --config "$CONFIG" >/dev/null || die "$CONFIG does not validate"
  if [ ! -d /sys/kernel/tracing/events ]; then
    log "mounting tracefs at /sys/kernel/tracing (bpftrace needs it)"
    mount -t tracefs tracefs /sys/kernel/tracing || die "cannot mount tracefs at /sys/kernel/tracing"
  fi
  [ -r /proc/sys/kernel/bpf_stats_enabled ] || die "kernel.bpf_stats_enabled is not available"

  # This script and everything it starts (agent, bpftrace, curl) stay on AGENT_CPU; the
  # storm moves itself to STORM_CPU.
  taskset -pc "$AGENT_CPU" $$ >/dev/null

  mkdir -p "$BUILD"
  gcc -O2 -Wall -Wextra -o "$BUILD/storm" "$BENCH/storm.c" || die "cannot compile bench/storm.c"
}

# The sender's namespace NS_TX (SRC_ADDR on veth0) and its peer NS_RX (the given address
# on veth1), both links up; the caller adds its routes and DROP rule.
make_namespaces() { # peer-address
  NETNS_MADE=1
  ip netns add "$NS_TX"
  ip netns add "$NS_RX"
  ip link add veth0 netns "$NS_TX" type veth peer name veth1 netns "$NS_RX"
  ip -n "$NS_TX" addr add "$SRC_ADDR/30" dev veth0
  ip -n "$NS_RX" addr add "$1/30" dev veth1
  for ns in "$NS_TX" "$NS_RX"; do ip -n "$ns" link set lo up; done
  ip -n "$NS_TX" link set veth0 up
  ip -n "$NS_RX" link set veth1 up
}

# ---------------------------------------------------------------- run
# Turns the run-time accounting off (cleanup restores it) and starts noting every other
# tracing program loaded during the run in the given file. Sets T_RUN0.
begin_run() { # watch-file
  OLD_BPF_STATS=$(cat /proc/sys/kernel/bpf_stats_enabled)
  sysctl -qw kernel.bpf_stats_enabled=0
  WATCH_FILE=$1
  : >"$WATCH_FILE"
  watch_progs &
  WATCH_PID=$!
  T_RUN0=$(now)
}

# A storm with nothing attached, for the with_attempts of a baseline phase.
baseline() {
  quiet_wait "$PHASE"
  storm
  OTHERS=$(others_during "$T_STORM0" "$T_STORM1")
}

# A baseline phase: one storm with nothing attached, its attempts. Sets BASE<n>_PPS,
# BASE<n>_PPS_CPU, BASE<n>_SHARE, BASE<n>_OTHERS; after the second, BASE_PPS and
# BASE_PPS_CPU, the means of both.
baseline_phase() { # n phase
  PHASE=$2
  with_attempts "$PHASE" baseline
  printf -v "BASE$1_PPS" %s "$PPS"
  printf -v "BASE$1_PPS_CPU" %s "$PPS_CPU"
  printf -v "BASE$1_SHARE" %s "$SHARE"
  printf -v "BASE$1_OTHERS" %s "$OTHERS"
  if [ "$1" = 2 ]; then
    BASE_PPS=$(calc %.3f "($BASE1_PPS + $BASE2_PPS) / 2")
    BASE_PPS_CPU=$(calc %.3f "($BASE1_PPS_CPU + $BASE2_PPS_CPU) / 2")
  fi
}

# One storm timing TIMED_PROG with BPF statistics on, leaving TIMED_PROGS out of the
# others; for the with_attempts of per_drop_phase.
timed_storm() {
  # shellcheck disable=SC2086 # program ids, one word each
  quiet_wait "$PHASE" $TIMED_PROGS
  sysctl -qw kernel.bpf_stats_enabled=1
  read -r RT0 RC0 <<<"$(prog_stats "$TIMED_PROG")"
  storm
  read -r RT1 RC1 <<<"$(prog_stats "$TIMED_PROG")"
  sysctl -qw kernel.bpf_stats_enabled=0
  # shellcheck disable=SC2086
  OTHERS=$(others_during "$T_STORM0" "$T_STORM1" $TIMED_PROGS)
}

# The run time per drop of one program over a storm. Sets TIMED_RUNS, TIMED_NS, OTHERS.
per_drop_phase() { # phase program [its sibling programs...]
  PHASE=$1 TIMED_PROG=$2
  shift
  TIMED_PROGS="$*"
  with_attempts "$PHASE" timed_storm
  TIMED_RUNS=$((RC1 - RC0))
  [ "$TIMED_RUNS" -gt 0 ] || die "program $TIMED_PROG did not run during the storm in phase $PHASE (run_cnt did not move)"
  TIMED_NS=$(calc %.3f "$((RT1 - RT0)) / $TIMED_RUNS")
}

# The end of a results file: the notes, if any, and how long the run took.
results_end() {
  if [ "${#NOTES[@]}" -gt 0 ]; then
    echo
    for n in "${NOTES[@]}"; do echo "- $n"; done
  fi
  echo
  echo "The run took $(calc %.0f "$T_RUN1 - $T_RUN0") s after setup."
}

# After the agent's phase (with_attempts "$PHASE" agent_storm): its storms under AGENT_*,
# the rule's totals under AG_IPT_*, its counter's run time per drop (OUR_RUNS, OUR_NS), and
# the window its CPU was measured over (CPU_WINDOW, in CLK_TCK ticks a second).
agent_results() {
  AGENT_CS_PPS_CPU=$CS_PPS_CPU
  AGENT_PPS=$TP_PPS AGENT_PPS_CPU=$TP_PPS_CPU AGENT_SHARE=$TP_SHARE AGENT_OTHERS=$OTHERS AGENT_SECS=$TP_SECS
  AG_IPT_PKTS=$SUM_PKTS AG_IPT_BYTES=$SUM_BYTES
  OUR_RUNS=$((RC1 - RC0))
  [ "$OUR_RUNS" -gt 0 ] || die "the agent's program did not run during the storm (run_cnt did not move)"
  OUR_NS=$(calc %.3f "$((RT1 - RT0)) / $OUR_RUNS")
  CLK_TCK=$(getconf CLK_TCK)
  CPU_WINDOW=$(calc %.3f "$T_CPU1 - $T_CPU0")
}

# The agent's memory now: VMRSS_KB, VMHWM_KB, RSSANON_KB, RSSFILE_KB; RSS_MIB and HWM_MIB.
agent_memory() {
  VMRSS_KB=$(status_kb "$AGENT_PID" VmRSS)
  VMHWM_KB=$(status_kb "$AGENT_PID" VmHWM)
  RSSANON_KB=$(status_kb "$AGENT_PID" RssAnon)
  RSSFILE_KB=$(status_kb "$AGENT_PID" RssFile)
  RSS_MIB=$(calc %.3f "$VMRSS_KB / 1024")
  HWM_MIB=$(calc %.3f "$VMHWM_KB / 1024")
}

# ---------------------------------------------------------------- results

# The commit the agent was built from (REV, marked when the tree has uncommitted changes)
# and the CPU's model (CPU_MODEL), for the first line of the results.
run_identity() {
  REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    REV="$REV with uncommitted changes"
  fi
  CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
}

others() { if [ -n "$1" ]; then echo "$1"; else echo none; fi; }
ns_per() { calc %.0f "1e9 / $1"; }                         # drops per CPU-s -> ns per drop
added() { calc %+.0f "1e9 / $1 - 1e9 / $BASE_PPS_CPU"; } # ns per drop over the baseline mean

# The storms table: its header, a baseline's row, and a row of a storm with a program attached.
storms_head() {
  echo "| storm | drops/s | sender on its CPU | sender CPU time per drop | throughput vs baseline: per CPU-second (wall clock) | eBPF run time per drop | other tracing programs during it |"
  echo "|---|---|---|---|---|---|---|"
}
baseline_row() { # label pps pps_cpu share others
  echo "| $1 | $(fmt_int "$2") | $(f1 "$4") % | $(ns_per "$3") ns | | | $(others "$5") |"
}
storm_row() { # label pps pps_cpu share ns runs others
  echo "| $1 | $(fmt_int "$2") | $(f1 "$4") % | $(ns_per "$3") ns ($(added "$3") ns) | $(f1 "$(calc %.3f "$3 / $BASE_PPS_CPU * 100")") % ($(f1 "$(calc %.3f "$2 / $BASE_PPS * 100")") %) | $(f1 "$5") ns ($(fmt_int "$6") runs) | $(others "$7") |"
}

# The agent's memory as the results give it (agent_memory read it).
memory_text() {
  echo "VmRSS $(f1 "$RSS_MIB") MiB, VmHWM $(f1 "$HWM_MIB") MiB (RssAnon $(calc %.1f "$RSSANON_KB / 1024"), RssFile $(calc %.1f "$RSSFILE_KB / 1024"))"
}

# Shows the results written to RESULTS and where they and the logs are; exits 3 unless
# the agent's counts were exact.
finish_run() { # exact (PASS or FAIL) logs
  echo
  cat "$RESULTS"
  echo
  log "results written to ${RESULTS#"$ROOT"/}; logs: $2"
  if [ "$1" != PASS ]; then
    log "the agent's counts are not exact"
    exit 3
  fi
  exit 0
}

# The reference: one bpftrace program, started, two storms (in phase $PHASE), stopped.
# Sets BT_LOG, BT_PROG, BT_PROG_NAME, BT_PPS, BT_PPS_CPU, BT_SHARE, BT_OTHERS,
# BT_CS_PPS_CPU, BT_RUNS, BT_NS.
bpftrace_phase() { # program log [seconds to attach, default 120]
  local prog=$1 wait_s=${3:-120} i id
  BT_LOG=$2
  bpftrace -e "$prog" >"$BT_LOG" 2>&1 &
  BPFTRACE_PID=$!
  BT_PROG=""
  for i in $(seq $((wait_s * 10))); do
    alive "$BPFTRACE_PID" || die "bpftrace exited at start; its output ($BT_LOG):
$(tail -20 "$BT_LOG")"
    if grep -q '^Attaching' "$BT_LOG"; then
      for id in $(prog_ids_of "$BPFTRACE_PID"); do
        [ "$(prog_field "$id" type)" != tracepoint ] || BT_PROG=$id
      done
      [ -z "$BT_PROG" ] || break
    fi
    sleep 0.1
  done
  [ -n "$BT_PROG" ] || die "bpftrace did not attach a tracepoint program within $wait_s s; its output: $BT_LOG"
  sleep 1 # let it finish attaching
  BT_PROGS=$(prog_ids_of "$BPFTRACE_PID")
  BT_PROG_NAME=$(prog_field "$BT_PROG" name)
  log "bpftrace pid $BPFTRACE_PID, program id $BT_PROG ($BT_PROG_NAME)"
  with_attempts "$PHASE" reference_storm
  BT_CS_PPS_CPU=$CS_PPS_CPU
  BT_PPS=$TP_PPS BT_PPS_CPU=$TP_PPS_CPU BT_SHARE=$TP_SHARE BT_OTHERS=$OTHERS
  BT_RUNS=$((RC1 - RC0))
  [ "$BT_RUNS" -gt 0 ] || die "bpftrace's program did not run during the storm (run_cnt did not move)"
  BT_NS=$(calc %.3f "$((RT1 - RT0)) / $BT_RUNS")
  stop_pid "$BPFTRACE_PID" INT
  BPFTRACE_PID=""
}

reference_storm() {
  # shellcheck disable=SC2086
  quiet_wait "$PHASE" $BT_PROGS
  two_storms "$BT_PROG"
  # shellcheck disable=SC2086
  OTHERS=$(others_during "$TP_T0" "$T_STORM1" $BT_PROGS)
}
