#!/usr/bin/env bash
# npm run bench -- <name> [options] [--profile cluster]: benchmarks on the local stack (started if needed,
# left running), or on its cluster profile.
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
# --profile cluster (anywhere among the options): the bench runs on the stack's cluster profile
# (3 Kafka brokers, a Redis Cluster, 2 ClickHouse shards; infra/README.md), started if needed.
profile=single
args=()
while (($#)); do
  if [[ $1 == --profile ]]; then profile=${2:?--profile needs a value}; shift 2
  elif [[ $1 == --profile=* ]]; then profile=${1#--profile=}; shift
  else args+=("$1"); shift; fi
done
[[ $profile == single || $profile == cluster ]] || { echo "--profile must be single or cluster, not $profile" >&2; exit 2; }
# The console bench drives Debian's Chromium.
if [[ $name == console ]]; then bash scripts/ensure-chromium.sh; fi
# Benches of the pure core alone (no servers): the stack is neither checked nor started for them.
stackless='^(model-fit|value-stream)$'
if [[ ! $name =~ $stackless ]]; then
  if [[ $profile == cluster ]]; then
    export CLM_STACK_DIR=${CLM_CLUSTER_STACK_DIR:-.stack-cluster}
    bash infra/stack.sh status --profile cluster >/dev/null 2>&1 || bash infra/stack.sh up --profile cluster
  else
    bash infra/stack.sh status >/dev/null 2>&1 || bash infra/stack.sh up
  fi
  set -a
  # shellcheck disable=SC1091
  source "${CLM_STACK_DIR:-.stack}/env"
  set +a
fi
# The same young-generation size as the services (SERVICE_NODE_FLAGS): several benches run a service in-process.
# From the sources (SOURCE_NODE_FLAGS): the workspace packages resolve to src/, not to a build.
exec node --max-old-space-size=4096 --max-semi-space-size=64 --conditions=@clm/source --import tsx "bench/$name.ts" ${args[@]+"${args[@]}"}
