import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { IngestClient, IngestRequestError } from "@clm/client";
import { CUSTOMER_EVENT_SCHEMA_TEXT, type CustomerEventRecord } from "@clm/contracts";
import { createInputEventSchema, DEFAULT_LIFECYCLE_CONFIG } from "@clm/core";
import { AvroSerde, createRegistry, KAFKA_DEFAULT_MAX_MESSAGE_BYTES } from "@clm/kafka";
import { createApiKeyCheck, createIngestMetrics, createIngestServer, CustomerReader, EventPublisher } from "@clm/ingest";
import { createMetricsRegistry } from "@clm/observability";
import { RedisLayout, StateReader } from "@clm/state-store";
import { createRedis, type RedisClient } from "@clm/redis";
import { ConfigResourceTypes } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaWithFileTopics } from "./support/file-topics.ts";
import { isolatedConfig, readTopic, testLogger } from "./support/pipeline.ts";

/**
 * Requests at the documented limits (INGEST_MAX_BATCH_EVENTS, INGEST_MAX_BODY_BYTES) against the
 * broker's limit on one record batch (max.message.bytes, Kafka's default about 1 MB), and what a
 * request hears when Kafka refuses its records for good.
 */
const config = isolatedConfig({ CLOCK_MODE: "wall" });
const kafka = kafkaWithFileTopics(config);
const KEY = "batch-test-key";
const LIMITS = { maxBytes: 5 * 1024 * 1024, maxEvents: 5000 };
let redis: RedisClient;
const publishers: EventPublisher[] = [];
const servers: Server[] = [];

const serde = () => new AvroSerde<CustomerEventRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT);

async function startServer(topic: string): Promise<{ url: string; registry: ReturnType<typeof createMetricsRegistry> }> {
  const publisher = new EventPublisher(kafka, serde(), topic, 20_000);
  await publisher.connect();
  publishers.push(publisher);
  const registry = createMetricsRegistry("ingest-batches-test");
  const server = createIngestServer({
    schema: createInputEventSchema({ reportingCurrency: "USD" }),
    publisher,
    customers: new CustomerReader(new StateReader(redis, new RedisLayout(config.REDIS_KEY_PREFIX)), DEFAULT_LIFECYCLE_CONFIG, config.TOPIC_PARTITIONS, () => null),
    authorize: createApiKeyCheck({ write: [KEY], read: [], admin: [] }),
    metrics: createIngestMetrics(registry),
    registry,
    checks: [],
    logger: testLogger,
    ...LIMITS,
    maxFutureSkewMs: config.MAX_FUTURE_SKEW_MS,
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, registry };
}

/** A purchase whose ids are all 128 characters long, the contract's maximum. */
const longPurchase = (index: number, customerId: string) => ({
  eventId: `e${String(index).padStart(6, "0")}-`.padEnd(128, "x"),
  type: "purchase",
  customerId,
  occurredAt: new Date(Date.UTC(2024, 0, 1) + index * 1000).toISOString(),
  properties: { orderId: `o${String(index).padStart(6, "0")}-`.padEnd(128, "y"), amount: "19.99", currency: "USD" },
});

beforeAll(() => {
  redis = createRedis(config);
});

afterAll(async () => {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  for (const publisher of publishers) await publisher.disconnect();
  redis.disconnect();
});

describe("a request within the documented limits", () => {
  it("5,000 events of one customer with 128-character ids in one request (2.7 MB, records past twice the topic's 1 MB per record batch): 202, and all 5,000 on the topic in order", async () => {
    const { url } = await startServer(config.TOPIC_EVENTS);
    const customerId = "c".repeat(128);
    const events = Array.from({ length: 5000 }, (_, index) => longPurchase(index, customerId));
    const body = JSON.stringify(events);
    expect(Buffer.byteLength(body)).toBeGreaterThan(2_500_000);
    expect(Buffer.byteLength(body)).toBeLessThan(LIMITS.maxBytes);
    const response = await fetch(`${url}/v1/events`, { method: "POST", body, headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` } });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: 5000, rejected: [] });

    const decoder = serde();
    const onTopic: string[] = [];
    let recordBytes = 0;
    for (const messages of (await readTopic(kafka, config.TOPIC_EVENTS)).values()) {
      await decoder.prepare(messages.map((message) => message.value));
      for (const message of messages) {
        onTopic.push(decoder.decode(message.value).eventId);
        recordBytes += message.key!.length + message.value!.length;
      }
    }
    expect(onTopic).toEqual(events.map((event) => event.eventId));
    // The records together are more than one record batch may hold.
    expect(recordBytes).toBeGreaterThan(2 * KAFKA_DEFAULT_MAX_MESSAGE_BYTES);
  }, 120_000);
});

describe("Kafka refusing the records for good", () => {
  it("answers 500 KAFKA_REJECTED, not 503, and the client does not retry it", async () => {
    // The topic's limit drops below the request's record batch after ingest read it at start, as
    // when an operator lowers max.message.bytes on a running pipeline: the broker answers MESSAGE_TOO_LARGE.
    const topic = `${config.TOPIC_EVENTS}.small`;
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor: 1 }] });
      const { url, registry } = await startServer(topic);
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: "max.message.bytes", value: "4096" }] }] });
      const events = Array.from({ length: 100 }, (_, index) => longPurchase(index, "refused-customer"));

      const response = await fetch(`${url}/v1/events`, { method: "POST", body: JSON.stringify(events), headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` } });
      expect(response.status).toBe(500);
      expect(response.headers.get("retry-after")).toBeNull();
      expect(await response.json()).toMatchObject({ error: { code: "KAFKA_REJECTED", message: expect.stringMatching(/MESSAGE_TOO_LARGE|larger than/i) } });

      const client = new IngestClient({ baseUrl: url, apiKey: KEY, maxAttempts: 5, initialBackoffMs: 1 });
      const error = await client.send(events as never).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(IngestRequestError);
      expect(error).toMatchObject({ status: 500, code: "KAFKA_REJECTED" });
      const answered = (await registry.getSingleMetric("clm_ingest_requests_total")!.get()).values.find((value) => value.labels.route === "events" && value.labels.status === "500");
      expect(answered?.value).toBe(2); // the fetch above and the client's one attempt
    } finally {
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  }, 60_000);
});
