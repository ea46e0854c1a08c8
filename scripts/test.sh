#!/usr/bin/env bash
# The whole test suite, on a bare machine or a developer's: installs what is missing,
# checks types and lint, builds (npm run build), starts the local stack if it is not running
# and its cluster profile (and stops them again at the end if this script started them), runs unit and
# integration tests, then the cluster profile's tests.
#   npm test                 everything
#   npm test -- <vitest filters/flags>   e.g. npm test -- packages/core
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
# Current ClickHouse, embedded, for clickhouse-current.test.ts (the stack's server is 18.16).
bash scripts/ensure-chdb.sh
# promtool, for the alert rules' checks (infra/prometheus/rules.test.ts): Debian's prometheus package.
bash infra/stack.sh install prometheus
# Debian's Chromium, for the console's browser test (tests/integration/console.test.ts).
bash scripts/ensure-chromium.sh

echo "== typecheck"
npx tsc -p tsconfig.json
npx tsc -p services/console/web/tsconfig.json
echo "== lint"
npx eslint .
echo "== build"
# The committed build configs must be the ones the workspaces give (npm run build:config writes them);
# then the build itself, once: built-services.test.ts runs the services from it.
npx tsx scripts/build-config.ts --check
npm run --silent build

started_stack=0
started_cluster=0
cluster_dir=${CLM_CLUSTER_STACK_DIR:-.stack-cluster}
stop_stacks() {
  [[ -n ${CLM_KEEP_STACK:-} ]] && return 0
  if [[ $started_cluster == 1 ]]; then
    echo "== stopping the cluster profile (set CLM_KEEP_STACK=1 to keep it)"
    CLM_STACK_DIR=$cluster_dir bash infra/stack.sh down --profile cluster || true
  fi
  if [[ $started_stack == 1 ]]; then
    echo "== stopping the local stack (set CLM_KEEP_STACK=1 to keep it)"
    bash infra/stack.sh down || true
  fi
}
trap stop_stacks EXIT
if ! bash infra/stack.sh status >/dev/null 2>&1; then
  echo "== starting the local stack"
  started_stack=1
  bash infra/stack.sh up
fi
single_env="${CLM_STACK_DIR:-.stack}/env"
# The cluster profile's suite (tests/cluster) runs with the whole suite, or alone when asked
# (CLM_CLUSTER_TESTS=1); a filtered run (`npm test -- <filters>`) leaves it out, CLM_CLUSTER_TESTS=0 too.
cluster_tests=${CLM_CLUSTER_TESTS:-}
if [[ -z $cluster_tests ]]; then if (($#)); then cluster_tests=0; else cluster_tests=1; fi; fi

mkdir -p .run
rm -f .run/vitest-report.json .run/vitest-cluster-report.json
echo "== tests"
status=0
(
  # The stack writes the URLs of its servers (ports may be overridden) for clients to read.
  set -a
  # shellcheck disable=SC1090
  source "$single_env"
  set +a
  npx vitest run --project unit --project integration --reporter=default --reporter=json --outputFile.json=.run/vitest-report.json "$@"
) || status=$?

if [[ $cluster_tests == 1 ]]; then
  if ! CLM_STACK_DIR=$cluster_dir bash infra/stack.sh status --profile cluster >/dev/null 2>&1; then
    echo "== starting the cluster profile"
    started_cluster=1
    CLM_STACK_DIR=$cluster_dir bash infra/stack.sh up --profile cluster
  fi
  echo "== cluster tests"
  # The project loads the cluster profile's env file itself (vitest.config.ts); the suite compares with
  # a single-node run, on the local stack whose env file it is told.
  CLM_SINGLE_STACK_ENV=$(cd "$(dirname "$single_env")" && pwd)/env CLM_CLUSTER_STACK_DIR=$cluster_dir \
    npx vitest run --project cluster --reporter=default --reporter=json --outputFile.json=.run/vitest-cluster-report.json || status=$?
fi
# One plain closing line that any CI reader understands.
node -e '
  const fs = require("node:fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const file of [".run/vitest-report.json", ".run/vitest-cluster-report.json"]) {
    if (!fs.existsSync(file)) continue;
    const report = JSON.parse(fs.readFileSync(file, "utf8"));
    passed += report.numPassedTests; failed += report.numFailedTests; skipped += report.numPendingTests + report.numTodoTests;
  }
  console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' || true
exit $status
