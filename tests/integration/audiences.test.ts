import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ClickHouseClient } from "@clickhouse/client";
import { createClickHouse, migrate, queryRows } from "@clm/clickhouse";
import { AUDIENCE_CHANGE_SCHEMA_TEXT, CUSTOMER_EVENT_SCHEMA_TEXT, type AudienceChangeRecord, type CustomerEventRecord } from "@clm/contracts";
import { createInputEventSchema, DEFAULT_LIFECYCLE_CONFIG, type CustomerEvent, type RfmBoundaries } from "@clm/core";
import { AudienceApi, createApiKeyCheck, createIngestMetrics, createIngestServer, CustomerReader, EventPublisher } from "@clm/ingest";
import { AvroSerde, createRegistry } from "@clm/kafka";
import { createMetricsRegistry } from "@clm/observability";
import { createProcessorMetrics, Processor } from "@clm/processor";
import { readAudienceDefinitions, readCurrentAudiences, RedisLayout, StateReader } from "@clm/state-store";
import { createSinkMetrics, Sink } from "@clm/sink";
import { createRedis, type RedisClient } from "@clm/redis";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cdnowEvents } from "./support/cdnow-events.ts";
import { coreExpectation, mismatchedStates, mismatchedTimers, type CoreExpectation } from "./support/core-expectation.ts";
import { createTopics, isolatedConfig, produceEvents, readTopic, tearDownRun, testKafka, testLogger, waitFor } from "./support/pipeline.ts";

/**
 * Audiences through the pipeline: the CDNOW sample on the input topic in two halves with audience
 * definitions created, replaced and deleted through the real API between and after them, a clock
 * advance, the real processor and sink. Member sets in Redis, the audience-change topic
 * (clm.v1.AudienceChange) and ClickHouse must equal what the pure core says; the API pages
 * members without repeating one while the stream changes them.
 */
const run = `${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
const config = isolatedConfig({ CLICKHOUSE_DATABASE: `test_${run}`, SINK_GROUP_ID: `test-${run}-sink`, SINK_FLUSH_INTERVAL_MS: "300", CLOCK_MODE: "event", PROCESSOR_REFIT_SCAN_COUNT: "200" });
const lifecycle = DEFAULT_LIFECYCLE_CONFIG;
const KEYS = { write: "aud-write", read: "aud-read", admin: "aud-admin" };
const RFM: RfmBoundaries = { recencyDays: [30, 90, 180, 365], frequency: [1, 2, 3, 5], monetaryE4: [200_000, 400_000, 800_000, 1_600_000] };
let kafka: Kafka;
let redis: RedisClient;
let clickhouse: ClickHouseClient;
let processor: Processor;
let sink: Sink;
let publisher: EventPublisher;
let server: Server;
let base: string;
let store: StateReader;
let layout: RedisLayout;
let events: CustomerEvent[];

function call(method: string, path: string, key: string, body?: unknown): Promise<Response> {
  return fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function caughtUp(expectation: Pick<CoreExpectation, "ends">): Promise<boolean> {
  for (const [partition, end] of expectation.ends) {
    const meta = await store.loadMeta(partition);
    if (meta.offset !== end || meta.audienceCursor !== null) return false;
  }
  return true;
}

async function membersInRedis(audienceId: string): Promise<Set<string>> {
  const members = new Set<string>();
  for (let partition = 0; partition < config.TOPIC_PARTITIONS; partition++) for (const id of await redis.zrange(layout.audienceMembers(partition, audienceId), 0, -1)) members.add(id);
  return members;
}

async function pageAll(audienceId: string, limit: number, between: () => Promise<void> = async () => undefined): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const response = await call("GET", `/v1/audiences/${audienceId}/members?limit=${limit}${cursor === null ? "" : `&cursor=${cursor}`}`, KEYS.read);
    expect(response.status).toBe(200);
    const page = (await response.json()) as { members: string[]; nextCursor: string | null };
    seen.push(...page.members);
    cursor = page.nextCursor;
    await between();
  } while (cursor !== null);
  return seen;
}

const expectedFor = (expected: CoreExpectation) => (audienceId: string) =>
  new Set([...expected.states].filter(([, { state }]) => state.audienceIds.includes(audienceId)).map(([customerId]) => customerId));

beforeAll(async () => {
  kafka = testKafka(config);
  redis = createRedis(config);
  clickhouse = createClickHouse(config);
  await createTopics(kafka, config);
  await migrate(clickhouse, config.CLICKHOUSE_DATABASE);
  layout = new RedisLayout(config.REDIS_KEY_PREFIX);
  store = new StateReader(redis, layout);
  const registry = createRegistry(config.SCHEMA_REGISTRY_URL);
  publisher = new EventPublisher(kafka, new AvroSerde<CustomerEventRecord>(registry, `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT), config.TOPIC_EVENTS, 10_000);
  await publisher.connect();
  const metricsRegistry = createMetricsRegistry("audiences-test");
  server = createIngestServer({
    schema: createInputEventSchema({ reportingCurrency: "USD" }),
    publisher,
    customers: new CustomerReader(store, lifecycle, config.TOPIC_PARTITIONS, () => null, "event"),
    audiences: new AudienceApi({ redis, layout, partitions: config.TOPIC_PARTITIONS, activate: (version) => publisher.activateAudiences(version), rfmBoundaries: () => RFM, maxBytes: 1 << 20 }),
    authorize: createApiKeyCheck({ write: [KEYS.write], read: [KEYS.read], admin: [KEYS.admin] }),
    metrics: createIngestMetrics(metricsRegistry),
    registry: metricsRegistry,
    checks: [],
    logger: testLogger,
    maxBytes: 5 * 1024 * 1024,
    maxEvents: 5000,
    maxFutureSkewMs: config.MAX_FUTURE_SKEW_MS,
    clockMode: "event",
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  processor = new Processor({ config, lifecycle, logger: testLogger, metrics: createProcessorMetrics(createMetricsRegistry("audiences-test-processor")), kafka, redis, registry });
  await processor.start();
  sink = new Sink({ config, lifecycle, logger: testLogger, metrics: createSinkMetrics(createMetricsRegistry("audiences-test-sink")), kafka, registry, clickhouse });
  await sink.start();
  events = await cdnowEvents("sample");
}, 300_000);

