import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { ClickHouseClient } from "@clickhouse/client";
import type { CustomerView } from "@clm/core";
import { kafkajsPatchStatus } from "@clm/kafka";
import { SERVICE_NODE_FLAGS } from "@clm/observability";
import { createClickHouse, queryRows } from "@clm/clickhouse";
import { createRedis, scanAllKeys, type RedisClient } from "@clm/redis";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { writeRuntimeTree } from "../../scripts/runtime-tree.ts";
import { envOf, freePort, startService, type RunningService } from "./support/child-service.ts";
import { createTopics, isolatedConfig, tearDownRun, testKafka, waitFor } from "./support/pipeline.ts";

/**
 * The services as they ship: `npm run build` (scripts/test.sh runs it before the tests; here tsc -b
 * only confirms it is current), the runtime tree the images are made of (scripts/runtime-tree.ts)
 * in a temporary directory with production dependencies only (`npm ci --omit=dev`, as the
 * Dockerfile's runtime stage), and ingest, processor, sink and modeler started from there with plain node —
 * no tsx, no sources, no dev dependencies. Each answers /healthz (also through the images' health
 * check); events sent through ingest reach Redis and ClickHouse.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const exec = promisify(execFile);
const run = `${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
const KEY = "built-services-key";
const NAMES = ["ingest", "processor", "sink", "modeler", "console", "webhooks"] as const;
const READY = { ingest: "ingest listening", processor: "processor running", sink: "sink running", modeler: "modeler running", console: "console listening", webhooks: "webhooks running" } as const;
const PORT_VARIABLE = { ingest: "INGEST_PORT", processor: "PROCESSOR_HTTP_PORT", sink: "SINK_HTTP_PORT", modeler: "MODELER_HTTP_PORT", console: "CONSOLE_PORT", webhooks: "WEBHOOKS_PORT" } as const;

let tree = "";
let config: ReturnType<typeof isolatedConfig>;
let kafka: Kafka;
let redis: RedisClient;
let clickhouse: ClickHouseClient;
const services: Partial<Record<(typeof NAMES)[number], RunningService>> = {};

/** Two purchases and a login for each of a few customers of this run. */
function events(): object[] {
  return Array.from({ length: 4 }, (_, customer) => [
    { eventId: `${run}-${customer}-1`, type: "purchase", customerId: `built-${run}-${customer}`, occurredAt: "2024-01-02T10:00:00Z", properties: { orderId: `o${customer}-1`, amount: "19.90", currency: "USD" } },
    { eventId: `${run}-${customer}-2`, type: "login", customerId: `built-${run}-${customer}`, occurredAt: "2024-01-20T10:00:00Z", properties: { channel: "web" } },
    { eventId: `${run}-${customer}-3`, type: "purchase", customerId: `built-${run}-${customer}`, occurredAt: "2024-02-03T10:00:00Z", properties: { orderId: `o${customer}-2`, amount: "5.00", currency: "USD" } },
  ]).flat();
}

beforeAll(async () => {
  await exec(process.execPath, ["node_modules/typescript/bin/tsc", "-b", "tsconfig.build.json"], { cwd: ROOT });
  // The console's pages, as `npm run build` bundles them into its dist/public/.
  await exec(process.execPath, ["--conditions=@clm/source", "--import", "tsx", "services/console/web/build.ts"], { cwd: ROOT });
  tree = mkdtempSync(join(tmpdir(), "clm-built-"));
  writeRuntimeTree(tree, null);
  await exec("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline", ...NAMES.flatMap((name) => ["--workspace", `services/${name}`])], {
    cwd: tree,
    env: { ...process.env, NODE_ENV: "production" },
    maxBuffer: 16 * 1024 * 1024,
  });

  config = isolatedConfig({
    INGEST_PORT: String(await freePort()),
    PROCESSOR_HTTP_PORT: String(await freePort()),
    SINK_HTTP_PORT: String(await freePort()),
    MODELER_HTTP_PORT: String(await freePort()),
    CONSOLE_PORT: String(await freePort()),
    WEBHOOKS_PORT: String(await freePort()),
    WEBHOOKS_GROUP_ID: `test-${run}-webhooks`,
    INGEST_API_KEYS: KEY,
    INGEST_READ_API_KEYS: KEY,
    CLICKHOUSE_DATABASE: `test_${run}`,
    SINK_GROUP_ID: `test-${run}-sink`,
    SINK_FLUSH_INTERVAL_MS: "300",
    LOG_LEVEL: "info",
  });
  kafka = testKafka(config);
  redis = createRedis(config);
  clickhouse = createClickHouse(config);
  await createTopics(kafka, config);
  // The console reads this run's database, which the analysts' user (database clm only) may not: as default here.
  const consoleEnv = { CONSOLE_INGEST_URL: `http://127.0.0.1:${config.INGEST_PORT}`, CONSOLE_CLICKHOUSE_USER: config.CLICKHOUSE_USER, CONSOLE_CLICKHOUSE_PASSWORD: config.CLICKHOUSE_PASSWORD };
  for (const name of NAMES) {
    services[name] = startService("dist/main.js", envOf(config, { NODE_ENV: "production", ...(name === "console" ? consoleEnv : {}) }), [], [], join(tree, "services", name));
    await services[name].waitForLog(READY[name], 120_000);
  }
}, 300_000);

