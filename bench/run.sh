#!/usr/bin/env bash
# npm run bench -- <name> [options]: benchmarks on the local stack (started if needed, left running).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
name=${1:-}
if [[ -z $name || ! -f bench/$name.ts ]]; then
  echo "usage: npm run bench -- <name> [options]; available: $(cd bench && ls *.ts | grep -v support | sed 's/\.ts$//' | tr '\n' ' ')" >&2
  exit 2
fi
shift
bash infra/stack.sh status >/dev/null 2>&1 || bash infra/stack.sh up
set -a
# shellcheck disable=SC1091
source "${CLM_STACK_DIR:-.stack}/env"
set +a
# The same young-generation size as the services (SERVICE_NODE_FLAGS): several benches run a service in-process.
# From the sources (SOURCE_NODE_FLAGS): the workspace packages resolve to src/, not to a build.
exec node --max-old-space-size=4096 --max-semi-space-size=64 --conditions=@clm/source --import tsx "bench/$name.ts" "$@"
