import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { CUSTOMER_EVENT_SCHEMA_TEXT, type CustomerEventRecord } from "@clm/contracts";
import { createInputEventSchema, DEFAULT_LIFECYCLE_CONFIG } from "@clm/core";
import { AvroSerde, clockAdvanceMessage, createKafka, createRegistry } from "@clm/kafka";
import { createIngestMetrics, createApiKeyCheck, createIngestServer, CustomerReader, EventPublisher } from "@clm/ingest";
import { createMetricsRegistry } from "@clm/observability";
import { createProcessorMetrics, Processor, RedisLayout, StateStore } from "@clm/processor";
import { IngestClient } from "@clm/client";
import fc from "fast-check";
import { Redis } from "ioredis";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTopics, isolatedConfig, readTopic, testKafka, testLogger, waitFor, tearDownRun } from "./support/pipeline.ts";

/** The ingest API on real Kafka, registry and Redis (with a real processor behind it). */
const config = isolatedConfig({ CLOCK_MODE: "wall" });
const KEY = "test-key-123";
let kafka: Kafka;
let redis: Redis;
let processor: Processor;
let publisher: EventPublisher;
const processorRegistry = createMetricsRegistry("processor");
const servers: Server[] = [];
let base: string;

async function startServer(options: { publisher: EventPublisher; maxBytes?: number; maxEvents?: number }): Promise<string> {
  const registry = createMetricsRegistry("ingest-test");
  const layout = new RedisLayout(config.REDIS_KEY_PREFIX);
  const server = createIngestServer({
    schema: createInputEventSchema({ reportingCurrency: "USD" }),
    publisher: options.publisher,
    customers: new CustomerReader(new StateStore(redis, layout, 10), DEFAULT_LIFECYCLE_CONFIG, config.TOPIC_PARTITIONS, () => null),
    authorize: createApiKeyCheck({ write: [KEY, "second-key"], read: [KEY, "read-key"], admin: [KEY] }),
    metrics: createIngestMetrics(registry),
    registry,
    checks: [{ name: "redis", check: async () => void (await redis.ping()) }],
    logger: testLogger,
    maxBytes: options.maxBytes ?? 1024 * 1024,
    maxEvents: options.maxEvents ?? 1000,
    maxFutureSkewMs: config.MAX_FUTURE_SKEW_MS,
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const post = (url: string, body: string | Buffer, contentType = "application/json", key: string | null = KEY) =>
  fetch(`${url}/v1/events`, { method: "POST", body, headers: { "content-type": contentType, ...(key === null ? {} : { authorization: `Bearer ${key}` }) } });

const purchase = (eventId: string, customerId: string, amount: string | number = "19.99", occurredAt = new Date().toISOString()) => ({
  eventId,
  type: "purchase",
  customerId,
  occurredAt,
  properties: { orderId: `o-${eventId}`, amount, currency: "USD" },
});

beforeAll(async () => {
  kafka = testKafka(config);
  redis = new Redis(config.REDIS_URL);
  await createTopics(kafka, config);
  const schemaRegistry = createRegistry(config.SCHEMA_REGISTRY_URL);
  publisher = new EventPublisher(kafka, new AvroSerde<CustomerEventRecord>(schemaRegistry, `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT), config.TOPIC_EVENTS, 5000);
  await publisher.connect();
  base = await startServer({ publisher });
  processor = new Processor({
    config,
    lifecycle: DEFAULT_LIFECYCLE_CONFIG,
    logger: testLogger,
    metrics: createProcessorMetrics(processorRegistry),
    kafka,
    redis,
    registry: schemaRegistry,
  });
  await processor.start();
});

afterAll(async () => {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  await processor?.stop();
  await publisher?.disconnect();
  await tearDownRun(kafka, redis, config);
});

describe("POST /v1/events", () => {
  it("accepts the valid items, rejects the others with index, eventId and field errors, and the state reaches Redis", async () => {
    const response = await post(
      base,
      JSON.stringify([
        purchase("ok-1", "alice", "30.00"),
        purchase("bad-1", "alice", -5),
        { eventId: "bad-2", type: "purchase", customerId: "bob", occurredAt: "2024-02-30T00:00:00Z", properties: { orderId: "o", amount: "1.00", currency: "EUR" } },
        purchase("ok-2", "alice", 12.5),
        "not an event",
      ]),
    );
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({
      accepted: 2,
      rejected: [
        { index: 1, eventId: "bad-1", errors: [{ path: "properties.amount", message: "amount must be a non-negative decimal with at most 4 fraction digits" }] },
        {
          index: 2,
          eventId: "bad-2",
          errors: [
            { path: "occurredAt", message: 'occurredAt "2024-02-30T00:00:00Z" is not a real date-time' },
            { path: "properties.currency", message: "currency EUR is not the reporting currency USD" },
          ],
        },
        { index: 4, errors: [{ path: "(event)", message: "Invalid input: expected object, received string" }] },
      ],
    });
    const customer = async () => fetch(`${base}/v1/customers/alice`, { headers: { authorization: `Bearer ${KEY}` } });
    await waitFor(async () => (await customer()).status === 200 && ((await (await customer()).json()) as { purchaseCount: number }).purchaseCount === 2, "alice in Redis", 20_000);
    const view = (await (await customer()).json()) as Record<string, unknown>;
    expect(view).toMatchObject({ customerId: "alice", stage: "new", purchaseCount: 2, purchaseDays: 1, monetaryTotal: "42.50", churnRisk: "none", version: 2 });
    const transitions = await (await fetch(`${base}/v1/customers/alice/transitions?limit=5`, { headers: { authorization: `Bearer ${KEY}` } })).json();
    expect(transitions).toMatchObject({ customerId: "alice", transitions: [{ from: null, to: "new", trigger: "event", eventId: "ok-1", reason: { code: "FIRST_PURCHASE" } }] });
    expect((await fetch(`${base}/v1/customers/nobody`, { headers: { authorization: `Bearer ${KEY}` } })).status).toBe(404);
  });

  it("repeating a request with the same eventIds never double-counts", async () => {
    const batch = JSON.stringify([purchase("rep-1", "frank", "10.00"), purchase("rep-2", "frank", "5.00")]);
    for (let attempt = 0; attempt < 3; attempt++) expect((await post(base, batch)).status).toBe(202);
    const view = async () => (await (await fetch(`${base}/v1/customers/frank`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { purchaseCount?: number; monetaryTotal?: string; version?: number };
    await waitFor(async () => (await view()).purchaseCount === 2, "frank in Redis", 20_000);
    // Wait until the processor has applied everything on the topic (all six records), then check the totals.
    const admin = kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(config.TOPIC_EVENTS);
    await admin.disconnect();
    const store = new StateStore(redis, new RedisLayout(config.REDIS_KEY_PREFIX), 10);
    await waitFor(async () => {
      for (const end of ends) if (end.high !== "0" && (await store.loadMeta(end.partition)).offset !== end.high) return false;
      return true;
    }, "every record applied", 20_000);
    expect(await view()).toMatchObject({ purchaseCount: 2, monetaryTotal: "15.00", version: 2 });
  });

  it("takes NDJSON, where a bad line is only that item's error", async () => {
    const body = [
      JSON.stringify(purchase("nd-1", "carol")),
      "{not json",
      JSON.stringify({ ...purchase("nd-2", "carol"), type: "login", properties: { channel: "app" } }),
      JSON.stringify({ ...purchase("nd-3", "carol"), type: "support", properties: { action: "opened" } }),
    ].join("\n");
    const response = await post(base, body, "application/x-ndjson");
    expect(response.status).toBe(202);
    const answer = (await response.json()) as { accepted: number; rejected: { index: number; errors: { path: string }[] }[] };
    expect(answer.accepted).toBe(2);
    expect(answer.rejected.map((rejection) => [rejection.index, rejection.errors[0]!.path])).toEqual([
      [1, "(line)"],
      [3, "properties.ticketId"],
    ]);
  });

  it("rejects each item dated beyond MAX_FUTURE_SKEW_MS (FUTURE_EVENT) and accepts the other items of the batch", async () => {
    const hourAhead = new Date(Date.now() + 3_600_000).toISOString();
    const twoDaysAhead = new Date(Date.now() + 2 * 86_400_000).toISOString();
    const response = await post(
      base,
      JSON.stringify([
        purchase("future-ok-1", "gina", "10.00"),
        purchase("future-2099", "gina", "10.00", "2099-01-01T00:00:00Z"),
        purchase("future-hour", "gina", "10.00", hourAhead),
        purchase("future-9999", "hank", "10.00", "9999-12-31T23:59:59+00:00"),
        purchase("future-2d", "hank", "10.00", twoDaysAhead),
        purchase("future-ok-2", "hank", "10.00"),
      ]),
    );
    expect(response.status).toBe(202);
    const futureError = (text: string) => ({ path: "occurredAt", code: "FUTURE_EVENT", message: expect.stringContaining(`occurredAt ${text} is later than the receiving clock allows: at most 86400000 ms ahead`) });
    expect(await response.json()).toEqual({
      accepted: 3,
      rejected: [
        { index: 1, eventId: "future-2099", errors: [futureError("2099-01-01T00:00:00.000Z")] },
        { index: 3, eventId: "future-9999", errors: [futureError("9999-12-31T23:59:59.000Z")] },
        { index: 4, eventId: "future-2d", errors: [futureError(new Date(Date.parse(twoDaysAhead)).toISOString())] },
      ],
    });
    // Only the accepted items reached the topic.
    const serde = new AvroSerde<CustomerEventRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT);
    const onTopic: string[] = [];
    for (const messages of (await readTopic(kafka, config.TOPIC_EVENTS)).values()) {
      await serde.prepare(messages.map((message) => message.value));
      for (const message of messages) onTopic.push(serde.decode(message.value).eventId);
    }
    expect(onTopic.filter((eventId) => eventId.startsWith("future-")).sort()).toEqual(["future-hour", "future-ok-1", "future-ok-2"]);
  });

  it("answers every request-level problem with its status and a clear error", async () => {
    const small = await startServer({ publisher, maxBytes: 2000, maxEvents: 3 });
    const errorOf = async (response: Response) => [response.status, ((await response.json()) as { error: { code: string } }).error.code];
    expect(await errorOf(await post(base, "[]", "application/json", null))).toEqual([401, "UNAUTHORIZED"]);
    expect(await errorOf(await post(base, "[]", "application/json", "wrong-key"))).toEqual([401, "UNAUTHORIZED"]);
    expect((await post(base, "[]", "application/json", "second-key")).status).toBe(202);
    expect(await errorOf(await post(base, "[]", "application/json", "read-key"))).toEqual([403, "FORBIDDEN"]);
    expect(await errorOf(await fetch(`${base}/v1/customers/alice`, { headers: { authorization: "Bearer second-key" } }))).toEqual([403, "FORBIDDEN"]);
    expect(await errorOf(await fetch(`${base}/v1/customers/alice/transitions`, { headers: { authorization: "Bearer second-key" } }))).toEqual([403, "FORBIDDEN"]);
    expect(await errorOf(await fetch(`${base}/v1/customers/nobody`, { headers: { authorization: "Bearer read-key" } }))).toEqual([404, "NOT_FOUND"]);
    expect(await errorOf(await post(base, "[]", "text/plain"))).toEqual([415, "UNSUPPORTED_MEDIA_TYPE"]);
    expect(await errorOf(await post(base, "{oops"))).toEqual([400, "INVALID_BODY"]);
    expect(await errorOf(await post(base, '{"eventId":"x"}'))).toEqual([400, "INVALID_BODY"]);
    expect(await errorOf(await post(small, JSON.stringify([purchase("big", "x", "1.00"), "y".repeat(3000)])))).toEqual([413, "BODY_TOO_LARGE"]);
    expect(await errorOf(await post(small, JSON.stringify([1, 2, 3, 4])))).toEqual([413, "BATCH_TOO_LARGE"]);
    expect(await errorOf(await fetch(`${base}/v1/events`, { headers: { authorization: `Bearer ${KEY}` } }))).toEqual([405, "METHOD_NOT_ALLOWED"]);
    expect(await errorOf(await fetch(`${base}/v2/nothing`))).toEqual([404, "NOT_FOUND"]);
    const unauthorized = await post(base, "[]", "application/json", null);
    expect(unauthorized.headers.get("www-authenticate")).toBe("Bearer");
  });

  it("answers 503 with Retry-After, accepting nothing, when Kafka cannot take the events", async () => {
    // A publisher whose broker cannot be reached: the send fails, the request must not claim success.
    const deadKafka = createKafka({ brokers: ["127.0.0.1:1"], clientId: "dead", logger: testLogger });
    const serde = new AvroSerde<CustomerEventRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT);
    await serde.register();
    const unavailable = await startServer({ publisher: new EventPublisher(deadKafka, serde, config.TOPIC_EVENTS, 1500) });
    const response = await post(unavailable, JSON.stringify([purchase("lost?", "dave")]));
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
    expect(await response.json()).toMatchObject({ error: { code: "KAFKA_UNAVAILABLE" } });
  });
});

describe("one instant per answer, and the clock (wall clock)", () => {
  it("answers at the wall clock or at the asked instant, refuses an instant before the state, and refuses and ignores clock advances", async () => {
    const get = (path: string) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${KEY}` } });
    const boughtAt = Date.now() - 1000;
    expect((await post(base, JSON.stringify([purchase("clock-1", "ivy", "20.00", new Date(boughtAt).toISOString())]))).status).toBe(202);
    await waitFor(async () => (await get("/v1/customers/ivy")).status === 200, "ivy in Redis", 20_000);

    const before = Date.now();
    const now = (await (await get("/v1/customers/ivy")).json()) as { asOf: string; asOfClock: string; stage: string };
    expect(now.asOfClock).toBe("wall_clock");
    expect(Date.parse(now.asOf)).toBeGreaterThanOrEqual(before);
    expect(now.stage).toBe("new");
    // 200 days later, if nothing happens: the deadlines between are applied at read time, nothing is written.
    const later = new Date(boughtAt + 200 * 86_400_000).toISOString();
    expect(await (await get(`/v1/customers/ivy?asOf=${later}`)).json()).toMatchObject({ asOf: later, asOfClock: "requested", stage: "churned", churnRisk: "high", nextDeadline: null, version: 3 });
    expect(await (await get("/v1/customers/ivy")).json()).toMatchObject({ stage: "new", version: 1 });

    const errorOf = async (response: Response) => [response.status, ((await response.json()) as { error: { code: string } }).error.code];
    expect(await errorOf(await get("/v1/customers/ivy?asOf=yesterday"))).toEqual([400, "INVALID_AS_OF"]);
    expect(await errorOf(await get("/v1/customers/ivy?asOf=2020-01-01T00:00:00Z"))).toEqual([400, "AS_OF_BEFORE_STATE"]);
    expect(await errorOf(await get("/v1/customers/nobody?asOf=2020-01-01T00:00:00Z"))).toEqual([404, "NOT_FOUND"]);
    const advance = (body: string, key: string | null = KEY) =>
      fetch(`${base}/v1/clock/advance`, { method: "POST", body, headers: { "content-type": "application/json", ...(key === null ? {} : { authorization: `Bearer ${key}` }) } });
    expect(await errorOf(await advance('{"to":"2024-01-01T00:00:00Z"}', null))).toEqual([401, "UNAUTHORIZED"]);
    expect(await errorOf(await advance('{"to":"2024-01-01T00:00:00Z"}', "second-key"))).toEqual([403, "FORBIDDEN"]);
    expect(await errorOf(await advance('{"to":"2024-01-01T00:00:00Z"}'))).toEqual([409, "CLOCK_NOT_EVENT_TIME"]);

    // An advance that reaches a wall-clock processor anyway (not through ingest) changes nothing and is no dead letter.
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: config.TOPIC_EVENTS, acks: -1, messages: [clockAdvanceMessage(boughtAt + 400 * 86_400_000, 0), clockAdvanceMessage(boughtAt + 400 * 86_400_000, 1)] });
    await producer.disconnect();
    await waitFor(async () => (await processorRegistry.getSingleMetricAsString("clm_processor_clock_advances_total")).match(/outcome="ignored"[^}]*\} 2/) !== null, "the processor to pass the advances", 20_000);
    expect(await processorRegistry.getSingleMetricAsString("clm_processor_dead_letters_total")).not.toMatch(/ [1-9]/);
    expect(await (await get("/v1/customers/ivy")).json()).toMatchObject({ stage: "new", version: 1 });
  });
});

