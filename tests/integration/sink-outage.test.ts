import { randomUUID } from "node:crypto";
import type { ClickHouseClient } from "@clickhouse/client";
import { DEFAULT_LIFECYCLE_CONFIG, type CustomerEvent } from "@clm/core";
import { STAGE_CHANGE_SCHEMA_TEXT, type StageChangeRecord } from "@clm/contracts";
import { AvroSerde, createRegistry } from "@clm/kafka";
import { createMetricsRegistry } from "@clm/observability";
import { createProcessorMetrics, Processor } from "@clm/processor";
import { RedisLayout, StateReader } from "@clm/state-store";
import { createClickHouse, migrate, queryRows } from "@clm/clickhouse";
import { createSinkMetrics, Sink } from "@clm/sink";
import { createRedis, type RedisClient } from "@clm/redis";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cdnowEvents } from "./support/cdnow-events.ts";
import { createTopics, isolatedConfig, produceEvents, readTopic, stack, testKafka, testLogger, waitFor, tearDownRun } from "./support/pipeline.ts";

/**
 * ClickHouse stops while events keep arriving: the processor must go on (stage changes keep
 * flowing), the sink must keep its rows and commit nothing, and once ClickHouse is back every
 * event and stage change must be there exactly once. CLM_LONG_FAULTS=1 keeps ClickHouse down 60 s.
 */
const OUTAGE_MS = process.env.CLM_LONG_FAULTS === "1" ? 60_000 : 8_000;
const run = `${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
const config = isolatedConfig({ CLICKHOUSE_DATABASE: `test_${run}`, SINK_GROUP_ID: `test-${run}-sink`, SINK_FLUSH_INTERVAL_MS: "200", SINK_RETRY_MAX_MS: "2000" });
const db = config.CLICKHOUSE_DATABASE;
let kafka: Kafka;
let redis: RedisClient;
let clickhouse: ClickHouseClient;
let processor: Processor;
let sink: Sink;
let before: CustomerEvent[];
let during: CustomerEvent[];
const processorMetrics = createProcessorMetrics(createMetricsRegistry("outage-processor"));
const sinkMetrics = createSinkMetrics(createMetricsRegistry("outage-sink"));
const counter = async (metric: { get(): Promise<{ values: { labels: Record<string, string | number>; value: number }[] }> }, labels: Record<string, string>) =>
  (await metric.get()).values.filter((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted)).reduce((sum, value) => sum + value.value, 0);
async function publishedTransitionIds(): Promise<Set<string>> {
  const serde = new AvroSerde<StageChangeRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_STAGE_CHANGES}-value`, STAGE_CHANGE_SCHEMA_TEXT);
  const ids = new Set<string>();
  for (const messages of (await readTopic(kafka, config.TOPIC_STAGE_CHANGES)).values()) {
    await serde.prepare(messages.map((message) => message.value));
    for (const message of messages) ids.add(serde.decode(message.value).transitionId);
  }
  return ids;
}
const count = async (query: string) => Number((await queryRows<{ n: string }>(clickhouse, query))[0]!.n);

beforeAll(async () => {
  kafka = testKafka(config);
  redis = createRedis(config);
  clickhouse = createClickHouse(config);
  await createTopics(kafka, config);
  const master = await cdnowEvents("master");
  const sampleCustomers = new Set(master.filter((event) => Number(event.customerId) % 10 === 0).map((event) => event.customerId));
  before = master.filter((event) => sampleCustomers.has(event.customerId));
  during = master.filter((event) => Number(event.customerId) % 10 === 1);
  await migrate(clickhouse, db);
  processor = new Processor({ config, lifecycle: DEFAULT_LIFECYCLE_CONFIG, logger: testLogger, metrics: processorMetrics, kafka, redis, registry: createRegistry(config.SCHEMA_REGISTRY_URL) });
  await processor.start();
  sink = new Sink({ config, lifecycle: DEFAULT_LIFECYCLE_CONFIG, logger: testLogger, metrics: sinkMetrics, kafka, registry: createRegistry(config.SCHEMA_REGISTRY_URL), clickhouse });
  await sink.start();
}, 120_000);

afterAll(async () => {
  stack("up"); // whatever happened, leave ClickHouse running for the next suite
  await sink?.stop();
  await processor?.stop();
  await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await clickhouse?.close();
  await tearDownRun(kafka, redis, config);
});

describe("ClickHouse outage", () => {
  it(`keeps the pipeline flowing while ClickHouse is down ${OUTAGE_MS / 1000} s, then catches up with nothing lost or doubled`, async () => {
    await produceEvents(kafka, config, before);
    await waitFor(async () => (await counter(sinkMetrics.rows, { table: "events" })) === before.length, "the first wave in ClickHouse", 60_000, 250);

    stack("down", "clickhouse");
    try {
      const transitionsBefore = await counter(processorMetrics.transitions, {});
      const outageStarted = Date.now();
      await produceEvents(kafka, config, during);
      // Upstream is unaffected: the processor applies the whole second wave and keeps emitting stage changes.
      await waitFor(async () => (await counter(processorMetrics.events, { outcome: "applied" })) >= before.length + during.length, "the processor to apply the second wave", 60_000, 250);
      expect(await counter(processorMetrics.transitions, {})).toBeGreaterThan(transitionsBefore);
      await waitFor(async () => (await counter(sinkMetrics.flushes, { outcome: "failed" })) >= 2, "the sink to meet the outage", 30_000, 250);
      const remaining = OUTAGE_MS - (Date.now() - outageStarted);
      if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining));
      expect(await counter(sinkMetrics.rows, { table: "events" })).toBe(before.length);
      expect((await sinkMetrics.bufferedRows.get()).values[0]!.value).toBeGreaterThan(0);
    } finally {
      stack("up");
    }

    await waitFor(async () => (await count(`SELECT count() AS n FROM ${db}.events_unique`)) === before.length + during.length, "the sink to catch up", 120_000, 500);
    // Every stage change on the topic (once the processor's outboxes are empty) is in ClickHouse once.
    const store = new StateReader(redis, new RedisLayout(config.REDIS_KEY_PREFIX));
    await waitFor(async () => {
      for (let partition = 0; partition < config.TOPIC_PARTITIONS; partition++) if ((await store.outboxLength(partition)) > 0) return false;
      return true;
    }, "outboxes to drain");
    const published = await publishedTransitionIds();
    await waitFor(async () => (await count(`SELECT count() AS n FROM ${db}.stage_transitions_unique`)) === published.size, "every stage change", 60_000, 500);
    const written = await queryRows<{ transition_id: string }>(clickhouse, `SELECT transition_id FROM ${db}.stage_transitions_unique`);
    expect(new Set(written.map((row) => row.transition_id))).toEqual(published);
    expect(await count(`SELECT count() AS n FROM ${db}.events_unique`)).toBe(before.length + during.length);
    expect(await count(`SELECT sum(purchases) AS n FROM ${db}.customer_purchase_days`)).toBe(before.length + during.length);
    expect(await counter(sinkMetrics.flushes, { outcome: "failed" })).toBeGreaterThanOrEqual(2);
  }, 240_000);
});
