import { randomUUID } from "node:crypto";
import type { ClickHouseClient } from "@clickhouse/client";
import { CUSTOMER_EVENT_SCHEMA_TEXT, customerEventToRecord, STAGE_CHANGE_SCHEMA_TEXT, type CustomerEventRecord, type StageChangeRecord } from "@clm/contracts";
import { DEFAULT_LIFECYCLE_CONFIG, type CustomerEvent } from "@clm/core";
import { AvroSerde, createRegistry } from "@clm/kafka";
import { createMetricsRegistry } from "@clm/observability";
import { createProcessorMetrics, Processor } from "@clm/processor";
import { createClickHouse, migrate, queryRows } from "@clm/clickhouse";
import { createSinkMetrics, Sink } from "@clm/sink";
import { createRedis, type RedisClient } from "@clm/redis";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cdnowEvents } from "./support/cdnow-events.ts";
import { expectCohortViews, expectStageViews, viewSnapshot, type ViewSnapshot } from "./support/cohort-checks.ts";
import type { TransitionFact } from "./support/cohort-expectations.ts";
import { createTopics, isolatedConfig, produceEvents, readTopic, testKafka, testLogger, waitFor, tearDownRun } from "./support/pipeline.ts";

/**
 * The whole CDNOW log (69,659 real purchases) through real Kafka, the processor and the sink into
 * a real ClickHouse database of its own; every cohort view must equal the same figures computed
 * here in plain TypeScript. Then everything is written a second time (another sink group), and
 * the views must not move.
 */
const run = `${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
const config = isolatedConfig({
  CLICKHOUSE_DATABASE: `test_${run}`,
  SINK_GROUP_ID: `test-${run}-sink`,
  SINK_FLUSH_INTERVAL_MS: "300",
  SINK_BATCH_ROWS: "20000",
  SINK_RETRY_MAX_MS: "1000",
});
const lifecycle = DEFAULT_LIFECYCLE_CONFIG;
const db = config.CLICKHOUSE_DATABASE;
let kafka: Kafka;
let redis: RedisClient;
let clickhouse: ClickHouseClient;
let processor: Processor;
let sink: Sink;
const sinkMetrics = createSinkMetrics(createMetricsRegistry("sink-test"));
const rowsWritten = async (table: string) => (await sinkMetrics.rows.get()).values.find((value) => value.labels.table === table)?.value ?? 0;
let events: CustomerEvent[];
let resent: CustomerEvent[];

const count = async (query: string) => Number((await queryRows<{ n: string }>(clickhouse, query))[0]!.n);

async function publishedTransitions(): Promise<TransitionFact[]> {
  const serde = new AvroSerde<StageChangeRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_STAGE_CHANGES}-value`, STAGE_CHANGE_SCHEMA_TEXT);
  const unique = new Map<string, TransitionFact>();
  for (const messages of (await readTopic(kafka, config.TOPIC_STAGE_CHANGES)).values()) {
    await serde.prepare(messages.map((message) => message.value));
    for (const message of messages) {
      const record = serde.decode(message.value);
      unique.set(record.transitionId, { transitionId: record.transitionId, customerId: record.customerId, version: record.version, from: record.fromStage, to: record.toStage, occurredAt: record.occurredAt });
    }
  }
  return [...unique.values()];
}

const snapshotOfViews = () => viewSnapshot((sql) => queryRows(clickhouse, sql), db);

beforeAll(async () => {
  kafka = testKafka(config);
  redis = createRedis(config);
  clickhouse = createClickHouse(config);
  await createTopics(kafka, config);
  events = await cdnowEvents("master");
  // A client's retry publishes some events twice (same ids, later offsets); bad records are skipped by the sink.
  resent = events.filter((_, index) => index % 1000 === 0);
  const serde = new AvroSerde<CustomerEventRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT);
  await serde.register();
  const euro: CustomerEvent = { eventId: "bad-currency", customerId: "7", occurredAt: Date.UTC(1998, 5, 1), type: "purchase", properties: { orderId: "x", amountE4: 10_000, currency: "EUR", quantity: null } };
  await produceEvents(kafka, config, [...events, ...resent], [
    { key: "someone", value: Buffer.from('{"eventId":"json-not-avro"}') },
    { key: euro.customerId, value: serde.encode(customerEventToRecord(euro)) },
  ]);

  const report = await migrate(clickhouse, db);
  expect(report.applied.length).toBeGreaterThanOrEqual(3);
  processor = new Processor({ config, lifecycle, logger: testLogger, metrics: createProcessorMetrics(createMetricsRegistry("sink-test-processor")), kafka, redis, registry: createRegistry(config.SCHEMA_REGISTRY_URL) });
  await processor.start();
  sink = new Sink({ config, lifecycle, logger: testLogger, metrics: sinkMetrics, kafka, registry: createRegistry(config.SCHEMA_REGISTRY_URL), clickhouse });
  await sink.start();
}, 180_000);

