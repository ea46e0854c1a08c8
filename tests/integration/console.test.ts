import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ClickHouseClient } from "@clickhouse/client";
import { createClickHouse, queryRows } from "@clm/clickhouse";
import { loadLifecycleConfig } from "@clm/config";
import { formatAmount, formatCount, formatMoney, formatParameter, formatRatio, ratioOf } from "@clm/console";
import { CDNOW_SAMPLE_PATH, readCdnowCustomerEvents } from "@clm/datasets";
import { RedisLayout, StateReader } from "@clm/state-store";
import { advanceClock, launchChromium, sendThroughIngest, startPipeline, waitCaughtUp, waitFor, type Browser, type PipelineProcesses } from "@clm/testkit";
import { fitFromClickHouse, publishValueModel, type ValueFit } from "@clm/value-model";
import { createRedis, type RedisClient } from "@clm/redis";
import type { Admin, Kafka, Producer } from "kafkajs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envOf, freePort, startService, type RunningService } from "./support/child-service.ts";
import { createTopics, isolatedConfig, tearDownRun, testKafka } from "./support/pipeline.ts";

/**
 * The console in a real browser: the CDNOW sample goes through ingest → Kafka → processor → Redis →
 * sink → ClickHouse (all real processes, the event clock advanced to 1998-07-01), a value model is
 * fitted from ClickHouse and published, the refit sweep and then half a year more of event time give
 * every customer a tier (the clock advanced to 1999-01-01), the console runs as its own process, and
 * headless Debian Chromium (playwright-core) opens every page. Each page's data tables must hold
 * exactly the rows of the views (queried here), the heatmap's hover shows a cell's figures, the
 * customer page agrees with the customer API and ClickHouse, and no page logs an error.
 * Screenshots go to .run/console-test/.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SHOTS = join(ROOT, ".run/console-test");
const run = `${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
const KEY = `console-test-key-${run}`;
const config = isolatedConfig({ CLICKHOUSE_DATABASE: `test_${run}`, SINK_GROUP_ID: `test-${run}-sink`, SINK_FLUSH_INTERVAL_MS: "300" });
const db = config.CLICKHOUSE_DATABASE;

let kafka: Kafka;
let redis: RedisClient;
let producer: Producer | undefined;
let admin: Admin | undefined;
let fit: ValueFit;
let clickhouse: ClickHouseClient;
let pipeline: PipelineProcesses | undefined;
let consoleService: RunningService | undefined;
let browser: Browser | undefined;
let page: Page;
let base = "";
const problems: string[] = [];

/** The rows of a page's data table: data-key → data-metric → { text, value }. */
async function tableOf(name: string): Promise<Map<string, Record<string, { text: string; value: string | null }>>> {
  const rows = await page.$$eval(`table[data-table="${name}"] tbody tr`, (trs) =>
    trs.map((tr) => [
      tr.getAttribute("data-key")!,
      Object.fromEntries([...tr.querySelectorAll("td[data-metric]")].map((td) => [td.getAttribute("data-metric")!, { text: td.textContent ?? "", value: td.getAttribute("data-value") }])),
    ]),
  );
  return new Map(rows as [string, Record<string, { text: string; value: string | null }>][]);
}

async function open(path: string): Promise<void> {
  await page.goto(`${base}${path}`);
  await page.waitForFunction(() => document.documentElement.dataset.rendered !== undefined, undefined, { timeout: 30_000 });
  expect(await page.evaluate(() => document.documentElement.dataset.rendered), path).toBe("true");
  await page.screenshot({ path: join(SHOTS, `${path.replace(/^\//, "").replace(/[^A-Za-z0-9]+/g, "-")}.png`), fullPage: true });
}

const rows = <T>(sql: string) => queryRows<T>(clickhouse, sql);

