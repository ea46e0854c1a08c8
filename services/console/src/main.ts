/**
 * services/console entry point: `npm run console` from the sources, `npm run start:console` (node
 * dist/main.js) from the build. The read-only web console on CONSOLE_HOST:CONSOLE_PORT: pages over the
 * ClickHouse views (as the analysts' read-only user) and ingest's customer API, behind ingest's read keys.
 */
import type { AddressInfo } from "node:net";
import { createClickHouse } from "@clm/clickhouse";
import { apiKeysOf, ConfigError, createApiKeyCheck, loadConfig } from "@clm/config";
import { createLogger, createMetricsRegistry, installShutdown } from "@clm/observability";
import { loadAssets } from "./assets.ts";
import { createCustomerApi } from "./customer-api.ts";
import { createConsoleMetrics } from "./metrics.ts";
import { createConsoleServer } from "./server.ts";
import { ViewReader } from "./views.ts";
import { startWarmUp } from "./warm.ts";

const SERVICE = "console";

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const { keys, development } = apiKeysOf(config, { variable: "CONSOLE_HOST", host: config.CONSOLE_HOST });
  const logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL });
  if (development) logger.warn("no INGEST_*API_KEYS set: accepting only the development key, on loopback (docs/console.md)");
  const registry = createMetricsRegistry(SERVICE);
  const metrics = createConsoleMetrics(registry);
  const assets = await loadAssets();
  // No CLICKHOUSE_CLUSTER: the read-only user may change no setting, and the views need none on a sharded database either (docs/sink.md).
  const clickhouse = createClickHouse(
    { CLICKHOUSE_URL: config.CLICKHOUSE_URL, CLICKHOUSE_USER: config.CONSOLE_CLICKHOUSE_USER, CLICKHOUSE_PASSWORD: config.CONSOLE_CLICKHOUSE_PASSWORD ?? config.CLICKHOUSE_ANALYST_PASSWORD ?? "" },
    { requestTimeoutMs: 30_000 },
  );
  const customerApi = createCustomerApi(config.CONSOLE_INGEST_URL);
  const views = new ViewReader(clickhouse, config.CLICKHOUSE_DATABASE);
  const server = createConsoleServer({
    assets,
    views,
    customerApi,
    authorize: createApiKeyCheck({ write: [], read: keys.read, admin: [] }),
    metrics,
    registry,
    checks: [{ name: "clickhouse", check: async () => void (await clickhouse.ping().then((result) => { if (!result.success) throw result.error; })) }],
    logger,
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.CONSOLE_PORT, config.CONSOLE_HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  // In the background: the server answers meanwhile (a request for an answer being warmed shares its query).
  const warmUp = startWarmUp({ views, logger, intervalMs: config.CONSOLE_WARM_INTERVAL_MS });
  logger.info({ host: config.CONSOLE_HOST, port, url: `http://${config.CONSOLE_HOST}:${port}/`, database: config.CLICKHOUSE_DATABASE, clickhouseUser: config.CONSOLE_CLICKHOUSE_USER, customerApi: config.CONSOLE_INGEST_URL }, "console listening");

  installShutdown({
    logger,
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await warmUp.stop();
      await clickhouse.close();
    },
  });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(error);
  process.exit(1);
});
