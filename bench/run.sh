#!/usr/bin/env bash
# Drop-storm benchmark for the dropreason agent. Run as root from the repository root:
#
#   sudo bash bench/run.sh
#
# One run, four phases, each a storm of small UDP datagrams (bench/storm.c) that an
# iptables OUTPUT DROP rule drops: every datagram is one skb:kfree_skb event.
#   1. baseline   storm with nothing attached
#   2. agent      ./bin/dropreason --config bench/config.yaml running: a storm with
#                 kernel.bpf_stats_enabled=0 for throughput, then one with it =1 for the
#                 program's run time (the accounting itself slows every program run);
#                 its count over both is checked against the iptables rule counter, and
#                 its CPU and memory are measured
#   2b. location off  the agent again with its receiver's `location: false`: one storm
#                 (bpf_stats_enabled=1) for the program's run time without drop locations
#   3. reference  the same two storms with a bpftrace one-liner on the tracepoint instead
#   4. floor      one storm (bpf_stats_enabled=1) with an empty tp_btf program on the
#                 tracepoint (bench/floor.bpf.c): the run time the kernel's accounting
#                 reports for doing nothing, under both programs above, and the
#                 sender's throughput beside the agent's second storm (both with the
#                 accounting on)
#   5. baseline   again, to show how much the machine drifted during the run
#
# Throughput is compared in drops per CPU-second of the sender (its user + system time,
# which includes every eBPF program run on its drops): on a shared machine the wall-clock
# rate also moves with whatever else takes the sender's CPU. Both are reported.
#
# The storm runs in a network namespace of its own (a veth pair in 198.18.0.0/15) pinned
# to STORM_CPU; the agent, bpftrace and this script are pinned to AGENT_CPU.
# Prints markdown tables at the end and writes them to bench/.build/results.md.
#
# On a shared machine: before each storm the script waits (up to QUIET_WAIT s) until no
# tracing eBPF program but the one under test is loaded and the CPUs are under
# QUIET_BUSY % busy; a storm during which another tracing program was loaded (another
# agent or test run: it slows the storm and, node-wide, adds its drops to the agent's
# count) is repeated, up to ATTEMPTS times, and the results say so.
#
# Exit status: 0 when the run completed (PASS/FAIL per target is the result), 1 when the
# run could not be made, 3 when the agent's count differs from the iptables counter.
#
# Knobs (environment): STORM_SECONDS (10), STORM_CPU (1), AGENT_CPU (0), STORM_BATCH (64),
# STORM_PAYLOAD (16: bytes of UDP payload), QUIET_WAIT (60), QUIET_BUSY (15), ATTEMPTS (3).

set -Eeuo pipefail

# Targets (and MIN_STORM_PPS in bench/lib.sh).
MIN_THROUGHPUT_PCT=90
MAX_CPU_PCT=1
MAX_RSS_MIB=100
MAX_COST_RATIO=0.5
MAX_LOCATION_NS=5
MIN_FLOOR_THROUGHPUT_PCT=99

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"

# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh"

CONFIG="$BENCH/config.yaml"
DST_ADDR=198.18.0.2
DST_PORT=9

ipt_counters() { # -> "pkts bytes" of the DROP rule
  ip netns exec "$NS_TX" iptables -L OUTPUT -v -x -n |
    awk -v d="$DST_ADDR" '$3 == "DROP" && $0 ~ d && /dpt:9([^0-9]|$)/ { print $1, $2; exit }'
}

metric() { # name -> sum of its egress IPTABLE_RULE_DROP series, over locations (0 if absent)
  local body
  body=$(curl -sf --max-time 5 "$URL") || die "cannot scrape $URL"
  awk -v n="$1{" '
    index($0, n) == 1 && index($1, "direction=\"egress\"") && index($1, "reason=\"IPTABLE_RULE_DROP\"") { s += $NF }
    END { printf "%.0f\n", s }' <<<"$body"
}

# ---------------------------------------------------------------- checks
preflight bench/run.sh gcc clang ip iptables bpftool bpftrace curl taskset awk

# ---------------------------------------------------------------- topology
log "creating namespaces $NS_TX and $NS_RX (veth, $SRC_ADDR/30 -> $DST_ADDR/30)"
make_namespaces "$DST_ADDR"
ip netns exec "$NS_TX" iptables -A OUTPUT -d "$DST_ADDR" -p udp --dport "$DST_PORT" -j DROP
[ -n "$(ipt_counters)" ] || die "the iptables DROP rule is not in place in $NS_TX"

begin_run "$BUILD/tracing-progs.txt"

