#!/usr/bin/env bash
# Copies the built agent of this tree (bin/, dist/, the addon) to bench/.build/agents/NAME,
# so that bench/advanced_ab.sh can run it against a later build, or against a variant of
# the BPF object put in its dist/bpf/; REVISION in it says what it was built from. Node
# modules and the toolchain are this tree's.
#
#   bash bench/snapshot.sh NAME [BPF_OBJECT]
set -Eeuo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: bench/snapshot.sh NAME [BPF_OBJECT]" >&2; exit 2; }
DEST="$ROOT/bench/.build/agents/$1"
rm -rf "$DEST"
mkdir -p "$DEST/build/Release"
cp -a "$ROOT/bin" "$ROOT/dist" "$ROOT/package.json" "$DEST/"
cp -a "$ROOT/build/Release/bpf_addon.node" "$DEST/build/Release/"
ln -s "$ROOT/.toolchain" "$DEST/.toolchain"
REV=$(git -C "$ROOT" rev-parse --short HEAD)
[ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no)" ] || REV="$REV with uncommitted changes"
[ $# -lt 2 ] || REV="$REV, BPF object $2"
echo "$REV" >"$DEST/REVISION"
[ $# -lt 2 ] || cp "$2" "$DEST/dist/bpf/dropreason.bpf.o"
echo "$DEST"