// What the functions this file hands to the page (page.evaluate, waitForFunction) use there; this file is compiled without the DOM's types.
declare const document: { documentElement: { dataset: Record<string, string | undefined> } };
declare const sessionStorage: { getItem(key: string): string | null };
declare const window: { clmConsole: { charts: Map<string, { convertToPixel(finder: object, value: number[]): number[] }> } };

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  kafka = testKafka(config);
  redis = createRedis(config);
  clickhouse = createClickHouse(config);
  await createTopics(kafka, config);
  pipeline = await startPipeline(config, KEY);
  await sendThroughIngest(pipeline.ingestUrl, KEY, await readCdnowCustomerEvents(CDNOW_SAMPLE_PATH));
  await advanceClock(pipeline.ingestUrl, KEY, "1998-07-01T00:00:00Z");
  await waitCaughtUp(kafka, pipeline.config);

  // A value model, as tests/integration/customer-value.test.ts fits and publishes it; the refit sweep gives every customer a tier.
  fit = await fitFromClickHouse({ client: clickhouse, database: db }, { calibrationEnd: "1997-09-30", unit: "week", config: loadLifecycleConfig(pipeline.config), now: Date.now() });
  producer = kafka.producer();
  await producer.connect();
  admin = kafka.admin();
  await admin.connect();
  const layout = new RedisLayout(config.REDIS_KEY_PREFIX);
  await publishValueModel({ clickhouse: { client: clickhouse, database: db }, redis, layout, kafka: { producer, admin, topic: config.TOPIC_EVENTS } }, fit);
  const store = new StateReader(redis, layout);
  await waitFor(async () => {
    for (let partition = 0; partition < config.TOPIC_PARTITIONS; partition++) {
      const meta = await store.loadMeta(partition);
      if (meta.valueModel?.version !== fit.model.version || meta.refitCursor !== null) return false;
    }
    return true;
  }, "every partition to activate the model and finish its refit sweep", 120_000);
  // Half a year more: P(alive) and CLV fall, crossings move customers between tiers month by month.
  await advanceClock(pipeline.ingestUrl, KEY, "1999-01-01T00:00:00Z");
  await waitCaughtUp(kafka, pipeline.config);
  await waitFor(async () => Number((await queryRows<{ n: string }>(clickhouse, `SELECT count() AS n FROM ${db}.value_tier_changes`))[0]!.n) > 0, "ClickHouse to hold the tier changes", 60_000);

  // The analysts' user reads the `clm` database only; this run's database is read as `default` (the bench uses clm_analyst).
  const port = await freePort();
  consoleService = startService(
    "services/console/src/main.ts",
    envOf(pipeline.config, { CONSOLE_PORT: String(port), CONSOLE_INGEST_URL: pipeline.ingestUrl, CONSOLE_CLICKHOUSE_USER: config.CLICKHOUSE_USER, CONSOLE_CLICKHOUSE_PASSWORD: config.CLICKHOUSE_PASSWORD }),
  );
  await consoleService.waitForLog("console listening", 60_000);
  // Every page's default answers are asked once in the background at start (and on new data).
  await consoleService.waitForLog("console answers warmed", 120_000);
  base = `http://127.0.0.1:${port}`;

  browser = await launchChromium();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") problems.push(`${message.type()}: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`));
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await producer?.disconnect();
  await admin?.disconnect();
  consoleService?.child.kill("SIGTERM");
  await consoleService?.exited;
  await pipeline?.stop();
  await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await clickhouse?.close();
  await tearDownRun(kafka, redis, config);
}, 120_000);

