#!/usr/bin/env bash
# Advanced-mode drop-storm benchmark for the dropreason agent. Run as root from the
# repository root:
#
#   sudo bash bench/advanced.sh
#
# As bench/run.sh, but the storm is spread over FLOWS distinct flows (FLOW_PORTS ports on
# each of FLOWS / FLOW_PORTS addresses in 198.19.0.0/16, round robin) and the agent runs
# bench/advanced.yaml: mode advanced, one pod series per peer address and port. Phases:
#   1. baseline   storm with nothing attached
#   2. agent      a storm with kernel.bpf_stats_enabled=0 for throughput, one with it =1
#                 for the run time of the agent's programs per drop; then
#                 - the sums over the pod series of the sender's address
#                   (dropreason_pod_drop_count_total / _bytes_total) and the basic series
#                   are checked against the iptables rule counters,
#                 - the pod series of the sender's address are counted (one per flow),
#                 - the agent's CPU over the storms and the collections after them, from
#                   /proc/PID/stat, without any scrape in that window; then SCRAPES scrapes
#                   back to back give the CPU one scrape of all those series costs
#   3. reference  the same two storms with bpftrace's one-liner on the tracepoint (the
#                 target), then with the same one-liner counting per flow as the agent
#                 does (not a target: what counting 10,000 flows costs bpftrace)
#   4. baseline   again, to show drift
# The CPU target is judged twice: the collections alone, and with one scrape of every
# series per collection interval added (a Prometheus scraping as often as the agent reads).
# With PODS=N the agent also runs the k8sattributes processor against an API server holding
# N pods (bench/fake_pods.ts), the sender's address among them: the pod cache's memory and
# the enrichment of every pod series are then in the figures.
#
# Prints markdown tables at the end and writes them to bench/.build/advanced-results.md.
# Exit status: 0 when the run completed (PASS/FAIL per target is the result), 1 when the
# run could not be made, 3 when the agent's counts differ from the iptables counters.
#
# Knobs (environment): FLOWS (10000), FLOW_PORTS (10), STORM_SECONDS (10), STORM_CPU (1),
# AGENT_CPU (0), STORM_BATCH (64), STORM_PAYLOAD (16), SCRAPES (5), QUIET_WAIT (60),
# QUIET_BUSY (15), ATTEMPTS (3), FLOW_REFERENCE (1; 0 leaves out the per-flow bpftrace),
# PODS (0: no k8sattributes processor).

set -Eeuo pipefail

FLOWS=${FLOWS:-10000}
FLOW_PORTS=${FLOW_PORTS:-10}
SCRAPES=${SCRAPES:-5}
FLOW_REFERENCE=${FLOW_REFERENCE:-1}
PODS=${PODS:-0}

# shellcheck disable=SC2016 # bpftrace variables, not the shell's
BPFTRACE_FLOW_PROG='tracepoint:skb:kfree_skb { $s = (struct sk_buff *)args->skbaddr; $ip = (struct iphdr *)($s->head + $s->network_header); $udp = (struct udphdr *)($s->head + $s->transport_header); @[args->reason, $ip->saddr, $ip->daddr, $udp->dest] = count(); }'
POD_COUNT='dropreason_pod_drop_count_total'
POD_BYTES='dropreason_pod_drop_bytes_total'

# Targets (and MIN_STORM_PPS in bench/lib.sh).
MIN_FLOWS=10000
MAX_CPU_PCT=2
MAX_COST_RATIO=1

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"

# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh"

CONFIG="$BENCH/advanced.yaml"
PEER_ADDR=198.18.0.2
DST_NET=198.19.0.0/16 # the flows' destinations, routed out of the veth
DST_ADDR=198.19.0.1   # first destination address
DST_PORT=1024         # first destination port
POD_LABEL="k8s_pod_ip=\"$SRC_ADDR\""

