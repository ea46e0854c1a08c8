import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import type { ClickHouseClient } from "@clickhouse/client";
import { CUSTOMER_EVENT_SCHEMA_TEXT, customerEventToRecord, STAGE_CHANGE_SCHEMA_TEXT, type CustomerEventRecord, type StageChangeRecord } from "@clm/contracts";
import { DEFAULT_LIFECYCLE_CONFIG, type CustomerEvent } from "@clm/core";
import { AvroSerde, createIdempotentProducer, createRegistry } from "@clm/kafka";
import { RedisLayout, StateReader } from "@clm/state-store";
import { createClickHouse, queryRows } from "@clm/clickhouse";
import { createRedis, type RedisClient } from "@clm/redis";
import type { Kafka, Message } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { cdnowEvents } from "./support/cdnow-events.ts";
import { envOf, startService, type RunningService } from "./support/child-service.ts";
import { coreExpectation, mismatchedStates } from "./support/core-expectation.ts";
import { createTopics, isolatedConfig, produceEvents, readTopic, stack, testKafka, waitFor, tearDownRun } from "./support/pipeline.ts";

/**
 * The schema registry stops while records arrive whose writer schema the running processor and
 * sink have not met yet (a second, compatible version of the subject: one more optional field).
 * A server we depend on being away is not bad input: both services must wait and retry — nothing
 * dead-lettered, nothing skipped, no offset advanced, no exit — and once the registry is back,
 * apply and write every record, in order. The end state equals the pure core's fold of the topic.
 * CLM_LONG_FAULTS=1 keeps the registry down 60 s.
 */
const OUTAGE_MS = process.env.CLM_LONG_FAULTS === "1" ? 60_000 : 8_000;
const run = `${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
const lifecycle = DEFAULT_LIFECYCLE_CONFIG;
const config = isolatedConfig({
  PROCESSOR_HTTP_PORT: "0",
  SINK_HTTP_PORT: "0",
  CLICKHOUSE_DATABASE: `test_${run}`,
  SINK_GROUP_ID: `test-${run}-sink`,
  SINK_FLUSH_INTERVAL_MS: "300",
  LOG_LEVEL: "info",
});
const db = config.CLICKHOUSE_DATABASE;
const subject = `${config.TOPIC_EVENTS}-value`;

/** The subject's second version: one more optional field with a default (BACKWARD-compatible). */
const SCHEMA_V2_TEXT = (() => {
  const schema = JSON.parse(CUSTOMER_EVENT_SCHEMA_TEXT) as { fields: unknown[] };
  schema.fields.push({ name: "sourceSystem", type: ["null", "string"], default: null, doc: "Where the event was recorded (test field)." });
  return JSON.stringify(schema);
})();

let kafka: Kafka;
let redis: RedisClient;
let clickhouse: ClickHouseClient;
let first: CustomerEvent[];
let second: CustomerEvent[];
const services: { name: string; service: RunningService; port: number }[] = [];

const count = async (query: string) => Number((await queryRows<{ n: string }>(clickhouse, query))[0]!.n);

async function start(name: "processor" | "sink"): Promise<RunningService> {
  const service = startService(`services/${name}/src/main.ts`, envOf(config));
  const running = JSON.parse(await service.waitForLog(`${name} running`, 120_000)) as { port: number };
  services.push({ name, service, port: running.port });
  return service;
}

/** A counter of a service's /metrics (its sum over labels). */
async function metric(name: "processor" | "sink", series: string): Promise<number> {
  const { port } = services.find((entry) => entry.name === name)!;
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${series} `) || line.startsWith(`${series}{`))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}

async function deadLetters(): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(config.TOPIC_DEAD_LETTER)).reduce((sum, entry) => sum + Number(BigInt(entry.high) - BigInt(entry.low)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** The sink group's committed offset per events partition (-1: none). */
async function sinkCommitted(): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [topic] = await admin.fetchOffsets({ groupId: config.SINK_GROUP_ID, topics: [config.TOPIC_EVENTS] });
    return new Map(topic!.partitions.map((entry) => [entry.partition, BigInt(entry.offset)]));
  } finally {
    await admin.disconnect();
  }
}

