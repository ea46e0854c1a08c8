import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ClickHouseClient } from "@clickhouse/client";
import { CUSTOMER_EVENT_SCHEMA_TEXT, VALUE_TIER_CHANGE_SCHEMA_TEXT, type CustomerEventRecord, type ValueTierChangeRecord } from "@clm/contracts";
import { createInputEventSchema, DEFAULT_LIFECYCLE_CONFIG, summarizeTransactions, utcDay, viewAt, type CustomerEvent } from "@clm/core";
import { toInputEventJson } from "@clm/datasets";
import { createApiKeyCheck, createIngestMetrics, createIngestServer, CustomerReader, EventPublisher } from "@clm/ingest";
import { AvroSerde, createRegistry } from "@clm/kafka";
import { createMetricsRegistry } from "@clm/observability";
import { createProcessorMetrics, Processor } from "@clm/processor";
import { readValueModel, RedisLayout, StateReader } from "@clm/state-store";
import { createClickHouse, migrate, queryRows, valueSummaries } from "@clm/clickhouse";
import { createSinkMetrics, Sink } from "@clm/sink";
import { fitFromClickHouse, publishValueModel, type ValueFit } from "@clm/value-model";
import { createRedis, type RedisClient } from "@clm/redis";
import type { Admin, Kafka, Producer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cdnowEvents } from "./support/cdnow-events.ts";
import { coreExpectation, mismatchedStates, mismatchedTimers, type CoreExpectation } from "./support/core-expectation.ts";
import { createTopics, isolatedConfig, readTopic, testKafka, testLogger, waitFor, tearDownRun } from "./support/pipeline.ts";
import { waitCaughtUp } from "@clm/testkit";

/**
 * The customer-value model through the whole pipeline: the CDNOW sample in through HTTP, the
 * processor and the sink, BG/NBD and Gamma-Gamma fitted from ClickHouse (the published figures),
 * the model published and activated, the refit sweep reaching every customer, then the event
 * clock advanced so P(alive) and CLV crossings fire as timers. Redis, the tier-change topic,
 * ClickHouse and the customer API must all equal what the pure core says.
 */
const run = `${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
const config = isolatedConfig({
  CLICKHOUSE_DATABASE: `test_${run}`,
  SINK_GROUP_ID: `test-${run}-sink`,
  SINK_FLUSH_INTERVAL_MS: "300",
  CLOCK_MODE: "event",
  PROCESSOR_REFIT_SCAN_COUNT: "200",
});
const lifecycle = DEFAULT_LIFECYCLE_CONFIG;
const KEYS = { write: "value-write", read: "value-read", admin: "value-admin" };
let kafka: Kafka;
let redis: RedisClient;
let clickhouse: ClickHouseClient;
let processor: Processor;
let sink: Sink;
let publisher: EventPublisher;
let producer: Producer;
let admin: Admin;
let server: Server;
let base: string;
let store: StateReader;
let layout: RedisLayout;
let events: CustomerEvent[];
let fit: ValueFit;

async function post(path: string, key: string, body: unknown): Promise<Response> {
  return fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
}

async function applied(expectation: Pick<CoreExpectation, "ends">): Promise<boolean> {
  for (const [partition, end] of expectation.ends) if ((await store.loadMeta(partition)).offset !== end) return false;
  return true;
}

async function topicEnds(): Promise<Map<number, string>> {
  const ends = new Map<number, string>();
  for (const entry of await admin.fetchTopicOffsets(config.TOPIC_EVENTS)) ends.set(entry.partition, entry.high);
  return ends;
}

beforeAll(async () => {
  kafka = testKafka(config);
  redis = createRedis(config);
  clickhouse = createClickHouse(config);
  await createTopics(kafka, config);
  await migrate(clickhouse, config.CLICKHOUSE_DATABASE);
  const registry = createRegistry(config.SCHEMA_REGISTRY_URL);
  publisher = new EventPublisher(kafka, new AvroSerde<CustomerEventRecord>(registry, `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT), config.TOPIC_EVENTS, 10_000);
  await publisher.connect();
  producer = kafka.producer();
  await producer.connect();
  admin = kafka.admin();
  await admin.connect();
  layout = new RedisLayout(config.REDIS_KEY_PREFIX);
  store = new StateReader(redis, layout);
  const metricsRegistry = createMetricsRegistry("value-test");
  server = createIngestServer({
    schema: createInputEventSchema({ reportingCurrency: "USD" }),
    publisher,
    customers: new CustomerReader(store, lifecycle, config.TOPIC_PARTITIONS, () => null, "event"),
    authorize: createApiKeyCheck({ write: [KEYS.write], read: [KEYS.read], admin: [KEYS.admin] }),
    metrics: createIngestMetrics(metricsRegistry),
    registry: metricsRegistry,
    checks: [],
    logger: testLogger,
    maxBytes: 5 * 1024 * 1024,
    maxEvents: 5000,
    maxFutureSkewMs: config.MAX_FUTURE_SKEW_MS,
    clockMode: "event",
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  processor = new Processor({ config, lifecycle, logger: testLogger, metrics: createProcessorMetrics(createMetricsRegistry("value-test-processor")), kafka, redis, registry });
  await processor.start();
  sink = new Sink({ config, lifecycle, logger: testLogger, metrics: createSinkMetrics(createMetricsRegistry("value-test-sink")), kafka, registry, clickhouse });
  await sink.start();

  events = await cdnowEvents("sample");
  for (let index = 0; index < events.length; index += 1000) {
    const response = await post("/v1/events", KEYS.write, events.slice(index, index + 1000).map(toInputEventJson));
    expect(response.status).toBe(202);
  }
  const db = config.CLICKHOUSE_DATABASE;
  await waitFor(async () => Number((await queryRows<{ n: string }>(clickhouse, `SELECT count() AS n FROM ${db}.events_unique`))[0]!.n) === events.length, "ClickHouse to have every event", 120_000);
  // Nothing in flight when the fit reads: the summaries view reads two snapshots (its aggregate and
  // the raw rows of copied days), which agree only once the sink's writes have settled.
  await waitCaughtUp(kafka, config);
}, 300_000);

