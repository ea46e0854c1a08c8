import { randomUUID } from "node:crypto";
import type { ClickHouseClient } from "@clickhouse/client";
import { CUSTOMER_EVENT_SCHEMA_TEXT, customerEventToRecord, STAGE_CHANGE_SCHEMA_TEXT, type CustomerEventRecord, type StageChangeRecord } from "@clm/contracts";
import { DEFAULT_LIFECYCLE_CONFIG, parseAmountE4, type CustomerEvent } from "@clm/core";
import { AvroSerde, createRegistry } from "@clm/kafka";
import { createMetricsRegistry } from "@clm/observability";
import { createProcessorMetrics, Processor, RedisLayout, wipePrefix } from "@clm/processor";
import { createClickHouse, createSinkMetrics, jsonEachRowLine, migrate, queryRows, Sink } from "@clm/sink";
import { Redis } from "ioredis";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cdnowEvents } from "./support/cdnow-events.ts";
import { repurchaseByCohort, retention, stageDistribution, STAGE_NAMES, monthIndex, monthText, type TransitionFact } from "./support/cohort-expectations.ts";
import { createTopics, deleteTopics, isolatedConfig, produceEvents, readTopic, testKafka, testLogger, waitFor } from "./support/pipeline.ts";

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
let redis: Redis;
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

/** Everything the views say, in a comparable form (money as E4 integers). */
async function snapshotOfViews() {
  const e4 = (text: string) => parseAmountE4(text)!;
  const monthly = await queryRows<{ cohort: string; period: number; cohort_customers: string; active_customers: string; revenue: string }>(
    clickhouse,
    `SELECT toString(cohort_month) AS cohort, period, cohort_customers, active_customers, toString(revenue) AS revenue FROM ${db}.cohort_retention_monthly ORDER BY cohort, period`,
  );
  const weekly = await queryRows<{ cohort: string; period: number; cohort_customers: string; active_customers: string; revenue: string }>(
    clickhouse,
    `SELECT toString(cohort_week) AS cohort, period, cohort_customers, active_customers, toString(revenue) AS revenue FROM ${db}.cohort_retention_weekly ORDER BY cohort, period`,
  );
  const asRows = (rows: typeof monthly) =>
    rows.map((row) => ({ cohort: row.cohort, period: Number(row.period), cohortCustomers: Number(row.cohort_customers), activeCustomers: Number(row.active_customers), revenueE4: e4(row.revenue) }));
  const ltv = await queryRows<{ cohort: string; period: number; cumulative: string; ltv: string }>(
    clickhouse,
    `SELECT toString(cohort_month) AS cohort, period, toString(cumulative_revenue) AS cumulative, toString(ltv) AS ltv FROM ${db}.cohort_ltv_monthly ORDER BY cohort, period`,
  );
  const repurchase = await queryRows<{ cohort: string; cohort_customers: string; repeat_customers: string }>(
    clickhouse,
    `SELECT toString(cohort_month) AS cohort, cohort_customers, repeat_customers FROM ${db}.cohort_repurchase ORDER BY cohort`,
  );
  const distribution = await queryRows<{ month: string; stage: string; customers: string }>(
    clickhouse,
    `SELECT toString(month) AS month, stage, customers FROM ${db}.stage_distribution_monthly ORDER BY month, stage`,
  );
  const funnel = await queryRows<{ month: string; from_stage: string | null; to_stage: string; transitions: string; customers: string }>(
    clickhouse,
    `SELECT toString(month) AS month, from_stage, to_stage, transitions, customers FROM ${db}.stage_transition_funnel_monthly ORDER BY month, from_stage, to_stage`,
  );
  const churn = await queryRows<{ month: string; base_customers: string; churned: string; churn_rate: number; churned_at_start: string; won_back: string; win_back_rate: number }>(
    clickhouse,
    `SELECT toString(month) AS month, base_customers, churned, churn_rate, churned_at_start, won_back, win_back_rate FROM ${db}.churn_winback_monthly ORDER BY month`,
  );
  return { monthly: asRows(monthly), weekly: asRows(weekly), ltv, repurchase, distribution, funnel, churn };
}

beforeAll(async () => {
  kafka = testKafka(config);
  redis = new Redis(config.REDIS_URL);
  clickhouse = createClickHouse(config, { stringifyRow: jsonEachRowLine });
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
  await wipePrefix(redis, new RedisLayout(config.REDIS_KEY_PREFIX));
  await deleteTopics(kafka, config);
  redis.disconnect();
});

