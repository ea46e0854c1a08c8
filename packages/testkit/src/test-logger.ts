import { createLogger } from "@clm/observability";

/** Silent unless TEST_LOG_LEVEL asks otherwise: tests and benches print their own results. */
export const testLogger = createLogger({ service: "test", level: process.env.TEST_LOG_LEVEL ?? "silent" });