# ---------------------------------------------------------------- 1. baseline
log "phase 1/5: baseline storm, nothing attached"
baseline_phase 1 "baseline, before"

# ---------------------------------------------------------------- 2. agent
log "phase 2/5: agent"
AGENT_LOG="$BUILD/agent.log"
start_agent
log "agent program: id $OUR_PROG ($OUR_PROG_NAME, $OUR_PROG_TYPE); all its programs: $AGENT_PROGS"

# The agent phase: its counter before and after both storms (it reports what it read at
# its last collection, so after means after the next collection) against the sum of the
# rule counters, and its CPU from just before the storms until that collection was read.
# The agent counts the whole machine, so another tracing program seen from one
# collection interval before the first read (a test run making iptables drops of its
# own) makes the attempt suspect.
agent_storm() {
  local t0
  quiet_wait "$PHASE" $AGENT_PROGS
  t0=$(now)
  AG_COUNT0=$(metric "$METRIC_COUNT")
  AG_BYTES0=$(metric "$METRIC_BYTES")
  TICKS0=$(cpu_ticks "$AGENT_PID")
  T_CPU0=$(now)
  two_storms "$OUR_PROG"
  log "waiting $((INTERVAL + 3)) s for a collection after the storms"
  sleep $((INTERVAL + 3))
  AG_COUNT1=$(metric "$METRIC_COUNT")
  AG_BYTES1=$(metric "$METRIC_BYTES")
  if [ $((AG_COUNT1 - AG_COUNT0)) != "$SUM_PKTS" ] || [ $((AG_BYTES1 - AG_BYTES0)) != "$SUM_BYTES" ]; then
    log "agent count differs from the rule counter; reading again after one more collection"
    sleep $((INTERVAL + 1))
    AG_COUNT1=$(metric "$METRIC_COUNT")
    AG_BYTES1=$(metric "$METRIC_BYTES")
  fi
  TICKS1=$(cpu_ticks "$AGENT_PID")
  T_CPU1=$(now)
  alive "$AGENT_PID" || die "the agent died during the run; its log: $AGENT_LOG"
  OTHERS=$(others_during "$(calc %.3f "$t0 - $INTERVAL")" "$T_CPU1" $AGENT_PROGS)
  log "agent: count delta $((AG_COUNT1 - AG_COUNT0)) (rule $SUM_PKTS), bytes delta $((AG_BYTES1 - AG_BYTES0)) (rule $SUM_BYTES)"
}

PHASE="with the agent"
with_attempts "$PHASE" agent_storm
agent_results
AG_DCOUNT=$((AG_COUNT1 - AG_COUNT0))
AG_DBYTES=$((AG_BYTES1 - AG_BYTES0))
CPU_PCT=$(calc %.4f "($TICKS1 - $TICKS0) / $CLK_TCK / $CPU_WINDOW * 100")
agent_memory
if [ "$AG_DCOUNT" != "$AG_IPT_PKTS" ] || [ "$AG_DBYTES" != "$AG_IPT_BYTES" ]; then
  EXTRA=$((AG_DCOUNT - AG_IPT_PKTS))
  EXTRA_BYTES=$((AG_DBYTES - AG_IPT_BYTES))
  PER=$(if [ "$EXTRA" != 0 ]; then calc %.1f "$EXTRA_BYTES / $EXTRA"; else echo "n/a"; fi)
  NOTES+=("count not exact: the agent's delta differs from the rule counter by $EXTRA packets and $EXTRA_BYTES bytes ($PER bytes each; the storm's are $(calc %d "$AG_IPT_BYTES / $AG_IPT_PKTS") bytes each).")
fi
log "stopping the agent"
stop_pid "$AGENT_PID" TERM
AGENT_PID=""

# ---------------------------------------------------------------- 2b. location off
log "phase 2b: agent with location: false"
CONFIG_ON=$CONFIG
CONFIG="$BUILD/config-no-location.yaml"
sed 's/^    location: true$/    location: false/' "$CONFIG_ON" >"$CONFIG"
grep -q 'location: false' "$CONFIG" || die "cannot write $CONFIG"
AGENT_LOG="$BUILD/agent-no-location.log"
start_agent
CONFIG=$CONFIG_ON

# shellcheck disable=SC2086 # program ids, one word each
per_drop_phase "with the agent, location: false" "$OUR_PROG" $AGENT_PROGS
OFF_RUNS=$TIMED_RUNS OFF_NS=$TIMED_NS OFF_OTHERS=$OTHERS
stop_pid "$AGENT_PID" TERM
AGENT_PID=""

