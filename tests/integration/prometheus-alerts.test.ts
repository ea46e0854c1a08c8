import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "@clm/config";
import { createRedis, type RedisClient } from "@clm/redis";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertRules, dashboardExpressions, exposedFamilies, parsePromql, seriesNames, withoutGrafanaVariables } from "../../infra/prometheus/promql.ts";
import { cdnowEvents } from "./support/cdnow-events.ts";
import { envOf, freePort, startService, type RunningService } from "./support/child-service.ts";
import { createTopics, isolatedConfig, produceEvents, tearDownRun, testKafka, waitFor } from "./support/pipeline.ts";

/**
 * The alert rules and the dashboard against the real services, and one alert seen moving in a real
 * Prometheus. A private stack (its own directory and ports: ClickHouse and Prometheus only) runs
 * beside the shared one, whose Kafka, registry and Redis the services use with this run's topics and
 * prefix; stopping the private ClickHouse leaves the shared one alone. Prometheus scrapes the three
 * services every second and evaluates with the test profile (every `for:` 5 s, CLM_PROMETHEUS_ALERT_FOR).
 */
const stackDir = mkdtempSync(join(tmpdir(), "clm-alerts-stack-"));
let stackEnv: NodeJS.ProcessEnv;
let prometheusUrl: string;
let config: Config;
let kafka: Kafka;
let redis: RedisClient;
const services: { name: string; service: RunningService; port: number }[] = [];

function privateStack(...args: string[]): void {
  execFileSync("bash", ["infra/stack.sh", ...args], { env: stackEnv, stdio: "pipe", timeout: 180_000 });
}

interface PrometheusAlert {
  labels: Record<string, string>;
  state: "pending" | "firing";
  value: string;
}

async function prometheus<T>(path: string): Promise<T> {
  const response = await fetch(`${prometheusUrl}${path}`, { signal: AbortSignal.timeout(5000) });
  const body = (await response.json()) as { status: string; data: T };
  if (body.status !== "success") throw new Error(`${path}: ${JSON.stringify(body)}`);
  return body.data;
}

const activeAlerts = async (name: string) => (await prometheus<{ alerts: PrometheusAlert[] }>("/api/v1/alerts")).alerts.filter((alert) => alert.labels.alertname === name);
const ruleState = async (name: string) =>
  (await prometheus<{ groups: { rules: { name: string; state?: string }[] }[] }>("/api/v1/rules")).groups.flatMap((group) => group.rules).find((rule) => rule.name === name)?.state;

