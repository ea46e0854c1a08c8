/**
 * services/webhooks entry point: `npm run webhooks` from the sources, `npm run start:webhooks` (node
 * dist/main.js) from the build. Consumes the signal topics (group WEBHOOKS_GROUP_ID), queues every
 * signal for each subscribed destination in Redis, and delivers the queues as Standard Webhooks;
 * the destinations API, /metrics and /healthz on WEBHOOKS_HOST:WEBHOOKS_PORT (docs/marketing.md).
 */
import type { AddressInfo } from "node:net";
import { apiKeysOf, ConfigError, createApiKeyCheck, loadConfig } from "@clm/config";
import { DeliveryQueue, DestinationStore } from "@clm/destinations";
import { createKafka, createRegistry, ensureProjectTopics, reportKafkajsPatchStatus } from "@clm/kafka";
import { createLogger, createMetricsRegistry, installShutdown } from "@clm/observability";
import { createRedis } from "@clm/redis";
import { createWebhooksServer } from "./api.ts";
import { SignalConsumer } from "./consumer.ts";
import { Dispatcher } from "./dispatcher.ts";
import { createWebhooksMetrics } from "./metrics.ts";
import { createSender } from "./sender.ts";

const SERVICE = "webhooks";

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const { keys, development } = apiKeysOf(config, { variable: "WEBHOOKS_HOST", host: config.WEBHOOKS_HOST });
  const logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL });
  if (development) logger.warn("no INGEST_*API_KEYS set: the destinations API accepts only the development key, on loopback (docs/marketing.md)");
  // Commands wait for Redis while it is away (the consumer's batch and the workers retry), never fail fast into a lost write.
  const redis = createRedis(config, { maxRetriesPerRequest: null });
  redis.on("error", (error: Error) => logger.debug({ err: error }, "redis connection error"));
  const store = new DestinationStore(redis, config.REDIS_KEY_PREFIX);
  const queue = new DeliveryQueue(redis, config.REDIS_KEY_PREFIX);
  const renamed = (await store.renameLegacyKeys()) + (await queue.renameLegacyKeys(await store.list()));
  if (renamed > 0) logger.info({ renamed }, "webhook keys renamed to their hash-tagged names");
  const registry = createMetricsRegistry(SERVICE);
  let dispatcher: Dispatcher | null = null;
  const metrics = createWebhooksMetrics(registry, async () => (dispatcher ? dispatcher.stats() : new Map()));
  dispatcher = new Dispatcher({
    store,
    queue,
    send: createSender({ maxIdleSockets: config.WEBHOOKS_MAX_IN_FLIGHT }),
    schedule: { initialDelayMs: config.WEBHOOKS_RETRY_INITIAL_MS, maxDelayMs: config.WEBHOOKS_RETRY_MAX_DELAY_MS, retryPeriodMs: config.WEBHOOKS_RETRY_PERIOD_MS },
    maxInFlight: config.WEBHOOKS_MAX_IN_FLIGHT,
    requestTimeoutMs: config.WEBHOOKS_REQUEST_TIMEOUT_MS,
    idlePollMs: config.WEBHOOKS_POLL_MS,
    reloadIntervalMs: config.WEBHOOKS_POLL_MS,
    metrics,
    logger,
    now: Date.now,
  });
  await dispatcher.start();

  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-${SERVICE}`, logger });
  reportKafkajsPatchStatus({ logger, registry });
  const admin = kafka.admin();
  await admin.connect();
  await ensureProjectTopics(admin, config);
  const server = createWebhooksServer({
    store,
    queue,
    changed: () => dispatcher.refresh(),
    applied: () => dispatcher.applied(),
    authorize: createApiKeyCheck({ write: [], read: [], admin: keys.admin }),
    secretOverlapMs: config.WEBHOOKS_SECRET_OVERLAP_MS,
    registry,
    checks: [
      { name: "redis", check: async () => void (await redis.ping()) },
      { name: "kafka", check: async () => void (await admin.describeCluster()) },
    ],
    logger,
    now: Date.now,
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.WEBHOOKS_PORT, config.WEBHOOKS_HOST, () => resolve());
  });
  // A consumer kafkajs will not restart: exit, so the supervisor restarts the process (uncommitted batches are read again).
  const consumer = new SignalConsumer({
    kafka,
    registry: createRegistry(config.SCHEMA_REGISTRY_URL),
    queue,
    dispatcher,
    topics: config,
    groupId: config.WEBHOOKS_GROUP_ID,
    sessionTimeoutMs: config.WEBHOOKS_SESSION_TIMEOUT_MS,
    metrics,
    logger,
    now: Date.now,
    onFatal: () => process.exit(1),
  });
  await consumer.start();
  const { port } = server.address() as AddressInfo;
  logger.info({ host: config.WEBHOOKS_HOST, port, group: config.WEBHOOKS_GROUP_ID, topics: consumer.topics }, "webhooks running");

  installShutdown({
    logger,
    stop: async () => {
      await consumer.stop();
      await dispatcher.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await admin.disconnect();
      redis.disconnect();
    },
  });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(error);
  process.exit(1);
});