ipt_counters() { # -> "pkts bytes" of the DROP rule
  ip netns exec "$NS_TX" iptables -L OUTPUT -v -x -n |
    awk -v d="$DST_NET" '$3 == "DROP" && index($0, d) > 0 { print $1, $2; exit }'
}

scrape() { # file: the agent's /metrics into it
  curl -sf --max-time 10 -o "$1" "$URL" || die "cannot scrape $URL"
}

# Sums over a scrape: "count bytes series": the basic series of the storm's drops, then
# the pod series of the sender's address (their count, their sum), then the pod series
# under the overflow reason (drops the kernel map had no room for), then all pod series.
# Label values here hold no spaces, so the value is the last field.
scrape_sums() { # file
  awk -v bc="$METRIC_COUNT{" -v bb="$METRIC_BYTES{" \
    -v pc="$POD_COUNT{" -v pb="$POD_BYTES{" -v pod="$POD_LABEL" '
    # The basic series of the drops of the storm, over their locations.
    function basic(prefix) {
      return index($0, prefix) == 1 && index($1, "direction=\"egress\"") && index($1, "reason=\"IPTABLE_RULE_DROP\"")
    }
    basic(bc) { basic_c += $NF }
    basic(bb) { basic_b += $NF }
    index($0, pc) == 1 {
      all_c += $NF; all_n++
      if (index($0, pod)) { pod_c += $NF; pod_n++ }
      if (index($0, "reason=\"OTHER\"")) other_c += $NF
    }
    index($0, pb) == 1 { all_b += $NF; if (index($0, pod)) pod_b += $NF }
    END { printf "%.0f %.0f %.0f %.0f %d %.0f %.0f %.0f %d\n",
      basic_c, basic_b, pod_c, pod_b, pod_n, other_c, all_c, all_b, all_n }
  ' "$1"
}

# ---------------------------------------------------------------- checks
preflight bench/advanced.sh gcc ip iptables bpftool bpftrace curl taskset awk
[[ "$FLOWS" =~ ^[0-9]+$ && "$FLOW_PORTS" =~ ^[0-9]+$ && "$FLOW_PORTS" -ge 1 ]] || die "FLOWS and FLOW_PORTS must be whole numbers"
ADDRS=$(((FLOWS + FLOW_PORTS - 1) / FLOW_PORTS))
[ "$ADDRS" -le 65000 ] || die "FLOWS / FLOW_PORTS = $ADDRS addresses do not fit in $DST_NET"
[[ "$PODS" =~ ^[0-9]+$ ]] || die "PODS must be a whole number"
STORM_EXTRA=("$FLOWS" "$FLOW_PORTS")

# ---------------------------------------------------------------- pods
PODS_TEXT=""
if [ "$PODS" -gt 0 ]; then
  log "starting an API server holding $(fmt_int "$PODS") pods (bench/fake_pods.ts)"
  (cd "$ROOT" && npx tsc -p bench/tsconfig.json) || die "cannot build bench/fake_pods.ts"
  PODS="$PODS" node "$BENCH/.build/bench/fake_pods.js" "$SRC_ADDR" >"$BUILD/advanced-api.txt" 2>&1 &
  API_PID=$!
  for _ in $(seq 600); do
    [ -s "$BUILD/advanced-api.txt" ] && break
    alive "$API_PID" || die "the API server exited: $(cat "$BUILD/advanced-api.txt")"
    sleep 0.1
  done
  KUBECONFIG_PATH=$(head -1 "$BUILD/advanced-api.txt")
  [ -f "$KUBECONFIG_PATH" ] || die "the API server did not start within 60 s: $(cat "$BUILD/advanced-api.txt")"
  CONFIG="$BUILD/advanced-pods.yaml"
  # bench/advanced.yaml with the processor in its pipeline.
  awk -v kc="$KUBECONFIG_PATH" '
    /^exporters:/ { print "processors:\n  k8sattributes:\n    auth_type: kubeConfig\n    kube_config_path: " kc "\n    wait_for_metadata: true\n" }
    { print }
    /^      receivers: \[dropreason\]/ { print "      processors: [k8sattributes]" }
  ' "$BENCH/advanced.yaml" >"$CONFIG"
  grep -q 'processors: \[k8sattributes\]' "$CONFIG" || die "cannot add the processor to $CONFIG"
  PODS_TEXT=" with \`k8sattributes\` over $(fmt_int "$PODS") pods (the sender one of them)"
