/**
 * services/modeler entry point: `npm run modeler` from the sources, `npm run start:modeler`
 * (node dist/main.js) from the build. Refits the customer-value model every MODEL_REFIT_INTERVAL_MS
 * on the data in ClickHouse, up to the pipeline's clock, and publishes it (docs/value.md).
 *   (no arguments)   run the schedule
 *   fit              fit and publish once, print the version, exit
 */
import { parseArgs } from "node:util";
import { createClickHouse } from "@clm/clickhouse";
import { ConfigError, loadConfig, loadLifecycleConfig } from "@clm/config";
import { createKafka, JavaCompatiblePartitioner } from "@clm/kafka";
import { createLogger, createMetricsRegistry, installShutdown, startOpsServer } from "@clm/observability";
import { createRedis } from "@clm/redis";
import { readCurrentValueModel, RedisLayout } from "@clm/state-store";
import { calibrationEndAt, fitFromClickHouse, pipelineClock, publishValueModel, ValueFitError } from "@clm/value-model";
import { createModelerMetrics } from "./metrics.ts";
import { Modeler, type FitOutcome } from "./modeler.ts";

const SERVICE = "modeler";

async function main(): Promise<void> {
  const { positionals } = parseArgs({ allowPositionals: true, options: {} });
  const command = positionals[0] ?? "run";
  if (command !== "run" && command !== "fit") throw new Error(`unknown command ${command}; expected run or fit`);

  const config = loadConfig(process.env);
  const lifecycle = loadLifecycleConfig(config);
  const logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL });
  const clickhouse = { client: createClickHouse(config, { requestTimeoutMs: 300_000 }), database: config.CLICKHOUSE_DATABASE };
  // A command fails within seconds while Redis is away (the run is retried later), instead of queueing.
  const redis = createRedis(config, { maxRetriesPerRequest: 2, lazyConnect: true });
  redis.on("error", (error: Error) => logger.debug({ err: error }, "redis connection error"));
  const layout = new RedisLayout(config.REDIS_KEY_PREFIX);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-${SERVICE}`, logger });
  const admin = kafka.admin();
  // Idempotent, with bounded retries: a send while Kafka is away fails the run, which is retried whole.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: JavaCompatiblePartitioner, retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5_000 } });
  let connected = false;

  const fitAndPublish = async (): Promise<FitOutcome> => {
    if (!connected) {
      await Promise.all([admin.connect(), producer.connect(), redis.status === "wait" ? redis.connect() : Promise.resolve()]);
      connected = true;
    }
    const metadata = await admin.fetchTopicMetadata({ topics: [config.TOPIC_EVENTS] });
    const clock = await pipelineClock({ redis, config, partitions: metadata.topics[0]!.partitions.length, now: Date.now });
    if (clock === null) return { kind: "skipped", reason: `event clock: no partition of ${config.TOPIC_EVENTS} has a watermark yet` };
    const calibrationEnd = calibrationEndAt(clock);
    try {
      const fit = await fitFromClickHouse(clickhouse, { calibrationEnd, unit: lifecycle.value.unit, config: lifecycle, now: Date.now() });
      const report = await publishValueModel({ clickhouse, redis, layout, kafka: { producer, admin, topic: config.TOPIC_EVENTS } }, fit);
      return { kind: "published", version: report.version, calibrationEnd, fittedAt: fit.model.fittedAt };
    } catch (error) {
      if (error instanceof ValueFitError) return { kind: "skipped", reason: error.message };
      throw error;
    }
  };

  if (command === "fit") {
    const outcome = await fitAndPublish();
    console.log(JSON.stringify(outcome));
    await Promise.allSettled([producer.disconnect(), admin.disconnect(), clickhouse.client.close()]);
    redis.disconnect();
    process.exitCode = outcome.kind === "published" ? 0 : 1;
    return;
  }

  const registry = createMetricsRegistry(SERVICE);
  const metrics = createModelerMetrics(registry);
  const modeler = new Modeler({
    fitAndPublish,
    current: async () => {
      if (redis.status === "wait") await redis.connect();
      return readCurrentValueModel(redis, layout);
    },
    intervalMs: config.MODEL_REFIT_INTERVAL_MS,
    retryMaxMs: Math.min(config.MODEL_RETRY_MAX_MS, config.MODEL_REFIT_INTERVAL_MS),
    now: Date.now,
    logger,
    metrics,
  });
  // The service is healthy while it runs: an outage of a server fails fits (counted, retried), not the process.
  const ops = await startOpsServer({ port: config.MODELER_HTTP_PORT, host: config.OPS_HOST, registry, checks: [] });
  await modeler.start();
  logger.info({ port: ops.port, intervalMs: config.MODEL_REFIT_INTERVAL_MS, database: config.CLICKHOUSE_DATABASE, prefix: config.REDIS_KEY_PREFIX }, "modeler running");

  installShutdown({
    logger,
    stop: async () => {
      await modeler.stop();
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
      redis.disconnect();
      await ops.close();
      await clickhouse.client.close();
    },
  });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(error);
  process.exit(1);
});
