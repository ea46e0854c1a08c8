#!/usr/bin/env bash
# Installs current ClickHouse, embedded (chDB, from the npm registry; ~550 MB unpacked), into
# .stack/chdb, for the test that runs the project's migrations and views on a current version
# beside the local stack's 18.16. Pinned by infra/clickhouse-current/package-lock.json; reinstalled
# only when that lockfile changes.
set -euo pipefail
cd "$(dirname "$0")/.."
src=infra/clickhouse-current
dir=${CLM_STACK_DIR:-.stack}/chdb
if [[ -f $dir/node_modules/chdb/package.json ]] && cmp -s "$src/package-lock.json" "$dir/package-lock.json"; then
  exit 0
fi
mkdir -p "$dir"
cp "$src/package.json" "$src/package-lock.json" "$dir/"
echo "installing current ClickHouse, embedded (chDB), into $dir …"
# `npm install`, not `npm ci`: npm records only this platform's optional native package in the lockfile and
# `npm ci` then refuses the others as missing; the versions are pinned exactly either way (chdb 3.4.0 pins its library).
(cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