fi

# ---------------------------------------------------------------- topology
log "creating namespaces $NS_TX and $NS_RX (veth, $SRC_ADDR/30, $DST_NET routed out of it)"
make_namespaces "$PEER_ADDR"
# OUTPUT drops before any neighbour lookup: a route is all the destinations need.
ip -n "$NS_TX" route add "$DST_NET" dev veth0
ip netns exec "$NS_TX" iptables -A OUTPUT -d "$DST_NET" -p udp -j DROP
[ -n "$(ipt_counters)" ] || die "the iptables DROP rule is not in place in $NS_TX"

begin_run "$BUILD/advanced-tracing-progs.txt"

# ---------------------------------------------------------------- 1. baseline
log "phase 1/4: baseline storm over $FLOWS flows, nothing attached"
baseline_phase 1 "baseline, before"

# ---------------------------------------------------------------- 2. agent
log "phase 2/4: agent in advanced mode"
AGENT_LOG="$BUILD/advanced-agent.log"
start_agent
# The counter first: its run count is the number of drops; the others' run time adds up.
OTHER_PROGS=$(tr ' ' '\n' <<<"$AGENT_PROGS" | awk -v p="$OUR_PROG" 'NF && $1 != p' | tr '\n' ' ')
log "agent program: id $OUR_PROG ($OUR_PROG_NAME, $OUR_PROG_TYPE); all its programs: $AGENT_PROGS"

# The agent phase: sums before and after both storms (after means after the next
# collection) against the sum of the rule counters; CPU from just before the storms until
# that collection, with no scrape in between.
agent_storm() {
  local t0
  # shellcheck disable=SC2086 # program ids, one word each
  quiet_wait "$PHASE" $AGENT_PROGS
  t0=$(now)
  scrape "$BUILD/advanced-scrape-before.txt"
  read -r B0_C B0_B P0_C P0_B _ _ ALL0_C ALL0_B _ <<<"$(scrape_sums "$BUILD/advanced-scrape-before.txt")"
  TICKS0=$(cpu_ticks "$AGENT_PID")
  T_CPU0=$(now)
  # shellcheck disable=SC2086
  two_storms "$OUR_PROG" $OTHER_PROGS
  log "waiting $((INTERVAL + 3)) s for a collection after the storms"
  sleep $((INTERVAL + 3))
  TICKS1=$(cpu_ticks "$AGENT_PID")
  T_CPU1=$(now)
  scrape "$BUILD/advanced-scrape.txt"
  read -r B1_C B1_B P1_C P1_B POD_SERIES OTHER_C ALL_C ALL_B ALL_SERIES <<<"$(scrape_sums "$BUILD/advanced-scrape.txt")"
  if [ $((P1_C - P0_C)) != "$SUM_PKTS" ] || [ $((B1_C - B0_C)) != "$SUM_PKTS" ]; then
    log "agent counts differ from the rule counter; reading again after one more collection"
    sleep $((INTERVAL + 1))
    scrape "$BUILD/advanced-scrape.txt"
    read -r B1_C B1_B P1_C P1_B POD_SERIES OTHER_C ALL_C ALL_B ALL_SERIES <<<"$(scrape_sums "$BUILD/advanced-scrape.txt")"
  fi
  alive "$AGENT_PID" || die "the agent died during the run; its log: $AGENT_LOG"
  # shellcheck disable=SC2086
  OTHERS=$(others_during "$(calc %.3f "$t0 - $INTERVAL")" "$T_CPU1" $AGENT_PROGS)
  log "agent: pod series of $SRC_ADDR: $POD_SERIES, count delta $((P1_C - P0_C)), basic count delta $((B1_C - B0_C)) (rule $SUM_PKTS)"
}

