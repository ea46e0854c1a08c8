import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ClickHouseClient } from "@clickhouse/client";
import { CUSTOMER_EVENT_SCHEMA_TEXT, recordToCustomerEvent, type CustomerEventRecord } from "@clm/contracts";
import { createInputEventSchema, DEFAULT_LIFECYCLE_CONFIG, foldPartitionBatch, type BatchRecord, type CustomerEvent, type CustomerState } from "@clm/core";
import { toInputEventJson } from "@clm/datasets";
import { createApiKeyCheck, createIngestMetrics, createIngestServer, CustomerReader, EventPublisher } from "@clm/ingest";
import { AvroSerde, createRegistry, receivedAtOf } from "@clm/kafka";
import { createMetricsRegistry } from "@clm/observability";
import { createProcessorMetrics, Processor } from "@clm/processor";
import { RedisLayout, StateReader } from "@clm/state-store";
import { createClickHouse, migrate, queryRows } from "@clm/clickhouse";
import { createSinkMetrics, Sink } from "@clm/sink";
import { createRedis, type RedisClient } from "@clm/redis";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cdnowEvents } from "./support/cdnow-events.ts";
import { mismatchedStates } from "./support/core-expectation.ts";
import { createTopics, isolatedConfig, readTopic, testKafka, testLogger, waitFor, tearDownRun } from "./support/pipeline.ts";

/**
 * A client loading a real purchase log through the HTTP API in shuffled batches, then sending
 * batches again with the same event ids (what it does after a timeout): some at once, some
 * after every other batch, so most repeats are far older than the customer's latest events.
 * Redis must hold exactly the pure core's fold of the log without its repeats, and agree with
 * ClickHouse, which dedupes by event id.
 */
const run = `${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
const config = isolatedConfig({ CLICKHOUSE_DATABASE: `test_${run}`, SINK_GROUP_ID: `test-${run}-sink`, SINK_FLUSH_INTERVAL_MS: "300" });
const lifecycle = DEFAULT_LIFECYCLE_CONFIG;
const KEY = "dedupe-test-key";
const BATCH = 250;
let kafka: Kafka;
let redis: RedisClient;
let clickhouse: ClickHouseClient;
let processor: Processor;
let sink: Sink;
let publisher: EventPublisher;
let server: Server;
let base: string;
let store: StateReader;

/** A deterministic shuffle (mulberry32), so a failure can be replayed. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const out = [...items];
  for (let index = out.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [out[index], out[other]] = [out[other]!, out[index]!];
  }
  return out;
}

async function send(batch: readonly CustomerEvent[]): Promise<void> {
  const response = await fetch(`${base}/v1/events`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
    body: JSON.stringify(batch.map(toInputEventJson)),
  });
  expect(response.status).toBe(202);
  expect(await response.json()).toMatchObject({ accepted: batch.length, rejected: [] });
}

/** The pure core over the topic with every repeated (customer, event id) left out: the log without repeats. */
async function foldWithoutRepeats(): Promise<{ states: Map<string, { partition: number; state: CustomerState }>; repeats: number; ends: Map<number, string> }> {
  const serde = new AvroSerde<CustomerEventRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT);
  const states = new Map<string, { partition: number; state: CustomerState }>();
  const ends = new Map<number, string>();
  let repeats = 0;
  for (const [partition, messages] of await readTopic(kafka, config.TOPIC_EVENTS)) {
    await serde.prepare(messages.map((message) => message.value));
    const seen = new Set<string>();
    const records: BatchRecord[] = [];
    for (const message of messages) {
      const event = recordToCustomerEvent(serde.decode(message.value));
      const key = `${event.customerId}\u0000${event.eventId}`;
      if (seen.has(key)) {
        repeats++;
        continue;
      }
      seen.add(key);
      records.push({ offset: message.offset, event, receivedAt: receivedAtOf(message) });
    }
    const result = foldPartitionBatch(new Map(), records, { watermark: null, latenessMs: 0 }, lifecycle);
    for (const [customerId, state] of result.changed) states.set(customerId, { partition, state });
    ends.set(partition, messages.length === 0 ? "0" : (BigInt(messages.at(-1)!.offset) + 1n).toString());
  }
  return { states, repeats, ends };
}

beforeAll(async () => {
  kafka = testKafka(config);
  redis = createRedis(config);
  clickhouse = createClickHouse(config);
  await createTopics(kafka, config);
  await migrate(clickhouse, config.CLICKHOUSE_DATABASE);
  const registry = createRegistry(config.SCHEMA_REGISTRY_URL);
  publisher = new EventPublisher(
    kafka,
    new AvroSerde<CustomerEventRecord>(registry, `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT),
    config.TOPIC_EVENTS,
    10_000,
  );
  await publisher.connect();
  store = new StateReader(redis, new RedisLayout(config.REDIS_KEY_PREFIX));
  const metricsRegistry = createMetricsRegistry("dedupe-test");
  server = createIngestServer({
    schema: createInputEventSchema({ reportingCurrency: "USD" }),
    publisher,
    customers: new CustomerReader(store, lifecycle, config.TOPIC_PARTITIONS, () => null),
    authorize: createApiKeyCheck({ write: [KEY], read: [], admin: [] }),
    metrics: createIngestMetrics(metricsRegistry),
    registry: metricsRegistry,
    checks: [],
    logger: testLogger,
    maxBytes: 5 * 1024 * 1024,
    maxEvents: 5000,
    maxFutureSkewMs: config.MAX_FUTURE_SKEW_MS,
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  processor = new Processor({ config, lifecycle, logger: testLogger, metrics: createProcessorMetrics(createMetricsRegistry("dedupe-test-processor")), kafka, redis, registry });
  await processor.start();
  sink = new Sink({ config, lifecycle, logger: testLogger, metrics: createSinkMetrics(createMetricsRegistry("dedupe-test-sink")), kafka, registry, clickhouse });
  await sink.start();
}, 180_000);

