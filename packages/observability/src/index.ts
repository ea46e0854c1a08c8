export { createLogger, REDACTED_PATHS } from "./logger.ts";
export type { Logger } from "./logger.ts";
export { createMetricsRegistry } from "./metrics.ts";
export { startOpsServer, checkAll } from "./ops-server.ts";
export type { HealthCheck, HealthReport, OpsServer } from "./ops-server.ts";
export { DEFAULT_HTTP_TIMEOUTS, httpServerOptions, parseRequestTarget } from "./http-server.ts";
export type { HttpTimeouts } from "./http-server.ts";
export { installShutdown } from "./shutdown.ts";
export { SERVICE_NODE_FLAGS, SOURCE_CONDITION, SOURCE_NODE_FLAGS } from "./node-flags.ts";
