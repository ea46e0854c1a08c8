import { CUSTOMER_EVENT_SCHEMA_TEXT, customerEventToRecord, STAGE_CHANGE_SCHEMA_TEXT, type CustomerEventRecord, type StageChangeRecord } from "@clm/contracts";
import { computeRfmBoundaries, DEFAULT_LIFECYCLE_CONFIG, encodeHistoryEntry, foldPartitionBatch, type BatchRecord, type CustomerEvent, type CustomerState, type StageTransition } from "@clm/core";
import { AvroSerde, createRegistry, receivedAtOf, type DeadLetter } from "@clm/kafka";
import { createMetricsRegistry } from "@clm/observability";
import { createProcessorMetrics, Processor, rebuild, StateStore, warmUp, warmUpClients } from "@clm/processor";
import { RedisLayout } from "@clm/state-store";
import { RfmBoundaryStore, wipePrefix } from "@clm/state-store/admin";
import { createRedis, scanAllKeys, type RedisClient } from "@clm/redis";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cdnowEvents } from "./support/cdnow-events.ts";
import { mismatchedStates, mismatchedTimers } from "./support/core-expectation.ts";
import { createTopics, isolatedConfig, produceEvents, readTopic, testKafka, testLogger, waitFor, tearDownRun } from "./support/pipeline.ts";

/**
 * End to end through real Kafka, registry and Redis: the CDNOW sample (6,919 real
 * purchases) plus bad records go in; the Redis state, timers, the stage-change
 * topic and the dead-letter topic must equal what the pure core computes.
 */
// Small commits: every batch of this file is folded and committed in slices (the default is 20,000 customers).
const config = isolatedConfig({ PROCESSOR_MAX_CUSTOMERS_PER_WRITE: "300" });
const lifecycle = DEFAULT_LIFECYCLE_CONFIG;
let kafka: Kafka;
let redis: RedisClient;
let processor: Processor;
let events: CustomerEvent[];
const metricsRegistry = createMetricsRegistry("processor-test");
const metrics = createProcessorMetrics(metricsRegistry);

/** What the pure core says, per partition, for the records Kafka holds in that partition. */
async function expectedFromCore(valid: Map<string, CustomerEvent>) {
  const byPartition = await readTopic(kafka, config.TOPIC_EVENTS);
  const serde = new AvroSerde<CustomerEventRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT);
  const states = new Map<string, { partition: number; state: CustomerState }>();
  const transitions: StageTransition[] = [];
  const ends = new Map<number, string>();
  for (const [partition, messages] of byPartition) {
    await serde.prepare(messages.map((message) => message.value));
    const records: BatchRecord[] = [];
    for (const message of messages) {
      let eventId: string;
      try {
        eventId = serde.decode(message.value).eventId;
      } catch {
        continue; // not Avro: a dead letter
      }
      const event = valid.get(eventId);
      if (event && message.key?.toString() === event.customerId) records.push({ offset: message.offset, event, receivedAt: receivedAtOf(message) });
    }
    const result = foldPartitionBatch(new Map(), records, { watermark: null, latenessMs: 0 }, lifecycle);
    for (const [customerId, state] of result.changed) states.set(customerId, { partition, state });
    for (const { effect } of result.effects) if (effect.kind === "stage_changed") transitions.push(effect.transition);
    ends.set(partition, messages.length === 0 ? "0" : (BigInt(messages[messages.length - 1]!.offset) + 1n).toString());
  }
  return { states, transitions, ends };
}

