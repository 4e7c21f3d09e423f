#!/usr/bin/env bash
# Sets up this machine, then runs every test: type checks and lint, the unit tests, and as
# root the integration tests on this kernel (they skip with a printed reason when not
# root); then, as root, the same integration suite on Debian's 6.1 and 6.12 kernels (and on
# 5.10 the tests for kernels without drop reasons and of drop locations) under
# QEMU (test/kernels/run.sh, about 37 minutes under software emulation).
#
# Arguments go to vitest and run only those tests, without the kernel matrix.
# KERNELS=0 skips the kernel matrix.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. scripts/env.sh
npx tsc -p test/tsconfig.json
npm run --silent lint
npx vitest run "$@"

if [ $# -gt 0 ]; then
  exit 0
elif [ "${KERNELS:-1}" = 0 ]; then
  echo "skipping the kernel matrix: KERNELS=0"
elif [ "$(id -u)" != 0 ]; then
  echo "skipping the kernel matrix: it needs root (to boot kernels that load eBPF)"
else
  bash test/kernels/run.sh
fi