PHASE="with the agent"
with_attempts "$PHASE" agent_storm
agent_results
POD_DCOUNT=$((P1_C - P0_C)) POD_DBYTES=$((P1_B - P0_B))
BASIC_DCOUNT=$((B1_C - B0_C)) BASIC_DBYTES=$((B1_B - B0_B))
COLLECT_TICKS=$((TICKS1 - TICKS0))
COLLECT_PCT=$(calc %.4f "$COLLECT_TICKS / $CLK_TCK / $CPU_WINDOW * 100")
SCRAPE_BYTES=$(stat -c %s "$BUILD/advanced-scrape.txt")

# What a scrape of all those series costs, timed apart from the collections.
log "timing $SCRAPES scrapes of $ALL_SERIES pod series (and the rest)"
S_TICKS0=$(cpu_ticks "$AGENT_PID")
S_T0=$(now)
for i in $(seq "$SCRAPES"); do scrape /dev/null; done
S_T1=$(now)
S_TICKS1=$(cpu_ticks "$AGENT_PID")
SCRAPE_CPU_MS=$(calc %.1f "($S_TICKS1 - $S_TICKS0) / $CLK_TCK / $SCRAPES * 1000")
SCRAPE_WALL_MS=$(calc %.1f "($S_T1 - $S_T0) / $SCRAPES * 1000")
CPU_PCT=$(calc %.4f "$COLLECT_PCT + $SCRAPE_CPU_MS / 10 / $INTERVAL")
agent_memory
if [ "$POD_DCOUNT" != "$AG_IPT_PKTS" ] || [ "$POD_DBYTES" != "$AG_IPT_BYTES" ]; then
  NOTES+=("pod series not exact: their sum differs from the rule counters by $((POD_DCOUNT - AG_IPT_PKTS)) packets and $((POD_DBYTES - AG_IPT_BYTES)) bytes; drops under the overflow reason (OTHER): $OTHER_C.")
fi
if [ "$BASIC_DCOUNT" != "$AG_IPT_PKTS" ] || [ "$BASIC_DBYTES" != "$AG_IPT_BYTES" ]; then
  NOTES+=("basic series not exact: the delta differs from the rule counters by $((BASIC_DCOUNT - AG_IPT_PKTS)) packets and $((BASIC_DBYTES - AG_IPT_BYTES)) bytes.")
fi
log "stopping the agent"
stop_pid "$AGENT_PID" TERM
AGENT_PID=""

# ---------------------------------------------------------------- 3. references
log "phase 3/4: reference, bpftrace -e '$BPFTRACE_PROG'"
PHASE="with bpftrace"
bpftrace_phase "$BPFTRACE_PROG" "$BUILD/advanced-bpftrace.log"
REF_LOG=$BT_LOG REF_PPS=$BT_PPS REF_PPS_CPU=$BT_PPS_CPU REF_SHARE=$BT_SHARE REF_OTHERS=$BT_OTHERS
REF_CS_PPS_CPU=$BT_CS_PPS_CPU REF_RUNS=$BT_RUNS REF_NS=$BT_NS

# Not a target: the same one-liner counting per flow, as the agent does, in a map big
# enough for every flow (bpftrace's default of 4,096 keys would drop the rest).
if [ "$FLOW_REFERENCE" = 1 ]; then
  log "phase 3b/4: reference per flow, bpftrace -e '$BPFTRACE_FLOW_PROG'"
  PHASE="with bpftrace, per flow"
  BPFTRACE_MAP_KEYS_MAX=$((FLOWS * 2 + 1024)) bpftrace_phase "$BPFTRACE_FLOW_PROG" "$BUILD/advanced-bpftrace-flow.log"
  FREF_KEYS=$(grep -c '^@' "$BT_LOG" || true)
  FREF_PPS=$BT_PPS FREF_PPS_CPU=$BT_PPS_CPU FREF_SHARE=$BT_SHARE FREF_OTHERS=$BT_OTHERS
  FREF_RUNS=$BT_RUNS FREF_NS=$BT_NS
