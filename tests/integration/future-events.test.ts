import { randomUUID } from "node:crypto";
import type { ClickHouseClient } from "@clickhouse/client";
import { STAGE_CHANGE_SCHEMA_TEXT, type StageChangeRecord } from "@clm/contracts";
import { DAY_MS, DEFAULT_LIFECYCLE_CONFIG, type CustomerEvent } from "@clm/core";
import { AvroSerde, createRegistry, partitionForKey, type DeadLetter } from "@clm/kafka";
import { createMetricsRegistry } from "@clm/observability";
import { createProcessorMetrics, Processor } from "@clm/processor";
import { RedisLayout, StateReader } from "@clm/state-store";
import { createClickHouse, migrate, queryRows } from "@clm/clickhouse";
import { createSinkMetrics, Sink } from "@clm/sink";
import { createRedis, type RedisClient } from "@clm/redis";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { coreExpectation, mismatchedStates, mismatchedTimers } from "./support/core-expectation.ts";
import { createTopics, isolatedConfig, produceEvents, readTopic, testKafka, testLogger, waitFor, tearDownRun } from "./support/pipeline.ts";

/**
 * Far-future events produced straight to the input topic, in event-clock mode, on real servers: one
 * partition's customers each have a deadline about a day ahead of the wall clock; a 2099 and a 9999
 * record for that partition must become FUTURE_EVENT dead letters before the fold, so the partition's
 * watermark does not move and no timer fires, and the sink must not write them to ClickHouse.
 */
