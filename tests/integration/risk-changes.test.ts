import { randomUUID } from "node:crypto";
import type { ClickHouseClient } from "@clickhouse/client";
import { createClickHouse, migrate, queryRows } from "@clm/clickhouse";
import { RISK_CHANGE_SCHEMA_TEXT, type RiskChangeRecord } from "@clm/contracts";
import { DEFAULT_LIFECYCLE_CONFIG, type CustomerEvent } from "@clm/core";
import { AvroSerde, clockAdvanceMessage, createRegistry } from "@clm/kafka";
import { createMetricsRegistry } from "@clm/observability";
import { createProcessorMetrics, Processor } from "@clm/processor";
import { RedisLayout, StateReader } from "@clm/state-store";
import { createSinkMetrics, Sink } from "@clm/sink";
import { createRedis, type RedisClient } from "@clm/redis";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cdnowEvents } from "./support/cdnow-events.ts";
import { coreExpectation, mismatchedStates, mismatchedTimers } from "./support/core-expectation.ts";
import { createTopics, isolatedConfig, produceEvents, readTopic, tearDownRun, testKafka, testLogger, waitFor } from "./support/pipeline.ts";

/**
 * Churn-risk changes through the pipeline: the CDNOW sample on the input topic, a clock advance past
 * every crossing, the real processor and sink. Redis, the risk-change topic (clm.v1.RiskChange) and
 * ClickHouse's risk_changes must equal what the pure core says.
 */
const run = `${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
const config = isolatedConfig({ CLICKHOUSE_DATABASE: `test_${run}`, SINK_GROUP_ID: `test-${run}-sink`, SINK_FLUSH_INTERVAL_MS: "300", CLOCK_MODE: "event" });
const lifecycle = DEFAULT_LIFECYCLE_CONFIG;
let kafka: Kafka;
let redis: RedisClient;
let clickhouse: ClickHouseClient;
let processor: Processor;
let sink: Sink;
let store: StateReader;
let layout: RedisLayout;
let events: CustomerEvent[];

beforeAll(async () => {
  kafka = testKafka(config);
  redis = createRedis(config);
  clickhouse = createClickHouse(config);
  await createTopics(kafka, config);
  await migrate(clickhouse, config.CLICKHOUSE_DATABASE);
  layout = new RedisLayout(config.REDIS_KEY_PREFIX);
  store = new StateReader(redis, layout);
  const registry = createRegistry(config.SCHEMA_REGISTRY_URL);
  processor = new Processor({ config, lifecycle, logger: testLogger, metrics: createProcessorMetrics(createMetricsRegistry("risk-test-processor")), kafka, redis, registry });
  await processor.start();
  sink = new Sink({ config, lifecycle, logger: testLogger, metrics: createSinkMetrics(createMetricsRegistry("risk-test-sink")), kafka, registry, clickhouse });
  await sink.start();
  events = await cdnowEvents("sample");
  const advances = Array.from({ length: config.TOPIC_PARTITIONS }, (_, partition) => clockAdvanceMessage(Date.UTC(1999, 6, 1), partition));
  await produceEvents(kafka, config, events, advances);
}, 300_000);

afterAll(async () => {
  await sink?.stop();
  await processor?.stop();
  await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${config.CLICKHOUSE_DATABASE}` });
  await clickhouse?.close();
  await tearDownRun(kafka, redis, config);
});

describe("churn-risk changes through the pipeline (real Kafka, processor, Redis, sink, ClickHouse)", () => {
  it("Redis, the risk-change topic and ClickHouse equal the pure core", async () => {
    const expected = await coreExpectation(kafka, config, lifecycle);
    await waitFor(async () => {
      for (const [partition, end] of expected.ends) if ((await store.loadMeta(partition)).offset !== end) return false;
      return true;
    }, "the processor to apply every record", 120_000);
    expect(await mismatchedStates(store, expected.states)).toEqual([]);
    expect(await mismatchedTimers(redis, layout, expected.states, lifecycle)).toEqual([]);
    // Every customer bought and then the clock passed every mark: each ends at high risk.
    expect([...expected.states.values()].every(({ state }) => state.riskLevel === "high")).toBe(true);
    expect(expected.riskChangeIds.size).toBeGreaterThan(1000);

    const serde = new AvroSerde<RiskChangeRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_RISK_CHANGES}-value`, RISK_CHANGE_SCHEMA_TEXT);
    let published: RiskChangeRecord[] = [];
    await waitFor(async () => {
      published = [];
      for (const messages of (await readTopic(kafka, config.TOPIC_RISK_CHANGES)).values()) {
        await serde.prepare(messages.map((message) => message.value));
        for (const message of messages) published.push(serde.decode(message.value));
      }
      return new Set(published.map((change) => change.changeId)).size >= expected.riskChangeIds.size;
    }, "every risk change on the topic", 60_000);
    expect(new Set(published.map((change) => change.changeId))).toEqual(expected.riskChangeIds);
    expect(new Set(published.map((change) => `${change.fromLevel}>${change.toLevel}:${change.trigger}`))).toContain("none>low:timer");

    const db = config.CLICKHOUSE_DATABASE;
    await waitFor(
      async () => Number((await queryRows<{ n: string }>(clickhouse, `SELECT count() AS n FROM ${db}.risk_changes_unique`))[0]!.n) === expected.riskChangeIds.size,
      "ClickHouse to hold every risk change once",
      60_000,
    );
  });
});
