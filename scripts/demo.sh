#!/usr/bin/env bash
# The main job, runnable as the first command on a fresh clone: installs what is
# missing, brings up the local stack (Kafka, schema registry, Redis, ClickHouse),
# reports where each server listens, then sends the real CDNOW purchase log
# (69,659 purchases, 23,570 customers) through Kafka and the stream processor into
# Redis and prints the stage distribution and RFM segments at the end of the log,
# checked against the pure core.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
bash infra/stack.sh up
bash infra/stack.sh status
echo
set -a
# shellcheck disable=SC1091
source "${CLM_STACK_DIR:-.stack}/env"
set +a
npx tsx scripts/demo-pipeline.ts "$@"
echo
echo "The stack keeps running: 'npm run stack -- status' shows it, 'npm run stack -- down' stops it."
