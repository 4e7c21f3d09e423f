#!/bin/sh
# The init of a test guest that test/kernels/run.sh boots under QEMU. It runs twice:
#
#   stage 1 (no argument): /init of the busybox initramfs. Loads the 9p, virtio and overlay
#     modules that run.sh copied (decompressed) into /modules, mounts the host's root over
#     9p read-only, lays a tmpfs-backed overlay on it for a writable root, mounts the
#     kernel package's modules at usr/lib/modules and switches root to it.
#   stage 2 ("stage2"): PID 1 in that root, the host's bash with the host's programs.
#     Mounts the kernel's file systems, brings lo up, records what the agent attaches,
#     runs the root integration suite, reports to the host on the serial console and
#     powers off.
#
# Everything the host reads is a line starting with "@@dropreason-guest " (see run.sh).
# /etc/guest.conf in the initramfs (written by run.sh) sets REPO, MODULES_DIR,
# SUITE_TIMEOUT and SUITE (vitest's arguments, split on spaces); stage 2 reads it from
# /guest.conf. An /etc/guest-script.sh there (KERNELS_GUEST_SCRIPT) runs before the
# suite, as /guest-script.sh.

report() { echo "@@dropreason-guest $*"; }

# A guest that cannot go on says why and powers off; the host sees no result line.
die() {
  report "error $*"
  poweroff_now
}

poweroff_now() {
  sync
  echo o >/proc/sysrq-trigger
  # Power-off is asynchronous and soon takes the 9p root away, so no program may be run
  # meanwhile. Should it not happen, PID 1 exits: panic=-1 reboots and -no-reboot ends QEMU.
  i=0
  while [ $i -lt 3000000 ]; do i=$((i + 1)); done
  exit 1
}