describe("the console (CDNOW sample through the real pipeline, headless Chromium)", () => {
  it("serves its pages from itself only, and its API only to a read key, with bounded parameters", async () => {
    const html = await (await fetch(`${base}/cohorts`)).text();
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const asset = await fetch(`${base}/assets/app.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-security-policy")).toContain("script-src 'self'");
    const api = (path: string, key: string | null = KEY, method = "GET") => fetch(`${base}${path}`, { method, headers: key === null ? {} : { authorization: `Bearer ${key}` } });
    expect((await api("/api/range", null)).status).toBe(401);
    expect((await api("/api/range", "wrong")).status).toBe(401);
    expect((await api("/api/range")).status).toBe(200);
    expect((await api("/api/range", KEY, "POST")).status).toBe(405);
    for (const bad of ["/api/retention?grain=day", "/api/retention?from=1997-13-01&to=1998-01-01", "/api/retention?from=1990-01&to=2005-01", "/api/retention?from=1998-01&to=1997-01", "/api/stages?from=1997-01-01'%20OR%201=1--", "/api/customers/%ZZ"]) {
      const response = await api(bad);
      expect([bad, response.status]).toEqual([bad, 400]);
      expect(((await response.json()) as { error: { code: string } }).error.code).toMatch(/INVALID_PARAMETER|INVALID_PATH/);
    }
    expect((await api(`/api/customers/${encodeURIComponent("nobody' OR '1'='1")}`)).status).toBe(404);
  });

  it("logs in with a read key kept in the tab's sessionStorage", async () => {
    await page.goto(`${base}/cohorts`);
    await page.waitForURL(/\/login/);
    await page.fill("#key", "not-a-key");
    await page.click("button[type=submit]");
    await expect.poll(() => page.textContent("[role=alert]")).toContain("Not accepted");
    await page.fill("#key", KEY);
    await page.click("button[type=submit]");
    await page.waitForURL(/\/cohorts/);
    await page.waitForFunction(() => document.documentElement.dataset.rendered !== undefined, undefined, { timeout: 30_000 });
    expect(await page.evaluate(() => sessionStorage.getItem("clm-console-key"))).toBe(KEY);
    // The login page's own failed request (401 for the wrong key) is expected; nothing else may fail.
    problems.splice(0, problems.length, ...problems.filter((problem) => !/status of 401/.test(problem)));
  });

  it("cohorts page: the monthly retention heatmap's table is cohort_retention_monthly, and hovering a cell shows its figures", async () => {
    await open("/cohorts");
    const shown = await tableOf("retention");
    const view = await rows<{ cohort: string; period: number; cohort_customers: string; active_customers: string; revenue: string }>(
      `SELECT toString(cohort_month) AS cohort, period, cohort_customers, active_customers, toString(revenue) AS revenue FROM ${db}.cohort_retention_monthly ORDER BY cohort, period`,
    );
    expect(view.length).toBeGreaterThan(40);
    expect([...shown.keys()]).toEqual(view.map((row) => `${row.cohort}|${row.period}`));
    for (const row of view) {
      const cells = shown.get(`${row.cohort}|${row.period}`)!;
      expect(cells.active_customers).toEqual({ text: formatCount(row.active_customers), value: row.active_customers });
      expect(cells.cohort_customers!.value).toBe(row.cohort_customers);
      expect(cells.revenue).toEqual({ text: formatMoney(row.revenue), value: row.revenue });
      expect(cells.active_share!.text).toBe(formatRatio(ratioOf(row.active_customers, row.cohort_customers)));
    }
    // Hover: the cell (k = 2) of the second cohort.
    const cell = view.filter((row) => row.period === 2)[1]!;
    const cohorts = [...new Set(view.map((row) => row.cohort))];
    const [x, y] = await page.evaluate(([k, index]) => window.clmConsole.charts.get("retention")!.convertToPixel({ seriesIndex: 0 }, [k, index]), [2, cohorts.indexOf(cell.cohort)] as [number, number]);
    const box = (await page.locator('[data-chart="retention"]').boundingBox())!;
    await page.mouse.move(box.x + x!, box.y + y!);
    const tooltip = page.locator(".clm-tooltip");
    const shownTooltip = tooltip.filter({ hasText: `cohort ${cell.cohort}` });
    await shownTooltip.waitFor({ timeout: 10_000 });
    const text = (await shownTooltip.textContent())!;
    for (const figure of [`k = 2`, `active customers: ${formatCount(cell.active_customers)}`, `% active: ${formatRatio(ratioOf(cell.active_customers, cell.cohort_customers))}`, `revenue: ${formatMoney(cell.revenue)}`]) expect(text).toContain(figure);
    await page.screenshot({ path: join(SHOTS, "cohorts-hover.png") });

    const ltv = await tableOf("ltv");
    const ltvView = await rows<{ cohort: string; period: number; cumulative: string; ltv: string }>(`SELECT toString(cohort_month) AS cohort, period, toString(cumulative_revenue) AS cumulative, toString(ltv) AS ltv FROM ${db}.cohort_ltv_monthly ORDER BY cohort, period`);
    expect([...ltv.keys()]).toEqual(ltvView.map((row) => `${row.cohort}|${row.period}`));
    for (const row of ltvView) {
      const cells = ltv.get(`${row.cohort}|${row.period}`)!;
      expect(cells.ltv).toEqual({ text: formatMoney(row.ltv), value: row.ltv });
      expect(cells.cumulative_revenue!.value).toBe(row.cumulative);
    }
  });

  it("cohorts page, weekly and as percentages: the table is cohort_retention_weekly", async () => {
    await open("/cohorts?grain=week&metric=percent");
    const shown = await tableOf("retention");
    const view = await rows<{ cohort: string; period: number; cohort_customers: string; active_customers: string; revenue: string }>(
      `SELECT toString(cohort_week) AS cohort, period, cohort_customers, active_customers, toString(revenue) AS revenue FROM ${db}.cohort_retention_weekly ORDER BY cohort, period`,
    );
    expect([...shown.keys()]).toEqual(view.map((row) => `${row.cohort}|${row.period}`));
    for (const row of view.filter((_, index) => index % 7 === 0)) {
      const cells = shown.get(`${row.cohort}|${row.period}`)!;
      expect([row.cohort, row.period, cells.active_customers!.value, cells.active_share!.text, cells.revenue!.value]).toEqual([row.cohort, row.period, row.active_customers, formatRatio(ratioOf(row.active_customers, row.cohort_customers)), row.revenue]);
    }
  });

  it("stages page: distribution, the month's stage flow, churn and win-back, activation — each table is its view", async () => {
    await open("/stages");
    const distribution = await tableOf("stages");
    const stages = await rows<{ month: string; stage: string; customers: string }>(`SELECT toString(month) AS month, stage, customers FROM ${db}.stage_distribution_monthly ORDER BY month, stage`);
    expect(new Map([...distribution].map(([key, cells]) => [key, cells.customers!.text]))).toEqual(new Map(stages.map((row) => [`${row.month}|${row.stage}`, formatCount(row.customers)])));

    const flowMonth = (await page.inputValue("#month"))!;
    const flows = await tableOf("transitions");
    const funnel = await rows<{ from_stage: string | null; to_stage: string; transitions: string; customers: string }>(
      `SELECT from_stage, to_stage, transitions, customers FROM ${db}.stage_transition_funnel_monthly WHERE month = toDate('${flowMonth}')`,
    );
    expect(funnel.length).toBeGreaterThan(0);
    expect(new Map([...flows].map(([key, cells]) => [key, [cells.transitions!.value, cells.customers!.value]]))).toEqual(
      new Map(funnel.map((row) => [`${flowMonth}|${row.from_stage ?? ""}|${row.to_stage}`, [row.transitions, row.customers]])),
    );

    const churn = await tableOf("churn");
    const churnView = await rows<{ month: string; base_customers: string; churned: string; churn_rate: number; won_back: string; win_back_rate: number }>(`SELECT toString(month) AS month, base_customers, churned, churn_rate, won_back, win_back_rate FROM ${db}.churn_winback_monthly ORDER BY month`);
    expect([...churn.keys()]).toEqual(churnView.map((row) => row.month));
    for (const row of churnView) {
      const cells = churn.get(row.month)!;
      expect([row.month, cells.base_customers!.value, cells.churned!.value, cells.churn_rate!.text, cells.won_back!.value, cells.win_back_rate!.text]).toEqual([
        row.month,
        row.base_customers,
        row.churned,
        formatRatio(row.churn_rate),
        row.won_back,
        formatRatio(row.win_back_rate),
      ]);
    }

    const activation = await tableOf("activation");
    const activationView = await rows<{ cohort: string; cohort_customers: string; activated_customers: string; activation_rate: number }>(`SELECT toString(cohort_month) AS cohort, cohort_customers, activated_customers, activation_rate FROM ${db}.cohort_activation_monthly ORDER BY cohort`);
    expect(activationView.length).toBeGreaterThan(0);
    expect(new Map([...activation].map(([key, cells]) => [key, [cells.cohort_customers!.value, cells.activated_customers!.value, cells.activation_rate!.text]]))).toEqual(
      new Map(activationView.map((row) => [row.cohort, [row.cohort_customers, row.activated_customers, formatRatio(row.activation_rate)]])),
    );
    // Activation from the raw stage changes, counted here independently of the view.
    const [independent] = await rows<{ activated: string }>(`SELECT uniqExact(customer_id) AS activated FROM ${db}.stage_transitions_unique WHERE from_stage = 'new' AND to_stage = 'active'`);
    expect(activationView.reduce((sum, row) => sum + Number(row.activated_customers), 0)).toBe(Number(independent!.activated));
  });

  it("value page: the current model, tier shares per month, predicted vs realised per cohort, the tiers now — each table is its view", async () => {
    await open("/value");
    const field = (name: string) => page.textContent(`[data-facts="model"] [data-field="${name}"]`);
    const [model] = await rows<{ model_version: string; calibration_end: string; r: number; alpha: number; a: number; b: number; p: number; q: number; v: number; high_value_clv: number; potential_clv: number; warning_monetary: number }>(
      `SELECT model_version, toString(calibration_end) AS calibration_end, r, alpha, a, b, p, q, v, high_value_clv, potential_clv, warning_monetary FROM ${db}.value_model_fits_unique ORDER BY fitted_at DESC, model_version DESC LIMIT 1`,
    );
    expect(model!.model_version).toBe(fit.model.version);
    expect(await field("model_version")).toBe(model!.model_version);
    expect(await field("calibration_end")).toBe("1997-09-30");
    for (const name of ["r", "alpha", "a", "b", "p", "q", "v"] as const) expect([name, await field(name)]).toEqual([name, formatParameter(model![name])]);
    for (const name of ["high_value_clv", "potential_clv", "warning_monetary"] as const) expect([name, await field(name)]).toEqual([name, formatAmount(model![name])]);

    const shares = await tableOf("tier-shares");
    const sharesView = await rows<{ month_end: string; tier: string; customers: string; share: number }>(`SELECT toString(month_end) AS month_end, tier, customers, share FROM ${db}.value_tier_shares_monthly ORDER BY month_end, tier`);
    expect(new Set(sharesView.map((row) => row.month_end)).size).toBeGreaterThan(1);
    expect([...shares.keys()]).toEqual(sharesView.map((row) => `${row.month_end}|${row.tier}`));
    for (const row of sharesView) expect(shares.get(`${row.month_end}|${row.tier}`)).toEqual({ customers: { text: formatCount(row.customers), value: row.customers }, share: { text: formatRatio(row.share), value: String(row.share) } });

    const cohorts = await tableOf("value-cohorts");
    const cohortsView = await rows<{ cohort: string; customers: string; predicted_clv_total: number; predicted_clv_mean: number; realised_spend: string; realised_to_predicted: number }>(
      `SELECT toString(cohort_month) AS cohort, customers, predicted_clv_total, predicted_clv_mean, toString(realised_spend) AS realised_spend, realised_to_predicted FROM ${db}.value_predicted_vs_realised_by_cohort WHERE model_version = '${fit.model.version}' ORDER BY cohort`,
    );
    expect(cohortsView.length).toBeGreaterThan(0);
    expect(new Map([...cohorts].map(([key, cells]) => [key, [cells.customers!.value, cells.predicted_clv_total!.value, cells.predicted_clv_mean!.text, cells.realised_spend!.value, cells.realised_to_predicted!.text]]))).toEqual(
      new Map(cohortsView.map((row) => [row.cohort, [row.customers, String(row.predicted_clv_total), formatAmount(row.predicted_clv_mean), row.realised_spend, formatRatio(row.realised_to_predicted)]])),
    );
    // The fit population is every customer who bought by the calibration end.
    expect(cohortsView.reduce((sum, row) => sum + Number(row.customers), 0)).toBe(fit.model.bgnbd.customers);

    // The tiers now: the latest tier change per customer, which is also the last month end of the shares.
    const tiersNow = await tableOf("tiers-now");
    const latest = await rows<{ tier: string; customers: string }>(`SELECT tier, count() AS customers FROM (SELECT customer_id, argMax(to_tier, (occurred_at_ms, version)) AS tier FROM ${db}.value_tier_changes_unique GROUP BY customer_id) GROUP BY tier`);
    expect(new Map([...tiersNow].map(([key, cells]) => [key, cells.customers!.value]))).toEqual(new Map(latest.map((row) => [row.tier, row.customers])));
    const lastMonth = sharesView.at(-1)!.month_end;
    expect(new Map(latest.map((row) => [row.tier, row.customers]))).toEqual(new Map(sharesView.filter((row) => row.month_end === lastMonth).map((row) => [row.tier, row.customers])));
    const [bought] = await rows<{ n: string }>(`SELECT count() AS n FROM ${db}.customer_cohorts`);
    expect(latest.reduce((sum, row) => sum + Number(row.customers), 0)).toBe(Number(bought!.n));
  });

  it("customer page: state, RFM, risk and the value prediction from the customer API, timeline and recent events from ClickHouse", async () => {
    const [busiest] = await rows<{ customer_id: string }>(`SELECT customer_id FROM ${db}.events_unique GROUP BY customer_id ORDER BY count() DESC, customer_id LIMIT 1`);
    const id = busiest!.customer_id;
    await open(`/customers?id=${encodeURIComponent(id)}`);
    const state = (await (await fetch(`${pipeline!.ingestUrl}/v1/customers/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { stage: string; purchaseCount: number; monetaryTotal: string; churnRisk: string };
    const field = (name: string) => page.textContent(`[data-field="${name}"]`);
    expect(await field("stage")).toBe(state.stage);
    expect(await field("purchaseCount")).toBe(formatCount(state.purchaseCount));
    expect(await field("monetaryTotal")).toBe(formatMoney(state.monetaryTotal));
    expect(await field("churnRisk")).toBe(state.churnRisk);
    const [latest] = await rows<{ stage: string }>(`SELECT toString(stage) AS stage FROM ${db}.customer_latest WHERE customer_id = '${id}'`);
    expect(state.stage).toBe(latest!.stage);

    const versions = await page.$$eval('[data-list="timeline"] li', (items) => items.map((item) => item.getAttribute("data-version")));
    const transitions = await rows<{ version: string }>(`SELECT toString(version) AS version FROM ${db}.stage_transitions_unique WHERE customer_id = '${id}' ORDER BY version DESC`);
    expect(versions).toEqual(transitions.map((row) => row.version));

    const events = await tableOf("events");
    const recent = await rows<{ event_id: string; amount: string }>(`SELECT event_id, toString(amount) AS amount FROM ${db}.events_unique WHERE customer_id = '${id}' ORDER BY occurred_at_ms DESC, event_id LIMIT 50`);
    expect(new Map([...events].map(([key, cells]) => [key, cells.amount!.value]))).toEqual(new Map(recent.map((row) => [row.event_id, row.amount])));
    const value = (await (await fetch(`${pipeline!.ingestUrl}/v1/customers/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { valueTier: string; valueModelVersion: string; pAlive: number; expectedPurchases: number; expectedSpend: number; predictedClv: number };
    expect(value.valueModelVersion).toBe(fit.model.version);
    const predicted = (name: string) => page.textContent(`[data-facts="predictions"] [data-field="${name}"]`);
    expect([await predicted("valueTier"), await predicted("valueModelVersion"), await predicted("pAlive"), await predicted("expectedPurchases"), await predicted("expectedSpend"), await predicted("predictedClv")]).toEqual([
      value.valueTier,
      value.valueModelVersion,
      formatRatio(value.pAlive),
      value.expectedPurchases.toFixed(3),
      formatAmount(value.expectedSpend),
      formatAmount(value.predictedClv),
    ]);

    const before = problems.length;
    await open(`/customers?id=${encodeURIComponent("no-such-customer")}`);
    expect(await page.locator('[data-outcome="not-found"]').count()).toBe(1);
    // The API's 404 for the unknown customer is the answer this step asks for (Chromium logs it as a failed resource).
    expect(problems.slice(before)).toEqual(["error: Failed to load resource: the server responded with a status of 404 (Not Found)"]);
    problems.splice(before);
  });

  it("logged no console error, failed request or page error on any page", () => {
    expect(problems).toEqual([]);
  });
});
