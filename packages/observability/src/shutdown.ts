import type { Logger } from "pino";

/**
 * Graceful stop on SIGTERM/SIGINT, the same for every service: log, run `stop`
 * once (finish in-flight work, flush, disconnect), exit 0 — or exit 1 if stopping
 * fails or takes longer than `timeoutMs`.
 */
export function installShutdown(options: { logger: Logger; stop: () => Promise<void>; timeoutMs?: number }): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    options.logger.info({ signal }, "stopping");
    const timeoutMs = options.timeoutMs ?? 30_000;
    const force = setTimeout(() => {
      options.logger.error(`graceful stop took over ${timeoutMs} ms; exiting`);
      process.exit(1);
    }, timeoutMs);
    try {
      await options.stop();
    } catch (error) {
      options.logger.error({ err: error }, "graceful stop failed");
      process.exit(1);
    } finally {
      clearTimeout(force);
    }
    options.logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}
