#!/usr/bin/env bash
# npm run bench -- <name> [options]: benchmarks on the local stack (started if needed, left running).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
name=${1:-}
# Helpers, not benches: support.ts, profiles.ts, profile-preload.ts (loaded into service processes).
helpers='^(support|profiles|profile-preload)$'
if [[ -z $name || ! -f bench/$name.ts || $name =~ $helpers ]]; then
  echo "usage: npm run bench -- <name> [options]; available: $(cd bench && ls *.ts | sed 's/\.ts$//' | grep -Ev "$helpers" | tr '\n' ' ')" >&2
  exit 2
fi
shift
# The console bench drives Debian's Chromium.
if [[ $name == console ]]; then bash scripts/ensure-chromium.sh; fi
# Benches of the pure core alone (no servers): the stack is neither checked nor started for them.
stackless='^(model-fit|value-stream)$'
if [[ ! $name =~ $stackless ]]; then
  bash infra/stack.sh status >/dev/null 2>&1 || bash infra/stack.sh up
  set -a
  # shellcheck disable=SC1091
  source "${CLM_STACK_DIR:-.stack}/env"
  set +a
fi
# The same young-generation size as the services (SERVICE_NODE_FLAGS): several benches run a service in-process.
# From the sources (SOURCE_NODE_FLAGS): the workspace packages resolve to src/, not to a build.
exec node --max-old-space-size=4096 --max-semi-space-size=64 --conditions=@clm/source --import tsx "bench/$name.ts" "$@"