afterAll(async () => {
  await sink?.stop();
  await processor?.stop();
  await publisher?.disconnect();
  await producer?.disconnect();
  await admin?.disconnect();
  await new Promise((resolve) => server?.close(resolve));
  await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${config.CLICKHOUSE_DATABASE}` });
  await clickhouse?.close();
  await tearDownRun(kafka, redis, config);
});

describe("customer value through the pipeline (real ingest, Kafka, processor, Redis, sink, ClickHouse)", () => {
  it("fits the published CDNOW figures from what the sink wrote", async () => {
    // ClickHouse's summaries are the log's, customer by customer (what the fit below reads).
    const end = utcDay(Date.UTC(1997, 8, 30));
    const purchases = events.flatMap((event) => (event.type === "purchase" ? [{ customerId: event.customerId, day: utcDay(event.occurredAt), amount: event.properties.amountE4 / 10_000 }] : []));
    const fromLog = summarizeTransactions(purchases, end, "week");
    const fromClickHouse = await valueSummaries(clickhouse, { database: config.CLICKHOUSE_DATABASE, calibrationEnd: "1997-09-30", unit: "week" });
    const differing = fromClickHouse.filter((summary) => {
      const expected = fromLog.get(summary.customerId);
      return expected === undefined || expected.x !== summary.x || Math.abs(expected.tx - summary.tx) > 1e-9 || Math.abs(expected.T - summary.T) > 1e-9 || Math.abs(expected.meanSpend - summary.meanSpend) > 1e-6;
    });
    expect(differing.slice(0, 5).map((summary) => ({ clickhouse: summary, log: fromLog.get(summary.customerId) }))).toEqual([]);
    expect(fromClickHouse).toHaveLength(fromLog.size);
    fit = await fitFromClickHouse({ client: clickhouse, database: config.CLICKHOUSE_DATABASE }, { calibrationEnd: "1997-09-30", unit: "week", config: lifecycle, now: Date.now() });
    const { bgnbd, gammaGamma } = fit.model;
    expect(bgnbd.customers).toBe(2357);
    expect([bgnbd.r.toFixed(4), bgnbd.alpha.toFixed(4), bgnbd.a.toFixed(4), bgnbd.b.toFixed(4), bgnbd.logLikelihood.toFixed(2)]).toEqual(["0.2426", "4.4136", "0.7929", "2.4259", "-9582.43"]);
    expect(gammaGamma.customers).toBe(946);
    expect([gammaGamma.p.toFixed(2), gammaGamma.q.toFixed(2), gammaGamma.v.toFixed(2), gammaGamma.logLikelihood.toFixed(2)]).toEqual(["6.25", "3.74", "15.44", "-4055.92"]);
  });

  it("applies the model to every customer (refit sweep), fires tier crossings as timers, and Redis, the topic, ClickHouse and the API equal the pure core", async () => {
    await publishValueModel({ clickhouse: { client: clickhouse, database: config.CLICKHOUSE_DATABASE }, redis, layout, kafka: { producer, admin, topic: config.TOPIC_EVENTS } }, fit);
    await waitFor(async () => {
      for (let partition = 0; partition < config.TOPIC_PARTITIONS; partition++) {
        const meta = await store.loadMeta(partition);
        if (meta.valueModel?.version !== fit.model.version || meta.refitCursor !== null) return false;
      }
      return true;
    }, "every partition to activate the model and finish its refit sweep", 120_000);

    // Half a year with no purchase: P(alive) and CLV fall, crossings fire as timers.
    const advance = await post("/v1/clock/advance", KEYS.admin, { to: "1999-01-01T00:00:00Z" });
    expect(advance.status).toBe(202);
    const ends = await topicEnds();
    await waitFor(() => applied({ ends }), "the processor to apply the clock advance", 120_000);

    const expected = await coreExpectation(kafka, config, lifecycle, (version) => readValueModel(redis, layout, version));
    expect(expected.ends).toEqual(ends);
    expect(await mismatchedStates(store, expected.states)).toEqual([]);
    expect(await mismatchedTimers(redis, layout, expected.states, lifecycle, expected.values)).toEqual([]);
    const tiers = new Map<string, number>();
    for (const { state } of expected.states.values()) if (state.valueTier !== null) tiers.set(state.valueTier, (tiers.get(state.valueTier) ?? 0) + 1);
    // Every customer bought: every one has a tier, and the four tiers all occur.
    expect([...tiers.values()].reduce((sum, count) => sum + count, 0)).toBe(2357);
    expect([...tiers.keys()].sort()).toEqual(["base", "high_value", "potential", "warning"]);

    // The tier-change topic holds exactly the core's changes (copies allowed), in version order per customer.
    const serde = new AvroSerde<ValueTierChangeRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_VALUE_TIER_CHANGES}-value`, VALUE_TIER_CHANGE_SCHEMA_TEXT);
    let published: ValueTierChangeRecord[] = [];
    await waitFor(async () => {
      published = [];
      for (const messages of (await readTopic(kafka, config.TOPIC_VALUE_TIER_CHANGES)).values()) {
        await serde.prepare(messages.map((message) => message.value));
        for (const message of messages) published.push(serde.decode(message.value));
      }
      return new Set(published.map((change) => change.changeId)).size >= expected.tierChangeIds.size;
    }, "every tier change on the topic", 60_000);
    expect(new Set(published.map((change) => change.changeId))).toEqual(expected.tierChangeIds);
    const lastVersion = new Map<string, number>();
    const outOfOrder: string[] = [];
    for (const change of published) {
      if ((lastVersion.get(change.customerId) ?? 0) >= change.version && !published.some((other) => other !== change && other.changeId === change.changeId)) outOfOrder.push(change.changeId);
      lastVersion.set(change.customerId, Math.max(lastVersion.get(change.customerId) ?? 0, change.version));
    }
    expect(outOfOrder).toEqual([]);
    const triggers = new Set(published.map((change) => `${change.trigger}:${change.toTier}`));
    expect(triggers).toContain("refit:warning");
    expect([...triggers].some((trigger) => trigger.startsWith("timer:"))).toBe(true);

    // ClickHouse has every change once (by change id), and the snapshots of stage changes after the activation carry the values.
    const db = config.CLICKHOUSE_DATABASE;
    await waitFor(
      async () => Number((await queryRows<{ n: string }>(clickhouse, `SELECT count() AS n FROM ${db}.value_tier_changes_unique`))[0]!.n) === expected.tierChangeIds.size,
      "ClickHouse to hold every tier change",
      60_000,
    );
    const valued = await queryRows<{ n: string }>(clickhouse, `SELECT count() AS n FROM ${db}.stage_transitions_unique WHERE value_model_version = '${fit.model.version}' AND p_alive > 0`);
    expect(Number(valued[0]!.n)).toBeGreaterThan(0);

    // The customer API answers with the core's view under the active model.
    const checked = [...expected.states.entries()].filter((_, index) => index % 97 === 0);
    for (const [customerId, { partition, state }] of checked) {
      const response = await fetch(`${base}/v1/customers/${encodeURIComponent(customerId)}`, { headers: { authorization: `Bearer ${KEYS.read}` } });
      expect(response.status).toBe(200);
      const view = (await response.json()) as Record<string, unknown>;
      const meta = await store.loadMeta(partition);
      const core = viewAt(state, { at: meta.watermark!, clock: "event_watermark" }, lifecycle, null, expected.values.get(partition) ?? null);
      expect(core.ok).toBe(true);
      if (!core.ok) continue;
      expect(view).toMatchObject({ valueTier: core.view.valueTier, valueModelVersion: fit.model.version, pAlive: core.view.pAlive, predictedClv: core.view.predictedClv, expectedPurchases: core.view.expectedPurchases });
    }
  });
});