beforeAll(async () => {
  kafka = testKafka(config);
  redis = createRedis(config);
  await createTopics(kafka, config);
  events = await cdnowEvents("sample");

  // Bad input mixed in: not Avro at all, a foreign currency, a key that is not the customer, a control character in an id, a redelivered duplicate.
  const registry = createRegistry(config.SCHEMA_REGISTRY_URL);
  const serde = new AvroSerde<CustomerEventRecord>(registry, `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT);
  await serde.register();
  const euro: CustomerEvent = { eventId: "bad-currency", customerId: "7", occurredAt: Date.UTC(1998, 5, 1), type: "purchase", properties: { orderId: "x", amountE4: 10_000, currency: "EUR", quantity: null } };
  const misKeyed: CustomerEvent = { ...euro, eventId: "bad-key", properties: { ...euro.properties, currency: "USD" } };
  const controlId: CustomerEvent = { ...misKeyed, eventId: "bad-id", customerId: "7\u0000" };
  const duplicate = events[events.length - 1]!;
  await produceEvents(kafka, config, events, [
    { key: "someone", value: Buffer.from('{"eventId":"json-not-avro"}') },
    { key: euro.customerId, value: serde.encode(customerEventToRecord(euro)) },
    { key: "another-customer", value: serde.encode(customerEventToRecord(misKeyed)) },
    { key: controlId.customerId, value: serde.encode(customerEventToRecord(controlId)) },
    { key: duplicate.customerId, value: serde.encode(customerEventToRecord(duplicate)) },
  ]);

  processor = new Processor({
    config,
    lifecycle,
    logger: testLogger,
    metrics,
    kafka,
    redis,
    registry,
  });
  await processor.start();
});

afterAll(async () => {
  await processor?.stop();
  await tearDownRun(kafka, redis, config);
});

describe("processor end to end (real Kafka, registry, Redis)", () => {
  it("ends with exactly the pure core's state for every customer, and applied offsets at the end of each partition", async () => {
    const valid = new Map(events.map((event) => [event.eventId, event]));
    const expected = await expectedFromCore(valid);
    const store = new StateStore(redis, new RedisLayout(config.REDIS_KEY_PREFIX), 10);
    await waitFor(async () => {
      for (const [partition, end] of expected.ends) if ((await store.loadMeta(partition)).offset !== end) return false;
      return true;
    }, "the processor to apply every record");

    expect(expected.states.size).toBe(2357);
    expect(await mismatchedStates(store, expected.states)).toEqual([]);

    // Timers: each customer's next deadline is indexed exactly.
    expect(await mismatchedTimers(redis, new RedisLayout(config.REDIS_KEY_PREFIX), expected.states, lifecycle)).toEqual([]);
  });

  it("publishes every transition once the outbox drains, keyed and ordered per customer, with deterministic ids", async () => {
    const valid = new Map(events.map((event) => [event.eventId, event]));
    const expected = await expectedFromCore(valid);
    const store = new StateStore(redis, new RedisLayout(config.REDIS_KEY_PREFIX), 10);
    await waitFor(async () => {
      for (const partition of expected.ends.keys()) if ((await store.outboxLength(partition)) > 0) return false;
      return true;
    }, "outboxes to drain");
    const published = await readTopic(kafka, config.TOPIC_STAGE_CHANGES);
    const serde = new AvroSerde<StageChangeRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_STAGE_CHANGES}-value`, STAGE_CHANGE_SCHEMA_TEXT);
    const perCustomer = new Map<string, string[]>();
    for (const messages of published.values()) {
      await serde.prepare(messages.map((message) => message.value));
      for (const message of messages) {
        const record = serde.decode(message.value);
        expect(message.key?.toString()).toBe(record.customerId);
        perCustomer.set(record.customerId, [...(perCustomer.get(record.customerId) ?? []), `${record.transitionId} ${record.fromStage}→${record.toStage} ${record.reasonCode}`]);
      }
    }
    const expectedPerCustomer = new Map<string, string[]>();
    for (const transition of expected.transitions) {
      expectedPerCustomer.set(transition.customerId, [
        ...(expectedPerCustomer.get(transition.customerId) ?? []),
        `${transition.transitionId} ${transition.from}→${transition.to} ${transition.reason.code}`,
      ]);
    }
    expect(new Map([...perCustomer].sort())).toEqual(new Map([...expectedPerCustomer].sort()));
    expect(expected.transitions.length).toBeGreaterThan(5000);
  });

  it("sends every bad record to the dead-letter topic with its reason, and counts the duplicate once", async () => {
    await waitFor(async () => [...(await readTopic(kafka, config.TOPIC_DEAD_LETTER)).values()].flat().length >= 4, "dead letters");
    const letters = [...(await readTopic(kafka, config.TOPIC_DEAD_LETTER)).values()].flat().map((message) => JSON.parse(message.value!.toString()) as DeadLetter);
    expect(letters.map((letter) => letter.code).sort()).toEqual(["INVALID_EVENT", "INVALID_EVENT", "KEY_MISMATCH", "NOT_CONFLUENT_AVRO"]);
    const invalid = letters.find((letter) => letter.code === "INVALID_EVENT" && letter.source.key === "7")!;
    expect(invalid.errors).toEqual([{ path: "properties.currency", message: "currency EUR is not the reporting currency USD" }]);
    expect(invalid.source).toMatchObject({ topic: config.TOPIC_EVENTS, key: "7" });
    const badId = letters.find((letter) => letter.code === "INVALID_EVENT" && letter.source.key === "7\u0000")!;
    expect(badId.errors).toEqual([{ path: "customerId", code: "ID_CONTROL_CHARACTER", message: "customerId holds the control character U+0000 at index 1" }]);
    expect(Buffer.from(letters.find((letter) => letter.code === "NOT_CONFLUENT_AVRO")!.valueBase64!, "base64").toString()).toContain("json-not-avro");
    const counted = await metricsRegistry.getSingleMetricAsString("clm_processor_events_total");
    expect(counted).toContain('outcome="duplicate",service="processor-test"} 1');
    expect(counted).toContain(`outcome="applied",service="processor-test"} ${events.length}`);
    expect(counted).toContain('outcome="dead_letter",service="processor-test"} 4');
  });
});

