#!/usr/bin/env bash
# The main job, runnable as the first command on a fresh clone: installs what is
# missing, brings up the local stack (Kafka, schema registry, Redis, ClickHouse),
# reports where each server listens, then replays the real CDNOW purchase log
# (69,659 purchases, 23,570 customers) through the lifecycle core and prints the
# stage distribution, RFM segments and transitions at the end of the log.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
bash infra/stack.sh up
bash infra/stack.sh status
echo
npx tsx scripts/replay-cdnow.ts "$@"
echo
echo "The stack keeps running: 'npm run stack -- status' shows it, 'npm run stack -- down' stops it."
