#!/usr/bin/env bash
# Installs the npm dependencies from package-lock.json when they are missing or stale,
# so `npm test` and `npm run demo` work as the first command on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
node -e 'const [major, minor] = process.versions.node.split(".").map(Number); if (major < 20 || (major === 20 && minor < 19)) { console.error(`Node.js >= 20.19 is required, found ${process.versions.node}`); process.exit(1); }'
stamp=node_modules/.package-lock.json
if [[ ! -x node_modules/.bin/vitest || ! -f $stamp || package-lock.json -nt $stamp ]]; then
  echo "installing npm dependencies (npm ci) …"
  npm ci --no-audit --no-fund --loglevel=error
fi
# Also when nothing was installed: a node_modules installed with --ignore-scripts, or before the
# patches, gets them; patch-package skips a patch already applied and fails on one that does not apply.
npm run --silent postinstall