describe("RFM boundaries", () => {
  it("computes the population quantiles from the states in Redis exactly as the core does in memory", async () => {
    const valid = new Map(events.map((event) => [event.eventId, event]));
    const expected = await expectedFromCore(valid);
    const at = Date.UTC(1998, 6, 1);
    const store = new RfmBoundaryStore(redis, new RedisLayout(config.REDIS_KEY_PREFIX));
    const computed = await store.computeFromStates(at);
    expect(computed.customers).toBe(2357);
    expect(computed.boundaries).toEqual(computeRfmBoundaries([...expected.states.values()].map(({ state }) => state), at));
    await store.save(computed.boundaries, { computedAt: at, customers: computed.customers });
    expect(await store.load()).toEqual(computed.boundaries);
  });
});

describe("rebuild", () => {
  it("replays the input topic from offset 0 into an empty prefix and ends with exactly the live state", async () => {
    const live = new RedisLayout(config.REDIS_KEY_PREFIX);
    const store = new StateStore(redis, live, 10);
    await waitFor(async () => (await store.loadMeta(0)).offset !== null, "the live processor");
    const rebuiltPrefix = `${config.REDIS_KEY_PREFIX}-rebuilt`;
    const report = await rebuild({
      config,
      lifecycle,
      logger: testLogger,
      metrics: createProcessorMetrics(createMetricsRegistry("rebuild-test")),
      kafka,
      redis,
      registry: createRegistry(config.SCHEMA_REGISTRY_URL),
      keyPrefix: rebuiltPrefix,
      service: "processor",
    });
    expect(report.records).toBe(events.length + 5);
    const rebuilt = new RedisLayout(rebuiltPrefix);
    const differences: string[] = [];
    let compared = 0;
    for (const customerId of new Set(events.map((event) => event.customerId))) {
      for (let partition = 0; partition < config.TOPIC_PARTITIONS; partition++) {
        const [left, right] = await Promise.all([redis.getBuffer(live.customer(partition, customerId)), redis.getBuffer(rebuilt.customer(partition, customerId))]);
        if (left === null && right === null) continue;
        compared++;
        if (left === null || right === null || !left.equals(right)) differences.push(customerId);
      }
    }
    expect(differences).toEqual([]);
    expect(compared).toBe(2357);
    for (let partition = 0; partition < config.TOPIC_PARTITIONS; partition++) {
      expect(await redis.zrange(rebuilt.timers(partition), 0, -1, "WITHSCORES")).toEqual(await redis.zrange(live.timers(partition), 0, -1, "WITHSCORES"));
      expect((await new StateStore(redis, rebuilt, 10).loadMeta(partition)).offset).toBe((await store.loadMeta(partition)).offset);
      expect(await redis.llen(rebuilt.outbox(partition))).toBe(0); // a rebuild publishes nothing
    }
    await wipePrefix(redis, rebuilt);
  });
});

describe("outbox acknowledgement", () => {
  it("trims only a run that is still at the head: a racing drainer's late ack removes nothing, so nothing is lost", async () => {
    const layout = new RedisLayout(`${config.REDIS_KEY_PREFIX}-ack`);
    const store = new StateStore(redis, layout, 0);
    const entries = Array.from({ length: 6 }, (_, index) => Buffer.from(`entry-${index}`));
    const seq = await store.commit(0, { expectedSeq: 0, offset: null, watermark: null, customers: [], outbox: entries, history: [] });
    expect(seq).toBe(1);
    // Drainer B published and acknowledged the first four; drainer A had read and published the first five.
    expect(await store.ackOutbox(0, entries.slice(0, 4))).toBe(4);
    expect(await store.ackOutbox(0, entries.slice(0, 5))).toBe(0);
    expect(await store.readOutbox(0, 10)).toEqual(entries.slice(4));
    // A run that is at the head but longer than what the outbox holds is not trimmed either.
    expect(await store.ackOutbox(0, [...entries.slice(4), Buffer.from("entry-6")])).toBe(0);
    expect(await store.ackOutbox(0, entries.slice(4))).toBe(2);
    expect(await store.outboxLength(0)).toBe(0);
    await wipePrefix(redis, layout);
  });
});

