import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { gzipSync } from "node:zlib";
import { CUSTOMER_EVENT_SCHEMA_TEXT, type CustomerEventRecord } from "@clm/contracts";
import { createInputEventSchema, DEFAULT_LIFECYCLE_CONFIG } from "@clm/core";
import { AvroSerde, clockAdvanceMessage, createKafka, createRegistry } from "@clm/kafka";
import { createIngestMetrics, createApiKeyCheck, createIngestServer, CustomerReader, EventPublisher, INGEST_ERRORS } from "@clm/ingest";
import { createLogger, createMetricsRegistry, type HttpTimeouts, type Logger } from "@clm/observability";
import { createProcessorMetrics, Processor } from "@clm/processor";
import { RedisLayout, StateReader } from "@clm/state-store";
import { IngestClient } from "@clm/client";
import fc from "fast-check";
import { createRedis, type RedisClient } from "@clm/redis";
import type { Kafka } from "kafkajs";
import type { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTopics, isolatedConfig, readTopic, testKafka, testLogger, waitFor, tearDownRun } from "./support/pipeline.ts";
import { errorCodeOf, rawRequest } from "./support/raw-http.ts";

/** The ingest API on real Kafka, registry and Redis (with a real processor behind it). */
const config = isolatedConfig({ CLOCK_MODE: "wall" });
const KEY = "test-key-123";
let kafka: Kafka;
let redis: RedisClient;
let processor: Processor;
let publisher: EventPublisher;
const processorRegistry = createMetricsRegistry("processor");
const servers: Server[] = [];
let base: string;

