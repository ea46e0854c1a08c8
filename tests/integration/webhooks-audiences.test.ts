import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { AUDIENCE_CHANGE_SCHEMA_TEXT, CUSTOMER_EVENT_SCHEMA_TEXT, type AudienceChangeRecord, type CustomerEventRecord } from "@clm/contracts";
import { createInputEventSchema, DEFAULT_LIFECYCLE_CONFIG, type CustomerEvent, type RfmBoundaries } from "@clm/core";
import { AudienceApi, createApiKeyCheck, createIngestMetrics, createIngestServer, CustomerReader, EventPublisher } from "@clm/ingest";
import { AvroSerde, createRegistry } from "@clm/kafka";
import { createMetricsRegistry } from "@clm/observability";
import { createProcessorMetrics, Processor } from "@clm/processor";
import { readAudienceDefinitions, RedisLayout, StateReader } from "@clm/state-store";
import { createRedis, type RedisClient } from "@clm/redis";
import type { Kafka } from "kafkajs";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cdnowEvents } from "./support/cdnow-events.ts";
import { envOf, freePort, startService, type RunningService } from "./support/child-service.ts";
import { coreExpectation, type CoreExpectation } from "./support/core-expectation.ts";
import { createTopics, isolatedConfig, produceEvents, readTopic, tearDownRun, testKafka, testLogger, waitFor } from "./support/pipeline.ts";

/**
 * Audience signals by webhook, per destination's chosen audiences: the CDNOW sample through the real
 * ingest API (audiences, clock advance), the real processor and the delivery service as a real
 * process. Three audiences are defined; destination A names the first, B the first two, nobody the
 * third. Each receiver (a real HTTP server verifying Standard Webhooks signatures) must get exactly
 * the audience-change topic's entries and exits of its audiences (nothing of the others), in order
 * per customer, and the topic's changes of those audiences must be the pure core's.
 */
const run = `${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
const WEBHOOKS_KEY = "aud-hooks-admin";
const KEYS = { write: "aud-hooks-write", read: "aud-hooks-read", admin: "aud-hooks-ingest-admin" };
const config = isolatedConfig({
  WEBHOOKS_GROUP_ID: `test-${run}-webhooks`,
  WEBHOOKS_RETRY_INITIAL_MS: "100",
  WEBHOOKS_RETRY_MAX_DELAY_MS: "1000",
  WEBHOOKS_POLL_MS: "200",
  INGEST_ADMIN_API_KEYS: WEBHOOKS_KEY,
  CLOCK_MODE: "event",
  PROCESSOR_REFIT_SCAN_COUNT: "200",
  LOG_LEVEL: "info",
});
const lifecycle = DEFAULT_LIFECYCLE_CONFIG;
const RFM: RfmBoundaries = { recencyDays: [30, 90, 180, 365], frequency: [1, 2, 3, 5], monetaryE4: [200_000, 400_000, 800_000, 1_600_000] };
const AUDIENCES = [
  { id: "slipping", name: "Slipping away", filter: { stages: ["active", "loyal", "at_risk"], riskLevels: ["medium", "high"] } },
  { id: "mid-spend", name: "Mid spenders", filter: { monetary: { min: 50, max: 200 } } },
  { id: "lapsing", name: "Lapsing (no destination names it)", filter: { daysSinceLastPurchase: { min: 30, max: 90 } } },
] as const;
const SUBSCRIPTIONS = { A: ["slipping"], B: ["slipping", "mid-spend"] } as const;
type Name = keyof typeof SUBSCRIPTIONS;

interface Payload {
  id: string;
  type: string;
  data: { customerId: string; version: number; audienceId: string; trigger: string };
}

/** A Standard Webhooks receiver on a real port: verifies every request, acknowledges the verified ones. */
class Receiver {
  secret = "";
  readonly firstSeen: string[] = [];
  readonly bodies = new Map<string, Payload>();
  deliveries = 0;
  badSignatures = 0;
  idMismatches = 0;
  private server: Server | null = null;
  port = 0;

  async listen(): Promise<void> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server === null) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
    const body = Buffer.concat(chunks).toString("utf8");
    const headers = { "webhook-id": String(request.headers["webhook-id"]), "webhook-timestamp": String(request.headers["webhook-timestamp"]), "webhook-signature": String(request.headers["webhook-signature"]) };
    try {
      new Webhook(this.secret).verify(body, headers);
    } catch {
      this.badSignatures++;
      return void response.writeHead(401).end();
    }
    const parsed = JSON.parse(body) as unknown;
    const messages = (Array.isArray(parsed) ? parsed : [parsed]) as Payload[];
    if (!Array.isArray(parsed) && headers["webhook-id"] !== messages[0]!.id) this.idMismatches++;
    for (const message of messages) {
      if (!this.bodies.has(message.id)) {
        this.bodies.set(message.id, message);
        this.firstSeen.push(message.id);
      }
    }
    this.deliveries += messages.length;
    response.writeHead(204).end();
  }
}

let kafka: Kafka;
let redis: RedisClient;
let processor: Processor;
let publisher: EventPublisher;
let ingest: Server;
let ingestBase = "";
let service: RunningService;
let api = "";
let store: StateReader;
let layout: RedisLayout;
let events: CustomerEvent[];
const receivers: Record<Name, Receiver> = { A: new Receiver(), B: new Receiver() };

async function call(base: string, method: string, path: string, key: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text === "" ? {} : JSON.parse(text)) as Record<string, unknown> };
}

async function caughtUp(expectation: Pick<CoreExpectation, "ends">): Promise<boolean> {
  for (const [partition, end] of expectation.ends) {
    const meta = await store.loadMeta(partition);
    if (meta.offset !== end || meta.audienceCursor !== null || (await store.outboxLength(partition)) > 0) return false;
  }
  return true;
}

beforeAll(async () => {
  kafka = testKafka(config);
  redis = createRedis(config);
  await createTopics(kafka, config);
  layout = new RedisLayout(config.REDIS_KEY_PREFIX);
  store = new StateReader(redis, layout);
  const registry = createRegistry(config.SCHEMA_REGISTRY_URL);

  // Ingest with the audience API (in process, as tests/integration/audiences.test.ts runs it).
  publisher = new EventPublisher(kafka, new AvroSerde<CustomerEventRecord>(registry, `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT), config.TOPIC_EVENTS, 10_000);
  await publisher.connect();
  const metricsRegistry = createMetricsRegistry("webhooks-audiences-test");
  ingest = createIngestServer({
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
  await new Promise<void>((resolve) => ingest.listen(0, "127.0.0.1", () => resolve()));
  ingestBase = `http://127.0.0.1:${(ingest.address() as AddressInfo).port}`;

  // The delivery service as a real process (as tests/integration/webhooks.test.ts runs it).
  for (const receiver of Object.values(receivers)) await receiver.listen();
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  service = startService("services/webhooks/src/main.ts", envOf(config, { WEBHOOKS_PORT: String(port) }));
  await service.waitForLog("webhooks running", 120_000);

  processor = new Processor({ config, lifecycle, logger: testLogger, metrics: createProcessorMetrics(createMetricsRegistry("webhooks-audiences-test-processor")), kafka, redis, registry });
  await processor.start();
  events = await cdnowEvents("sample");
}, 300_000);

