#!/usr/bin/env bash
# Sets up this machine, then runs the agent on the embedded otel-config.yaml (or the
# arguments given, e.g. --config FILE). Needs root. Ctrl-C stops it and detaches.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec ./bin/dropreason "$@"