beforeAll(async () => {
  const [clickhouseHttp, clickhouseTcp, prometheusPort, ingestPort, processorPort, sinkPort, webhooksPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  stackEnv = {
    ...process.env,
    CLM_STACK_DIR: stackDir,
    CLM_CLICKHOUSE_HTTP_PORT: String(clickhouseHttp),
    CLM_CLICKHOUSE_TCP_PORT: String(clickhouseTcp),
    CLM_PROMETHEUS_PORT: String(prometheusPort),
    CLM_PROMETHEUS_SCRAPE_INTERVAL: "1s",
    CLM_PROMETHEUS_EVALUATION_INTERVAL: "1s",
    CLM_PROMETHEUS_ALERT_FOR: "5s",
    INGEST_PORT: String(ingestPort),
    PROCESSOR_HTTP_PORT: String(processorPort),
    SINK_HTTP_PORT: String(sinkPort),
    WEBHOOKS_PORT: String(webhooksPort),
  };
  prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
  privateStack("up", "clickhouse", "prometheus");
  config = isolatedConfig({
    CLICKHOUSE_URL: `http://127.0.0.1:${clickhouseHttp}`,
    CLICKHOUSE_USER: "default",
    CLICKHOUSE_PASSWORD: readFileSync(join(stackDir, "secrets", "clickhouse-default"), "utf8").trim(),
    CLICKHOUSE_DATABASE: "clm_alerts",
    INGEST_PORT: String(ingestPort),
    PROCESSOR_HTTP_PORT: String(processorPort),
    SINK_HTTP_PORT: String(sinkPort),
    WEBHOOKS_PORT: String(webhooksPort),
    WEBHOOKS_GROUP_ID: `test-alerts-${Date.now().toString(36)}-webhooks`,
    SINK_GROUP_ID: `test-alerts-${Date.now().toString(36)}-sink`,
    SINK_FLUSH_INTERVAL_MS: "200",
    SINK_RETRY_MAX_MS: "2000",
    LOG_LEVEL: "info",
  });
  kafka = testKafka(config);
  redis = createRedis(config);
  await createTopics(kafka, config);
  const entries = { ingest: ["services/ingest/src/main.ts", "ingest listening", ingestPort], processor: ["services/processor/src/main.ts", "processor running", processorPort], sink: ["services/sink/src/main.ts", "sink running", sinkPort], webhooks: ["services/webhooks/src/main.ts", "webhooks running", webhooksPort] } as const;
  for (const [name, [entry, ready, port]] of Object.entries(entries)) {
    const service = startService(entry, envOf(config));
    services.push({ name, service, port });
    await service.waitForLog(ready, 120_000);
  }
}, 300_000);

afterAll(async () => {
  for (const { service } of services) {
    service.child.kill("SIGTERM");
    await service.exited;
  }
  try {
    privateStack("down");
  } finally {
    rmSync(stackDir, { recursive: true, force: true });
  }
  if (kafka && redis) await tearDownRun(kafka, redis, config);
}, 120_000);

describe("Prometheus, alert rules and dashboard on the running services", () => {
  it("scrapes every service, and every metric the rules and the dashboard read is one the services expose", async () => {
    await waitFor(async () => {
      const { activeTargets } = await prometheus<{ activeTargets: { labels: { job: string }; health: string }[] }>("/api/v1/targets?state=active");
      return ["ingest", "processor", "sink"].every((job) => activeTargets.some((target) => target.labels.job === job && target.health === "up"));
    }, "Prometheus to scrape ingest, processor and sink", 60_000, 500);

    // The real exposition of each running service: its `# TYPE` lines name every family it registered,
    // with samples or not yet (a labelled counter has none before its first increment).
    const exposed = new Map<string, string>([["up", "prometheus"]]);
    for (const { name, port } of services) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      for (const [family, type] of exposedFamilies(text)) for (const series of seriesNames(family, type)) exposed.set(series, name);
    }
    const read = [
      ...alertRules().map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr })),
      ...dashboardExpressions().map(({ panel, expr }) => ({ where: `panel "${panel}"`, expr: withoutGrafanaVariables(expr) })),
    ];
    const missing = read.flatMap(({ where, expr }) => parsePromql(expr).metrics.filter((metric) => !exposed.has(metric)).map((metric) => `${where}: ${metric}`));
    expect(missing).toEqual([]);
    // Every alert and panel reads something, so the check above was not empty.
    expect(read.every(({ expr }) => parsePromql(expr).metrics.length > 0)).toBe(true);
  });

  it("fires ClmSinkClickHouseFailing while ClickHouse is stopped and resolves it once ClickHouse is back", async () => {
    const events = await cdnowEvents("sample");
    const before = events.filter((event) => Number(event.customerId) % 2 === 0);
    const during = events.filter((event) => Number(event.customerId) % 2 === 1);
    const sink = services.find((entry) => entry.name === "sink")!;
    const sinkMetric = async (name: string) => {
      const text = await (await fetch(`http://127.0.0.1:${sink.port}/metrics`)).text();
      return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))].reduce((sum, match) => sum + Number(match[1]), 0);
    };

    await produceEvents(kafka, config, before);
    await waitFor(async () => (await sinkMetric("clm_sink_rows_written_total")) > 0, "the sink to write the first wave", 120_000, 500);
    expect(await activeAlerts("ClmSinkClickHouseFailing")).toEqual([]);

    privateStack("down", "clickhouse");
    const stopped = Date.now();
    let firingAfterMs = 0;
    try {
      await produceEvents(kafka, config, during);
      await waitFor(async () => (await sinkMetric("clm_sink_consecutive_failed_writes")) > 0, "the sink to meet the outage", 60_000, 250);
      await waitFor(async () => (await activeAlerts("ClmSinkClickHouseFailing")).some((alert) => alert.state === "firing"), "ClmSinkClickHouseFailing to fire", 120_000, 500);
      firingAfterMs = Date.now() - stopped;
      const [alert] = await activeAlerts("ClmSinkClickHouseFailing");
      expect(alert!.labels).toMatchObject({ severity: "critical", job: "sink", instance: `127.0.0.1:${sink.port}` });
      expect(Number(alert!.value)).toBeGreaterThan(0);
      expect(await ruleState("ClmSinkClickHouseFailing")).toBe("firing");
    } finally {
      privateStack("up", "clickhouse");
    }
    const restarted = Date.now();

    await waitFor(async () => (await ruleState("ClmSinkClickHouseFailing")) === "inactive", "ClmSinkClickHouseFailing to resolve", 120_000, 500);
    const resolvedAfterMs = Date.now() - restarted;
    expect(await activeAlerts("ClmSinkClickHouseFailing")).toEqual([]);
    expect(await sinkMetric("clm_sink_consecutive_failed_writes")).toBe(0);
    // Seen, not asserted: how long each move took on this machine.
    console.log(`ClmSinkClickHouseFailing: firing ${(firingAfterMs / 1000).toFixed(1)} s after ClickHouse stopped, inactive ${(resolvedAfterMs / 1000).toFixed(1)} s after it was started again`);
  }, 300_000);
});