# ---------------------------------------------------------------- 3. reference
log "phase 3/5: reference, bpftrace -e '$BPFTRACE_PROG'"
PHASE="with bpftrace"
bpftrace_phase "$BPFTRACE_PROG" "$BUILD/bpftrace.log" 60

# ---------------------------------------------------------------- 4. floor
log "phase 4/5: floor, an empty tp_btf program on skb:kfree_skb"
clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -I"$ROOT/bpf/vmlinux/$(uname -m)" \
  -c "$BENCH/floor.bpf.c" -o "$BUILD/floor.bpf.o" || die "cannot compile bench/floor.bpf.c"
FLOOR_LOG="$BUILD/floor.log"
node "$BENCH/attach.mjs" "$BUILD/floor.bpf.o" >"$FLOOR_LOG" 2>&1 &
FLOOR_PID=$!
FLOOR_PROG=""
for i in $(seq 300); do
  alive "$FLOOR_PID" || die "the floor program did not load; its output ($FLOOR_LOG):
$(tail -20 "$FLOOR_LOG")"
  if grep -q '^attached' "$FLOOR_LOG"; then
    read -r FLOOR_PROG _ <<<"$(prog_ids_of "$FLOOR_PID")"
    break
  fi
  sleep 0.1
done
[ -n "$FLOOR_PROG" ] || die "the floor program did not attach within 30 s; its output: $FLOOR_LOG"

per_drop_phase floor "$FLOOR_PROG"
FLOOR_RUNS=$TIMED_RUNS FLOOR_NS=$TIMED_NS FLOOR_OTHERS=$OTHERS FLOOR_CS_PPS_CPU=$PPS_CPU
stop_pid "$FLOOR_PID" TERM
FLOOR_PID=""

# ---------------------------------------------------------------- 5. baseline again
log "phase 5/5: baseline storm again"
baseline_phase 2 "baseline, after"
T_RUN1=$(now)

# ---------------------------------------------------------------- results
AGENT_PCT=$(calc %.3f "$AGENT_PPS / $BASE_PPS * 100")
AGENT_PCT_CPU=$(calc %.3f "$AGENT_PPS_CPU / $BASE_PPS_CPU * 100")
COST_RATIO=$(calc %.4f "$OUR_NS / $BT_NS")
FLOOR_PCT_CPU=$(calc %.3f "$AGENT_CS_PPS_CPU / $FLOOR_CS_PPS_CPU * 100")
FLOOR_RATIO=$(calc %.4f "$FLOOR_NS / $BT_NS")
ABOVE_RATIO=$(calc %.4f "($OUR_NS - $FLOOR_NS) / ($BT_NS - $FLOOR_NS)")

COUNT_OK=$([ "$AG_DCOUNT" = "$AG_IPT_PKTS" ] && echo PASS || echo FAIL)
BYTES_OK=$([ "$AG_DBYTES" = "$AG_IPT_BYTES" ] && echo PASS || echo FAIL)
STORM_OK=$(pass "$AGENT_PPS >= $MIN_STORM_PPS && $AGENT_SECS >= 10")
run_identity

