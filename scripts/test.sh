#!/usr/bin/env bash
# Sets up this machine, then runs every test: unit tests, and as root the integration
# tests on the real kernel (they skip with a printed reason when not root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. scripts/env.sh
npx tsc -p test/tsconfig.json
npm run --silent lint
npx vitest run "$@"
