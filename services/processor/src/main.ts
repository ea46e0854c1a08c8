/**
 * services/processor entry point: `npm run processor -- ARGS` from the sources, `npm run
 * start:processor -- ARGS` (node dist/main.js) from the build.
 *   (no arguments)              run the processor (consumer group PROCESSOR_GROUP_ID)
 *   rebuild [--key-prefix P] [--yes] [--continue]
 *        rebuild state from offset 0 of the input topic into REDIS_KEY_PREFIX (or P), without
 *        publishing stage changes; stops when every partition has caught up with the end
 *        offsets seen at start. Wipes the prefix first (needs --yes for the live prefix).
 *        --continue: keep the prefix, go on from its applied offsets (a rebuild across a
 *        partition growth, after `clm partitions grow` made the prefix: docs/scaling.md).
 *   rfm-boundaries [--at 1998-07-01T00:00:00Z]
 *        compute the RFM quantile boundaries from every customer state in Redis and store
 *        them; running processors pick them up within 30 s for stage-change snapshots.
 */
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, loadLifecycleConfig } from "@clm/config";
import { createKafka, createRegistry, reportKafkajsPatchStatus } from "@clm/kafka";
import { createLogger, createMetricsRegistry, installShutdown, startOpsServer } from "@clm/observability";
import { createRedis } from "@clm/redis";
import { RedisLayout } from "@clm/state-store";
import { RfmBoundaryStore } from "@clm/state-store/admin";
import { createProcessorMetrics } from "./metrics.ts";
import { Processor } from "./processor.ts";
import { rebuild } from "./rebuild.ts";
import { RedisStats } from "./redis-stats.ts";

const SERVICE = "processor";

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { "key-prefix": { type: "string" }, yes: { type: "boolean", default: false }, continue: { type: "boolean", default: false }, at: { type: "string" } },
  });
  const command = positionals[0] ?? "run";
  if (command !== "run" && command !== "rebuild" && command !== "rfm-boundaries") {
    throw new Error(`unknown command ${command}; expected run, rebuild or rfm-boundaries`);
  }

  const config = loadConfig(process.env);
  const lifecycle = loadLifecycleConfig(config);
  const logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL });
  const registry = createMetricsRegistry(SERVICE);
  const metrics = createProcessorMetrics(registry);
  const redis = createRedis(config, { maxRetriesPerRequest: 20, enableAutoPipelining: false, lazyConnect: true });
  // A lost connection (a restart, a cluster failover) is retried by the client; the commands that fail for good are logged where they fail.
  redis.on("error", (error: Error) => logger.debug({ err: error }, "redis connection error"));
  await redis.connect();
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-${SERVICE}`, logger });
  reportKafkajsPatchStatus({ logger, registry });
  const schemaRegistry = createRegistry(config.SCHEMA_REGISTRY_URL);

  if (command === "rfm-boundaries") {
    const at = values.at === undefined ? Date.now() : Date.parse(values.at);
    if (Number.isNaN(at)) throw new Error(`--at ${values.at} is not an ISO-8601 time`);
    const store = new RfmBoundaryStore(redis, new RedisLayout(values["key-prefix"] ?? config.REDIS_KEY_PREFIX));
    const { boundaries, customers } = await store.computeFromStates(at);
    await store.save(boundaries, { computedAt: at, customers });
    console.log(JSON.stringify({ key: store.key, customers, at: new Date(at).toISOString(), ...boundaries }));
    redis.disconnect();
    return;
  }

  if (command === "rebuild") {
    const keyPrefix = values["key-prefix"] ?? config.REDIS_KEY_PREFIX;
    if (keyPrefix === config.REDIS_KEY_PREFIX && !values.yes) {
      throw new Error(`rebuild would ${values.continue ? "write" : "wipe"} the live prefix "${keyPrefix}": pass --yes, or --key-prefix to rebuild beside it`);
    }
    const report = await rebuild({ config, lifecycle, logger, metrics, kafka, redis, registry: schemaRegistry, keyPrefix, service: SERVICE, continue: values.continue });
    logger.info(report, "rebuild finished");
    console.log(JSON.stringify(report));
    redis.disconnect();
    return;
  }

  const admin = kafka.admin();
  await admin.connect();
  const ops = await startOpsServer({
    port: config.PROCESSOR_HTTP_PORT,
    host: config.OPS_HOST,
    registry,
    checks: [
      { name: "redis", check: async () => void (await redis.ping()) },
      { name: "kafka", check: async () => void (await admin.describeCluster()) },
      { name: "schemaRegistry", check: async () => void (await schemaRegistry.getLatestSchemaId(`${config.TOPIC_EVENTS}-value`)) },
    ],
  });
  const processor = new Processor({
    config,
    lifecycle,
    logger,
    metrics,
    kafka,
    redis,
    registry: schemaRegistry,
    // A consumer kafkajs will not restart: exit, so the supervisor restarts the process (state is in Redis).
    onFatal: () => process.exit(1),
  });
  await processor.start();
  const redisStats = new RedisStats(redis, new RedisLayout(config.REDIS_KEY_PREFIX), metrics, logger);
  redisStats.start();
  logger.info({ port: ops.port, clock: config.CLOCK_MODE, group: config.PROCESSOR_GROUP_ID }, "processor running");

  // Finish the running batch, commit, leave the group, publish what the outboxes hold.
  installShutdown({
    logger,
    stop: async () => {
      redisStats.stop();
      await processor.stop();
      await admin.disconnect();
      await ops.close();
      await redis.quit();
    },
  });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(error);
  process.exit(1);
});