RESULTS="$BUILD/results.md"
{
  echo "Drop storm benchmark, $(date -u +%Y-%m-%dT%H:%MZ): $(uname -sr), $NCPU CPUs ($CPU_MODEL); storm on CPU $STORM_CPU, agent and bpftrace on CPU $AGENT_CPU; ${STORM_SECONDS} s storms of ${STORM_PAYLOAD}-byte UDP datagrams. Agent: commit $REV, built $(date -u -d "@${AGENT_BUILT%.*}" +%Y-%m-%dT%H:%MZ), Node $(node --version), program \`$OUR_PROG_NAME\` ($OUR_PROG_TYPE)."
  echo
  storms_head
  baseline_row "baseline, before" "$BASE1_PPS" "$BASE1_PPS_CPU" "$BASE1_SHARE" "$BASE1_OTHERS"
  storm_row "with the agent" "$AGENT_PPS" "$AGENT_PPS_CPU" "$AGENT_SHARE" "$OUR_NS" "$OUR_RUNS" "$AGENT_OTHERS"
  echo "| with the agent, \`location: false\` | | | | | $(f1 "$OFF_NS") ns ($(fmt_int "$OFF_RUNS") runs) | $(others "$OFF_OTHERS") |"
  storm_row "with bpftrace" "$BT_PPS" "$BT_PPS_CPU" "$BT_SHARE" "$BT_NS" "$BT_RUNS" "$BT_OTHERS"
  echo "| empty tp_btf program (floor) | | | | | $(f1 "$FLOOR_NS") ns ($(fmt_int "$FLOOR_RUNS") runs) | $(others "$FLOOR_OTHERS") |"
  baseline_row "baseline, after" "$BASE2_PPS" "$BASE2_PPS_CPU" "$BASE2_SHARE" "$BASE2_OTHERS"
  echo
  echo "With the agent and with bpftrace, two ${STORM_SECONDS} s storms each: throughput and CPU time per drop from the first (kernel.bpf_stats_enabled=0), eBPF run time per drop (run_time_ns / run_cnt from bpftool) from the second (=1). Added CPU time per drop is against the mean of the two baselines. With the accounting on, the sender took $(ns_per "$AGENT_CS_PPS_CPU") ns per drop with the agent and $(ns_per "$BT_CS_PPS_CPU") ns with bpftrace."
  echo
  echo "| target | measured | |"
  echo "|---|---|---|"
  echo "| storm ≥ 500,000 drops/s for ≥ 10 s with the agent attached | $(fmt_int "$AGENT_PPS") drops/s for $(f1 "$AGENT_SECS") s | $STORM_OK |"
  echo "| agent count = iptables rule packets, both storms (delta of \`${METRIC_COUNT}{${LABELS}}\`) | $(fmt_int "$AG_DCOUNT") = $(fmt_int "$AG_IPT_PKTS") | $COUNT_OK |"
  echo "| agent bytes = iptables rule bytes (delta of \`${METRIC_BYTES}{…}\`) | $(fmt_int "$AG_DBYTES") = $(fmt_int "$AG_IPT_BYTES") | $BYTES_OK |"
  echo "| throughput with the agent ≥ ${MIN_THROUGHPUT_PCT} % of baseline (drops per CPU-second of the sender) | $(f1 "$AGENT_PCT_CPU") % (wall clock: $(f1 "$AGENT_PCT") %) | $(pass "$AGENT_PCT_CPU >= $MIN_THROUGHPUT_PCT") |"
  echo "| throughput with the agent ≥ ${MIN_FLOOR_THROUGHPUT_PCT} % of the empty program's on the same tracepoint (drops per CPU-second of the sender; both storms with the accounting on) | $(ns_per "$AGENT_CS_PPS_CPU") ns against $(ns_per "$FLOOR_CS_PPS_CPU") ns per drop: $(f1 "$FLOOR_PCT_CPU") % | $(pass "$FLOOR_PCT_CPU >= $MIN_FLOOR_THROUGHPUT_PCT") |"
  echo "| eBPF run time per drop ≤ ${MAX_COST_RATIO} × bpftrace's | $(f1 "$OUR_NS") ns / $(f1 "$BT_NS") ns = $(f2 "$COST_RATIO") | $(pass "$COST_RATIO <= $MAX_COST_RATIO") |"
  echo "| (for reading the line above) the same above the empty program's floor of $(f1 "$FLOOR_NS") ns, which alone is $(f2 "$FLOOR_RATIO") × bpftrace's | $(f1 "$(calc %.3f "$OUR_NS - $FLOOR_NS")") ns / $(f1 "$(calc %.3f "$BT_NS - $FLOOR_NS")") ns = $(f2 "$ABOVE_RATIO") | |"
  echo "| drop locations cost ≤ ${MAX_LOCATION_NS} ns per drop (eBPF run time, location on − off) | $(f1 "$OUR_NS") ns − $(f1 "$OFF_NS") ns = $(calc %+.1f "$OUR_NS - $OFF_NS") ns | $(pass "$OUR_NS - $OFF_NS <= $MAX_LOCATION_NS") |"
  echo "| agent CPU ≤ ${MAX_CPU_PCT} % of one core at a ${INTERVAL} s interval | $(f2 "$CPU_PCT") % over $(f1 "$CPU_WINDOW") s (both storms, then ≥ 1 collection; $((TICKS1 - TICKS0)) ticks of 1/$CLK_TCK s) | $(pass "$CPU_PCT <= $MAX_CPU_PCT") |"
  echo "| agent memory ≤ ${MAX_RSS_MIB} MiB | $(memory_text) | $(pass "$HWM_MIB <= $MAX_RSS_MIB") |"
  results_end
} >"$RESULTS"

EXACT=$([ "$COUNT_OK" = PASS ] && [ "$BYTES_OK" = PASS ] && echo PASS || echo FAIL)
finish_run "$EXACT" "${AGENT_LOG#"$ROOT"/}, ${BT_LOG#"$ROOT"/}"
