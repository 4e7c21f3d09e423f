#!/usr/bin/env bash
# The kernel matrix: boots Debian's kernels under QEMU (software emulation) and runs the
# root integration suite (test/integration, with this machine's build: nothing is rebuilt
# in the guest) inside each. Prints one summary line per kernel on stdout, progress and
# the guests' findings on stderr; exits non-zero if any guest fails or does not finish.
#
#   bash test/kernels/run.sh [KERNEL...]
#
# KERNEL is a series (6.1, 6.12: the newest Debian amd64 image of it in the archive) or a
# kernel release as Debian names it (6.1.0-56-amd64, 6.12.117+deb12-amd64). Default: 6.1 6.12
# 5.10 (5.10 is Debian 11's, fetched through a private apt configuration in the cache).
# Needs root and the project built (bash scripts/setup.sh). Environment:
#   KERNELS_TIMEOUT  seconds one guest may run, boot to power-off (default 4000: the 6.x
#                    suites take about 2200 s, and have taken longer on a slow spell of a
#                    shared machine)
#   KERNELS_BOOT_TIMEOUT  seconds a guest may take to say it is up (default 300; it takes
#                    about 10); one that has not is booted again, twice at most: the
#                    emulated kernel has been seen to hang right after its timer setup
#   KERNELS_PARALLEL 1 (default): all guests at once, which keeps both cores of a 2-core
#                    machine busy; 0: one after the other
#   KERNELS_SMP      vCPUs per guest (default: this machine's cores shared among the guests
#                    running at once, at least 1: emulated vCPUs beyond the host's cores
#                    make the guests much slower)
#   KERNELS_CACHE    where kernels are kept between runs (default test/kernels/.cache)
#   KERNELS_SUITE    what vitest runs in the guest (default test/integration, but for
#                    Retina's dashboards, on kernels with drop reasons, 5.17+;
#                    legacy, location and symbols before; a file or a -t filter narrows it)
#   KERNELS_GUEST_SCRIPT  a bash script (a file on this machine) the guest runs in the repo
#                    before the suite, its output on the console: for looking into a kernel
#
# Each guest's full console log is kept in $KERNELS_CACHE/<release>/console.log.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd -P)
CACHE=${KERNELS_CACHE:-$HERE/.cache}
TIMEOUT=${KERNELS_TIMEOUT:-4000}
BOOT_TIMEOUT=${KERNELS_BOOT_TIMEOUT:-300}
PARALLEL=${KERNELS_PARALLEL:-1}
SMP=${KERNELS_SMP:-}
DEFAULT_KERNELS=(6.1 6.12 5.10)
# Modules the initramfs needs to mount the host's root (with their dependencies, in the
# order modprobe gives; built-in ones are skipped).
INITRD_MODULES=(virtio_pci 9pnet_virtio 9p overlay)

log() { printf 'kernels: %s\n' "$*" >&2; }
fail() {
  log "$*"
  exit 1
}

[ "$(id -u)" -eq 0 ] || fail "needs root (it installs packages, and the suite in the guest runs as root)"