fi

# ---------------------------------------------------------------- 4. baseline again
log "phase 4/4: baseline storm again"
baseline_phase 2 "baseline, after"
T_RUN1=$(now)

# ---------------------------------------------------------------- results
COST_RATIO=$(calc %.4f "$OUR_NS / $REF_NS")

POD_OK=$([ "$POD_DCOUNT" = "$AG_IPT_PKTS" ] && [ "$POD_DBYTES" = "$AG_IPT_BYTES" ] && echo PASS || echo FAIL)
BASIC_OK=$([ "$BASIC_DCOUNT" = "$AG_IPT_PKTS" ] && [ "$BASIC_DBYTES" = "$AG_IPT_BYTES" ] && echo PASS || echo FAIL)
STORM_OK=$(pass "$AGENT_PPS >= $MIN_STORM_PPS && $AGENT_SECS >= 10 && $FLOWS >= $MIN_FLOWS")
run_identity

RESULTS="$BUILD/advanced-results.md"
{
  echo "Advanced-mode drop storm benchmark, $(date -u +%Y-%m-%dT%H:%MZ): $(uname -sr), $NCPU CPUs ($CPU_MODEL); storm on CPU $STORM_CPU, agent and bpftrace on CPU $AGENT_CPU; ${STORM_SECONDS} s storms of ${STORM_PAYLOAD}-byte UDP datagrams from $SRC_ADDR, round robin over $(fmt_int "$FLOWS") flows ($(fmt_int "$ADDRS") addresses from $DST_ADDR × $FLOW_PORTS ports from $DST_PORT). Agent: commit $REV, built $(date -u -d "@${AGENT_BUILT%.*}" +%Y-%m-%dT%H:%MZ), Node $(node --version), \`mode: advanced\`$PODS_TEXT, program \`$OUR_PROG_NAME\` ($OUR_PROG_TYPE)."
  echo
  storms_head
  baseline_row "baseline, before" "$BASE1_PPS" "$BASE1_PPS_CPU" "$BASE1_SHARE" "$BASE1_OTHERS"
  storm_row "with the agent (advanced)" "$AGENT_PPS" "$AGENT_PPS_CPU" "$AGENT_SHARE" "$OUR_NS" "$OUR_RUNS" "$AGENT_OTHERS"
  storm_row "with bpftrace" "$REF_PPS" "$REF_PPS_CPU" "$REF_SHARE" "$REF_NS" "$REF_RUNS" "$REF_OTHERS"
  if [ "$FLOW_REFERENCE" = 1 ]; then
    storm_row "with bpftrace, per flow (not a target)" "$FREF_PPS" "$FREF_PPS_CPU" "$FREF_SHARE" "$FREF_NS" "$FREF_RUNS" "$FREF_OTHERS"
  fi
  baseline_row "baseline, after" "$BASE2_PPS" "$BASE2_PPS_CPU" "$BASE2_SHARE" "$BASE2_OTHERS"
  echo
  echo "With the agent and with bpftrace, two ${STORM_SECONDS} s storms each: throughput and CPU time per drop from the first (kernel.bpf_stats_enabled=0), eBPF run time per drop from the second (=1: run_time_ns of the agent's programs ($AGENT_PROGS) / run_cnt of the counter, from bpftool). Added CPU time per drop is against the mean of the two baselines. With the accounting on, the sender took $(ns_per "$AGENT_CS_PPS_CPU") ns per drop with the agent and $(ns_per "$REF_CS_PPS_CPU") ns with bpftrace."
  if [ "$FLOW_REFERENCE" = 1 ]; then
    echo
    echo "bpftrace per flow: \`$BPFTRACE_FLOW_PROG\` with BPFTRACE_MAP_KEYS_MAX=$((FLOWS * 2 + 1024)); it ended with $(fmt_int "$FREF_KEYS") keys."
  fi
  echo
  echo "| target | measured | |"
  echo "|---|---|---|"
  echo "| storm ≥ 500,000 drops/s for ≥ 10 s over ≥ $(fmt_int "$MIN_FLOWS") flows, agent attached | $(fmt_int "$AGENT_PPS") drops/s for $(f1 "$AGENT_SECS") s over $(fmt_int "$FLOWS") flows ($(fmt_int "$AGENT_PPS_CPU") per CPU-second of the sender, which had $(f1 "$AGENT_SHARE") % of its CPU) | $STORM_OK |"
  echo "| pod series exact: sum of \`${POD_COUNT}{${POD_LABEL}}\` (and \`${POD_BYTES}\`) = iptables rule packets (bytes), both storms | $(fmt_int "$POD_DCOUNT") = $(fmt_int "$AG_IPT_PKTS") packets, $(fmt_int "$POD_DBYTES") = $(fmt_int "$AG_IPT_BYTES") bytes | $POD_OK |"
  echo "| basic series exact: delta of \`${METRIC_COUNT}{${LABELS}}\` (and bytes) = rule | $(fmt_int "$BASIC_DCOUNT") = $(fmt_int "$AG_IPT_PKTS") packets, $(fmt_int "$BASIC_DBYTES") = $(fmt_int "$AG_IPT_BYTES") bytes | $BASIC_OK |"
  echo "| every flow seen: pod series of $SRC_ADDR ≥ $(fmt_int "$MIN_FLOWS") | $(fmt_int "$POD_SERIES") series (overflow reason OTHER: $(fmt_int "$OTHER_C") drops) | $(pass "$POD_SERIES >= $MIN_FLOWS") |"
  echo "| eBPF run time per drop ≤ bpftrace one-liner's | $(f1 "$OUR_NS") ns / $(f1 "$REF_NS") ns = $(f2 "$COST_RATIO") | $(pass "$COST_RATIO <= $MAX_COST_RATIO") |"
  echo "| agent CPU ≤ ${MAX_CPU_PCT} % of one core at a ${INTERVAL} s interval: collections, no scrape | $(f2 "$COLLECT_PCT") % over $(f1 "$CPU_WINDOW") s (both storms, then ≥ 1 collection; $COLLECT_TICKS ticks of 1/$CLK_TCK s) | $(pass "$COLLECT_PCT <= $MAX_CPU_PCT") |"
  echo "| agent CPU ≤ ${MAX_CPU_PCT} % of one core at a ${INTERVAL} s interval: collections + one scrape per ${INTERVAL} s | $(f2 "$CPU_PCT") % ($(f2 "$COLLECT_PCT") % + $SCRAPE_CPU_MS ms CPU per scrape) | $(pass "$CPU_PCT <= $MAX_CPU_PCT") |"
  echo
  echo "Scrape: $(fmt_int "$ALL_SERIES") pod count series ($(fmt_int "$((ALL_SERIES * 2))") pod series with the bytes), $(fmt_int "$SCRAPE_BYTES") bytes; $SCRAPES scrapes back to back took $SCRAPE_WALL_MS ms and $SCRAPE_CPU_MS ms of agent CPU each. All pod series together grew by $(fmt_int "$((ALL_C - ALL0_C))") packets, $(fmt_int "$((ALL_B - ALL0_B))") bytes (the sender's address and any other drops on the machine). Agent memory at the end: $(memory_text)."
  results_end
} >"$RESULTS"

EXACT=$([ "$POD_OK" = PASS ] && [ "$BASIC_OK" = PASS ] && echo PASS || echo FAIL)
finish_run "$EXACT" "${AGENT_LOG#"$ROOT"/}, ${REF_LOG#"$ROOT"/}; last scrape: bench/.build/advanced-scrape.txt"