async function startServer(options: { publisher: EventPublisher; maxBytes?: number; maxEvents?: number; timeouts?: HttpTimeouts; logger?: Logger; registry?: Registry }): Promise<string> {
  const registry = options.registry ?? createMetricsRegistry("ingest-test");
  const layout = new RedisLayout(config.REDIS_KEY_PREFIX);
  const server = createIngestServer({
    schema: createInputEventSchema({ reportingCurrency: "USD" }),
    publisher: options.publisher,
    customers: new CustomerReader(new StateReader(redis, layout), DEFAULT_LIFECYCLE_CONFIG, config.TOPIC_PARTITIONS, () => null),
    authorize: createApiKeyCheck({ write: [KEY, "second-key"], read: [KEY, "read-key"], admin: [KEY] }),
    metrics: createIngestMetrics(registry),
    registry,
    checks: [{ name: "redis", check: async () => void (await redis.ping()) }],
    logger: options.logger ?? testLogger,
    maxBytes: options.maxBytes ?? 1024 * 1024,
    maxEvents: options.maxEvents ?? 1000,
    maxFutureSkewMs: config.MAX_FUTURE_SKEW_MS,
    ...(options.timeouts === undefined ? {} : { timeouts: options.timeouts }),
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
  redis = createRedis(config);
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
    const store = new StateReader(redis, new RedisLayout(config.REDIS_KEY_PREFIX));
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
    // 200 days later, if nothing happens: the deadlines between are applied at read time, nothing is written
    // (new → at_risk on day 31; risk low, medium, high within at_risk on days 45, 90, 135; churned on day 180).
    const later = new Date(boughtAt + 200 * 86_400_000).toISOString();
    expect(await (await get(`/v1/customers/ivy?asOf=${later}`)).json()).toMatchObject({ asOf: later, asOfClock: "requested", stage: "churned", churnRisk: "high", nextDeadline: null, version: 6 });
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

describe("malformed requests", () => {
  const get = (path: string) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${KEY}` } });
  const errorOf = async (response: Response) => [response.status, ((await response.json()) as { error: { code: string } }).error.code];
  const portOf = (url: string) => Number(new URL(url).port);

  it("answers customer paths that are no id and transitions limits outside 1..100 with 400, never 500 or a clamp", async () => {
    for (const path of ["/v1/customers/%ZZ", "/v1/customers/%E0%A4%A", "/v1/customers/%E0%A4%A/transitions", "/v1/customers/%ED%A0%80", "/v1/customers/a%00b", "/v1/customers/%0A", "/v1/customers/%20%20", `/v1/customers/${"x".repeat(129)}`]) {
      expect([path, ...(await errorOf(await get(path)))]).toEqual([path, 400, "INVALID_PATH"]);
    }
    for (const limit of ["1.5", "0", "101", "-1", "abc", "", "1e2", "0x10", "1000"]) {
      expect([limit, ...(await errorOf(await get(`/v1/customers/nobody/transitions?limit=${limit}`)))]).toEqual([limit, 400, "INVALID_PARAMETER"]);
    }
    for (const limit of ["1", "100", "007"]) expect(await errorOf(await get(`/v1/customers/nobody/transitions?limit=${limit}`))).toEqual([404, "NOT_FOUND"]);
    expect(await errorOf(await get("/v1/customers/nobody/transitions"))).toEqual([404, "NOT_FOUND"]);
    expect(await errorOf(await get(`/v1/customers/${encodeURIComponent("nö body/ü")}`))).toEqual([404, "NOT_FOUND"]);
  });

  it("answers a request whose body never completes with 408 within the request timeout, and closes idle connections", async () => {
    const timeouts = { headersTimeoutMs: 400, requestTimeoutMs: 800, keepAliveTimeoutMs: 300 };
    const url = await startServer({ publisher, timeouts });
    const truncated = await rawRequest(portOf(url), `POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{"eventId":`, { timeoutMs: 10_000 });
    expect([truncated.status, errorCodeOf(truncated)]).toEqual([408, "REQUEST_TIMEOUT"]);
    expect(truncated.ms).toBeLessThan(timeouts.requestTimeoutMs + 1000);
    const slowHeaders = await rawRequest(portOf(url), "GET /healthz HTTP/1.1\r\nHost: x\r\n", { timeoutMs: 10_000 });
    expect([slowHeaders.status, errorCodeOf(slowHeaders)]).toEqual([408, "REQUEST_TIMEOUT"]);
    expect(slowHeaders.ms).toBeLessThan(timeouts.headersTimeoutMs + 1000);
    const silent = await rawRequest(portOf(url), "", { timeoutMs: 10_000 });
    expect(silent.status === 408 || silent.closed).toBe(true);
    expect(silent.ms).toBeLessThan(timeouts.headersTimeoutMs + 1000);
    const keptAlive = await rawRequest(portOf(url), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", { timeoutMs: 10_000, untilClose: true });
    expect([keptAlive.status, keptAlive.closed]).toEqual([200, true]);
    // Node holds a kept-alive socket one second past the timeout it advertises, so a client never reuses a closing one.
    expect(keptAlive.ms).toBeLessThan(timeouts.keepAliveTimeoutMs + 2000);
  });

  it("takes a client that closes mid-body as no error: logged at debug level, counted as aborted", async () => {
    const lines: { level: number; msg: string }[] = [];
    const logger = createLogger({ service: "ingest-test", level: "debug", destination: new Writable({ write: (chunk: Buffer, _encoding, done) => void (lines.push(JSON.parse(chunk.toString()) as never), done()) }) });
    const registry = createMetricsRegistry("ingest-abort-test");
    const url = await startServer({ publisher, logger, registry });
    const socket = connect(portOf(url), "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(`POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{"eventId":`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.destroy();
    await waitFor(async () => (await registry.metrics()).includes('status="aborted"'), "the abort counted", 5000);
    expect(await registry.metrics()).toMatch(/clm_ingest_requests_total\{route="events",status="aborted"[^}]*\} 1/);
    expect(lines.filter((line) => line.level >= 40)).toEqual([]);
    expect(lines.map((line) => line.msg)).toContain("client closed the connection before the answer");
  });

  it("takes gzip bodies (the byte limit also decompressed), plain identity bodies, and refuses other codings and fake gzip", async () => {
    const batch = (prefix: string) => JSON.stringify([purchase(`${prefix}-1`, `${prefix}-customer`), purchase(`${prefix}-2`, `${prefix}-customer`)]);
    const postEncoded = (url: string, body: Buffer | string, encoding: string) =>
      fetch(`${url}/v1/events`, { method: "POST", body, headers: { "content-type": "application/json", "content-encoding": encoding, authorization: `Bearer ${KEY}` } });
    const gzipped = await postEncoded(base, gzipSync(batch("gzip")), "gzip");
    expect([gzipped.status, await gzipped.json()]).toEqual([202, { accepted: 2, rejected: [] }]);
    expect((await postEncoded(base, gzipSync(batch("xgzip")), "x-gzip")).status).toBe(202);
    expect((await postEncoded(base, batch("identity"), "identity")).status).toBe(202);
    for (const encoding of ["br", "deflate", "compress", "gzip, br", "zstd"]) {
      expect([encoding, ...(await errorOf(await postEncoded(base, batch("coded"), encoding)))]).toEqual([encoding, 415, "UNSUPPORTED_CONTENT_ENCODING"]);
    }
    expect(await errorOf(await postEncoded(base, batch("fake"), "gzip"))).toEqual([400, "INVALID_COMPRESSION"]);
    expect(await errorOf(await postEncoded(base, gzipSync(batch("cut")).subarray(0, 30), "gzip"))).toEqual([400, "INVALID_COMPRESSION"]);
    // A zip bomb: 64 MiB of JSON whitespace in 64 KiB of gzip, against a 1 MiB limit.
    const bomb = gzipSync(Buffer.concat([Buffer.from("["), Buffer.alloc(64 * 1024 * 1024, " "), Buffer.from("]")]));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const refused = await postEncoded(base, bomb, "gzip");
    expect(refused.status).toBe(413);
    expect(await refused.json()).toMatchObject({ error: { code: "BODY_TOO_LARGE", message: expect.stringContaining("decompressed") } });
    expect(await errorOf(await postEncoded(base, Buffer.alloc(0), "gzip"))).toEqual([400, "INVALID_COMPRESSION"]);
    const small = await startServer({ publisher, maxBytes: 2000 });
    expect(await errorOf(await postEncoded(small, gzipSync(randomBytes(5000)), "gzip"))).toEqual([413, "BODY_TOO_LARGE"]);
  });

  it("refuses bodies that are not UTF-8 and charsets other than UTF-8, instead of merging ids into U+FFFD", async () => {
    // A customerId of "a" and the given bytes; before, 0xff and 0xfe both became "a\ufffd", one customer.
    const [before, after] = JSON.stringify([purchase("bytes-1", "PLACEHOLDER")]).split("PLACEHOLDER") as [string, string];
    const withBytes = (customerBytes: number[]) => Buffer.concat([Buffer.from(before), Buffer.from([0x61, ...customerBytes]), Buffer.from(after)]);
    for (const bytes of [[0xff], [0xfe], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xe0, 0xa4]]) {
      expect([bytes, ...(await errorOf(await post(base, withBytes(bytes))))]).toEqual([bytes, 400, "INVALID_UTF8"]);
      expect([bytes, ...(await errorOf(await post(base, withBytes(bytes), "application/x-ndjson")))]).toEqual([bytes, 400, "INVALID_UTF8"]);
    }
    expect((await post(base, withBytes([0xc3, 0xa9]))).status).toBe(202);
    for (const contentType of ["application/json; charset=iso-8859-1", "application/json;charset=utf-16", "application/x-ndjson; charset=us-ascii", 'application/json; charset="latin1"', "application/json; charset=nonsense"]) {
      expect([contentType, ...(await errorOf(await post(base, "[]", contentType)))]).toEqual([contentType, 415, "UNSUPPORTED_CHARSET"]);
    }
    for (const contentType of ["application/json; charset=utf-8", "application/json;charset=UTF-8", 'application/json; charset="utf8"', "application/x-ndjson; charset=utf-8"]) {
      expect([contentType, (await post(base, "[]", contentType)).status]).toEqual([contentType, 202]);
    }
  });

  it("rejects, per item with a code, ids that are blank, hold control characters or are not well-formed Unicode", async () => {
    // JSON escapes reach every code unit, lone surrogates included; the text is written by hand so nothing replaces them.
    const item = (eventId: string, customerId: string, orderId = "o-1") =>
      `{"eventId":"${eventId}","type":"purchase","customerId":"${customerId}","occurredAt":"${new Date().toISOString()}","properties":{"orderId":"${orderId}","amount":"1.00","currency":"USD"}}`;
    const support = `{"eventId":"ids-9","type":"support","customerId":"ids-ok","occurredAt":"${new Date().toISOString()}","properties":{"ticketId":"t\\u0085","action":"opened"}}`;
    const body = `[${[
      item("ids-1", "ids-ok"),
      item("ids-2", "\\ud800"),
      item("ids-3", "a\\udc00b"),
      item("ids-4", "   "),
      item("ids-5", "a\\u0000"),
      item("ids-6", "line\\nbreak"),
      item("\\t", "ids-ok"),
      item("ids-8", "ids-ok", "\\u001b[31m"),
      support,
      item("ids-10", "\\ud83d\\ude00"),
    ].join(",")}]`;
    const response = await post(base, body);
    expect(response.status).toBe(202);
    const answer = (await response.json()) as { accepted: number; rejected: { index: number; errors: { path: string; code?: string }[] }[] };
    expect(answer.accepted).toBe(2);
    expect(answer.rejected.map((rejection) => [rejection.index, rejection.errors.map((error) => `${error.path} ${error.code}`)])).toEqual([
      [1, ["customerId ID_LONE_SURROGATE"]],
      [2, ["customerId ID_LONE_SURROGATE"]],
      [3, ["customerId ID_BLANK"]],
      [4, ["customerId ID_CONTROL_CHARACTER"]],
      [5, ["customerId ID_CONTROL_CHARACTER"]],
      [6, ["eventId ID_CONTROL_CHARACTER"]],
      [7, ["properties.orderId ID_CONTROL_CHARACTER"]],
      [8, ["properties.ticketId ID_CONTROL_CHARACTER"]],
    ]);
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
      fc.constantFrom("\ud800", "a\udfffb", " \t ", "a\u0000", "x\ny", "\u0085").chain((id) =>
        fc.constantFrom(purchase("bad-id", id), purchase(id, "x"), { ...purchase("bad-order", "x"), properties: { orderId: id, amount: "1.00", currency: "USD" } }),
      ),
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

  it("answers thousands of malformed requests — targets, paths, queries, headers, encodings, charsets, bodies — with a catalogued 4xx or a 2xx, never a 5xx or a hang, and stays up", async () => {
    const timeouts = { headersTimeoutMs: 1000, requestTimeoutMs: 1500, keepAliveTimeoutMs: 500 };
    const url = await startServer({ publisher, timeouts });
    const port = Number(new URL(url).port);
    let counter = 0;
    const batch = () => JSON.stringify([purchase(`fuzzhttp-${++counter}`, `fuzzhttp-customer-${counter % 11}`, "1.25")]);
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024, " "));

    const query = fc.oneof(
      fc.constant(""),
      fc.tuple(fc.constantFrom("limit", "limit", "x", "", "limit[]", "%ZZ"), fc.oneof(fc.integer({ min: -5, max: 200 }).map(String), fc.double().map(String), fc.string({ maxLength: 6 }), fc.constantFrom("%ZZ", "%E0%A4%A", "1.5", ""))).map(([key, value]) => `?${key}=${value}`),
    );
    const segment = fc.oneof(
      fc.constantFrom("v1", "v1", "customers", "customers", "events", "transitions", "healthz", "metrics", "..", ".", "", "%ZZ", "%E0%A4%A", "%00", "%0A", "%ED%A0%80", "%2F", "%20%20", "fuzzhttp-customer-1", "x".repeat(200)),
      fc.string({ unit: fc.constantFrom(..."abcZ0189%-._~!$&'()*+,;=:@[]\\^`{|}\"<>"), maxLength: 12 }),
    );
    const target = fc.oneof(
      { weight: 5, arbitrary: fc.tuple(fc.array(segment, { maxLength: 5 }), query).map(([segments, search]) => `/${segments.join("/")}${search}`) },
      { weight: 3, arbitrary: fc.tuple(fc.constantFrom("/v1/events", "/v1/customers/fuzzhttp-customer-1", "/v1/customers/fuzzhttp-customer-1/transitions", "/healthz"), query).map(([path, search]) => path + search) },
      { weight: 2, arbitrary: fc.constantFrom("*", "http://[::1/x", "http://host/v1/events", "HTTPS://h:1/healthz?x", "http://h/v1/customers/%ZZ", "ftp://x/y", "foo", "//x/v1/events", "http://", "h:1", "/\u00e9", "/a b", "/\u0000") },
      { weight: 1, arbitrary: fc.string({ unit: "binary-ascii", maxLength: 30 }) },
    );
    const header = fc.oneof(
      fc.tuple(fc.constantFrom("Transfer-Encoding", "Expect", "Content-Length", "Connection", "Upgrade", "X-Fuzz", "Authorization", "Content-Type"), fc.oneof(fc.constantFrom("chunked", "100-continue", "0", "99999", "-1", "websocket", "keep-alive", "gzip"), fc.string({ maxLength: 20 }))),
      fc.tuple(fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 10 }), fc.string({ unit: "binary-ascii", maxLength: 20 })),
      fc.constant(["X-Long", "v".repeat(20_000)] as [string, string]),
    );
    // Each part of a request is mostly right and sometimes wrong, so the wrong ones reach every stage: routing, auth, headers, body.
    const mostly = <T,>(right: fc.Arbitrary<T>, wrong: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: right }, { weight: 1, arbitrary: wrong });
    const rawBody = mostly(
      fc.constant("batch").map(() => Buffer.from(batch())),
      fc.oneof(
        fc.constant("ndjson").map(() => Buffer.from((JSON.parse(batch()) as unknown[]).map((event) => JSON.stringify(event)).join("\n"))),
        fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
        fc.constantFrom([0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80]).map((bytes) => Buffer.concat([Buffer.from('[{"eventId":"'), Buffer.from(bytes), Buffer.from('"}]')])),
        fc.constantFrom('[{"eventId":"\\ud800"}]', "[]", "{}", "", "[1,2,3]").map((text) => Buffer.from(text)),
      ),
    );
    const request = fc.record({
      method: mostly(fc.constantFrom("POST", "POST", "GET"), fc.constantFrom("PUT", "DELETE", "OPTIONS", "HEAD", "PATCH", "CONNECT", "BREW", "get")),
      target: mostly(fc.constantFrom("/v1/events", "/v1/events", "/v1/events", "/v1/customers/fuzzhttp-customer-1", "/v1/customers/fuzzhttp-customer-1/transitions?limit=5"), target),
      authorization: mostly(fc.constant<string | null>(`Bearer ${KEY}`), fc.constantFrom("Bearer wrong", "", "Basic eDp5", null)),
      contentType: mostly(
        fc.constantFrom<string | null>("application/json", "application/json", "application/json; charset=utf-8", "application/x-ndjson"),
        fc.oneof(fc.constantFrom('application/json; charset="UTF-8"', "application/json; charset=iso-8859-1", "application/x-ndjson; charset=utf-16", "text/plain", "application/json;;;", "", "*/*", null), fc.string({ maxLength: 40 })),
      ),
      contentEncoding: mostly(fc.constantFrom<string | null>(null, null, "gzip", "identity"), fc.constantFrom("br", "deflate", "gzip, gzip", "x-gzip", "GZIP", " ", "gzip;q=1", "gzip, br")),
      // How the body is really sent: as declared, or not.
      compression: mostly(fc.constant("as declared"), fc.constantFrom("plain", "gzip", "cut gzip", "bomb", "shorter than its Content-Length")),
      extraHeaders: mostly(fc.constant<[string, string][]>([]), fc.array(header, { minLength: 1, maxLength: 2 })),
      rawBody,
    }).map(({ rawBody: plain, compression, ...rest }) => {
      const declaredGzip = /gzip/i.test(rest.contentEncoding ?? "");
      const body =
        compression === "bomb" ? bomb
        : compression === "cut gzip" ? gzipSync(plain).subarray(0, 15)
        : compression === "gzip" || (compression === "as declared" && declaredGzip) ? gzipSync(plain)
        : plain;
      return { ...rest, compression, body };
    });

    const samples = fc.sample(request, { numRuns: 1500, seed: 20261207 });
    const statuses = new Map<string, number>();
    const answerOf = async (sample: (typeof samples)[number]) => {
      const lines = [`${sample.method} ${sample.target} HTTP/1.1`, "Host: fuzz", "Connection: close"];
      if (sample.authorization !== null) lines.push(`Authorization: ${sample.authorization}`);
      if (sample.contentType !== null) lines.push(`Content-Type: ${sample.contentType}`);
      if (sample.contentEncoding !== null) lines.push(`Content-Encoding: ${sample.contentEncoding}`);
      for (const [name, value] of sample.extraHeaders) lines.push(`${name}: ${value}`);
      lines.push(`Content-Length: ${sample.body.length + (sample.compression === "shorter than its Content-Length" ? 10 : 0)}`);
      const bytes = Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), sample.body]);
      return { sample, answer: await rawRequest(port, bytes, { timeoutMs: timeouts.requestTimeoutMs + 5000 }) };
    };
    const problems: string[] = [];
    for (let start = 0; start < samples.length; start += 6) {
      for (const { sample, answer } of await Promise.all(samples.slice(start, start + 6).map(answerOf))) {
        const seen = answer.status === null ? (answer.closed ? "closed" : "hang") : String(answer.status);
        statuses.set(seen, (statuses.get(seen) ?? 0) + 1);
        const shown = JSON.stringify({ ...sample, body: `${sample.body.length} bytes` }).slice(0, 500);
        if (answer.status === null) {
          problems.push(`${seen}: ${shown}`);
          continue;
        }
        if (answer.status >= 500 || answer.status < 200 || (answer.status >= 300 && answer.status < 400)) problems.push(`${answer.status} ${answer.body.slice(0, 200)}: ${shown}`);
        if (answer.status >= 400 && sample.method !== "HEAD") {
          const code = errorCodeOf(answer);
          const entry = code === null ? undefined : (INGEST_ERRORS as Record<string, { status: number }>)[code];
          if (entry?.status !== answer.status) problems.push(`${answer.status} without a catalogued code (${answer.body.slice(0, 200)}): ${shown}`);
        }
      }
    }
    console.log(`fuzz (requests): ${samples.length} requests, answers ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
    expect(problems).toEqual([]);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(statuses.get("202") ?? 0).toBeGreaterThan(100);
  }, 300_000);
});