async function registryAnswers(): Promise<boolean> {
  try {
    const response = await fetch(`${config.SCHEMA_REGISTRY_URL}/subjects`, { signal: AbortSignal.timeout(2000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  kafka = testKafka(config);
  redis = createRedis(config);
  clickhouse = createClickHouse(config);
  await createTopics(kafka, config);
  // A tenth of the CDNOW customers, in time order: the first half of their events before the
  // outage, the rest (the same customers' later purchases) written with the new schema during it.
  const events = (await cdnowEvents("master")).filter((event) => Number(event.customerId) % 10 === 3);
  first = events.slice(0, Math.floor(events.length / 2));
  second = events.slice(first.length);
}, 120_000);

afterAll(async () => {
  stack("up"); // whatever happened, leave the registry running for the next suite
  // Each service's log, to read what it said during the outage.
  mkdirSync(".run/registry-outage", { recursive: true });
  for (const { name, service } of services) writeFileSync(`.run/registry-outage/${name}.log`, service.output());
  for (const { service } of services) {
    if (service.child.exitCode === null) service.child.kill("SIGTERM");
    await service.exited;
  }
  await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await clickhouse?.close();
  await tearDownRun(kafka, redis, config);
}, 300_000);

describe("schema registry outage", () => {
  it(`holds records of a schema new to the services while the registry is down ${OUTAGE_MS / 1000} s — no dead letter, no offset — then applies and writes them all`, async () => {
    onTestFailed(() => {
      for (const { name, service } of services) {
        const notable = service.output().split("\n").filter((line) => /"level":(40|50|60)/.test(line));
        console.log(`--- ${name}: ${notable.length} warnings and errors\n${notable.slice(-20).join("\n")}`);
      }
    });
    const store = new StateReader(redis, new RedisLayout(config.REDIS_KEY_PREFIX));
    const processor = await start("processor");
    const sink = await start("sink");

    // The first wave, with the schema both services registered: applied and written.
    await produceEvents(kafka, config, first);
    const firstEnds = new Map([...(await readTopic(kafka, config.TOPIC_EVENTS))].map(([partition, messages]) => [partition, messages.length === 0 ? null : (BigInt(messages.at(-1)!.offset) + 1n).toString()]));
    await waitFor(async () => {
      for (const [partition, end] of firstEnds) if ((await store.loadMeta(partition)).offset !== end) return false;
      return true;
    }, "the processor to apply the first wave", 60_000, 250);
    await waitFor(async () => (await count(`SELECT count() AS n FROM ${db}.events_unique`)) === first.length, "the sink to write the first wave", 60_000, 250);
    await waitFor(async () => (await count(`SELECT count() AS n FROM ${db}.stage_transitions_unique`)) > 0, "the sink to write stage changes", 60_000, 250);

    // The subject's second version, registered before the outage: an id neither service has asked for.
    const v2 = new AvroSerde<CustomerEventRecord & { sourceSystem: string | null }>(createRegistry(config.SCHEMA_REGISTRY_URL), subject, SCHEMA_V2_TEXT);
    const v2Id = await v2.register();
    const v1Id = await new AvroSerde<CustomerEventRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), subject, CUSTOMER_EVENT_SCHEMA_TEXT).register();
    expect(v2Id).not.toBe(v1Id);
    const messages: Message[] = second.map((event) => ({ key: event.customerId, value: v2.encode({ ...customerEventToRecord(event, 0), sourceSystem: "pos" }) }));

    stack("down", "registry");
    const outageStarted = Date.now();
    try {
      expect(await registryAnswers()).toBe(false);
      const producer = createIdempotentProducer(kafka);
      await producer.connect();
      for (let index = 0; index < messages.length; index += 5000) await producer.send({ topic: config.TOPIC_EVENTS, acks: -1, messages: messages.slice(index, index + 5000) });
      await producer.disconnect();

      // Both services meet the new id and wait.
      await processor.waitForLog("the schema registry does not answer", 30_000);
      await sink.waitForLog("the schema registry does not answer", 30_000);
      const remaining = OUTAGE_MS - (Date.now() - outageStarted);
      if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining));

      // Still waiting: nothing dead-lettered, no applied offset or sink commit past the first wave, nothing written.
      expect(processor.child.exitCode).toBeNull();
      expect(sink.child.exitCode).toBeNull();
      expect(await deadLetters()).toBe(0);
      for (const [partition, end] of firstEnds) expect((await store.loadMeta(partition)).offset).toBe(end);
      for (const [partition, committed] of await sinkCommitted()) expect(committed).toBeLessThanOrEqual(BigInt(firstEnds.get(partition) ?? "0"));
      expect(await count(`SELECT count() AS n FROM ${db}.events_unique`)).toBe(first.length);
      expect(await metric("processor", "clm_processor_dead_letters_total")).toBe(0);
      expect(await metric("sink", "clm_sink_records_skipped_total")).toBe(0);
      expect(await metric("processor", "clm_processor_registry_unavailable_total")).toBeGreaterThan(0);
      expect(await metric("sink", "clm_sink_registry_unavailable_total")).toBeGreaterThan(0);
    } finally {
      stack("up");
    }
    const registryBack = Date.now();
    // The registry kept both versions across the restart (REGISTRY_STORAGE=file).
    const schema = (await (await fetch(`${config.SCHEMA_REGISTRY_URL}/schemas/ids/${v2Id}`)).json()) as { schema: string };
    expect(JSON.parse(schema.schema)).toMatchObject({ name: "CustomerEvent" });

    // Caught up: the processor has applied every record and published every stage change; the sink has written them.
    const expected = await coreExpectation(kafka, config, lifecycle);
    expect(expected.uniqueValidEvents).toBe(first.length + second.length);
    await waitFor(async () => {
      for (const [partition, end] of expected.ends) if ((await store.loadMeta(partition)).offset !== end || (await store.outboxLength(partition)) > 0) return false;
      return true;
    }, "the processor to apply and publish everything", 120_000, 500);
    await waitFor(async () => (await count(`SELECT count() AS n FROM ${db}.events_unique`)) === expected.uniqueValidEvents, "the sink to write every event", 120_000, 500);
    await waitFor(async () => (await count(`SELECT count() AS n FROM ${db}.stage_transitions_unique`)) >= expected.transitionIds.size, "the sink to write every stage change", 120_000, 500);
    const caughtUpMs = Date.now() - registryBack;

    // Redis: every customer's state is the core's fold of the whole topic.
    expect(await mismatchedStates(store, expected.states)).toEqual([]);
    // Kafka: the stage-change ids are exactly the core's.
    const changes = new AvroSerde<StageChangeRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_STAGE_CHANGES}-value`, STAGE_CHANGE_SCHEMA_TEXT);
    const published = new Set<string>();
    for (const batch of (await readTopic(kafka, config.TOPIC_STAGE_CHANGES)).values()) {
      await changes.prepare(batch.map((message) => message.value));
      for (const message of batch) published.add(changes.decode(message.value).transitionId);
    }
    expect(published).toEqual(expected.transitionIds);
    // ClickHouse: every event once, every stage change once; the purchases add up.
    expect(await count(`SELECT count() AS n FROM ${db}.events_unique`)).toBe(first.length + second.length);
    expect(await count(`SELECT sum(purchases) AS n FROM ${db}.customer_purchase_days`)).toBe(first.length + second.length);
    const written = await queryRows<{ transition_id: string }>(clickhouse, `SELECT transition_id FROM ${db}.stage_transitions_unique`);
    expect(new Set(written.map((row) => row.transition_id))).toEqual(expected.transitionIds);
    // Nothing was dead-lettered or skipped, and both services ran through it.
    expect(await deadLetters()).toBe(0);
    expect(await metric("processor", "clm_processor_dead_letters_total")).toBe(0);
    expect(await metric("sink", "clm_sink_records_skipped_total")).toBe(0);
    expect(processor.child.exitCode).toBeNull();
    expect(sink.child.exitCode).toBeNull();
    await processor.waitForLog("the schema registry answers again", 1000);
    await sink.waitForLog("the schema registry answers again", 1000);
    const tries = `processor ${await metric("processor", "clm_processor_registry_unavailable_total")}, sink ${await metric("sink", "clm_sink_registry_unavailable_total")}`;
    console.log(`registry outage: ${second.length} records of schema id ${v2Id} held ${((registryBack - outageStarted) / 1000).toFixed(1)} s (failed registry tries: ${tries}); all applied and written ${(caughtUpMs / 1000).toFixed(1)} s after the registry was back; logs in .run/registry-outage/`);
  }, 300_000);
});