describe("the commit script", () => {
  it("writes every section exactly across its chunks: states, timers set and cleared, outbox order, history newest first and capped", async () => {
    const layout = new RedisLayout(`${config.REDIS_KEY_PREFIX}-sections`);
    const store = new StateStore(redis, layout, 3);
    const state = (index: number): CustomerState => foldPartitionBatch(new Map(), [{ offset: "0", receivedAt: 0, event: { eventId: `s-${index}`, customerId: `c-${index}`, occurredAt: Date.UTC(2024, 0, 1) + index, type: "login", properties: { channel: null } } }], { watermark: null, latenessMs: 0 }, lifecycle).changed.get(`c-${index}`)!;
    // 2,500 customers (past the script's 1,000-value chunks): even ones scheduled, odd ones not.
    const customers = Array.from({ length: 2500 }, (_, index) => ({ customerId: `c-${index}`, state: state(index), deadline: index % 2 === 0 ? 1_000_000 + index : null }));
    await redis.zadd(layout.timers(0), 5, "c-1"); // scheduled before: this write clears it
    const outbox = Array.from({ length: 2500 }, (_, index) => Buffer.from(`stage-change-${index}`));
    // Five stage changes of c-7 interleaved with one of c-8: c-7 keeps its newest three.
    const history = [0, 1, 2, 3, 4].flatMap((step) => [{ customerId: "c-7", entry: Buffer.from(`c-7-${step}`) }, ...(step === 2 ? [{ customerId: "c-8", entry: Buffer.from("c-8-0") }] : [])]);
    expect(await store.commit(0, { expectedSeq: 0, offset: "10", watermark: null, customers, outbox, history })).toBe(1);

    const loaded = await store.loadStates(0, customers.map((customer) => customer.customerId));
    expect(loaded.size).toBe(2500);
    expect(loaded.get("c-2499")).toEqual(customers[2499]!.state);
    expect(await redis.zcard(layout.timers(0))).toBe(1250);
    expect(await redis.zscore(layout.timers(0), "c-2498")).toBe(String(1_000_000 + 2498));
    expect(await redis.zscore(layout.timers(0), "c-1")).toBeNull();
    expect(await store.readOutbox(0, 3000)).toEqual(outbox);
    expect(await redis.lrangeBuffer(layout.history(0, "c-7"), 0, -1)).toEqual([Buffer.from("c-7-4"), Buffer.from("c-7-3"), Buffer.from("c-7-2")]);
    expect(await redis.lrangeBuffer(layout.history(0, "c-8"), 0, -1)).toEqual([Buffer.from("c-8-0")]);
    expect(await store.loadMeta(0)).toEqual({ offset: "10", seq: 1, watermark: null, valueModel: null, refitCursor: null, sweptThrough: null, audiences: null, audienceCursor: null });
    // A writer that read seq 0 is fenced off and changes nothing.
    expect(await store.commit(0, { expectedSeq: 0, offset: "20", watermark: null, customers: customers.slice(0, 1), outbox: outbox.slice(0, 1), history: [] })).toBeNull();
    expect(await store.outboxLength(0)).toBe(2500);
    // Meta fields travel with a write (the active value model, the refit cursor); "" deletes one.
    const empty = { offset: null, watermark: null, customers: [], outbox: [], history: [] };
    expect(await store.commit(0, { ...empty, expectedSeq: 1, metaFields: { valueModel: "m-1997-09-30-0123abcd", valueModelAt: "5", refitCursor: "42" } })).toBe(2);
    expect(await store.loadMeta(0)).toMatchObject({ offset: "10", valueModel: { version: "m-1997-09-30-0123abcd", activatedAt: 5 }, refitCursor: "42" });
    expect(await store.commit(0, { ...empty, expectedSeq: 2, metaFields: { refitCursor: "" } })).toBe(3);
    expect(await store.loadMeta(0)).toMatchObject({ valueModel: { version: "m-1997-09-30-0123abcd", activatedAt: 5 }, refitCursor: null });
    await wipePrefix(redis, layout);
  });

  it("carries values of every packed size and customer ids in any UTF-8 exactly", async () => {
    const layout = new RedisLayout(`${config.REDIS_KEY_PREFIX}-packed`);
    const store = new StateStore(redis, layout, 10);
    // Packed values are MessagePack strings: ≤ 31 bytes, ≤ 65,535 bytes and longer take different headers.
    const ids = ["kundin-ä-€-😀", "c", "x".repeat(31), "y".repeat(32), "z".repeat(300)];
    const customers = ids.map((customerId, index) => ({
      customerId,
      state: foldPartitionBatch(new Map(), [{ offset: "0", receivedAt: 0, event: { eventId: `p-${index}`, customerId, occurredAt: Date.UTC(2024, 0, 1), type: "login", properties: { channel: null } } }], { watermark: null, latenessMs: 0 }, lifecycle).changed.get(customerId)!,
      deadline: index % 2 === 0 ? 2_000_000 + index : null,
    }));
    const outbox = [0, 1, 31, 32, 65_535, 65_536, 200_000].map((size) => Buffer.alloc(size, size % 251));
    const history = [{ customerId: ids[1]!, entry: Buffer.alloc(70_000, 9) }, { customerId: ids[1]!, entry: Buffer.from([0xff, 0x00, 0xc4]) }];
    expect(await store.commit(0, { expectedSeq: 0, offset: "1", watermark: null, customers, outbox, history })).toBe(1);

    const loaded = await store.loadStates(0, ids);
    for (const customer of customers) expect(loaded.get(customer.customerId)).toEqual(customer.state);
    expect(await redis.zrange(layout.timers(0), 0, -1, "WITHSCORES")).toEqual([ids[0], "2000000", ids[2], "2000002", ids[4], "2000004"]);
    expect(await store.readOutbox(0, 100)).toEqual(outbox);
    expect(await redis.lrangeBuffer(layout.history(0, ids[1]!), 0, -1)).toEqual([history[1]!.entry, history[0]!.entry]);
    await wipePrefix(redis, layout);
  });
});

