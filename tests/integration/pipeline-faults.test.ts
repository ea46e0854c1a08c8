import { randomUUID } from "node:crypto";
import type { ClickHouseClient } from "@clickhouse/client";
import { IngestClient, type InputEvent } from "@clm/client";
import type { Config } from "@clm/config";
import { CUSTOMER_EVENT_SCHEMA_TEXT, customerEventToRecord, type CustomerEventRecord } from "@clm/contracts";
import { DEFAULT_LIFECYCLE_CONFIG, type CustomerEvent } from "@clm/core";
import { readCdnowFile } from "@clm/datasets";
import { AvroSerde, createIdempotentProducer, createRegistry, type DeadLetter } from "@clm/kafka";
import { RedisLayout, StateReader } from "@clm/state-store";
import { createClickHouse, queryRows } from "@clm/clickhouse";
import { createRedis, type RedisClient } from "@clm/redis";
import type { Kafka, Message } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { envOf, freePort, startService, type RunningService } from "./support/child-service.ts";
import { coreExpectation, mismatchedStates, publishedStageChanges } from "./support/core-expectation.ts";
import { createTopics, readTopic, stack, testKafka, waitFor, tearDownRun } from "./support/pipeline.ts";
import { faultTestConfig, ServiceLogs } from "./support/service-logs.ts";

/**
 * The whole pipeline as real processes — ingest, processor, sink — loading the CDNOW log through
 * the HTTP API while faults land at random moments of the load: kill -9 of the sink, the
 * processor and ingest (each restarted), a Redis restart, a Kafka broker restart, and a second
 * processor joining and leaving (two rebalances). Malformed input is mixed in: bad items inside the
 * HTTP batches (each must come back rejected with its field) and bad raw records on the topic (each
 * must reach the dead-letter topic with its code). At the end the
 * Redis state, the stage-change ids and the ClickHouse rows must equal the pure core's fold of what
 * the input topic holds — equality, not "roughly". CLM_LONG_FAULTS=1 repeats every fault 3 times.
 */
const ROUNDS = process.env.CLM_LONG_FAULTS === "1" ? 3 : 1;
const SEED = Number(process.env.FAULT_TEST_SEED ?? Date.now() % 100_000);
const run = `${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
const lifecycle = DEFAULT_LIFECYCLE_CONFIG;
let seed = SEED;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
};

/** A bad HTTP item of one of several kinds, each with the field ingest must name. */
function malformedItem(index: number): { item: unknown; field: string } {
  const base = { eventId: `bad-${index}`, type: "purchase", customerId: `bad-c-${index}`, occurredAt: "1997-06-01T00:00:00Z", properties: { orderId: "o", amount: "1.00", currency: "USD" } };
  switch (index % 6) {
    case 0: return { item: { ...base, eventId: undefined }, field: "eventId" };
    case 1: return { item: { ...base, properties: { ...base.properties, amount: "-5" } }, field: "properties.amount" };
    case 2: return { item: { ...base, properties: { ...base.properties, currency: "EUR" } }, field: "properties.currency" };
    case 3: return { item: { ...base, type: "refund" }, field: "type" };
    case 4: return { item: { ...base, occurredAt: "yesterday" }, field: "occurredAt" };
    default: return { item: { ...base, customerId: "x".repeat(200) }, field: "customerId" };
  }
}

/** A bad raw record on the input topic, with the dead-letter code the processor must give it. */
function malformedRecord(index: number, serde: AvroSerde<CustomerEventRecord>): { message: Message; code: string } {
  const event: CustomerEvent = { eventId: `raw-bad-${index}`, customerId: `raw-c-${index}`, occurredAt: Date.UTC(1997, 5, 1), type: "purchase", properties: { orderId: "o", amountE4: 10_000, currency: "USD", quantity: null } };
  switch (index % 5) {
    case 0: return { message: { key: event.customerId, value: Buffer.from(JSON.stringify(event)) }, code: "NOT_CONFLUENT_AVRO" };
    case 1: return { message: { key: event.customerId, value: Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0, 1, 2, 3]) }, code: "UNKNOWN_SCHEMA" };
    case 2: return { message: { key: event.customerId, value: serde.encode(customerEventToRecord(event)).subarray(0, 12) }, code: "AVRO_INVALID" };
    case 3: return { message: { key: event.customerId, value: serde.encode(customerEventToRecord({ ...event, properties: { ...event.properties, currency: "EUR" } })) }, code: "INVALID_EVENT" };
    default: return { message: { key: "someone-else", value: serde.encode(customerEventToRecord(event)) }, code: "KEY_MISMATCH" };
  }
}

let config: Config;
let kafka: Kafka;
let redis: RedisClient;
let clickhouse: ClickHouseClient;
let events: InputEvent[];
const services: Record<"ingest" | "processor" | "processor2" | "sink", RunningService | null> = { ingest: null, processor: null, processor2: null, sink: null };
const ENTRIES = { ingest: "services/ingest/src/main.ts", processor: "services/processor/src/main.ts", processor2: "services/processor/src/main.ts", sink: "services/sink/src/main.ts" } as const;
const READY = { ingest: "ingest listening", processor: "processor running", processor2: "processor running", sink: "sink running" } as const;
/** Malformed input mixed into the load: this many bad items in the HTTP batches, and as many bad raw records on the topic. */
const MALFORMED = Number(process.env.FAULT_TEST_MALFORMED ?? 5000);

const logs = new ServiceLogs(`.run/pipeline-faults-${SEED}`);

async function start(name: keyof typeof services): Promise<void> {
  const service = startService(ENTRIES[name], envOf(config));
  logs.add(name, service);
  await service.waitForLog(READY[name], 120_000);
  services[name] = service;
}

async function kill(name: keyof typeof services): Promise<void> {
  const service = services[name]!;
  service.child.kill("SIGKILL");
  await service.exited;
  services[name] = null;
}

beforeAll(async () => {
  config = faultTestConfig(run, await freePort());
  kafka = testKafka(config);
  redis = createRedis(config);
  clickhouse = createClickHouse(config);
  await createTopics(kafka, config);
  // The CDNOW reader yields the JSON form the ingest API takes (purchases only).
  events = (await readCdnowFile()).events as InputEvent[];
  await start("ingest");
  await start("processor");
  await start("sink");
}, 300_000);

afterAll(async () => {
  logs.write();
  stack("up"); // whatever happened, leave every server running for the next suite
  for (const service of Object.values(services)) {
    service?.child.kill("SIGTERM");
    await service?.exited;
  }
  await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${config.CLICKHOUSE_DATABASE}` });
  await clickhouse?.close();
  await tearDownRun(kafka, redis, config);
}, 300_000);

