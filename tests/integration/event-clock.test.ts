import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { ClickHouseClient } from "@clickhouse/client";
import { STAGE_CHANGE_SCHEMA_TEXT, type StageChangeRecord } from "@clm/contracts";
import { DEFAULT_LIFECYCLE_CONFIG, type CustomerView } from "@clm/core";
import { AvroSerde, createRegistry } from "@clm/kafka";
import { createMetricsRegistry } from "@clm/observability";
import { createProcessorMetrics, rebuild } from "@clm/processor";
import { RedisLayout, StateReader } from "@clm/state-store";
import { wipePrefix } from "@clm/state-store/admin";
import { createClickHouse, queryRows } from "@clm/clickhouse";
import { createRedis, type RedisClient } from "@clm/redis";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { envOf, freePort, startService, type RunningService } from "./support/child-service.ts";
import { coreExpectation, mismatchedStates, mismatchedTimers, type CoreExpectation } from "./support/core-expectation.ts";
import { createTopics, isolatedConfig, readTopic, tearDownRun, testKafka, testLogger, waitFor } from "./support/pipeline.ts";

/**
 * A replay on the event clock stops at its last event; `clm clock advance` moves it on. Ingest,
 * processor and sink run as real processes on the event clock; a small log whose deadlines lie
 * after its last event goes through the ingest API, then the CLI advances the clock past them.
 * Redis must then hold the core's fold of (log + advance), the stage-change topic and ClickHouse
 * the timer transitions it fires, with nothing dead-lettered or skipped.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const run = `${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
const lifecycle = DEFAULT_LIFECYCLE_CONFIG;
const LAST_EVENT = "2024-03-01T00:00:00Z";
const ADVANCE_TO = "2024-12-31";
const ADVANCED_AT = Date.UTC(2024, 11, 31);
const KEY = "clock-test-key";

let config: ReturnType<typeof isolatedConfig>;
let kafka: Kafka;
let redis: RedisClient;
let clickhouse: ClickHouseClient;
const services: Record<string, RunningService> = {};
let ingestBase = "";

/** Customers spread over the partitions, each buying on its own days; nobody buys after LAST_EVENT. */
function replayLog(): object[] {
  const events: { eventId: string; type: string; customerId: string; occurredAt: string; properties: object }[] = [];
  for (let customer = 0; customer < 24; customer++) {
    const days = [0, 20, 45, 60].slice(0, 1 + (customer % 4)).map((day) => day + (customer % 5));
    for (const day of days) {
      const at = new Date(Date.parse("2024-01-01T00:00:00Z") + day * 86_400_000).toISOString();
      events.push({ eventId: `c${customer}-d${day}`, type: "purchase", customerId: `clock-${customer}`, occurredAt: at, properties: { orderId: `o${customer}-${day}`, amount: "30.00", currency: "USD" } });
    }
  }
  events.push({ eventId: "last", type: "login", customerId: "clock-0", occurredAt: LAST_EVENT, properties: { channel: "web" } });
  return events.sort((left, right) => Date.parse(left.occurredAt) - Date.parse(right.occurredAt));
}

const authorized = { authorization: `Bearer ${KEY}` };
const view = async (customerId: string, asOf?: string) =>
  (await (await fetch(`${ingestBase}/v1/customers/${customerId}${asOf === undefined ? "" : `?asOf=${asOf}`}`, { headers: authorized })).json()) as CustomerView;

async function caughtUp(expected: CoreExpectation, store: StateReader): Promise<boolean> {
  for (const [partition, end] of expected.ends) if ((await store.loadMeta(partition)).offset !== end || (await store.outboxLength(partition)) > 0) return false;
  return true;
}

async function metric(service: RunningService, name: string): Promise<string> {
  const { port } = JSON.parse(service.output().split("\n").find((line) => line.includes('"port"') && /running/.test(line))!) as { port: number };
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text.split("\n").filter((line) => line.startsWith(name)).join("\n");
}