describe("ClickHouse sink and cohort views (real Kafka, registry, Redis, ClickHouse)", () => {
  let transitions: TransitionFact[];
  let firstPass: Awaited<ReturnType<typeof snapshotOfViews>>;

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
    const monthly = retention(events, "month");
    expect(firstPass.monthly).toEqual(monthly);
    expect(monthly.filter((row) => row.period === 0).map((row) => row.cohort)).toEqual(
      Array.from({ length: 3 }, (_, index) => monthText(monthIndex(Date.UTC(1997, index, 1)))),
    );
    expect(firstPass.weekly).toEqual(retention(events, "week"));

    // LTV: cumulative revenue through period k; per customer truncated to 4 decimals.
    const cumulative = new Map<string, number>();
    for (const row of monthly) {
      const through = (cumulative.get(`${row.cohort}:${row.period - 1}`) ?? 0) + row.revenueE4;
      cumulative.set(`${row.cohort}:${row.period}`, through);
    }
    expect(firstPass.ltv.length).toBe(monthly.length);
    for (const row of firstPass.ltv) {
      const through = cumulative.get(`${row.cohort}:${row.period}`)!;
      expect(parseAmountE4(row.cumulative)).toBe(through);
      const size = monthly.find((entry) => entry.cohort === row.cohort)!.cohortCustomers;
      expect(parseAmountE4(row.ltv)).toBe(Math.trunc(through / size));
    }

    const repurchase = repurchaseByCohort(events);
    expect(firstPass.repurchase.map((row) => [row.cohort, Number(row.cohort_customers), Number(row.repeat_customers)])).toEqual(
      [...repurchase].sort((left, right) => left[0].localeCompare(right[0])).map(([cohort, entry]) => [cohort, entry.customers, entry.repeat]),
    );
  });

  it("gives the exact stage distribution, transition funnel, churn and win-back rates per month", () => {
    const distribution = stageDistribution(transitions);
    const actual = new Map<string, Record<string, number>>();
    for (const row of firstPass.distribution) {
      if (!actual.has(row.month)) actual.set(row.month, {});
      actual.get(row.month)![row.stage] = Number(row.customers);
    }
    expect(actual).toEqual(distribution);

    const funnel = new Map<string, { transitions: number; customers: Set<string> }>();
    for (const transition of transitions) {
      const key = `${monthText(monthIndex(transition.occurredAt))}|${transition.from}|${transition.to}`;
      if (!funnel.has(key)) funnel.set(key, { transitions: 0, customers: new Set() });
      funnel.get(key)!.transitions++;
      funnel.get(key)!.customers.add(transition.customerId);
    }
    expect(new Map(firstPass.funnel.map((row) => [`${row.month}|${row.from_stage}|${row.to_stage}`, { transitions: Number(row.transitions), customers: Number(row.customers) }]))).toEqual(
      new Map([...funnel].map(([key, value]) => [key, { transitions: value.transitions, customers: value.customers.size }])),
    );

    const months = [...distribution.keys()];
    expect(firstPass.churn.map((row) => row.month)).toEqual(months);
    for (const [index, row] of firstPass.churn.entries()) {
      const before = index === 0 ? null : distribution.get(months[index - 1]!)!;
      const base = before === null ? 0 : before.new! + before.active! + before.loyal! + before.at_risk! + before.won_back!;
      const churnedAtStart = before === null ? 0 : before.churned!;
      const inMonth = transitions.filter((transition) => monthText(monthIndex(transition.occurredAt)) === row.month);
      const churned = inMonth.filter((transition) => transition.to === "churned").length;
      const wonBack = inMonth.filter((transition) => transition.to === "won_back").length;
      expect([Number(row.base_customers), Number(row.churned), Number(row.churned_at_start), Number(row.won_back)]).toEqual([base, churned, churnedAtStart, wonBack]);
      expect(row.churn_rate).toBeCloseTo(base === 0 ? 0 : churned / base, 12);
      expect(row.win_back_rate).toBeCloseTo(churnedAtStart === 0 ? 0 : wonBack / churnedAtStart, 12);
    }
    expect(STAGE_NAMES.every((stage) => distribution.get(months.at(-1)!)![stage] !== undefined)).toBe(true);
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