describe("large writes", () => {
  it("commits and loads 60,000 customers in one write (a sweep in event time can reach that many)", async () => {
    const layout = new RedisLayout(`${config.REDIS_KEY_PREFIX}-large`);
    const store = new StateStore(redis, layout, 10);
    const event = (index: number): CustomerEvent => ({ eventId: `e-${index}`, customerId: `c-${index}`, occurredAt: Date.UTC(2024, 0, 1) + index, type: "purchase", properties: { orderId: `o-${index}`, amountE4: 10_000, currency: "USD", quantity: 1 } });
    const records: BatchRecord[] = Array.from({ length: 60_000 }, (_, index) => ({ offset: String(index), event: event(index), receivedAt: 0 }));
    const result = foldPartitionBatch(new Map(), records, { watermark: null, latenessMs: 0 }, lifecycle);
    const customers = [...result.changed].map(([customerId, state]) => ({ customerId, state, deadline: result.deadlines.get(customerId) ?? null }));
    const history = result.effects.flatMap(({ effect }) => (effect.kind === "stage_changed" ? [{ customerId: effect.transition.customerId, entry: Buffer.from(encodeHistoryEntry(effect.transition)) }] : []));
    const outbox = history.map((entry) => entry.entry);
    expect(customers).toHaveLength(60_000);
    const seq = await store.commit(0, { expectedSeq: 0, offset: "60000", watermark: result.watermark, customers, outbox, history });
    expect(seq).toBe(1);
    const loaded = await store.loadStates(0, customers.map((customer) => customer.customerId));
    expect(loaded.size).toBe(60_000);
    expect(loaded.get("c-59999")).toEqual(result.changed.get("c-59999"));
    expect(await store.outboxLength(0)).toBe(outbox.length);
    await wipePrefix(redis, layout);
  }, 60_000);
});

describe("the warm-up of a starting processor", () => {
  it("runs Redis's read and write paths on made-up customers and leaves nothing in Redis", async () => {
    const prefix = `${config.REDIS_KEY_PREFIX}-warm-up`;
    const registry = createRegistry(config.SCHEMA_REGISTRY_URL);
    const events = new AvroSerde<CustomerEventRecord>(registry, `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT);
    const changes = new AvroSerde<StageChangeRecord>(registry, `${config.TOPIC_STAGE_CHANGES}-value`, STAGE_CHANGE_SCHEMA_TEXT);
    await events.register();
    await changes.register();
    const samples = warmUp(events, changes, lifecycle, 300);
    expect(samples.states.size).toBe(300);
    expect(samples.stageChanges.length).toBeGreaterThan(300);
    await warmUpClients(new StateStore(redis, new RedisLayout(prefix), 10), samples);
    expect(await scanAllKeys(redis, `${prefix}*`)).toEqual([]);
  });
});