ensure_host_packages() {
  local missing=() pair
  for pair in qemu-system-x86_64:qemu-system-x86 depmod:kmod modprobe:kmod cpio:cpio xz:xz-utils \
    zstd:zstd flock:util-linux timeout:coreutils; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
  done
  # The initramfs needs a static busybox: the dynamic one would need its libraries.
  dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' || missing+=(busybox-static)
  [ ${#missing[@]} -eq 0 ] && return
  missing=($(printf '%s\n' "${missing[@]}" | sort -u))
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The guest runs the host's build from the host's root: it must be there.
check_build() {
  local f
  for f in dist/cli.js dist/bpf/dropreason.bpf.o build/Release/bpf_addon.node node_modules/vitest/vitest.mjs; do
    [ -e "$ROOT/$f" ] || fail "no $f: build the project first (bash scripts/setup.sh)"
  done
}

apt_updated=0
apt_update_once() {
  [ $apt_updated -eq 1 ] && return 1
  apt_updated=1
  log "apt-get update"
  apt-get update -qq >&2
}

# apt options: none for the machine's own sources. A series they do not carry (5.10 is
# Debian 11's) is looked up in a private apt configuration in the cache that lists older
# Debian releases, so the machine's own sources stay as they are.
APT_OPTS=()
PRIVATE_APT=$CACHE/apt
use_private_apt() {
  [ ${#APT_OPTS[@]} -eq 0 ] || return 1
  mkdir -p "$PRIVATE_APT/sources.list.d" "$PRIVATE_APT/lists/partial" "$PRIVATE_APT/cache/archives/partial"
  printf '%s\n' 'deb http://deb.debian.org/debian bullseye main' \
    'deb http://deb.debian.org/debian-security bullseye-security main' >"$PRIVATE_APT/sources.list"
  APT_OPTS=(-o "Dir::Etc::SourceList=$PRIVATE_APT/sources.list" -o "Dir::Etc::SourceParts=$PRIVATE_APT/sources.list.d"
    -o "Dir::State::Lists=$PRIVATE_APT/lists" -o "Dir::Cache=$PRIVATE_APT/cache")
  log "apt-get update (older Debian releases, in $PRIVATE_APT)"
  apt-get "${APT_OPTS[@]}" update -qq >&2
}

# Releases of a series in the archive's package lists, oldest first: 6.1 → 6.1.0-NN-amd64,
# 6.12 → 6.12.NN+deb12-amd64. Cloud, rt and debug images are not ours.
releases_of() {
  local re=${1//./\\.}
  apt-cache "${APT_OPTS[@]}" pkgnames linux-image- 2>/dev/null |
    sed -n -E "s/^linux-image-(${re}[.-][0-9][^ ]*-amd64)(-unsigned)?\$/\\1/p" |
    grep -Ev -- '-(cloud|rt)-amd64$' | sort -uV || true
}

cached_releases_of() {
  local re=${1//./\\.}
  ls "$CACHE" 2>/dev/null | grep -E "^${re}[.-][0-9].*-amd64\$" | while read -r r; do
    [ -f "$CACHE/$r/.ready" ] && echo "$r"
  done | sort -V || true
}

# A series or a release → RELEASE, the release to test.
resolve() {
  local want=$1 newest
  if ! [[ $want =~ ^[0-9]+\.[0-9]+$ ]]; then
    RELEASE=$want
    return
  fi
  APT_OPTS=()
  newest=$(releases_of "$want" | tail -1)
  if [ -z "$newest" ] && apt_update_once; then newest=$(releases_of "$want" | tail -1); fi
  if [ -z "$newest" ] && use_private_apt; then newest=$(releases_of "$want" | tail -1); fi
  # Offline, or the archive dropped the series: the newest one kept from an earlier run.
  [ -n "$newest" ] || newest=$(cached_releases_of "$want" | tail -1)
  [ -n "$newest" ] || fail "no linux-image-$want*-amd64 package in the archive"
  RELEASE=$newest
}

# Downloads a release's image package and extracts it into the cache, once.
fetch() {
  local rel=$1 dir=$CACHE/$1 tmp pkg deb list
  [ -f "$dir/.ready" ] && return
  tmp=$CACHE/.download
  rm -rf "$tmp" "$dir"
  mkdir -p "$tmp"
  # The signed image carries vmlinuz and the modules; where it is only a wrapper, the
  # unsigned one does.
  for pkg in "linux-image-$rel" "linux-image-$rel-unsigned"; do
    rm -f "$tmp"/*.deb
    log "downloading $pkg"
    if ! (cd "$tmp" && apt-get "${APT_OPTS[@]}" download -q -o APT::Sandbox::User=root "$pkg" >&2); then
      apt_update_once || continue
      (cd "$tmp" && apt-get "${APT_OPTS[@]}" download -q -o APT::Sandbox::User=root "$pkg" >&2) || continue
    fi
    deb=$(ls "$tmp"/*.deb)
    list=$(dpkg-deb -c "$deb" | awk '{ print $6 }')
    if grep -qxF "./boot/vmlinuz-$rel" <<<"$list" &&
      grep -qE "^\./(usr/)?lib/modules/[^/]+/kernel/" <<<"$list"; then
      log "extracting $(basename "$deb")"
      dpkg-deb -x "$deb" "$dir.partial"
      break
    fi
    log "$pkg holds no vmlinuz and modules"
  done
  rm -rf "$tmp"
  [ -d "$dir.partial" ] || fail "no package of $rel with /boot/vmlinuz-$rel and its modules"
  if [ ! -d "$dir.partial/lib/modules/$rel" ]; then
    mkdir -p "$dir.partial/lib/modules"
    mv "$dir.partial/usr/lib/modules/$rel" "$dir.partial/lib/modules/"
  fi
  depmod -b "$dir.partial" "$rel"
  mv "$dir.partial" "$dir"
  touch "$dir/.ready"
}

# What vitest runs in a release's guest: KERNELS_SUITE, else the integration suite; on a
# kernel before 5.17 every drop but netfilter's reads UNKNOWN_DROP, so there only the tests
# written for such kernels, the drop locations (their argument is older than reasons;
# before 5.13 /proc/kallsyms names them) and the addon's map operations.
suite_for() {
  local v=${1%%-*} major minor
  major=${v%%.*}
  minor=${v#*.}
  minor=${minor%%.*}
  if [ -n "${KERNELS_SUITE:-}" ]; then
    echo "$KERNELS_SUITE"
  elif [ "$major" -lt 5 ] || { [ "$major" -eq 5 ] && [ "$minor" -lt 17 ]; }; then
    echo test/integration/legacy.test.ts test/integration/location.test.ts test/integration/symbols.test.ts \
      test/integration/maps.test.ts
  else
    # Retina's dashboards test what the exporter serves and what Prometheus answers, which
    # no kernel changes; their one-second scrape grid does not hold under emulation.
    echo test/integration --exclude test/integration/retina_dashboards.test.ts
  fi
}

# A busybox initramfs: guest-init.sh as /init, the modules to mount the host's root
# (decompressed: busybox insmod reads plain .ko only), and the guest's settings.
build_initrd() {
  local rel=$1 dir=$CACHE/$1 stage=$CACHE/$1/initrd.d n=10 m line path ko
  rm -rf "$stage"
  mkdir -p "$stage"/{bin,dev,etc,modules,proc,sys}
  cp /bin/busybox "$stage/bin/busybox"
  ln -s busybox "$stage/bin/sh"
  mknod -m 600 "$stage/dev/console" c 5 1
  install -m 755 "$HERE/guest-init.sh" "$stage/init"
  cat >"$stage/etc/guest.conf" <<EOF
PATH=/sbin:/usr/sbin:/bin:/usr/bin
REPO='$ROOT'
MODULES_DIR='$dir/lib/modules'
SUITE_TIMEOUT=$((TIMEOUT - 150 > TIMEOUT / 2 ? TIMEOUT - 150 : TIMEOUT / 2))
SUITE='$(suite_for "$rel")'
EOF
  if [ -n "${KERNELS_GUEST_SCRIPT:-}" ]; then
    cp "$KERNELS_GUEST_SCRIPT" "$stage/etc/guest-script.sh"
  fi
  local seen=" " deps
  for m in "${INITRD_MODULES[@]}"; do
    deps=$(modprobe -d "$dir" -S "$rel" --show-depends "$m") || fail "$rel has no module $m"
    while read -r line; do
      [[ $line == insmod\ * ]] || continue
      path=${line#insmod }
      path=${path%% *}
      [[ $seen == *" $path "* ]] && continue
      seen+="$path "
      ko=$(basename "$path")
      ko="$stage/modules/$n-${ko%%.ko*}.ko"
      case $path in
        *.ko) cp "$path" "$ko" ;;
        *.ko.xz) xz -dc "$path" >"$ko" ;;
        *.ko.zst) zstd -qdc "$path" >"$ko" ;;
        *.ko.gz) gzip -dc "$path" >"$ko" ;;
        *) fail "cannot read module $path" ;;
      esac
      n=$((n + 1))
    done <<<"$deps"
  done
  (cd "$stage" && find . | cpio -o -H newc -R 0:0 --quiet) >"$dir/initrd.img"
  rm -rf "$stage"
}

# Whether the guest in folder $1 (QEMU's pid $2) says it is up within BOOT_TIMEOUT seconds,
# or QEMU has ended (its exit is reported as usual).
booted() {
  local dir=$1 pid=$2 waited=0
  while kill -0 "$pid" 2>/dev/null; do
    grep -qa '@@dropreason-guest up' "$dir/console.log" && return 0
    [ "$waited" -lt "$BOOT_TIMEOUT" ] || return 1
    sleep 2
    waited=$((waited + 2))
  done
  return 0
}

# Boots one kernel; the guest runs the suite and powers off. Keeps the console log, QEMU's
# exit code and the seconds it took in the kernel's cache folder.
boot_guest() {
  local rel=$1 dir=$CACHE/$1 start qrc pid attempt
  start=$(date +%s)
  rm -f "$dir/result" "$dir/cpu"
  for attempt in 1 2 3; do
    qrc=0
    timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -cpu max -m 2048 -smp "$SMP" -nographic -no-reboot -nic none \
      -kernel "$dir/boot/vmlinuz-$rel" -initrd "$dir/initrd.img" \
      -virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
      -append "console=ttyS0 panic=-1 quiet tsc=reliable" </dev/null >"$dir/console.log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/pid"
    if [ "$attempt" -lt 3 ] && ! booted "$dir" "$pid"; then
      log "$rel: not up after ${BOOT_TIMEOUT}s, booting it again; the console ended with: $(tail -c 200 "$dir/console.log" | tr '\r\n' '  ' | tr -cd '[:print:]')"
      kill "$pid" 2>/dev/null || true
      wait "$pid" || true
      continue
    fi
    wait "$pid" || qrc=$?
    break
  done
  rm -f "$dir/pid"
  echo "$qrc $(($(date +%s) - start))" >"$dir/result"
  # The CPU time QEMU used (its children's user and system time): with the wall time it
  # tells whether the machine was busy with something else.
  # (times itself not in a pipeline: a forked shell has no children's times.)
  times >"$dir/cpu"
  tail -1 "$dir/cpu" | sed -E 's/([0-9]+)m([0-9.]+)s/\1 \2/g' | awk '{ print $1 * 60 + $2 + $3 * 60 + $4 }' >"$dir/cpu.s"
  mv "$dir/cpu.s" "$dir/cpu"
}

# Stops the guests of this run (the timeout processes, which pass the signal on to QEMU).
stop_guests() {
  local f
  for f in "$CACHE"/*/pid; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
  done
  log "stopped"
  exit 130
}

# Reads what a guest reported and prints its summary line; returns non-zero if anything
# failed or the guest did not finish.
report_guest() {
  local rel=$1 dir=$CACHE/$1 qrc secs lines counts suite passed failed skipped summary ok=1
  read -r qrc secs <"$dir/result"
  log "$rel: QEMU used $(awk '{ printf "%d s of CPU", $1 }' "$dir/cpu") in $secs s"
  lines=$(tr -d '\r' <"$dir/console.log" | sed -n 's/^@@dropreason-guest //p')
  grep '^info ' <<<"$lines" | sed "s/^info /$rel: /" | while read -r l; do log "$l"; done || true
  counts=$(grep '^counts ' <<<"$lines" | tail -1 || true)
  suite=$(grep '^suite ' <<<"$lines" | tail -1 || true)
  if [ -n "$counts" ]; then
    passed=$(sed -E 's/.* passed=([0-9]+).*/\1/' <<<"$counts")
    failed=$(sed -E 's/.* failed=([0-9]+).*/\1/' <<<"$counts")
    skipped=$(sed -E 's/.* skipped=([0-9]+).*/\1/' <<<"$counts")
    summary="$passed passed, $failed failed"
    [ "$skipped" -gt 0 ] && summary+=", $skipped skipped"
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] || ok=0
    if [[ $suite != "suite exit=0 "* ]]; then
      ok=0
      [ "$failed" -gt 0 ] || summary+=", vitest ${suite#suite }"
    fi
  else
    ok=0
    summary="did not finish"
  fi
  if ! grep -q '^done ' <<<"$lines"; then
    ok=0
    if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
      summary+=", timed out after ${TIMEOUT}s"
    else
      summary+=", QEMU exited with $qrc before the guest was done"
    fi
  fi
  echo "kernel $rel: $summary ($secs s)"
  if [ $ok -eq 0 ]; then
    grep -E '^(failed|error) ' <<<"$lines" | while read -r l; do log "$rel: $l"; done || true
    log "$rel: last lines of $dir/console.log:"
    tail -n 60 "$dir/console.log" | tr -d '\r' | sed 's/^/    /' >&2
    return 1
  fi
}

ensure_host_packages
check_build
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -n 9 || fail "another run uses $CACHE"

kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || kernels=("${DEFAULT_KERNELS[@]}")
releases=()
for k in "${kernels[@]}"; do
  resolve "$k"
  fetch "$RELEASE"
  releases+=("$RELEASE")
done

status=0
total_start=$(date +%s)
if [ -z "$SMP" ]; then
  at_once=1
  [ "$PARALLEL" = 1 ] && at_once=${#releases[@]}
  SMP=$(($(nproc) / at_once))
  [ "$SMP" -ge 1 ] || SMP=1
fi
for rel in "${releases[@]}"; do build_initrd "$rel"; done
# Guests run in the background so that a signal reaches the trap at once.
trap stop_guests INT TERM
if [ "$PARALLEL" = 1 ] && [ ${#releases[@]} -gt 1 ]; then
  log "booting ${releases[*]} side by side ($SMP vCPU each, at most ${TIMEOUT}s each)"
  for rel in "${releases[@]}"; do boot_guest "$rel" & done
  wait
  for rel in "${releases[@]}"; do report_guest "$rel" || status=1; done
else
  for rel in "${releases[@]}"; do
    log "booting $rel ($SMP vCPU, at most ${TIMEOUT}s)"
    boot_guest "$rel" &
    wait $!
    report_guest "$rel" || status=1
  done
fi
log "${#releases[@]} kernel(s) in $(($(date +%s) - total_start)) s"
exit $status
