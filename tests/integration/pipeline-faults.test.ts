import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import type { ClickHouseClient } from "@clickhouse/client";
import { IngestClient, type InputEvent } from "@clm/client";
import { STAGE_CHANGE_SCHEMA_TEXT, type StageChangeRecord } from "@clm/contracts";
import { DEFAULT_LIFECYCLE_CONFIG } from "@clm/core";
import { readCdnowFile } from "@clm/datasets";
import { AvroSerde, createRegistry } from "@clm/kafka";
import { RedisLayout, StateStore, wipePrefix } from "@clm/processor";
import { createClickHouse, queryRows } from "@clm/sink";
import { Redis } from "ioredis";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envOf, startService, type RunningService } from "./support/child-service.ts";
import { coreExpectation } from "./support/core-expectation.ts";
import { createTopics, deleteTopics, isolatedConfig, readTopic, testKafka, waitFor } from "./support/pipeline.ts";

/**
 * The whole pipeline as real processes — ingest, processor, sink — loading the CDNOW log through
 * the HTTP API while faults land at random moments of the load: kill -9 of the sink, the
 * processor and ingest (each restarted), a Redis restart and a Kafka broker restart. At the end the
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
const stack = (...args: string[]) => execFileSync("bash", ["infra/stack.sh", ...args], { stdio: "pipe", timeout: 180_000 });

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let config: ReturnType<typeof isolatedConfig>;
let kafka: Kafka;
let redis: Redis;
let clickhouse: ClickHouseClient;
let events: InputEvent[];
const services: Record<"ingest" | "processor" | "sink", RunningService | null> = { ingest: null, processor: null, sink: null };
const ENTRIES = { ingest: "services/ingest/src/main.ts", processor: "services/processor/src/main.ts", sink: "services/sink/src/main.ts" } as const;
const READY = { ingest: "ingest listening", processor: "processor running", sink: "sink running" } as const;

async function start(name: keyof typeof services): Promise<void> {
  const service = startService(ENTRIES[name], envOf(config));
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
  config = isolatedConfig({
    INGEST_PORT: String(await freePort()),
    PROCESSOR_HTTP_PORT: "0",
    SINK_HTTP_PORT: "0",
    CLICKHOUSE_DATABASE: `test_${run}`,
    SINK_GROUP_ID: `test-${run}-sink`,
    SINK_FLUSH_INTERVAL_MS: "300",
    SINK_RETRY_MAX_MS: "2000",
    INGEST_PUBLISH_TIMEOUT_MS: "5000",
    LOG_LEVEL: "info",
  });
  kafka = testKafka(config);
  redis = new Redis(config.REDIS_URL);
  clickhouse = createClickHouse(config);
  await createTopics(kafka, config);
  // The CDNOW reader yields the JSON form the ingest API takes (purchases only).
  events = (await readCdnowFile()).events as InputEvent[];
  await start("ingest");
  await start("processor");
  await start("sink");
}, 300_000);

afterAll(async () => {
  stack("up"); // whatever happened, leave every server running for the next suite
  for (const service of Object.values(services)) {
    service?.child.kill("SIGTERM");
    await service?.exited;
  }
  await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${config.CLICKHOUSE_DATABASE}` });
  await clickhouse?.close();
  await wipePrefix(redis, new RedisLayout(config.REDIS_KEY_PREFIX));
  await deleteTopics(kafka, config);
  redis.disconnect();
}, 300_000);

describe(`pipeline under faults (seed ${SEED}, ${ROUNDS} round(s))`, () => {
  it("ends with the pure core's state, stage changes and ClickHouse rows after kills and server restarts under load", async () => {
    const faults: { name: string; inject: () => Promise<void> }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      faults.push(
        { name: "kill -9 sink", inject: async () => { await kill("sink"); await start("sink"); } },
        { name: "kill -9 processor", inject: async () => { await kill("processor"); await start("processor"); } },
        { name: "kill -9 ingest", inject: async () => { await kill("ingest"); await start("ingest"); } },
        { name: "Redis restart", inject: async () => { stack("down", "redis"); stack("up"); } },
        { name: "Kafka broker restart", inject: async () => { stack("down", "kafka"); stack("up"); } },
      );
    }
    // One chunk of the log per fault (plus one after the last): each fault lands while its chunk is being sent.
    const chunkSize = Math.ceil(events.length / (faults.length + 1));
    const client = new IngestClient({ baseUrl: `http://127.0.0.1:${config.INGEST_PORT}`, apiKey: "clm-dev-key", batchSize: 250, maxAttempts: 30, initialBackoffMs: 250 });
    const landed: string[] = [];
    for (let index = 0; index <= faults.length; index++) {
      const chunk = events.slice(index * chunkSize, (index + 1) * chunkSize);
      const sending = client.send(chunk);
      const fault = faults[index];
      if (fault) {
        await new Promise((resolve) => setTimeout(resolve, 100 + random() * 900));
        const started = Date.now();
        await fault.inject();
        landed.push(`${fault.name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      }
      const result = await sending;
      expect(result.rejected).toEqual([]);
      expect(result.accepted).toBe(chunk.length);
    }

    // Caught up: the processor has applied every record and published every stage change; the sink has written them.
    const expected = await coreExpectation(kafka, config, lifecycle);
    const store = new StateStore(redis, new RedisLayout(config.REDIS_KEY_PREFIX), 10);
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
    const mismatched: string[] = [];
    for (const [customerId, { partition, state }] of expected.states) {
      const actual = (await store.loadStates(partition, [customerId])).get(customerId);
      if (JSON.stringify(actual) !== JSON.stringify(state)) mismatched.push(customerId);
    }
    expect(mismatched).toEqual([]);

    // Kafka: the stage-change ids are exactly the core's (repeats allowed: consumers dedupe on the id).
    const serde = new AvroSerde<StageChangeRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_STAGE_CHANGES}-value`, STAGE_CHANGE_SCHEMA_TEXT);
    const published = new Set<string>();
    let publishes = 0;
    for (const messages of (await readTopic(kafka, config.TOPIC_STAGE_CHANGES)).values()) {
      await serde.prepare(messages.map((message) => message.value));
      for (const message of messages) {
        published.add(serde.decode(message.value).transitionId);
        publishes++;
      }
    }
    expect(published).toEqual(expected.transitionIds);

    // ClickHouse: every valid event once, every stage change once, and purchases add up through the aggregate path.
    expect(expected.uniqueValidEvents).toBe(events.length);
    expect(await count(`SELECT count() AS n FROM ${db}.events_unique`)).toBe(events.length);
    expect(await count(`SELECT sum(purchases) AS n FROM ${db}.customer_purchase_days`)).toBe(events.length);
    const written = await queryRows<{ transition_id: string }>(clickhouse, `SELECT transition_id FROM ${db}.stage_transitions_unique`);
    expect(new Set(written.map((row) => row.transition_id))).toEqual(expected.transitionIds);
    const onTopic = [...(await readTopic(kafka, config.TOPIC_EVENTS)).values()].reduce((sum, list) => sum + list.length, 0);
    console.log(`fault test (seed ${SEED}): ${landed.join(", ")}; ${onTopic - events.length} repeated input records on the topic, ${publishes - published.size} repeated stage-change publishes — all counted once`);
  }, 900_000);
});
