#!/usr/bin/env bash
# The whole test suite, on a bare machine or a developer's: installs what is missing,
# checks types and lint, builds (npm run build), starts the local stack if it is not running
# (and stops it again at the end if this script started it), runs unit and integration tests.
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
stop_stack() {
  if [[ $started_stack == 1 && -z ${CLM_KEEP_STACK:-} ]]; then
    echo "== stopping the local stack (set CLM_KEEP_STACK=1 to keep it)"
    bash infra/stack.sh down || true
  fi
}
trap stop_stack EXIT
if ! bash infra/stack.sh status >/dev/null 2>&1; then
  echo "== starting the local stack"
  started_stack=1
  bash infra/stack.sh up
fi
# The stack writes the URLs of its servers (ports may be overridden) for clients to read.
set -a
# shellcheck disable=SC1091
source "${CLM_STACK_DIR:-.stack}/env"
set +a

mkdir -p .run
echo "== tests"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.run/vitest-report.json "$@" || status=$?
# One plain closing line that any CI reader understands.
node -e '
  const report = JSON.parse(require("node:fs").readFileSync(".run/vitest-report.json", "utf8"));
  const skipped = report.numPendingTests + report.numTodoTests;
  console.log(`${report.numPassedTests} passed, ${report.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' || true
exit $status