afterAll(async () => {
  for (const service of Object.values(services)) {
    service.child.kill("SIGTERM");
    await service.exited;
  }
  if (config !== undefined) {
    await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${config.CLICKHOUSE_DATABASE}` });
    await clickhouse?.close();
    await tearDownRun(kafka, redis, config);
  }
  if (tree !== "") rmSync(tree, { recursive: true, force: true });
}, 120_000);

describe("the built services", () => {
  it("run from a production install of the runtime tree with plain node: no sources, no dev tools, kafkajs patched by the postinstall", () => {
    expect(existsSync(join(tree, "services/ingest/dist/main.js"))).toBe(true);
    expect(existsSync(join(tree, "services/ingest/src"))).toBe(false);
    // tsx may be there: `npm ci --omit=dev` keeps every package the lock file marks as needed by any workspace at
    // run time, and the clm CLI runs its sources through tsx. The services never load it (their command lines below).
    for (const devOnly of ["typescript", "vitest", "eslint"]) expect(existsSync(join(tree, "node_modules", devOnly)), devOnly).toBe(false);
    expect(kafkajsPatchStatus(join(tree, "node_modules/kafkajs"))).toMatchObject({ patched: true, missing: [] });
    for (const name of NAMES) expect(services[name]!.child.spawnargs.slice(1)).toEqual([...SERVICE_NODE_FLAGS, "dist/main.js"]);
  });

  it("answer /healthz with 200, also through the images' health check", async () => {
    for (const name of NAMES) {
      const port = config[PORT_VARIABLE[name]];
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(response.status, name).toBe(200);
      await response.body?.cancel();
      const check = await exec(process.execPath, [join(tree, "scripts/healthcheck.mjs")], { env: { PATH: process.env.PATH, CLM_SERVICE: name, [PORT_VARIABLE[name]]: String(port) } });
      expect(check.stderr, name).toBe("");
    }
  });

  it("take events through ingest into Redis and ClickHouse", async () => {
    onTestFailed(() => {
      for (const [name, service] of Object.entries(services)) console.log(`--- ${name}\n${service.output().split("\n").slice(-30).join("\n")}`);
    });
    const sent = events();
    const ingestBase = `http://127.0.0.1:${config.INGEST_PORT}`;
    const response = await fetch(`${ingestBase}/v1/events`, { method: "POST", body: JSON.stringify(sent), headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" } });
    expect(await response.json()).toEqual({ accepted: sent.length, rejected: [] });
    const customers = [...new Set(sent.map((event) => (event as { customerId: string }).customerId))];

    // Redis: a state key per customer, under this run's prefix; the customer API reads it back.
    const stateKeys = () => scanAllKeys(redis, `${config.REDIS_KEY_PREFIX}:*:c:*`);
    await waitFor(async () => (await stateKeys()).length === customers.length, "a state in Redis for each customer", 60_000);
    for (const customerId of customers) {
      const view = (await (await fetch(`${ingestBase}/v1/customers/${customerId}`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as CustomerView;
      expect(view).toMatchObject({ customerId, purchaseCount: 2, logins: 1, monetaryTotal: "24.90" });
    }

    // ClickHouse: every event once, and the stage changes the processor published.
    const db = config.CLICKHOUSE_DATABASE;
    const count = async (query: string) => Number((await queryRows<{ n: string }>(clickhouse, query))[0]?.n ?? 0);
    await waitFor(async () => (await count(`SELECT count() AS n FROM ${db}.events`)) === sent.length, "the events in ClickHouse", 60_000);
    await waitFor(async () => (await count(`SELECT uniqExact(customer_id) AS n FROM ${db}.stage_transitions`)) === customers.length, "stage changes in ClickHouse", 60_000);
  });

  it("serve the console's bundled pages and its API from the build", async () => {
    const consoleBase = `http://127.0.0.1:${config.CONSOLE_PORT}`;
    expect(existsSync(join(tree, "services/console/dist/public/app.js"))).toBe(true);
    const page = await fetch(`${consoleBase}/cohorts`);
    expect([page.status, page.headers.get("content-type")]).toEqual([200, "text/html; charset=utf-8"]);
    expect(await page.text()).toContain('src="/assets/app.js"');
    const script = await fetch(`${consoleBase}/assets/app.js`);
    expect(script.status).toBe(200);
    expect((await script.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
    // The console notices new data within its change check (about a second): its first answers may predate the events.
    let range: unknown = null;
    await waitFor(async () => {
      const ranges = await fetch(`${consoleBase}/api/range`, { headers: { authorization: `Bearer ${KEY}` } });
      expect(ranges.status).toBe(200);
      range = await ranges.json();
      return (range as { month: unknown }).month !== null;
    }, "the console to see the purchase days", 30_000);
    expect(range).toMatchObject({ month: { from: "2024-01-01", to: "2024-02-01" } });
  });
});