afterAll(async () => {
  await processor?.stop();
  if (service && service.child.exitCode === null) {
    service.child.kill("SIGTERM");
    await service.exited;
  }
  await publisher?.disconnect();
  await new Promise((resolve) => ingest?.close(resolve));
  for (const receiver of Object.values(receivers)) await receiver.close().catch(() => undefined);
  await tearDownRun(kafka, redis, config);
});

describe("audience signals by webhook, per destination's audiences (real ingest API, processor, delivery service process, receivers)", () => {
  it("each destination receives exactly the topic's entries and exits of the audiences it names, signed, in order per customer; the topic's equal the core's", async () => {
    // Destinations first: a destination receives the signals the service reads after it was created.
    const destinationIds: Record<Name, string> = { A: "", B: "" };
    for (const name of ["A", "B"] as const) {
      const created = await call(api, "POST", "/v1/destinations", WEBHOOKS_KEY, {
        url: receivers[name].url,
        types: ["audience.entered", "audience.left"],
        audienceIds: [...SUBSCRIPTIONS[name]],
        description: `audiences test ${name}`,
      });
      expect(created.status).toBe(201);
      expect(created.body.audienceIds).toEqual([...SUBSCRIPTIONS[name]]);
      receivers[name].secret = (created.body.secrets as { secret: string }[])[0]!.secret;
      destinationIds[name] = created.body.id as string;
    }

    for (const definition of AUDIENCES) {
      const created = await call(ingestBase, "POST", "/v1/audiences", KEYS.admin, definition);
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ id: definition.id, version: 1 });
    }

    await produceEvents(kafka, config, events);
    // Timer-driven memberships move too: the event clock goes past the sample's end.
    expect((await call(ingestBase, "POST", "/v1/clock/advance", KEYS.admin, { to: "1998-10-01T00:00:00Z" })).status).toBe(202);

    const expected = await coreExpectation(kafka, config, lifecycle, async () => null, (version) => readAudienceDefinitions(redis, layout, version));
    await waitFor(() => caughtUp(expected), "the processor to apply every record, finish its audience sweeps and drain its outbox", 300_000, 250);

    // The audience-change topic as published (copies allowed), and the core's changes.
    const serde = new AvroSerde<AudienceChangeRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_AUDIENCE_CHANGES}-value`, AUDIENCE_CHANGE_SCHEMA_TEXT);
    const coreIds = new Set(expected.audienceChanges.map((change) => change.changeId));
    const topic = new Map<string, AudienceChangeRecord>();
    await waitFor(async () => {
      topic.clear();
      for (const messages of (await readTopic(kafka, config.TOPIC_AUDIENCE_CHANGES)).values()) {
        await serde.prepare(messages.map((message) => message.value));
        for (const message of messages) {
          const record = serde.decode(message.value);
          topic.set(record.changeId, record);
        }
      }
      return topic.size >= coreIds.size;
    }, "every audience change on the topic", 120_000, 250);
    expect(new Set(topic.keys())).toEqual(coreIds);
    const coreById = new Map(expected.audienceChanges.map((change) => [change.changeId, change]));
    for (const record of topic.values()) {
      const core = coreById.get(record.changeId)!;
      expect({ audienceId: record.audienceId, change: record.change, customerId: record.customerId, version: record.version }).toEqual({
        audienceId: core.audienceId, change: core.change, customerId: core.customerId, version: core.version,
      });
    }
    // Every audience was met, by entries and exits, and timers moved memberships too.
    for (const { id } of AUDIENCES) {
      const changes = [...topic.values()].filter((record) => record.audienceId === id);
      expect(changes.some((record) => record.change === "entered"), id).toBe(true);
      expect(changes.some((record) => record.change === "left"), id).toBe(true);
    }
    expect([...topic.values()].some((record) => record.trigger === "timer")).toBe(true);

    const counts: string[] = [];
    for (const name of ["A", "B"] as const) {
      const receiver = receivers[name];
      const audiences = new Set<string>(SUBSCRIPTIONS[name]);
      // Exactly the topic's changes of its audiences, which are exactly the core's of those audiences.
      const wanted = new Set([...topic.values()].filter((record) => audiences.has(record.audienceId)).map((record) => record.changeId));
      expect(wanted).toEqual(new Set(expected.audienceChanges.filter((change) => audiences.has(change.audienceId)).map((change) => change.changeId)));
      await waitFor(async () => [...wanted].every((id) => receiver.bodies.has(id)), `${name}: every signal of ${[...audiences].join(", ")}`, 300_000, 250).catch(async (error: unknown) => {
        const missing = [...wanted].filter((id) => !receiver.bodies.has(id));
        const stats = await call(api, "GET", `/v1/destinations/${destinationIds[name]}/stats`, WEBHOOKS_KEY);
        throw new Error(`${(error as Error).message}: ${missing.length} missing (${missing.slice(0, 5).join(", ")}); stats ${JSON.stringify(stats.body)}; service log:\n${service.output().split("\n").slice(-15).join("\n")}`);
      });
      expect(receiver.badSignatures, name).toBe(0);
      expect(receiver.idMismatches, name).toBe(0);
      // Nothing of other audiences, nothing invented: exactly the wanted ids.
      expect(new Set(receiver.bodies.keys()), name).toEqual(wanted);
      expect(receiver.deliveries, name).toBeGreaterThanOrEqual(wanted.size);
      // Each payload is its topic record: type, customer, version, audience.
      const mismatched = [...receiver.bodies.values()].filter((body) => {
        const record = topic.get(body.id)!;
        return body.type !== `audience.${record.change}` || body.data.customerId !== record.customerId || body.data.version !== record.version || body.data.audienceId !== record.audienceId;
      });
      expect(mismatched.map((body) => body.id), name).toEqual([]);
      // In order per customer: versions rise.
      const lastVersion = new Map<string, number>();
      const outOfOrder: string[] = [];
      for (const id of receiver.firstSeen) {
        const { data } = receiver.bodies.get(id)!;
        if ((lastVersion.get(data.customerId) ?? -1) >= data.version) outOfOrder.push(id);
        lastVersion.set(data.customerId, data.version);
      }
      expect(outOfOrder, name).toEqual([]);
      const perAudience = [...audiences].map((audienceId) => {
        const bodies = [...receiver.bodies.values()].filter((body) => body.data.audienceId === audienceId);
        expect(bodies.length, `${name} ${audienceId}`).toBeGreaterThan(0);
        return `${audienceId} ${bodies.filter((body) => body.type === "audience.entered").length} entered/${bodies.filter((body) => body.type === "audience.left").length} left`;
      });
      counts.push(`${name}: ${wanted.size} signals (${perAudience.join(", ")}), ${receiver.deliveries} deliveries, ${lastVersion.size} customers`);
    }
    const others = [...topic.values()].filter((record) => record.audienceId === "lapsing").length;
    console.log(`webhooks-audiences test: ${topic.size} audience changes on the topic (= core; ${others} of the audience no destination names); ${counts.join("; ")}`);
  }, 900_000);
});