afterAll(async () => {
  await sink?.stop();
  await processor?.stop();
  await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await clickhouse?.close();
  await tearDownRun(kafka, redis, config);
});

describe("ClickHouse sink and cohort views (real Kafka, registry, Redis, ClickHouse)", () => {
  let transitions: TransitionFact[];
  let firstPass: ViewSnapshot;

  it("writes every valid event once and every published stage change", async () => {
    // Raw row counts are no progress measure (merges collapse copies at any time): the sink's own counter is.
    await waitFor(async () => (await rowsWritten("events")) === events.length + resent.length, "every event row", 120_000, 500);
    // The stage-change topic is complete once the processor's outboxes are empty and the sink has caught up with it.
    let previous = -1;
    await waitFor(async () => {
      transitions = await publishedTransitions();
      const written = await count(`SELECT count() AS n FROM ${db}.stage_transitions_unique`);
      const stable = written === transitions.length && written === previous;
      previous = written;
      return stable;
    }, "every stage change", 120_000, 1500);

    expect(await count(`SELECT count() AS n FROM ${db}.events_unique`)).toBe(events.length);
    expect(await count(`SELECT count() AS n FROM (SELECT DISTINCT customer_id FROM ${db}.events)`)).toBe(23_570);
    expect(transitions.length).toBeGreaterThan(50_000);
    const ids = await queryRows<{ transition_id: string }>(clickhouse, `SELECT transition_id FROM ${db}.stage_transitions_unique`);
    expect(new Set(ids.map((row) => row.transition_id))).toEqual(new Set(transitions.map((transition) => transition.transitionId)));
    // Latest state per customer = the highest version published.
    const latest = new Map<string, TransitionFact>();
    for (const transition of transitions) if ((latest.get(transition.customerId)?.version ?? -1) < transition.version) latest.set(transition.customerId, transition);
    const stages = await queryRows<{ stage: string; n: string }>(clickhouse, `SELECT toString(stage) AS stage, count() AS n FROM ${db}.customer_latest GROUP BY stage`);
    const expectedStages: Record<string, number> = {};
    for (const transition of latest.values()) expectedStages[transition.to] = (expectedStages[transition.to] ?? 0) + 1;
    expect(Object.fromEntries(stages.map((row) => [row.stage, Number(row.n)]))).toEqual(expectedStages);
  });

  it("gives exact monthly and weekly retention, LTV and repurchase, equal to an independent computation", async () => {
    firstPass = await snapshotOfViews();
    expectCohortViews(firstPass, events);
  });

  it("gives the exact stage distribution, transition funnel, churn and win-back rates per month", () => {
    expectStageViews(firstPass, transitions);
  });

  it("is idempotent: everything written a second time (a sink that lost its offsets) leaves every view unchanged", async () => {
    const againMetrics = createSinkMetrics(createMetricsRegistry("sink-test-again"));
    const written = async (table: string) => ((await againMetrics.rows.get()).values.find((value) => value.labels.table === table)?.value ?? 0);
    const published = [...(await readTopic(kafka, config.TOPIC_STAGE_CHANGES)).values()].reduce((sum, list) => sum + list.length, 0);
    const again = new Sink({
      config: { ...config, SINK_GROUP_ID: `${config.SINK_GROUP_ID}-again` },
      lifecycle,
      logger: testLogger,
      metrics: againMetrics,
      kafka,
      registry: createRegistry(config.SCHEMA_REGISTRY_URL),
      clickhouse,
    });
    await again.start();
    try {
      // Merges may already collapse copies in the raw tables, so progress is read from the second sink's own counters.
      await waitFor(async () => (await written("events")) === events.length + resent.length, "every event written again", 120_000, 500);
      await waitFor(async () => (await written("stage_transitions")) === published, "every stage change written again", 120_000, 500);
    } finally {
      await again.stop();
    }
    expect(await count(`SELECT count() AS n FROM ${db}.events_unique`)).toBe(events.length);
    expect(await count(`SELECT count() AS n FROM ${db}.stage_transitions_unique`)).toBe(transitions.length);
    expect(await snapshotOfViews()).toEqual(firstPass);
  }, 240_000);
});