beforeAll(async () => {
  config = isolatedConfig({
    CLOCK_MODE: "event",
    INGEST_PORT: String(await freePort()),
    INGEST_API_KEYS: KEY,
    INGEST_READ_API_KEYS: KEY,
    INGEST_ADMIN_API_KEYS: KEY,
    PROCESSOR_HTTP_PORT: "0",
    SINK_HTTP_PORT: "0",
    CLICKHOUSE_DATABASE: `test_${run}`,
    SINK_GROUP_ID: `test-${run}-sink`,
    SINK_FLUSH_INTERVAL_MS: "300",
    LOG_LEVEL: "info",
  });
  ingestBase = `http://127.0.0.1:${config.INGEST_PORT}`;
  kafka = testKafka(config);
  redis = createRedis(config);
  clickhouse = createClickHouse(config);
  await createTopics(kafka, config);
  for (const [name, entry, ready] of [
    ["ingest", "services/ingest/src/main.ts", "ingest listening"],
    ["processor", "services/processor/src/main.ts", "processor running"],
    ["sink", "services/sink/src/main.ts", "sink running"],
  ] as const) {
    services[name] = startService(entry, envOf(config));
    await services[name].waitForLog(ready, 120_000);
  }
}, 300_000);

afterAll(async () => {
  for (const service of Object.values(services)) {
    service.child.kill("SIGTERM");
    await service.exited;
  }
  await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${config.CLICKHOUSE_DATABASE}` });
  await clickhouse?.close();
  await tearDownRun(kafka, redis, config);
}, 120_000);

describe("advancing a replay's event clock", () => {
  it("fires the deadlines after the last event into Redis, the stage-change topic and ClickHouse, as the core's fold of the log and the advance", async () => {
    onTestFailed(() => {
      for (const [name, service] of Object.entries(services)) console.log(`--- ${name}\n${service.output().split("\n").slice(-30).join("\n")}`);
    });
    const log = replayLog();
    const sent = await fetch(`${ingestBase}/v1/events`, { method: "POST", body: JSON.stringify(log), headers: { ...authorized, "content-type": "application/json" } });
    expect(await sent.json()).toEqual({ accepted: log.length, rejected: [] });
    const store = new StateReader(redis, new RedisLayout(config.REDIS_KEY_PREFIX));
    const beforeAdvance = await coreExpectation(kafka, config, lifecycle);
    await waitFor(() => caughtUp(beforeAdvance, store), "the processor to apply the log", 60_000);

    // Before the advance the pipeline's time is the partition's watermark; a later instant is answered by the core at read time.
    const partitionOf = (customerId: string) => beforeAdvance.states.get(customerId)!.partition;
    const watermark = (await store.loadMeta(partitionOf("clock-0"))).watermark!;
    expect(await view("clock-0")).toMatchObject({ asOf: new Date(watermark).toISOString(), asOfClock: "event_watermark" });
    const foreseen = await view("clock-1", `${ADVANCE_TO}T00:00:00Z`);
    expect(foreseen).toMatchObject({ asOf: new Date(ADVANCED_AT).toISOString(), asOfClock: "requested" });

    // What ingest refuses, before the real advance.
    const advance = (body: string, contentType = "application/json") => fetch(`${ingestBase}/v1/clock/advance`, { method: "POST", body, headers: { ...authorized, "content-type": contentType } });
    const errorOf = async (response: Response) => [response.status, ((await response.json()) as { error: { code: string } }).error.code];
    expect(await errorOf(await advance('{"to":"2024-12-31"}'))).toEqual([400, "INVALID_CLOCK_ADVANCE"]);
    expect(await errorOf(await advance("{}"))).toEqual([400, "INVALID_CLOCK_ADVANCE"]);
    expect(await errorOf(await advance(JSON.stringify({ to: new Date(Date.now() + 86_400_000).toISOString() })))).toEqual([400, "INVALID_CLOCK_ADVANCE"]);
    expect(await errorOf(await advance("[oops"))).toEqual([400, "INVALID_BODY"]);
    expect(await errorOf(await advance('{"to":"2024-12-31T00:00:00Z"}', "text/plain"))).toEqual([415, "UNSUPPORTED_MEDIA_TYPE"]);
    expect(await errorOf(await fetch(`${ingestBase}/v1/clock/advance`, { headers: authorized }))).toEqual([405, "METHOD_NOT_ALLOWED"]);
    expect(await errorOf(await fetch(`${ingestBase}/v1/customers/clock-0?asOf=2024-01-01T00:00:00Z`, { headers: authorized }))).toEqual([400, "AS_OF_BEFORE_STATE"]);

    const { stdout } = await promisify(execFile)("node_modules/.bin/clm", ["clock", "advance", "--to", ADVANCE_TO, "--url", ingestBase, "--api-key", KEY], { cwd: ROOT, env: envOf(config) });
    expect(stdout).toContain(`all ${config.TOPIC_PARTITIONS} partitions`);

    const expected = await coreExpectation(kafka, config, lifecycle);
    await waitFor(() => caughtUp(expected, store), "the processor to apply the advance and publish its stage changes", 60_000);
    // The advance fired timers, every one of them after the last event.
    const fired = expected.transitionIds.size - beforeAdvance.transitionIds.size;
    expect(fired).toBeGreaterThan(20);

    // Redis: the core's fold of the log and the advance, timers included; every watermark is the advanced instant.
    expect(await mismatchedStates(store, expected.states)).toEqual([]);
    expect(await mismatchedTimers(redis, store.layout, expected.states, lifecycle)).toEqual([]);
    for (const partition of expected.ends.keys()) expect((await store.loadMeta(partition)).watermark).toBe(ADVANCED_AT);
    // What the API foresaw before the advance is now the pipeline's own answer.
    expect(await view("clock-1")).toEqual({ ...foreseen, asOfClock: "event_watermark" });

    // The stage-change topic carries the timer transitions.
    const serde = new AvroSerde<StageChangeRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_STAGE_CHANGES}-value`, STAGE_CHANGE_SCHEMA_TEXT);
    const published: StageChangeRecord[] = [];
    for (const messages of (await readTopic(kafka, config.TOPIC_STAGE_CHANGES)).values()) {
      await serde.prepare(messages.map((message) => message.value));
      for (const message of messages) published.push(serde.decode(message.value));
    }
    expect(new Set(published.map((record) => record.transitionId))).toEqual(expected.transitionIds);
    const afterLog = published.filter((record) => record.occurredAt > Date.parse(LAST_EVENT));
    expect(afterLog.length).toBe(fired);
    expect(afterLog.every((record) => record.trigger === "timer" && record.occurredAt <= ADVANCED_AT)).toBe(true);

    // ClickHouse: the same stage changes, with their snapshots; the control records are in no table.
    const db = config.CLICKHOUSE_DATABASE;
    await waitFor(async () => (await queryRows(clickhouse, `SELECT transition_id FROM ${db}.stage_transitions_unique`)).length === expected.transitionIds.size, "the sink to write every stage change", 60_000, 300);
    const rows = await queryRows<{ transition_id: string; trigger: string }>(clickhouse, `SELECT transition_id, trigger FROM ${db}.stage_transitions_unique`);
    expect(new Set(rows.map((row) => row.transition_id))).toEqual(expected.transitionIds);
    const latest = await queryRows<{ customer_id: string; stage: string }>(clickhouse, `SELECT customer_id, stage FROM ${db}.customer_latest`);
    expect(new Map(latest.map((row) => [row.customer_id, row.stage]))).toEqual(new Map([...expected.states].map(([customerId, { state }]) => [customerId, state.stage])));
    expect(Number((await queryRows<{ n: string }>(clickhouse, `SELECT count() AS n FROM ${db}.events`))[0]!.n)).toBe(log.length);

    // Nothing dead-lettered, nothing skipped.
    expect([...(await readTopic(kafka, config.TOPIC_DEAD_LETTER)).values()].flat()).toEqual([]);
    expect(await metric(services.processor!, "clm_processor_dead_letters_total")).not.toMatch(/ [1-9]/);
    expect(await metric(services.processor!, "clm_processor_clock_advances_total")).toContain(`outcome="applied",service="processor"} ${config.TOPIC_PARTITIONS}`);
    expect(await metric(services.sink!, "clm_sink_records_skipped_total")).not.toMatch(/ [1-9]/);

    // The advances are on the topic in order with the events: a rebuild reproduces the advanced state.
    const rebuiltPrefix = `${config.REDIS_KEY_PREFIX}-rebuilt`;
    await rebuild({
      config,
      lifecycle,
      logger: testLogger,
      metrics: createProcessorMetrics(createMetricsRegistry("rebuild")),
      kafka,
      redis,
      registry: createRegistry(config.SCHEMA_REGISTRY_URL),
      keyPrefix: rebuiltPrefix,
    });
    const rebuilt = new StateReader(redis, new RedisLayout(rebuiltPrefix));
    expect(await mismatchedStates(rebuilt, expected.states)).toEqual([]);
    for (const partition of expected.ends.keys()) expect((await rebuilt.loadMeta(partition)).watermark).toBe(ADVANCED_AT);
    await wipePrefix(redis, rebuilt.layout);
  }, 300_000);
});
