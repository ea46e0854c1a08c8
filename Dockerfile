# syntax=docker/dockerfile:1
# One image per service, from this one file: SERVICE names it (ingest, processor, sink, modeler, console or webhooks).
#   docker build --build-arg SERVICE=ingest -t clm-ingest .
#   docker compose build            (docker-compose.yml builds all six)
# The build stage compiles every workspace (npm ci, npm run build) and lays out the service's
# runtime tree (scripts/runtime-tree.ts: root package files, schemas/, the health check, and the
# dist/ of each workspace the service needs). The runtime stage installs the locked production
# dependencies of that service only (@clm/kafka brings patch-package) — a plain `npm ci` with scripts
# allowed, so the root postinstall patches kafkajs there too, or fails the build if the patch does not
# apply — and runs dist/main.js as the unprivileged user `node`.
# Configuration is the environment (docs/configuration.md); in a container set INGEST_HOST=0.0.0.0.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
ARG SERVICE
WORKDIR /repo
COPY . .
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --no-audit --no-fund
RUN npm run build
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=ingest|processor|sink|modeler|console|webhooks" >&2; exit 1; } \
 && node_modules/.bin/tsx scripts/runtime-tree.ts /runtime --service "${SERVICE}"

FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ENV NODE_ENV=production \
    CLM_SERVICE=${SERVICE}
WORKDIR /app
# Owned by root and not writable by `node`: the services write nothing to disk (logs go to stdout).
COPY --from=build /runtime/ ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --omit=dev --no-audit --no-fund --workspace "services/${SERVICE}"
USER node
WORKDIR /app/services/${SERVICE}
# GET /healthz on loopback at the service's port variable (INGEST_PORT, PROCESSOR_HTTP_PORT, SINK_HTTP_PORT, MODELER_HTTP_PORT, CONSOLE_PORT, WEBHOOKS_PORT).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node", "/app/scripts/healthcheck.mjs"]
# SERVICE_NODE_FLAGS of @clm/observability, then the built entry. Subcommands go after it, e.g.
# `docker run … clm-sink node dist/main.js migrate`, `… clm-processor node dist/main.js rebuild`.
CMD ["node", "--max-semi-space-size=64", "dist/main.js"]