describe(`pipeline under faults (seed ${SEED}, ${ROUNDS} round(s))`, () => {
  it("ends with the pure core's state, stage changes and ClickHouse rows after kills and server restarts under load", async () => {
    onTestFailed(() => logs.report());
    const faults: { name: string; inject: () => Promise<void> }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      faults.push(
        { name: "kill -9 sink", inject: async () => { await kill("sink"); await start("sink"); } },
        { name: "kill -9 processor", inject: async () => { await kill("processor"); await start("processor"); } },
        { name: "kill -9 ingest", inject: async () => { await kill("ingest"); await start("ingest"); } },
        { name: "Redis restart", inject: async () => { stack("down", "redis"); stack("up"); } },
        { name: "Kafka broker restart", inject: async () => { stack("down", "kafka"); stack("up"); } },
        { name: "a second processor joins (rebalance)", inject: async () => { await start("processor2"); } },
        { name: "the second processor leaves (rebalance)", inject: async () => { services.processor2!.child.kill("SIGTERM"); await services.processor2!.exited; services.processor2 = null; } },
      );
    }
    // One chunk of the log per fault (plus one after the last): each fault lands while its chunk is being sent.
    const chunkSize = Math.ceil(events.length / (faults.length + 1));
    const client = new IngestClient({ baseUrl: `http://127.0.0.1:${config.INGEST_PORT}`, apiKey: "clm-dev-key", batchSize: 250, maxAttempts: 30, initialBackoffMs: 250 });
    const landed: string[] = [];
    const serde = new AvroSerde<CustomerEventRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT);
    await serde.register();
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    const badRecords = Array.from({ length: MALFORMED }, (_, index) => malformedRecord(index, serde));
    const badItems = Array.from({ length: MALFORMED }, (_, index) => malformedItem(index));
    const perChunk = Math.ceil(MALFORMED / (faults.length + 1));
    for (let index = 0; index <= faults.length; index++) {
      // Valid and malformed items shuffled together in the same requests; bad raw records beside them on the topic.
      const valid = events.slice(index * chunkSize, (index + 1) * chunkSize);
      const bad = badItems.slice(index * perChunk, (index + 1) * perChunk);
      const chunk: InputEvent[] = [...valid];
      const badAt = new Map<number, string>();
      for (const entry of bad) {
        const at = Math.floor(random() * (chunk.length + 1));
        chunk.splice(at, 0, entry.item as InputEvent);
      }
      for (const [position, item] of chunk.entries()) {
        const entry = bad.find((candidate) => candidate.item === item);
        if (entry) badAt.set(position, entry.field);
      }
      await producer.send({ topic: config.TOPIC_EVENTS, acks: -1, messages: badRecords.slice(index * perChunk, (index + 1) * perChunk).map((record) => record.message) });
      const sending = client.send(chunk);
      const fault = faults[index];
      if (fault) {
        await new Promise((resolve) => setTimeout(resolve, 100 + random() * 900));
        const started = Date.now();
        await fault.inject();
        landed.push(`${fault.name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      }
      const result = await sending;
      expect(result.accepted).toBe(valid.length);
      expect(new Map(result.rejected.map((rejection) => [rejection.index, rejection.errors[0]?.path]))).toEqual(badAt);
    }
    await producer.disconnect();

    // Caught up: the processor has applied every record and published every stage change; the sink has written them.
    const expected = await coreExpectation(kafka, config, lifecycle);
    const store = new StateReader(redis, new RedisLayout(config.REDIS_KEY_PREFIX));
    await waitFor(async () => {
      for (const [partition, end] of expected.ends) if ((await store.loadMeta(partition)).offset !== end || (await store.outboxLength(partition)) > 0) return false;
      return true;
    }, "the processor to apply and publish everything", 180_000, 500);
    const db = config.CLICKHOUSE_DATABASE;
    const count = async (query: string) => Number((await queryRows<{ n: string }>(clickhouse, query))[0]!.n);
    await waitFor(async () => (await count(`SELECT count() AS n FROM ${db}.events_unique`)) === expected.uniqueValidEvents, "the sink to write every event", 180_000, 500);
    await waitFor(async () => (await count(`SELECT count() AS n FROM ${db}.stage_transitions_unique`)) >= expected.transitionIds.size, "the sink to write every stage change", 180_000, 500);

    // Redis: every customer's state is the core's.
    expect(expected.states.size).toBe(23_570);
    expect(await mismatchedStates(store, expected.states)).toEqual([]);

    // Kafka: the stage-change ids are exactly the core's (repeats allowed: consumers dedupe on the id).
    const { ids: published, publishes } = await publishedStageChanges(kafka, config);
    expect(published).toEqual(expected.transitionIds);

    // ClickHouse: every valid event once, every stage change once, and purchases add up through the aggregate path.
    expect(expected.uniqueValidEvents).toBe(events.length);
    expect(await count(`SELECT count() AS n FROM ${db}.events_unique`)).toBe(events.length);
    expect(await count(`SELECT sum(purchases) AS n FROM ${db}.customer_purchase_days`)).toBe(events.length);
    const written = await queryRows<{ transition_id: string }>(clickhouse, `SELECT transition_id FROM ${db}.stage_transitions_unique`);
    expect(new Set(written.map((row) => row.transition_id))).toEqual(expected.transitionIds);
    // Every bad raw record has exactly one dead-letter source entry (a redelivered batch may repeat a letter), with its code.
    const letters = [...(await readTopic(kafka, config.TOPIC_DEAD_LETTER)).values()].flat().map((message) => JSON.parse(message.value!.toString()) as DeadLetter);
    const codeBySource = new Map(letters.map((letter) => [`${letter.source.partition}:${letter.source.offset}`, letter.code]));
    const codes = new Map<string, number>();
    for (const code of codeBySource.values()) codes.set(code, (codes.get(code) ?? 0) + 1);
    const expectedCodes = new Map<string, number>();
    for (const record of badRecords) expectedCodes.set(record.code, (expectedCodes.get(record.code) ?? 0) + 1);
    expect(codes).toEqual(expectedCodes);
    expect(letters.every((letter) => letter.reason.length > 0)).toBe(true);

    const onTopic = [...(await readTopic(kafka, config.TOPIC_EVENTS)).values()].reduce((sum, list) => sum + list.length, 0);
    console.log(`fault test (seed ${SEED}): ${landed.join(", ")}; ${MALFORMED} bad HTTP items rejected by field, ${MALFORMED} bad raw records dead-lettered by code; ${onTopic - events.length - MALFORMED} repeated input records on the topic, ${publishes - published.size} repeated stage-change publishes — all counted once`);
  }, 900_000);
});
