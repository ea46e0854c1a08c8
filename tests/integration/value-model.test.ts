import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { ClickHouseClient } from "@clickhouse/client";
import {
  createClickHouse,
  eventRow,
  holdoutActualsFromClickHouse,
  insertLines,
  migrate,
  queryRows,
  readValueModelFits,
  readValuePredictions,
  serializeRow,
  valueSummaries,
} from "@clm/clickhouse";
import { customerEventToRecord } from "@clm/contracts";
import { DEFAULT_LIFECYCLE_CONFIG, holdoutActuals, summarizeTransactions, type CustomerEvent, type ValueTransaction } from "@clm/core";
import { createIdempotentProducer, readValueModelActivation } from "@clm/kafka";
import { RedisLayout, readCurrentValueModel, readValueModel } from "@clm/state-store";
import { fitFromClickHouse, publishValueModel, type ValueFit } from "@clm/value-model";
import { createRedis, type RedisClient } from "@clm/redis";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cdnowEvents } from "./support/cdnow-events.ts";
import { envOf, freePort, startService, type RunningService } from "./support/child-service.ts";
import { createTopics, isolatedConfig, readTopic, tearDownRun, testKafka } from "./support/pipeline.ts";

/**
 * The customer-value fit on the real ClickHouse, Redis and Kafka: the CDNOW sample (2,357 customers)
 * is written into a test database's events table in the rows the sink writes (eventRow, a few
 * events twice, as redelivery would), so the summaries go through the deduplicated views; the fit
 * must reproduce the published figures (Fader, Hardie & Lee 2005; Fader & Hardie 2013).
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const run = `${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
const config = isolatedConfig({ CLICKHOUSE_DATABASE: `test_value_${run}`, TOPIC_PARTITIONS: "3" });
const viewsDb = `test_value_views_${run}`;
const db = config.CLICKHOUSE_DATABASE;
const lifecycle = DEFAULT_LIFECYCLE_CONFIG;
const DAY = 86_400_000;
const dayNumber = (ymd: string) => Date.parse(`${ymd}T00:00:00Z`) / DAY;

let clickhouse: ClickHouseClient;
let redis: RedisClient;
let kafka: Kafka;
let events: CustomerEvent[];
let transactions: ValueTransaction[];

const amountOf = (event: CustomerEvent) => (event.type === "purchase" ? event.properties.amountE4 : 0);

async function writeEvents(database: string, list: readonly CustomerEvent[]): Promise<void> {
  const lines = list.map((event, index) => serializeRow(eventRow(customerEventToRecord(event), { partition: 0, offset: String(index) }, Date.now())));
  for (let start = 0; start < lines.length; start += 20_000) await insertLines(clickhouse, `${database}.events`, lines.slice(start, start + 20_000));
}

beforeAll(async () => {
  clickhouse = createClickHouse(config);
  redis = createRedis(config);
  kafka = testKafka(config);
  await createTopics(kafka, config);
  await migrate(clickhouse, db);
  events = await cdnowEvents("sample");
  transactions = events.map((event) => ({ customerId: event.customerId, day: Math.floor(event.occurredAt / DAY), amount: amountOf(event) / 10_000 }));
  // Every 50th event written twice: the summaries must not count a copy.
  await writeEvents(db, [...events, ...events.filter((_, index) => index % 50 === 0)]);
}, 120_000);

afterAll(async () => {
  await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${viewsDb}` });
  await clickhouse?.close();
  await tearDownRun(kafka, redis, config);
});

describe("customer-value fit from ClickHouse (CDNOW sample, real servers)", () => {
  let fit: ValueFit;

  it("computes the same summaries and hold-out actuals in ClickHouse as the pure core", async () => {
    const fromClickHouse = await valueSummaries(clickhouse, { database: db, calibrationEnd: "1997-09-30", unit: "week" });
    const pure = summarizeTransactions(transactions, dayNumber("1997-09-30"), "week");
    expect(fromClickHouse.length).toBe(2357);
    expect(fromClickHouse.length).toBe(pure.size);
    for (const summary of fromClickHouse) {
      const expected = pure.get(summary.customerId)!;
      expect(summary.x).toBe(expected.x);
      expect(summary.tx).toBeCloseTo(expected.tx, 12);
      expect(summary.T).toBeCloseTo(expected.T, 12);
      expect(summary.meanSpend).toBeCloseTo(expected.meanSpend, 9);
    }
    const actuals = await holdoutActualsFromClickHouse(clickhouse, { database: db, calibrationEnd: "1997-09-30", holdoutEnd: "1998-06-30" });
    const pureActuals = holdoutActuals(transactions, dayNumber("1997-09-30"), dayNumber("1998-06-30"));
    expect(actuals.size).toBe(pureActuals.size);
    for (const [customerId, expected] of pureActuals) {
      expect(actuals.get(customerId)!.purchases).toBe(expected.purchases);
      expect(actuals.get(customerId)!.spend).toBeCloseTo(expected.spend, 6);
    }
  });

  it("reproduces the published BG/NBD and Gamma-Gamma figures (calibration end 1997-09-30, weeks)", async () => {
    fit = await fitFromClickHouse({ client: clickhouse, database: db }, { calibrationEnd: "1997-09-30", unit: "week", config: lifecycle, now: Date.now() });
    const { bgnbd, gammaGamma } = fit.model;
    expect([bgnbd.r.toFixed(4), bgnbd.alpha.toFixed(4), bgnbd.a.toFixed(4), bgnbd.b.toFixed(4)]).toEqual(["0.2426", "4.4136", "0.7929", "2.4259"]);
    expect(bgnbd.logLikelihood.toFixed(2)).toBe("-9582.43");
    expect(bgnbd.customers).toBe(2357);
    expect([gammaGamma.p.toFixed(2), gammaGamma.q.toFixed(2), gammaGamma.v.toFixed(2)]).toEqual(["6.25", "3.74", "15.44"]);
    expect(gammaGamma.logLikelihood.toFixed(2)).toBe("-4055.92");
    expect(gammaGamma.customers).toBe(946);
    expect(fit.model.version).toMatch(/^m-1997-09-30-[0-9a-f]{8}$/);
    expect(fit.predictions.length).toBe(2357);
    // Tier cuts are the population's quantiles: about 20 % at or above the high-value cut.
    const high = fit.predictions.filter((prediction) => prediction.clv >= fit.model.tierCuts.highValueClv).length;
    expect(high / fit.predictions.length).toBeCloseTo(0.2, 2);
  }, 60_000);

  it("publishes: fit and predictions in ClickHouse, the model in Redis, one activation record per partition", async () => {
    const layout = new RedisLayout(config.REDIS_KEY_PREFIX);
    const producer = createIdempotentProducer(kafka);
    const admin = kafka.admin();
    await Promise.all([producer.connect(), admin.connect()]);
    try {
      const report = await publishValueModel({ clickhouse: { client: clickhouse, database: db }, redis, layout, kafka: { producer, admin, topic: config.TOPIC_EVENTS } }, fit);
      expect(report).toEqual({ version: fit.model.version, predictions: 2357, partitions: 3 });
    } finally {
      await Promise.all([producer.disconnect(), admin.disconnect()]);
    }
    const fits = await readValueModelFits(clickhouse, db);
    expect(fits.map((stored) => stored.model)).toEqual([fit.model]);
    expect(fits[0]!.settings).toEqual({ purchaseHorizonDays: 90, clv: { horizonMonths: 12, monthlyDiscountRate: 0 } });
    const stored = await readValuePredictions(clickhouse, db, fit.model.version);
    expect(stored.length).toBe(2357);
    const byId = new Map(fit.predictions.map((prediction) => [prediction.summary.customerId, prediction]));
    for (const row of stored) {
      const expected = byId.get(row.customerId)!;
      expect(row.tier).toBe(expected.tier);
      expect(row.clv).toBeCloseTo(expected.clv, 9);
      expect(row.pAlive).toBeCloseTo(expected.pAlive, 12);
    }
    expect(await redis.get(layout.valueModelCurrent())).toBe(fit.model.version);
    expect(await readValueModel(redis, layout, fit.model.version)).toEqual(fit.model);
    expect(await readCurrentValueModel(redis, layout)).toEqual(fit.model);
    const topic = await readTopic(kafka, config.TOPIC_EVENTS);
    expect([...topic.keys()].sort()).toEqual([0, 1, 2]);
    for (const messages of topic.values()) {
      expect(messages.map((message) => readValueModelActivation(message))).toEqual([{ kind: "activate", version: fit.model.version }]);
      expect(messages[0]!.key).toBeNull();
    }
  }, 60_000);

  it("value_predicted_vs_realised_by_cohort sums the fit's predictions and the next 365 days' purchases per cohort", async () => {
    const rows = await queryRows<{ cohort_month: string; customers: string; predicted_clv_total: number; realised_spend: string }>(
      clickhouse,
      `SELECT toString(cohort_month) AS cohort_month, customers, predicted_clv_total, toString(realised_spend) AS realised_spend FROM ${db}.value_predicted_vs_realised_by_cohort WHERE model_version = '${fit.model.version}' ORDER BY cohort_month`,
    );
    // The same figures here, from the events as read from the file.
    const first = new Map<string, number>();
    for (const event of events) first.set(event.customerId, Math.min(first.get(event.customerId) ?? Infinity, event.occurredAt));
    const realised = new Map<string, number>();
    const [from, through] = [dayNumber("1997-09-30"), dayNumber("1997-09-30") + 365];
    for (const event of events) {
      const day = Math.floor(event.occurredAt / DAY);
      if (day > from && day <= through) realised.set(event.customerId, (realised.get(event.customerId) ?? 0) + amountOf(event));
    }
    const expected = new Map<string, { customers: number; clv: number; realisedE4: number }>();
    for (const prediction of fit.predictions) {
      const month = new Date(first.get(prediction.summary.customerId)!).toISOString().slice(0, 7) + "-01";
      const entry = expected.get(month) ?? { customers: 0, clv: 0, realisedE4: 0 };
      entry.customers += 1;
      entry.clv += prediction.clv;
      entry.realisedE4 += realised.get(prediction.summary.customerId) ?? 0;
      expected.set(month, entry);
    }
    expect(rows.map((row) => row.cohort_month)).toEqual([...expected.keys()].sort());
    for (const row of rows) {
      const entry = expected.get(row.cohort_month)!;
      expect(Number(row.customers)).toBe(entry.customers);
      expect(row.predicted_clv_total).toBeCloseTo(entry.clv, 6);
      expect(Math.round(Number(row.realised_spend) * 10_000)).toBe(entry.realisedE4);
    }
  });
});

describe("the value views on hand-computed data", () => {
  const purchase = (eventId: string, customerId: string, at: string, amountE4: number): CustomerEvent => ({
    eventId,
    customerId,
    occurredAt: Date.parse(at),
    type: "purchase",
    properties: { orderId: eventId, amountE4, currency: "USD", quantity: 1 },
  });

  beforeAll(async () => {
    await migrate(clickhouse, viewsDb);
  });

  it("value_predicted_vs_realised_by_cohort: predicted CLV and the spend of the 365 days after the calibration end", async () => {
    // Calibration end 1997-01-31, CLV horizon 12 months = floor(12 · 365.25 / 12) = 365 days: 1997-02-01 .. 1998-01-31.
    await writeEvents(viewsDb, [
      purchase("a1", "A", "1997-01-05T10:00:00Z", 100_000),
      purchase("a2", "A", "1997-02-01T00:00:00Z", 50_000), // first day of the window
      purchase("a3", "A", "1997-03-10T12:00:00Z", 75_000),
      purchase("a3", "A", "1997-03-10T12:00:00Z", 75_000), // a copy: counted once
      purchase("a4", "A", "1998-02-10T12:00:00Z", 1_000_000), // after the window
      purchase("b1", "B", "1996-12-20T12:00:00Z", 200_000),
      purchase("b2", "B", "1998-01-31T23:59:59Z", 30_000), // last second of the window
      purchase("c1", "C", "1997-02-03T12:00:00Z", 10_000), // not in the fit population
    ]);
    const version = "m-1997-01-31-aaaaaaaa";
    await clickhouse.command({
      query: `INSERT INTO ${viewsDb}.value_model_fits (model_version, calibration_end, unit, fitted_at, clv_horizon_months, purchase_horizon_days, model_json) VALUES ('${version}', '1997-01-31', 'week', now(), 12, 90, '{}')`,
    });
    for (let copy = 0; copy < 2; copy++) {
      await clickhouse.command({
        query: `INSERT INTO ${viewsDb}.value_predictions (model_version, customer_id, calibration_end, predicted_clv, value_tier) VALUES ('${version}', 'A', '1997-01-31', 30, 'high_value'), ('${version}', 'B', '1997-01-31', 12, 'base')`,
      });
    }
    const rows = await queryRows<Record<string, string | number>>(
      clickhouse,
      `SELECT model_version, toString(cohort_month) AS cohort_month, customers, predicted_clv_total, predicted_clv_mean, toString(realised_spend) AS realised_spend, realised_to_predicted
       FROM ${viewsDb}.value_predicted_vs_realised_by_cohort ORDER BY cohort_month`,
    );
    expect(rows).toEqual([
      { model_version: version, cohort_month: "1996-12-01", customers: "1", predicted_clv_total: 12, predicted_clv_mean: 12, realised_spend: "3.0000", realised_to_predicted: 0.25 },
      { model_version: version, cohort_month: "1997-01-01", customers: "1", predicted_clv_total: 30, predicted_clv_mean: 30, realised_spend: "12.5000", realised_to_predicted: 12.5 / 30 },
    ]);
  });

  it("value_tier_shares_monthly: each tiered customer in the tier of their latest change at each month end", async () => {
    const change = (id: string, customer: string, version: number, from: string | null, to: string, at: string) =>
      `('${id}', '${customer}', ${version}, ${from === null ? "NULL" : `'${from}'`}, '${to}', 'cut', 'event', toDateTime(${Date.parse(at) / 1000}), ${Date.parse(at)}, NULL, 'm-1997-01-31-aaaaaaaa', 0.9, 1, 10, 10, 0, 0, now())`;
    const rows = [
      change("c1:1", "c1", 1, null, "base", "1997-01-10T08:00:00Z"),
      change("c2:1", "c2", 1, null, "potential", "1997-01-31T23:59:59Z"), // in January: at or before its end
      change("c2:1", "c2", 1, null, "potential", "1997-01-31T23:59:59Z"), // a copy
      change("c1:2", "c1", 2, "base", "high_value", "1997-02-15T08:00:00Z"),
      change("c3:1", "c3", 1, null, "warning", "1997-03-01T00:00:00Z"),
      change("c2:2", "c2", 2, "potential", "base", "1997-03-31T12:00:00Z"),
    ];
    await clickhouse.command({ query: `INSERT INTO ${viewsDb}.value_tier_changes VALUES ${rows.join(", ")}` });
    const shares = await queryRows<{ month_end: string; tier: string; customers: string; share: number }>(
      clickhouse,
      `SELECT toString(month_end) AS month_end, tier, customers, share FROM ${viewsDb}.value_tier_shares_monthly ORDER BY month_end, tier`,
    );
    expect(shares.map((row) => [row.month_end, row.tier, Number(row.customers), Number(row.share.toFixed(6))])).toEqual([
      ["1997-01-31", "base", 1, 0.5],
      ["1997-01-31", "potential", 1, 0.5],
      ["1997-02-28", "high_value", 1, 0.5],
      ["1997-02-28", "potential", 1, 0.5],
      ["1997-03-31", "base", 1, 0.333333],
      ["1997-03-31", "high_value", 1, 0.333333],
      ["1997-03-31", "warning", 1, 0.333333],
    ]);
  });
});

describe("clm model as a child process (the CDNOW sample's database)", () => {
  const clm = (...args: string[]) => promisify(execFile)("node_modules/.bin/clm", ["model", ...args], { cwd: ROOT, env: envOf(config), maxBuffer: 16 * 1024 * 1024 });

  it("fit --json prints one JSON object with the figures, and publishes", async () => {
    const { stdout } = await clm("fit", "--calibration-end", "1997-09-30", "--json");
    const lines = stdout.trim().split("\n");
    expect(lines.length).toBe(1);
    const result = JSON.parse(lines[0]!) as Record<string, unknown> & { bgnbd: Record<string, number>; gammaGamma: Record<string, number>; modelVersion: string };
    expect(result).toMatchObject({ calibrationEnd: "1997-09-30", unit: "week", published: { partitions: 3, predictions: 2357 } });
    expect(result.bgnbd.r!.toFixed(4)).toBe("0.2426");
    expect(result.gammaGamma.logLikelihood!.toFixed(2)).toBe("-4055.92");
    expect(result.bgnbd.customers).toBe(2357);
    // Same data, same settings: the same content, so the same version as the library's fit above.
    expect(await redis.get(new RedisLayout(config.REDIS_KEY_PREFIX).valueModelCurrent())).toBe(result.modelVersion);
    const shown = JSON.parse((await clm("show", "--json")).stdout) as { modelVersion: string };
    expect(shown.modelVersion).toBe(result.modelVersion);
  }, 120_000);

  it("evaluate --json compares the hold-out with the model and the naive baseline, and activates nothing", async () => {
    const before = await redis.get(new RedisLayout(config.REDIS_KEY_PREFIX).valueModelCurrent());
    const { stdout } = await clm("evaluate", "--calibration-end", "1997-09-30", "--holdout-end", "1998-06-30", "--json");
    const result = JSON.parse(stdout) as { holdout: { customers: number; holdoutDays: number; actual: { purchases: number; spend: number }; model: Record<string, number>; naive: Record<string, number> }; activated: boolean };
    const pure = holdoutActuals(transactions, dayNumber("1997-09-30"), dayNumber("1998-06-30"));
    expect(result.activated).toBe(false);
    expect(result.holdout.customers).toBe(2357);
    expect(result.holdout.holdoutDays).toBe(273);
    expect(result.holdout.actual.purchases).toBe([...pure.values()].reduce((sum, actual) => sum + actual.purchases, 0));
    expect(result.holdout.model.purchasesMae!).toBeLessThan(result.holdout.naive.purchasesMae!);
    expect(await redis.get(new RedisLayout(config.REDIS_KEY_PREFIX).valueModelCurrent())).toBe(before);
    console.log(`CDNOW sample hold-out: ${JSON.stringify(result.holdout)}`);
  }, 120_000);
});

describe("services/modeler (a real process on the CDNOW sample's database)", () => {
  const running: RunningService[] = [];
  afterAll(async () => {
    for (const service of running) {
      service.child.kill("SIGTERM");
      await service.exited;
    }
  });

  const metricsOf = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

  it("fits once the current model is an interval old, on the wall clock: calibration end the UTC day of now − 1 ms", async () => {
    const port = await freePort();
    const modeler = startService("services/modeler/src/main.ts", envOf(config, { CLOCK_MODE: "wall", MODELER_HTTP_PORT: String(port), LOG_LEVEL: "info", MODEL_REFIT_INTERVAL_MS: "60000" }));
    running.push(modeler);
    // The current model was fitted by the tests above moments ago: younger than 60 s, so no fit yet.
    expect(JSON.parse(await modeler.waitForLog("modeler scheduled", 60_000)).firstFitInMs).toBeGreaterThan(0);
    const published = JSON.parse(await modeler.waitForLog("value model published", 120_000)) as { version: string; calibrationEnd: string };
    // Wall clock: the UTC day of (now − 1 ms), i.e. today (yesterday only across midnight).
    expect([new Date().toISOString().slice(0, 10), new Date(Date.now() - 120_000).toISOString().slice(0, 10)]).toContain(published.calibrationEnd);
    expect(await redis.get(new RedisLayout(config.REDIS_KEY_PREFIX).valueModelCurrent())).toBe(published.version);
    const metrics = await metricsOf(port);
    expect(metrics).toContain('clm_modeler_fits_total{outcome="published",service="modeler"} 1');
    expect(metrics).toContain(`clm_modeler_model_info{version="${published.version}",calibration_end="${published.calibrationEnd}",service="modeler"} 1`);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  }, 150_000);

  it("counts a fit that ClickHouse cannot answer as failed, stays up and healthy, and tries again", async () => {
    const port = await freePort();
    const closed = await freePort();
    const modeler = startService(
      "services/modeler/src/main.ts",
      envOf(config, { CLOCK_MODE: "wall", MODELER_HTTP_PORT: String(port), LOG_LEVEL: "info", CLICKHOUSE_URL: `http://127.0.0.1:${closed}`, MODEL_RETRY_MAX_MS: "1000", REDIS_KEY_PREFIX: `${config.REDIS_KEY_PREFIX}-empty` }),
    );
    running.push(modeler);
    await modeler.waitForLog("value model fit failed", 60_000);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const failed = Number(/clm_modeler_fits_total\{outcome="failed",service="modeler"\} (\d+)/.exec(await metricsOf(port))?.[1] ?? 0);
    expect(failed).toBeGreaterThanOrEqual(2);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect(modeler.child.exitCode).toBeNull();
  }, 90_000);
});