describe("the typed client", () => {
  it("sends a large set in batches through the real ingest API and reports the rejections by input index", async () => {
    const events = Array.from({ length: 1234 }, (_, index) => (index % 100 === 7 ? purchase(`client-${index}`, "erin", -1) : purchase(`client-${index}`, `client-customer-${index % 50}`, "2.00")));
    let progressCalls = 0;
    const client = new IngestClient({ baseUrl: base, apiKey: KEY, batchSize: 500, onProgress: () => progressCalls++ });
    const result = await client.send(events as never);
    expect(result.accepted).toBe(1234 - 13);
    expect(result.rejected.map((rejection) => rejection.index)).toEqual(Array.from({ length: 13 }, (_, index) => index * 100 + 7));
    expect(result.requests).toBe(3);
    expect(progressCalls).toBe(3);
  });
});

describe("fuzzing the ingest API", () => {
  it("answers thousands of malformed bodies and items with clear 4xx/202-rejections, stays up, and every valid event arrives once", async () => {
    const validIds = new Set<string>();
    let counter = 0;
    const malformedItem = fc.oneof(
      fc.anything(),
      fc.record({ eventId: fc.string({ maxLength: 300 }), type: fc.constantFrom("purchase", "login", "support", "refund", ""), customerId: fc.oneof(fc.string({ maxLength: 200 }), fc.integer()) }),
      fc.constant(purchase("neg", "x", -1)),
      fc.constant({ ...purchase("eur", "x"), properties: { orderId: "o", amount: "1.00", currency: "EUR" } }),
      fc.constant(purchase("date", "x", "1.00", "2024-13-45T99:00:00Z")),
      fc.constant(purchase("huge", "x".repeat(10_000))),
      fc.constant({ ...purchase("extra", "x"), extra: true }),
    );
    const requestArbitrary = fc.oneof(
      { weight: 3, arbitrary: fc.array(fc.oneof(malformedItem, fc.constant("VALID")), { maxLength: 20 }).map((items) => ({ kind: "json" as const, items })) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 500 }).map((bytes) => ({ kind: "bytes" as const, bytes })) },
      { weight: 1, arbitrary: fc.json().map((text) => ({ kind: "text" as const, text })) },
    );
    const requests = fc.sample(requestArbitrary, { numRuns: 2000, seed: 20261123 });
    const statuses = new Map<number, number>();
    for (const request of requests) {
      let response: Response;
      let expectedAccepted: number | null = null;
      if (request.kind === "json") {
        const items = request.items.map((item) => {
          if (item !== "VALID") return item;
          const eventId = `fuzz-${++counter}`;
          validIds.add(eventId);
          return purchase(eventId, `fuzz-customer-${counter % 37}`, "1.25");
        });
        expectedAccepted = request.items.filter((item) => item === "VALID").length;
        response = await post(base, JSON.stringify(items));
      } else if (request.kind === "bytes") {
        response = await post(base, Buffer.from(request.bytes), counter % 2 === 0 ? "application/json" : "application/x-ndjson");
      } else {
        response = await post(base, request.text);
      }
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      expect([202, 400, 413, 415]).toContain(response.status);
      const answer = (await response.json()) as { accepted?: number; rejected?: { errors: { path: string; message: string }[] }[]; error?: { code: string; message: string } };
      if (response.status === 202) {
        for (const rejection of answer.rejected ?? []) expect(rejection.errors.length).toBeGreaterThan(0);
        if (expectedAccepted !== null) expect(answer.accepted).toBe(expectedAccepted);
      } else {
        expect(answer.error?.message.length).toBeGreaterThan(10);
      }
    }
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(validIds.size).toBeGreaterThan(1000);
    // Every valid event is on the topic, once.
    const onTopic = new Map<string, number>();
    const serde = new AvroSerde<CustomerEventRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT);
    for (const messages of (await readTopic(kafka, config.TOPIC_EVENTS)).values()) {
      await serde.prepare(messages.map((message) => message.value));
      for (const message of messages) {
        if (message.value === null) continue; // a clock advance (the wall-clock test above sends two)
        const eventId = serde.decode(message.value).eventId;
        if (eventId.startsWith("fuzz-")) onTopic.set(eventId, (onTopic.get(eventId) ?? 0) + 1);
      }
    }
    expect([...validIds].filter((id) => onTopic.get(id) !== 1)).toEqual([]);
    expect(onTopic.size).toBe(validIds.size);
    console.log(`fuzz: ${requests.length} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}, ${validIds.size} valid events all on the topic once`);
  }, 300_000);
});