const run = `${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
const config = isolatedConfig({ CLICKHOUSE_DATABASE: `test_${run}`, SINK_GROUP_ID: `test-${run}-sink`, SINK_FLUSH_INTERVAL_MS: "200" });
const lifecycle = DEFAULT_LIFECYCLE_CONFIG;
const db = config.CLICKHOUSE_DATABASE;
const PARTITION = 0;
let kafka: Kafka;
let redis: RedisClient;
let clickhouse: ClickHouseClient;
let processor: Processor;
let sink: Sink;
const processorMetrics = createMetricsRegistry("future-processor");
const sinkMetrics = createSinkMetrics(createMetricsRegistry("future-sink"));

/** 20 customer ids whose records land on PARTITION. */
const customers: string[] = [];
for (let index = 0; customers.length < 20; index++) if (partitionForKey(`future-${index}`, config.TOPIC_PARTITIONS) === PARTITION) customers.push(`future-${index}`);

const purchase = (eventId: string, customerId: string, occurredAt: number): CustomerEvent => ({
  eventId,
  customerId,
  occurredAt,
  type: "purchase",
  properties: { orderId: `o-${eventId}`, amountE4: 250_000, currency: "USD", quantity: 1 },
});

beforeAll(async () => {
  kafka = testKafka(config);
  redis = createRedis(config);
  clickhouse = createClickHouse(config);
  await createTopics(kafka, config);
  await migrate(clickhouse, db);
  processor = new Processor({ config, lifecycle, logger: testLogger, metrics: createProcessorMetrics(processorMetrics), kafka, redis, registry: createRegistry(config.SCHEMA_REGISTRY_URL) });
  await processor.start();
  sink = new Sink({ config, lifecycle, logger: testLogger, metrics: sinkMetrics, kafka, registry: createRegistry(config.SCHEMA_REGISTRY_URL), clickhouse });
  await sink.start();
}, 120_000);

afterAll(async () => {
  await sink?.stop();
  await processor?.stop();
  await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await clickhouse?.close();
  await tearDownRun(kafka, redis, config);
});

describe("far-future events (event clock)", () => {
  it("dead-letters a 2099 and a 9999 record before the fold: the watermark stays, no timer fires, the sink stores neither", async () => {
    const store = new StateReader(redis, new RedisLayout(config.REDIS_KEY_PREFIX));
    const appliedThrough = async (offset: string) => waitFor(async () => (await store.loadMeta(PARTITION)).offset === offset, `partition ${PARTITION} applied through ${offset}`, 30_000);

    // First purchases 30 days ago: each customer is `new`, and turns `at_risk` (NOT_ACTIVATED) 31 days after it.
    const firstPurchase = Date.now() - 30 * DAY_MS;
    await produceEvents(kafka, config, customers.map((customerId, index) => purchase(`first-${index}`, customerId, firstPurchase + index * 1000)));
    await appliedThrough("20");
    const before = await store.loadMeta(PARTITION);
    expect(before.watermark).toBe(firstPurchase + 19_000);
    const deadlines = (await redis.zrange(new RedisLayout(config.REDIS_KEY_PREFIX).timers(PARTITION), 0, -1, "WITHSCORES")).filter((_, index) => index % 2 === 1).map(Number);
    expect(deadlines).toHaveLength(20);
    for (const deadline of deadlines) expect(deadline - Date.now()).toBeLessThan(2 * DAY_MS);

    // Straight to the topic: two far-future records for this partition, then an ordinary login.
    const login: CustomerEvent = { eventId: "after-future", customerId: customers[2]!, occurredAt: firstPurchase + 3_600_000, type: "login", properties: { channel: "web" } };
    await produceEvents(kafka, config, [purchase("future-2099", customers[0]!, Date.UTC(2099, 0, 1)), purchase("future-9999", customers[1]!, Date.UTC(9999, 11, 31, 23, 59, 59)), login]);
    await appliedThrough("23");

    // Dead-lettered with the code and the field error, at their offsets.
    await waitFor(async () => [...(await readTopic(kafka, config.TOPIC_DEAD_LETTER)).values()].flat().length >= 2, "dead letters", 20_000);
    const letters = [...(await readTopic(kafka, config.TOPIC_DEAD_LETTER)).values()].flat().map((message) => JSON.parse(message.value!.toString()) as DeadLetter);
    expect(letters.map((letter) => [letter.code, letter.source.partition, letter.source.offset, letter.errors?.map((error) => error.path)])).toEqual([
      ["FUTURE_EVENT", PARTITION, "20", ["occurredAt"]],
      ["FUTURE_EVENT", PARTITION, "21", ["occurredAt"]],
    ]);
    expect(letters[0]!.reason).toContain("occurredAt 2099-01-01T00:00:00.000Z is later than the receiving clock allows");

    // The watermark moved only to the login's time; no timer fired: every stage change is a first purchase's.
    expect((await store.loadMeta(PARTITION)).watermark).toBe(login.occurredAt);
    expect(await processorMetrics.getSingleMetricAsString("clm_processor_timers_fired_total")).not.toMatch(/} [1-9]/);
    for (const customerId of customers) {
      expect((await store.history(PARTITION, customerId, 10)).map((entry) => [entry.from, entry.to, entry.trigger])).toEqual([[null, "new", "event"]]);
    }
    await waitFor(async () => (await store.outboxLength(PARTITION)) === 0, "the outbox to drain", 20_000);
    const serde = new AvroSerde<StageChangeRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_STAGE_CHANGES}-value`, STAGE_CHANGE_SCHEMA_TEXT);
    const published = [...(await readTopic(kafka, config.TOPIC_STAGE_CHANGES)).values()].flat();
    await serde.prepare(published.map((message) => message.value));
    const transitionIds = new Set(published.map((message) => serde.decode(message.value).transitionId));

    // The end state is the pure core's for the topic as it is (which skips the far-future records too).
    const expected = await coreExpectation(kafka, config, lifecycle);
    expect(expected.states.size).toBe(20);
    expect(await mismatchedStates(store, expected.states)).toEqual([]);
    expect(await mismatchedTimers(redis, new RedisLayout(config.REDIS_KEY_PREFIX), expected.states, lifecycle)).toEqual([]);
    expect(transitionIds).toEqual(expected.transitionIds);
    expect(transitionIds.size).toBe(20);

    // The sink skipped them too: ClickHouse holds the 21 other events and nothing dated past now + 1 day.
    await waitFor(async () => (await sinkMetrics.rows.get()).values.some((value) => value.labels.table === "events" && value.value >= 21), "the events in ClickHouse", 30_000);
    const skipped = (await sinkMetrics.skipped.get()).values.filter((value) => value.labels.reason === "FUTURE_EVENT").reduce((sum, value) => sum + value.value, 0);
    expect(skipped).toBe(2);
    const rows = await queryRows<{ event_id: string; occurred_at_ms: string }>(clickhouse, `SELECT event_id, occurred_at_ms FROM ${db}.events ORDER BY event_id`);
    expect(rows.map((row) => row.event_id)).toEqual(["after-future", ...customers.map((_, index) => `first-${index}`)].sort());
    for (const row of rows) expect(Number(row.occurred_at_ms)).toBeLessThan(Date.now() + DAY_MS);
  });
});