afterAll(async () => {
  await sink?.stop();
  await processor?.stop();
  await publisher?.disconnect();
  await new Promise((resolve) => server?.close(resolve));
  await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${config.CLICKHOUSE_DATABASE}` });
  await clickhouse?.close();
  await tearDownRun(kafka, redis, config);
});

describe("the audience API", () => {
  it("refuses invalid definitions naming each field and code, and needs an admin key to write", async () => {
    const invalid = await call("POST", "/v1/audiences", KEYS.admin, { name: "", filter: { stages: [], monetary: { min: 10, max: 1 }, pAlive: {}, colour: "red" } });
    expect(invalid.status).toBe(400);
    const body = (await invalid.json()) as { error: { code: string; errors: { path: string; code: string }[] } };
    expect(body.error.code).toBe("INVALID_AUDIENCE");
    expect(body.error.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: "name", code: "TOO_SMALL" }),
        expect.objectContaining({ path: "filter.stages", code: "TOO_SMALL" }),
        expect.objectContaining({ path: "filter.monetary", code: "MIN_ABOVE_MAX" }),
        expect.objectContaining({ path: "filter.pAlive", code: "EMPTY_RANGE" }),
        expect.objectContaining({ path: "filter", code: "UNRECOGNIZED_KEYS" }),
      ]),
    );
    expect((await call("POST", "/v1/audiences", KEYS.read, { name: "x", filter: {} })).status).toBe(403);
    expect((await call("GET", "/v1/audiences/nobody", KEYS.read)).status).toBe(404);
    expect((await call("GET", "/v1/audiences/nobody/members?cursor=%%%", KEYS.read)).status).toBe(400);
  });
});

describe("audiences through the pipeline (real ingest API, Kafka, processor, Redis, sink, ClickHouse)", () => {
  it("member sets, the audience-change topic and ClickHouse equal the pure core; pages never repeat a member while the stream changes them", async () => {
    const half = Math.floor(events.length / 2);
    await produceEvents(kafka, config, events.slice(0, half));
    const definitions = [
      { id: "big-spenders", name: "Big spenders", filter: { stages: ["active", "loyal"], monetary: { min: 100 } } },
      { id: "lapsing", name: "Lapsing", filter: { daysSinceLastPurchase: { min: 60, max: 180 } } },
      { id: "high-risk", name: "High risk", filter: { riskLevels: ["high"] } },
      { id: "champions", name: "Champions", filter: { rfmSegments: ["Champions", "Loyal"] } },
      { id: "engaged", name: "Engaged", filter: { interactionScore: { min: 1 } } },
      { id: "growing", name: "Growing", filter: { tenurePhases: ["growth"], purchaseCount: { min: 2 } } },
    ];
    for (const definition of definitions) {
      const created = await call("POST", "/v1/audiences", KEYS.admin, definition);
      expect(created.status).toBe(201);
      expect(await created.json()).toMatchObject({ id: definition.id, version: 1, memberCount: 0 });
    }
    expect((await call("POST", "/v1/audiences", KEYS.admin, definitions[0])).status).toBe(409);
    await produceEvents(kafka, config, events.slice(half));
    const replaced = await call("PUT", "/v1/audiences/lapsing", KEYS.admin, { name: "Lapsing", filter: { daysSinceLastPurchase: { min: 60, max: 120 } } });
    expect(replaced.status).toBe(200);
    expect(await replaced.json()).toMatchObject({ id: "lapsing", version: 2 });
    expect((await call("DELETE", "/v1/audiences/growing", KEYS.admin)).status).toBe(200);
    expect((await call("POST", "/v1/clock/advance", KEYS.admin, { to: "1998-10-01T00:00:00Z" })).status).toBe(202);

    const audienceDefinitions = (version: string) => readAudienceDefinitions(redis, layout, version);
    let expected = await coreExpectation(kafka, config, lifecycle, async () => null, audienceDefinitions);
    await waitFor(() => caughtUp(expected), "the processor to apply every record and finish its audience sweeps", 180_000);
    expect(await mismatchedStates(store, expected.states)).toEqual([]);
    expect(await mismatchedTimers(redis, layout, expected.states, lifecycle, expected.values, expected.audiences)).toEqual([]);

    const current = await readCurrentAudiences(redis, layout);
    expect(current.audiences.map((audience) => audience.id).sort()).toEqual(["big-spenders", "champions", "engaged", "high-risk", "lapsing"]);
    const membersOf = expectedFor(expected);
    for (const { id } of current.audiences) {
      const expectedMembers = membersOf(id);
      expect(await membersInRedis(id)).toEqual(expectedMembers);
      const answer = (await (await call("GET", `/v1/audiences/${id}`, KEYS.read)).json()) as { memberCount: number };
      expect(answer.memberCount).toBe(expectedMembers.size);
      const paged = await pageAll(id, 97);
      expect(new Set(paged).size).toBe(paged.length);
      expect(new Set(paged)).toEqual(expectedMembers);
    }
    // The deleted audience has no members left, and every audience was met by someone.
    expect(await membersInRedis("growing")).toEqual(new Set());
    for (const id of ["big-spenders", "lapsing", "high-risk"]) expect(membersOf(id).size).toBeGreaterThan(0);
    expect(new Set(expected.audienceChanges.map((change) => `${change.change}:${change.trigger}`))).toEqual(
      new Set(["entered:event", "left:event", "entered:timer", "left:timer", "entered:definition", "left:definition"]),
    );

    // The topic holds exactly the core's entries and exits (copies allowed).
    const serde = new AvroSerde<AudienceChangeRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_AUDIENCE_CHANGES}-value`, AUDIENCE_CHANGE_SCHEMA_TEXT);
    const expectedIds = new Set(expected.audienceChanges.map((change) => change.changeId));
    let published: AudienceChangeRecord[] = [];
    await waitFor(async () => {
      published = [];
      for (const messages of (await readTopic(kafka, config.TOPIC_AUDIENCE_CHANGES)).values()) {
        await serde.prepare(messages.map((message) => message.value));
        for (const message of messages) published.push(serde.decode(message.value));
      }
      return new Set(published.map((change) => change.changeId)).size >= expectedIds.size;
    }, "every audience change on the topic", 60_000);
    expect(new Set(published.map((change) => change.changeId))).toEqual(expectedIds);
    const byId = new Map(expected.audienceChanges.map((change) => [change.changeId, change]));
    for (const record of published) expect(record).toMatchObject({ audienceId: byId.get(record.changeId)!.audienceId, change: byId.get(record.changeId)!.change });

    const db = config.CLICKHOUSE_DATABASE;
    await waitFor(
      async () => Number((await queryRows<{ n: string }>(clickhouse, `SELECT count() AS n FROM ${db}.audience_changes_unique`))[0]!.n) === expectedIds.size,
      "ClickHouse to hold every audience change once",
      60_000,
    );

    // Paging while the stream changes members: the clock moves on in steps between pages, so
    // customers leave "lapsing" and enter "high-risk" as the pass goes; a pass never repeats a
    // member, and members present before and after the pass are all in it.
    const before = await membersInRedis("high-risk");
    let step = 0;
    const paged = await pageAll("high-risk", 7, async () => {
      if (step++ % 25 !== 0) return;
      const to = new Date(Date.UTC(1998, 9, 1) + step * 2 * 86_400_000).toISOString();
      expect((await call("POST", "/v1/clock/advance", KEYS.admin, { to })).status).toBe(202);
    });
    expected = await coreExpectation(kafka, config, lifecycle, async () => null, audienceDefinitions);
    await waitFor(() => caughtUp(expected), "the processor to apply the advances", 120_000);
    const after = await membersInRedis("high-risk");
    expect(new Set(paged).size).toBe(paged.length);
    for (const id of before) if (after.has(id)) expect(paged).toContain(id);
    expect(after).toEqual(expectedFor(expected)("high-risk"));
    expect(step).toBeGreaterThan(25);
  });
});
