/**
 * services/sink entry point: `npm run sink -- ARGS` from the sources, `npm run start:sink -- ARGS`
 * (node dist/main.js) from the build.
 *   (no arguments)   apply pending migrations, then run the sink (group SINK_GROUP_ID)
 *   migrate          apply pending ClickHouse migrations and exit
 */
import { parseArgs } from "node:util";
import { createClickHouse, migrateConfigured } from "@clm/clickhouse";
import { ConfigError, loadConfig, loadLifecycleConfig } from "@clm/config";
import { createKafka, createRegistry, reportKafkajsPatchStatus } from "@clm/kafka";
import { createLogger, createMetricsRegistry, installShutdown, startOpsServer } from "@clm/observability";
import { createSinkMetrics } from "./metrics.ts";
import { Sink } from "./sink.ts";

const SERVICE = "sink";

async function main(): Promise<void> {
  const { positionals } = parseArgs({ allowPositionals: true, options: {} });
  const command = positionals[0] ?? "run";
  if (command !== "run" && command !== "migrate") throw new Error(`unknown command ${command}; expected run or migrate`);

  const config = loadConfig(process.env);
  const logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL });
  const clickhouse = createClickHouse(config);
  const report = await migrateConfigured(config, clickhouse);
  logger.info(report, "ClickHouse migrations");
  if (command === "migrate") {
    console.log(JSON.stringify(report));
    await clickhouse.close();
    return;
  }

  const lifecycle = loadLifecycleConfig(config);
  const registry = createMetricsRegistry(SERVICE);
  const metrics = createSinkMetrics(registry);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-${SERVICE}`, logger });
  reportKafkajsPatchStatus({ logger, registry });
  const admin = kafka.admin();
  await admin.connect();
  const ops = await startOpsServer({
    port: config.SINK_HTTP_PORT,
    host: config.OPS_HOST,
    registry,
    checks: [
      { name: "clickhouse", check: async () => void (await clickhouse.ping().then((result) => { if (!result.success) throw result.error; })) },
      { name: "kafka", check: async () => void (await admin.describeCluster()) },
    ],
  });
  // A consumer kafkajs will not restart: exit, so the supervisor restarts the process (uncommitted rows are redelivered).
  const sink = new Sink({ config, lifecycle, logger, metrics, kafka, registry: createRegistry(config.SCHEMA_REGISTRY_URL), clickhouse, onFatal: () => process.exit(1) });
  await sink.start();
  logger.info({ port: ops.port, group: config.SINK_GROUP_ID, database: config.CLICKHOUSE_DATABASE }, "sink running");

  installShutdown({
    logger,
    stop: async () => {
      await sink.stop();
      await admin.disconnect();
      await ops.close();
      await clickhouse.close();
    },
  });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(error);
  process.exit(1);
});