afterAll(async () => {
  await sink?.stop();
  await processor?.stop();
  await publisher?.disconnect();
  await new Promise((resolve) => server?.close(resolve));
  await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${config.CLICKHOUSE_DATABASE}` });
  await clickhouse?.close();
  await tearDownRun(kafka, redis, config);
});

describe("retried batches through the HTTP API (real ingest, Kafka, processor, Redis, sink, ClickHouse)", () => {
  it("counts every event once: Redis equals the pure core's fold of the log without repeats, and ClickHouse", async () => {
    const events = await cdnowEvents("sample");
    const batches: CustomerEvent[][] = [];
    const order = shuffled(events, 20261130);
    for (let index = 0; index < order.length; index += BATCH) batches.push(order.slice(index, index + BATCH));
    // Every fourth batch is sent twice at once (a retry after a timeout), every third again after all others.
    const late: CustomerEvent[][] = [];
    for (const [index, batch] of batches.entries()) {
      await send(batch);
      if (index % 4 === 1) await send(batch);
      if (index % 3 === 0) late.push(batch);
    }
    for (const batch of shuffled(late, 7)) await send(batch);
    const sentTwice = batches.filter((_, index) => index % 4 === 1).reduce((sum, batch) => sum + batch.length, 0) + late.reduce((sum, batch) => sum + batch.length, 0);

    const expected = await foldWithoutRepeats();
    expect(expected.repeats).toBe(sentTwice);
    expect(expected.states.size).toBe(new Set(events.map((event) => event.customerId)).size);
    await waitFor(async () => {
      for (const [partition, end] of expected.ends) if ((await store.loadMeta(partition)).offset !== end) return false;
      return true;
    }, "the processor to apply every record", 120_000);
    expect(await mismatchedStates(store, expected.states)).toEqual([]);

    // Every customer's purchases and money in Redis equal the log's, and ClickHouse's (deduped by event id).
    const fromLog = new Map<string, { count: number; e4: number }>();
    for (const event of events) {
      if (event.type !== "purchase") continue;
      const entry = fromLog.get(event.customerId) ?? { count: 0, e4: 0 };
      entry.count++;
      entry.e4 += event.properties.amountE4;
      fromLog.set(event.customerId, entry);
    }
    const db = config.CLICKHOUSE_DATABASE;
    await waitFor(async () => Number((await queryRows<{ n: string }>(clickhouse, `SELECT count() AS n FROM ${db}.events_unique`))[0]!.n) === events.length, "ClickHouse to have every event", 60_000);
    const rows = await queryRows<{ customer_id: string; purchases: string; e4: string }>(
      clickhouse,
      `SELECT customer_id, count() AS purchases, toString(toInt64(sum(amount) * 10000)) AS e4 FROM ${db}.events_unique WHERE event_type = 'purchase' GROUP BY customer_id`,
    );
    expect(rows).toHaveLength(fromLog.size);
    const differing: string[] = [];
    for (const row of rows) {
      const state = expected.states.get(row.customer_id)!.state;
      const log = fromLog.get(row.customer_id)!;
      if (state.purchaseCount !== log.count || state.monetaryE4 !== log.e4 || Number(row.purchases) !== log.count || Number(row.e4) !== log.e4) differing.push(row.customer_id);
    }
    expect(differing).toEqual([]);
  });
});