stage1() {
  /bin/busybox mkdir -p /proc /sys /dev /usr/bin /usr/sbin /sbin
  /bin/busybox --install -s
  mount -t proc proc /proc
  mount -t sysfs sysfs /sys
  mount -t devtmpfs devtmpfs /dev
  . /etc/guest.conf

  for m in /modules/*.ko; do
    [ -e "$m" ] || continue
    insmod "$m" || die "insmod $m failed"
  done

  mkdir -p /host /rw /newroot
  # cache=loose: the host's files do not change while the guest runs, and 9p under
  # emulation is slow enough that caching them matters.
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=loose,ro host /host ||
    die "mounting the host root over 9p failed"
  mount -t tmpfs -o mode=0755 tmpfs /rw || die "mounting the overlay's tmpfs failed"
  mkdir -p /rw/upper /rw/work
  mount -t overlay overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work /newroot ||
    die "mounting the overlay root failed"
  [ -d "/newroot$MODULES_DIR" ] || die "no kernel modules at $MODULES_DIR on the host"
  mkdir -p /newroot/usr/lib/modules
  mount -o bind "/newroot$MODULES_DIR" /newroot/usr/lib/modules || die "mounting the kernel's modules failed"
  [ -f "/newroot$REPO/test/kernels/guest-init.sh" ] || die "no $REPO/test/kernels/guest-init.sh on the host"

  umount /proc /sys /dev
  cp /etc/guest.conf /newroot/guest.conf
  [ -f /etc/guest-script.sh ] && cp /etc/guest-script.sh /newroot/guest-script.sh
  # switch_root makes the overlay "/" for PID 1, whose file-system root the kernel's
  # threads share: the kernel's own modprobe calls (iptables modules) find the host's.
  exec switch_root /newroot /bin/bash "$REPO/test/kernels/guest-init.sh" stage2
}

# The agent as users run it, for a few seconds: which programs attach on this kernel.
agent_info() {
  log=/tmp/agent-info.log
  bin/dropreason >"$log" 2>&1 &
  pid=$!
  i=0
  while [ $i -lt 600 ] && ! grep -q 'everything is ready' "$log" && kill -0 $pid 2>/dev/null; do
    sleep 0.1
    i=$((i + 1))
  done
  grep -E 'hook=|function hook| (warn|error) ' "$log" | sed -E 's/^[0-9TZ:.-]+ +//' |
    while read -r line; do report "info agent: $line"; done
  # Our programs (dr_*) with their type, and the links that attach them.
  node -e '
    const { execFileSync } = require("node:child_process");
    const show = (what) => { try { return JSON.parse(execFileSync("bpftool", ["-j", what, "show"], { encoding: "utf8" })); } catch { return []; } };
    const links = show("link");
    for (const p of show("prog").filter((p) => p.name?.startsWith("dr_"))) {
      const attach = links.filter((l) => l.prog_id === p.id).map((l) => [l.type, l.attach_type, l.tp_name].filter(Boolean).join(" "));
      console.log(`@@dropreason-guest info prog: ${p.name} type=${p.type} links=[${attach.join("; ")}]`);
    }'
  kill -INT $pid 2>/dev/null
  wait $pid
  rc=$?
  report "info agent exit=$rc $(grep -o 'stopped: .*' "$log")"
}

# Which attach types this kernel allows, independent of the agent (bpftrace compiles in
# the guest, so each probe takes a while under emulation).
probe_info() {
  command -v bpftrace >/dev/null || return 0
  for probe in 'kretfunc:tcp_v4_connect' 'kprobe:tcp_v4_connect' 'tracepoint:skb:kfree_skb'; do
    out=$(timeout 120 bpftrace -e "$probe { exit(); } interval:ms:1 { exit(); }" 2>&1)
    case $? in
      0) report "info bpftrace $probe: attaches" ;;
      *) report "info bpftrace $probe: fails: $(echo "$out" | grep -v '^$' | tail -2 | tr '\n' ' ')" ;;
    esac
  done
}

stage2() {
  . /guest.conf
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  export HOME=/root TERM=dumb NO_COLOR=1 LANG=C.UTF-8
  mount -t proc proc /proc
  mount -t sysfs sysfs /sys
  mount -t devtmpfs devtmpfs /dev
  mkdir -p /dev/pts /dev/shm
  mount -t devpts devpts /dev/pts
  mount -t tmpfs -o mode=1777 tmpfs /dev/shm
  # A checkout under /tmp or /run (a CI clone) would vanish under their tmpfs: hold it
  # aside and bind it back.
  case "$REPO/" in
  /tmp/* | /run/*)
    mkdir -p /mnt/repo
    mount --bind "$REPO" /mnt/repo
    ;;
  esac
  mount -t tmpfs -o mode=1777 tmpfs /tmp
  mount -t tmpfs -o mode=0755 tmpfs /run
  if mountpoint -q /mnt/repo 2>/dev/null; then
    mkdir -p "$REPO"
    mount --bind /mnt/repo "$REPO"
  fi
  mount -t bpf bpf /sys/fs/bpf
  mount -t tracefs tracefs /sys/kernel/tracing
  mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
  mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
  ip link set lo up
  report "up kernel=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)"

  cd "$REPO" || die "no $REPO"
  . scripts/env.sh
  agent_info
  if [ -f /guest-script.sh ]; then
    report "script"
    bash /guest-script.sh 2>&1 | cat
  fi

  start=$(cut -d. -f1 /proc/uptime)
  # Through a pipe: on a terminal (the serial console is one) vitest redraws its progress.
  {
    timeout -k 10 "$SUITE_TIMEOUT" node node_modules/vitest/vitest.mjs run $SUITE \
      --reporter=default --reporter=json --outputFile.json=/tmp/vitest.json </dev/null 2>&1
    echo $? >/tmp/suite.rc
  } | cat
  rc=$(cat /tmp/suite.rc)
  [ $rc -eq 124 ] || [ $rc -eq 137 ] && report "error the suite did not finish within ${SUITE_TIMEOUT}s"
  end=$(cut -d. -f1 /proc/uptime)
  node -e '
    const fs = require("node:fs");
    let r;
    try { r = JSON.parse(fs.readFileSync("/tmp/vitest.json", "utf8")); } catch { process.exit(0); }
    const say = (s) => console.log("@@dropreason-guest " + s);
    say(`counts passed=${r.numPassedTests} failed=${r.numFailedTests} skipped=${r.numPendingTests + r.numTodoTests} total=${r.numTotalTests}`);
    for (const file of r.testResults) {
      for (const t of file.assertionResults)
        if (t.status === "failed")
          say(`failed ${file.name.replace(process.cwd() + "/", "")} > ${t.fullName}: ${(t.failureMessages[0] ?? "").split("\n")[0]}`);
      if (file.status === "failed" && file.assertionResults.length === 0)
        say(`failed ${file.name.replace(process.cwd() + "/", "")}: ${file.message.split("\n")[0]}`);
    }'
  report "suite exit=$rc seconds=$((end - start))"

  probe_info
  report "done uptime=$(cut -d' ' -f1 /proc/uptime)"
  poweroff_now
}

case ${1:-} in
  stage2) shift && stage2 "$@" ;;
  *) stage1 ;;
esac
