/**
 * The console's pages, time to rendered in headless Debian Chromium, on the CDNOW data:
 *   npm run bench -- console [--data demo|sample|master] [--loads 5] [--screenshots DIR]
 * Data: the demo's database `clm` when it holds the CDNOW log (npm run demo; read as the analysts'
 * read-only user, the customer API of the demo's ingest), else (or with --data sample|master) the
 * CDNOW sample or the whole log sent through ingest → processor → sink into a database of this run
 * (event clock advanced to 1998-07-01).
 * When the data hold no fitted value model, one is fitted from the run's database (calibration end
 * 1997-09-30, weeks) and published, and the refit sweep awaited, so the value page has its figures.
 * Per page: navigation start → the "clm-rendered" mark the page sets once its data is drawn. The
 * console is started fresh for the run and measured once it logs that it warmed every page's default
 * answers (the time that took is reported): the first load of a page is cold (no viewer asked for it
 * yet; the weekly cohorts page shares the monthly LTV with the monthly one); the next --loads loads
 * are warm, their median the figure. In the same run, two limits: the
 * page's API requests alone (fetched in parallel from here, as the page does) and the shell alone (the
 * login page: the same HTML, script and style, no data); the ratio is the page over their sum.
 * Target: under 1 s per page. Nothing is asserted; bench-results/console-<time>.json keeps the figures.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createClickHouse, queryRows } from "@clm/clickhouse";
import { loadConfig, loadLifecycleConfig, type Config } from "@clm/config";
import { CDNOW_MASTER_PATH, CDNOW_SAMPLE_PATH, readCdnowCustomerEvents } from "@clm/datasets";
import { RedisLayout, StateReader } from "@clm/state-store";
import { advanceClock, createTopics, deleteTopics, envOf, freePort, isolatedConfig, launchChromium, sendThroughIngest, startPipeline, testKafka, waitCaughtUp, waitFor } from "@clm/testkit";
import { fitFromClickHouse, publishValueModel } from "@clm/value-model";
import { createRedis } from "@clm/redis";
import { machine, percentile, startBenchService } from "./support.ts";

const { values } = parseArgs({ options: { data: { type: "string" }, loads: { type: "string", default: "5" }, screenshots: { type: "string" } } });
const loads = Number(values.loads);
const stackConfig = loadConfig(process.env);
const admin = createClickHouse(stackConfig);
const demoRows = Number((await queryRows<{ n: string }>(admin, `SELECT count() AS n FROM system.tables WHERE database = 'clm' AND name = 'events'`))[0]!.n) === 0 ? 0 : Number((await queryRows<{ n: string }>(admin, "SELECT count() AS n FROM clm.events"))[0]!.n);
const data = values.data ?? (demoRows > 0 ? "demo" : "sample");
if (!["demo", "sample", "master"].includes(data)) throw new Error(`--data must be demo, sample or master, got ${data}`);
if (data === "demo" && demoRows === 0) throw new Error("the demo's database clm holds no events: npm run demo first, or --data sample|master");

const KEY = data === "demo" ? (process.env.CLM_READ_API_KEY ?? stackConfig.INGEST_READ_API_KEYS?.[0] ?? "clm-dev-key") : `bench-${randomUUID()}`;
let consoleEnv: NodeJS.ProcessEnv;
let cleanUp = async () => {};
let database = "clm";
/** The pipeline the data went through: its config, and what waits until it has applied everything. */
let pipelineConfig: Config = stackConfig;
let caughtUp = async () => {};
if (data === "demo") {
  // The demo's pipeline: its database as the analysts' user, its ingest's customer API.
  consoleEnv = envOf(stackConfig, { CONSOLE_INGEST_URL: `http://127.0.0.1:${stackConfig.INGEST_PORT}`, LOG_LEVEL: "info" });
} else {
  const run = Date.now().toString(36);
  const config = isolatedConfig({ CLICKHOUSE_DATABASE: `bench_${run}`, SINK_GROUP_ID: `bench-${run}-sink`, SINK_FLUSH_INTERVAL_MS: "300" });
  database = config.CLICKHOUSE_DATABASE;
  const kafka = testKafka(config);
  await createTopics(kafka, config);
  const pipeline = await startPipeline(config, KEY);
  // The pipeline's processes die with the bench, whatever ends it.
  process.on("exit", () => {
    for (const service of Object.values(pipeline.services)) service.child.kill("SIGKILL");
  });
  const events = await readCdnowCustomerEvents(data === "master" ? CDNOW_MASTER_PATH : CDNOW_SAMPLE_PATH);
  const started = performance.now();
  await sendThroughIngest(pipeline.ingestUrl, KEY, events);
  await advanceClock(pipeline.ingestUrl, KEY, "1998-07-01T00:00:00Z");
  await waitCaughtUp(kafka, pipeline.config, 600_000);
  console.log(`loaded ${events.length.toLocaleString("en-US")} CDNOW events through the pipeline in ${((performance.now() - started) / 1000).toFixed(1)} s (database ${database})`);
  pipelineConfig = pipeline.config;
  caughtUp = () => waitCaughtUp(kafka, pipeline.config, 600_000);
  // This run's database: the analysts' user reads `clm` only, so the console reads it as default.
  consoleEnv = envOf(pipeline.config, { CONSOLE_INGEST_URL: pipeline.ingestUrl, CONSOLE_CLICKHOUSE_USER: config.CLICKHOUSE_USER, CONSOLE_CLICKHOUSE_PASSWORD: config.CLICKHOUSE_PASSWORD, LOG_LEVEL: "info" });
  cleanUp = async () => {
    await pipeline.stop();
    await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await deleteTopics(kafka, config);
  };
}
if (Number((await queryRows<{ n: string }>(admin, `SELECT count() AS n FROM ${database}.value_model_fits`))[0]!.n) === 0) {
  // No model yet: fit one from this database and publish it to its pipeline, as `clm model fit` would.
  const started = performance.now();
  const fit = await fitFromClickHouse({ client: admin, database }, { calibrationEnd: "1997-09-30", unit: "week", config: loadLifecycleConfig(pipelineConfig), now: Date.now() });
  const kafka = testKafka(pipelineConfig);
  const [producer, kafkaAdmin] = [kafka.producer(), kafka.admin()];
  await Promise.all([producer.connect(), kafkaAdmin.connect()]);
  const redis = createRedis(pipelineConfig);
  const layout = new RedisLayout(pipelineConfig.REDIS_KEY_PREFIX);
  await publishValueModel({ clickhouse: { client: admin, database }, redis, layout, kafka: { producer, admin: kafkaAdmin, topic: pipelineConfig.TOPIC_EVENTS } }, fit);
  const store = new StateReader(redis, layout);
  await waitFor(async () => {
    for (let partition = 0; partition < pipelineConfig.TOPIC_PARTITIONS; partition++) {
      const meta = await store.loadMeta(partition);
      if (meta.valueModel?.version !== fit.model.version || meta.refitCursor !== null) return false;
    }
    return true;
  }, "every partition to activate the model and finish its refit sweep", 600_000, 500);
  await caughtUp();
  await Promise.all([producer.disconnect(), kafkaAdmin.disconnect(), redis.quit()]);
  console.log(`fitted and published value model ${fit.model.version} (${fit.model.bgnbd.customers.toLocaleString("en-US")} customers), refit sweep done, in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
const [busiest] = await queryRows<{ customer_id: string }>(admin, `SELECT customer_id FROM ${database}.customer_cohorts ORDER BY purchases DESC, customer_id LIMIT 1`);
const customerId = encodeURIComponent(busiest!.customer_id);

const port = await freePort();
const service = startBenchService("services/console/src/main.ts", { ...consoleEnv, CONSOLE_PORT: String(port), CONSOLE_HOST: "127.0.0.1" });
await service.waitForLog("console listening", 60_000);
const warmedLine = await service.waitForLog("console answers warmed", 300_000);
const { ms: warmUpMs, requestMs } = JSON.parse(warmedLine) as { ms: number; requestMs: Record<string, number> };
const base = `http://127.0.0.1:${port}`;

const PAGES = [
  { name: "cohorts (monthly, counts)", path: "/cohorts", api: ["/api/retention?grain=month", "/api/ltv"] },
  { name: "cohorts (weekly, %)", path: "/cohorts?grain=week&metric=percent", api: ["/api/retention?grain=week", "/api/ltv"] },
  { name: "stages", path: "/stages", api: ["/api/stages", "/api/churn", "/api/activation", "/api/transitions"] },
  { name: "value", path: "/value", api: ["/api/value"] },
  { name: "customer", path: `/customers?id=${customerId}`, api: [`/api/customers/${customerId}`] },
] as const;

const browser = await launchChromium();
const page = browser.context.pages()[0] ?? (await browser.context.newPage());
const errors: string[] = [];
page.on("pageerror", (error) => errors.push(error.message));
await page.goto(`${base}/login`);
await page.evaluate((key) => sessionStorage.setItem("clm-console-key", key), KEY);

/** One load: navigation start → the page's "clm-rendered" mark, in ms. */
async function load(path: string): Promise<number> {
  await page.goto(`${base}${path}`);
  await page.waitForFunction(() => document.documentElement.dataset.rendered !== undefined, undefined, { timeout: 60_000 });
  const [outcome, at] = await page.evaluate(() => [document.documentElement.dataset.rendered, performance.getEntriesByName("clm-rendered")[0]?.startTime ?? NaN] as const);
  if (outcome !== "true") throw new Error(`${path} rendered ${outcome}`);
  return at;
}
async function apiAlone(paths: readonly string[]): Promise<number> {
  const started = performance.now();
  await Promise.all(paths.map(async (path) => {
    const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${KEY}` } });
    if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
    await response.arrayBuffer();
  }));
  return performance.now() - started;
}
const median = (samples: number[]) => percentile([...samples].sort((a, b) => a - b), 50);

await load("/login");
const shell: number[] = [];
for (let i = 0; i < loads; i++) shell.push(await load("/login"));
const shellMs = median(shell);
console.log(`\n${machine().cores} cores, ${machine().cpu}; data: ${data === "demo" ? `the demo's database clm (${demoRows.toLocaleString("en-US")} event rows)` : `CDNOW ${data}`}; median of ${loads} loads after a warm-up`);
console.log(`the console warmed every page's default answers in ${warmUpMs} ms after its start (ClickHouse per request, one at a time: ${Object.entries(requestMs).map(([path, ms]) => `${path} ${ms} ms`).join(", ")})`);
console.log(`shell alone (the login page: HTML, app.js, style, no data): ${shellMs.toFixed(0)} ms`);
console.log(`${"page".padEnd(28)} ${"cold".padStart(8)} ${"warm".padStart(8)} ${"min".padStart(6)} ${"max".padStart(6)} ${"api".padStart(6)}  warm/(shell+api)  under 1 s (cold, warm)`);
const results = [];
for (const { name, path, api } of PAGES) {
  const cold = await load(path);
  const samples: number[] = [];
  const apiSamples: number[] = [];
  for (let i = 0; i < loads; i++) {
    samples.push(await load(path));
    apiSamples.push(await apiAlone(api));
  }
  const rendered = median(samples);
  const apiMs = median(apiSamples);
  results.push({ name, path, coldMs: cold, renderedMs: rendered, samples, apiMs, ratio: rendered / (shellMs + apiMs) });
  const yes = (ms: number) => (ms < 1000 ? "yes" : "NO");
  console.log(
    `${name.padEnd(28)} ${`${cold.toFixed(0)} ms`.padStart(8)} ${`${rendered.toFixed(0)} ms`.padStart(8)} ${Math.min(...samples).toFixed(0).padStart(6)} ${Math.max(...samples).toFixed(0).padStart(6)} ${apiMs.toFixed(0).padStart(6)}  ${(rendered / (shellMs + apiMs)).toFixed(2).padStart(16)}  ${yes(cold)}, ${yes(rendered)}`,
  );
  if (values.screenshots !== undefined) {
    mkdirSync(values.screenshots, { recursive: true });
    await page.screenshot({ path: join(values.screenshots, `${name.split(" ")[0]}${name.includes("weekly") ? "-weekly" : ""}.png`), fullPage: true });
  }
}
if (errors.length > 0) console.log(`page errors: ${errors.join("; ")}`);

await browser.close();
await service.stop();
await cleanUp();
await admin.close();
mkdirSync("bench-results", { recursive: true });
writeFileSync(`bench-results/console-${new Date().toISOString().replace(/[:.]/g, "-")}.json`, JSON.stringify({ machine: machine(), data, loads, warmUpMs, warmUpRequestMs: requestMs, shellMs, shell, results }, null, 2));
process.exit(0);

// What the functions handed to the page use there (this file is compiled without the DOM's types).
declare const document: { documentElement: { dataset: Record<string, string | undefined> } };
declare const sessionStorage: { setItem(key: string, value: string): void };
