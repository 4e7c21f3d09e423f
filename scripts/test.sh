#!/usr/bin/env bash
# Sets up this machine, then runs every test: type checks and lint, the unit tests, as
# root the integration tests on this kernel (they skip with a printed reason when not
# root), and as root the same integration suite on other kernels under QEMU
# (test/kernels; DROPREASON_SKIP_KERNELS=1 leaves that out).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. scripts/env.sh
npx tsc -p test/tsconfig.json
npm run --silent lint
npx vitest run "$@"
if [ "$(id -u)" -ne 0 ]; then
  echo "kernel matrix skipped: booting kernels under QEMU and loading eBPF in them needs root"
elif [ "${DROPREASON_SKIP_KERNELS:-0}" = 1 ]; then
  echo "kernel matrix skipped: DROPREASON_SKIP_KERNELS=1"
elif [ $# -eq 0 ]; then
  bash test/kernels/run.sh
fi
