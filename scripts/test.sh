#!/usr/bin/env bash
# Sets up this machine, then runs every test: type checks and lint, the unit tests, and as
# root the integration tests on this kernel (they skip with a printed reason when not
# root). The same integration suite on other kernels under QEMU is a command of its own,
# `bash test/kernels/run.sh`: under software emulation it takes about 12 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. scripts/env.sh
npx tsc -p test/tsconfig.json
npm run --silent lint
npx vitest run "$@"
