#!/usr/bin/env bash
# The main job, runnable as the first command on a fresh clone: installs what is missing, brings up
# the local stack (Kafka, schema registry, Redis, ClickHouse), starts ingest, the stream processor
# (event-time clock) and the ClickHouse sink, sends the real CDNOW purchase log (69,659 purchases,
# 23,570 customers) through the ingest API, waits until the pipeline has caught up, advances the
# event clock to 1998-07-01 (so the deadlines after the last purchase fire in Redis, on the
# stage-change topic and in ClickHouse), fits the customer-value model (BG/NBD + Gamma-Gamma) from
# ClickHouse and activates it in the stream, and prints the fitted parameters, the value tiers, the
# stage distribution, RFM segments and the monthly retention matrix 1997-01..1998-06.
# It resets the pipeline's data on the local stack first (topics clm.*, Redis prefix clm, database clm).
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n▶ %s\n' "$*"; }
# The workspace binaries directly (npx adds start-up time and npm's own warnings).
clm() { node_modules/.bin/clm "$@"; }
# Sources run through tsx with the export condition that resolves the workspace packages to src/.
tsx() { node_modules/.bin/tsx --conditions=@clm/source "$@"; }
started=$SECONDS

bash scripts/ensure-deps.sh
# Services of an earlier run are stopped first, so they restart with this run's settings.
clm down >/dev/null 2>&1 || true
bash infra/stack.sh up
bash infra/stack.sh status

set -a
# shellcheck disable=SC1091
source "${CLM_STACK_DIR:-.stack}/env"
# kafkajs reports retried start-up hiccups as errors; the demo fails loudly on real ones.
LOG_LEVEL=${LOG_LEVEL:-warn}
set +a

step "Resetting the pipeline's data on the local stack, so the demo starts from nothing"
tsx scripts/demo-reset.ts

step "Starting ingest, the stream processor (event-time clock) and the ClickHouse sink in the background"
# The modeler (scheduled refits) starts after the demo's own fit, so no scheduled fit lands mid-load.
clm up --no-stack --clock event --without modeler

step "Sending the CDNOW purchase log (data/cdnow/CDNOW_master.txt) through the ingest API, in batches of 500"
# One request at a time keeps each customer's events in file order on Kafka, so the stage changes are
# exactly those of the ordered log (the pure-core check below compares them); 4 in flight is faster.
clm load data/cdnow/CDNOW_master.txt --format cdnow --batch 500 --concurrency 1

step "Advancing the event clock to 1998-07-01, so the deadlines after the log's last purchase fire too"
# The event clock stops at the last event. The advance goes to every partition of the input topic,
# after that partition's events, and the processor fires every deadline up to it like any other.
clm clock advance --to 1998-07-01

step "Waiting until the processor and the sink have caught up"
clm wait --timeout 300

step "Fitting the customer-value model (BG/NBD + Gamma-Gamma) from ClickHouse, up to the pipeline's clock, and activating it"
# The calibration end is the day before the clock (1998-06-30); the model goes to Redis and ClickHouse,
# and an activation record to every partition, after which the processor values every customer.
clm model fit

step "Waiting until every customer is valued with it (the processor's refit sweep) and the tier changes are written"
clm wait --timeout 300

step "Starting the modeler: from now on it refits on its schedule (MODEL_REFIT_INTERVAL_MS, default daily)"
clm up --no-stack --clock event

tsx scripts/demo-report.ts

step "Monthly retention from ClickHouse: customers of each acquisition cohort who bought in month k"
clm cohort --from 1997-01 --to 1998-06
echo
clm cohort --from 1997-01 --to 1998-06 --percent

ch=${CLICKHOUSE_URL:-http://127.0.0.1:18123}
step "Where to look next (the services keep running; 'npx clm down' stops them, 'npm run stack -- down' the stack)"
cat <<TEXT
  ClickHouse  $ch  — e.g. as the read-only analyst, its password from ${CLM_STACK_DIR:-.stack}/env (set -a; . ${CLM_STACK_DIR:-.stack}/env; set +a):
              curl -K- '$ch/?query=SELECT+*+FROM+clm.cohort_retention_monthly+LIMIT+5+FORMAT+PrettyCompact' <<<"user = clm_analyst:\$CLICKHOUSE_ANALYST_PASSWORD"
              views: cohort_retention_monthly/_weekly, cohort_ltv_monthly, churn_winback_monthly, stage_distribution_monthly (README)
  Customer    npx clm customer 1          (state from Redis with P(alive), CLV and value tier; recent stage changes)
  Model       npx clm model show | npx clm model evaluate --calibration-end 1997-09-30 --holdout-end 1998-06-30
  Cohorts     npx clm cohort --weekly | --revenue | --percent
  Status      npx clm status              (every server and service, health and URL)
  Metrics     http://127.0.0.1:${INGEST_PORT:-8080}/metrics  http://127.0.0.1:${PROCESSOR_HTTP_PORT:-8081}/metrics  http://127.0.0.1:${SINK_HTTP_PORT:-8082}/metrics
  Stage changes on Kafka topic clm.stage-changes.v1 (Avro, schemas/stage-change.avsc), registry $SCHEMA_REGISTRY_URL
  Tier changes on Kafka topic clm.value-tier-changes.v1 (schemas/value-tier-change.avsc); views value_tier_shares_monthly, value_predicted_vs_realised_by_cohort
TEXT
echo
echo "demo finished in $((SECONDS - started)) s"
