/**
 * services/ingest entry point: POST /v1/events, POST /v1/clock/advance, GET /v1/customers/{id}[/transitions],
 * /metrics, /healthz on INGEST_HOST:INGEST_PORT.
 */
import type { AddressInfo } from "node:net";
import { ConfigError, loadConfig, loadLifecycleConfig } from "@clm/config";
import { CUSTOMER_EVENT_SCHEMA_TEXT, type CustomerEventRecord } from "@clm/contracts";
import { createInputEventSchema, type RfmBoundaries } from "@clm/core";
import { AvroSerde, createKafka, createRegistry, reportKafkajsPatchStatus } from "@clm/kafka";
import { createLogger, createMetricsRegistry, installShutdown } from "@clm/observability";
import { createRedis } from "@clm/redis";
import { RedisLayout, renameLegacyAudienceKeys, RfmBoundaryReader, StateReader } from "@clm/state-store";
import { apiKeysOf, createApiKeyCheck } from "./auth.ts";
import { AudienceApi } from "./audience-api.ts";
import { CustomerReader } from "./customer-api.ts";
import { createIngestMetrics } from "./metrics.ts";
import { EventPublisher } from "./publisher.ts";
import { createIngestServer } from "./server.ts";

const SERVICE = "ingest";

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const lifecycle = loadLifecycleConfig(config);
  const { keys, development } = apiKeysOf(config);
  const logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL });
  const registry = createMetricsRegistry(SERVICE);
  const metrics = createIngestMetrics(registry);
  if (development) logger.warn("no INGEST_*API_KEYS set: accepting only the development key, on loopback (docs/ingest.md)");

  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-${SERVICE}`, logger });
  reportKafkajsPatchStatus({ logger, registry });
  const schemaRegistry = createRegistry(config.SCHEMA_REGISTRY_URL);
  const publisher = new EventPublisher(kafka, new AvroSerde<CustomerEventRecord>(schemaRegistry, `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT), config.TOPIC_EVENTS, config.INGEST_PUBLISH_TIMEOUT_MS);
  await publisher.connect();
  const admin = kafka.admin();
  await admin.connect();
  const redis = createRedis(config, { maxRetriesPerRequest: 3 });
  const layout = new RedisLayout(config.REDIS_KEY_PREFIX);
  const renamed = await renameLegacyAudienceKeys(redis, layout);
  if (renamed > 0) logger.info({ renamed }, "audience keys renamed to their hash-tagged names");
  const boundaryStore = new RfmBoundaryReader(redis, layout);
  let boundaries: RfmBoundaries | null = await boundaryStore.load().catch(() => null);
  const refresh = setInterval(() => void boundaryStore.load().then((loaded) => (boundaries = loaded)).catch(() => undefined), 30_000);

  const server = createIngestServer({
    schema: createInputEventSchema({ reportingCurrency: lifecycle.reportingCurrency }),
    publisher,
    customers: new CustomerReader(new StateReader(redis, layout), lifecycle, config.TOPIC_PARTITIONS, () => boundaries, config.CLOCK_MODE),
    audiences: new AudienceApi({
      redis,
      layout,
      partitions: config.TOPIC_PARTITIONS,
      activate: (version) => publisher.activateAudiences(version),
      rfmBoundaries: () => boundaries,
      maxBytes: config.INGEST_MAX_BODY_BYTES,
    }),
    authorize: createApiKeyCheck(keys),
    metrics,
    registry,
    checks: [
      { name: "kafka", check: async () => void (await admin.describeCluster()) },
      { name: "redis", check: async () => void (await redis.ping()) },
      { name: "schemaRegistry", check: async () => void (await schemaRegistry.getLatestSchemaId(`${config.TOPIC_EVENTS}-value`)) },
    ],
    logger,
    maxBytes: config.INGEST_MAX_BODY_BYTES,
    maxEvents: config.INGEST_MAX_BATCH_EVENTS,
    maxFutureSkewMs: config.MAX_FUTURE_SKEW_MS,
    clockMode: config.CLOCK_MODE,
    timeouts: { headersTimeoutMs: config.INGEST_HEADERS_TIMEOUT_MS, requestTimeoutMs: config.INGEST_REQUEST_TIMEOUT_MS, keepAliveTimeoutMs: config.INGEST_KEEP_ALIVE_TIMEOUT_MS },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.INGEST_PORT, config.INGEST_HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  logger.info({ host: config.INGEST_HOST, port, topic: config.TOPIC_EVENTS, clock: config.CLOCK_MODE, maxBatchBytes: publisher.maxBatchBytes }, "ingest listening");

  // No new connections; requests in flight finish before the producer disconnects.
  installShutdown({
    logger,
    stop: async () => {
      clearInterval(refresh);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await publisher.disconnect();
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
