import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { RISK_CHANGE_SCHEMA_TEXT, STAGE_CHANGE_SCHEMA_TEXT, VALUE_TIER_CHANGE_SCHEMA_TEXT, type RiskChangeRecord, type StageChangeRecord, type ValueTierChangeRecord } from "@clm/contracts";
import { DEFAULT_LIFECYCLE_CONFIG, type CustomerEvent } from "@clm/core";
import { AvroSerde, createIdempotentProducer, createRegistry } from "@clm/kafka";
import { createMetricsRegistry } from "@clm/observability";
import { createProcessorMetrics, Processor } from "@clm/processor";
import { RedisLayout, StateReader } from "@clm/state-store";
import { WebhookKeys } from "@clm/destinations";
import { createRedis, scanAllKeys, type RedisClient } from "@clm/redis";
import type { Kafka } from "kafkajs";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cdnowEvents } from "./support/cdnow-events.ts";
import { envOf, freePort, startService, type RunningService } from "./support/child-service.ts";
import { coreExpectation } from "./support/core-expectation.ts";
import { createTopics, isolatedConfig, produceEvents, readTopic, tearDownRun, testKafka, testLogger, waitFor } from "./support/pipeline.ts";

/**
 * Webhooks end to end: the CDNOW sample through the real processor, its stage changes (and a few
 * value-tier changes put on their topic) through the delivery service as a real process, to
 * receivers that are real HTTP servers started here. They verify every signature with the
 * `standardwebhooks` package, fail on purpose (5xx, 429 with Retry-After, answers after the
 * timeout, reset connections), one is slow and closed for a while, and the service is killed with
 * SIGKILL mid-way and restarted. Every expected signal must arrive at every destination (the topic's
 * and the pure core's ids), in order per customer, duplicates only under the same webhook-id.
 */
const run = `${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
const KEY = "webhooks-admin-key";
const ENTRY = "services/webhooks/src/main.ts";
const config = isolatedConfig({
  WEBHOOKS_GROUP_ID: `test-${run}-webhooks`,
  WEBHOOKS_RETRY_INITIAL_MS: "100",
  WEBHOOKS_RETRY_MAX_DELAY_MS: "1000",
  WEBHOOKS_REQUEST_TIMEOUT_MS: "700",
  WEBHOOKS_POLL_MS: "200",
  WEBHOOKS_MAX_IN_FLIGHT: "8",
  INGEST_ADMIN_API_KEYS: KEY,
  LOG_LEVEL: "info",
});

let seed = Number(process.env.WEBHOOKS_TEST_SEED ?? Date.now() % 100_000);
const SEED = seed;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a receiver saw: ids in the order first acknowledged, every acknowledged delivery, signature failures. */
interface Received {
  firstSeen: string[];
  seen: Set<string>;
  deliveries: number;
  badSignatures: number;
  idMismatches: number;
  rotatedVerified: number;
  bodies: Map<string, { type: string; data: { customerId: string; version: number } }>;
}

type Behaviour = (request: IncomingMessage, response: ServerResponse, ids: string[]) => Promise<"ok" | "handled">;

/** A Standard Webhooks receiver on a real port: verifies, then asks `behaviour` whether to acknowledge. */
class Receiver {
  readonly received: Received = { firstSeen: [], seen: new Set(), deliveries: 0, badSignatures: 0, idMismatches: 0, rotatedVerified: 0, bodies: new Map() };
  secret = "";
  previousSecret: string | null = null;
  private server: Server | null = null;
  port = 0;

  constructor(private readonly behaviour: Behaviour) {}

  async listen(port = 0): Promise<void> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.server!.listen(port, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Down: refuses connections (and drops those open) until listen() again. */
  async close(): Promise<void> {
    const server = this.server!;
    this.server = null;
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
    const verifies = (secret: string) => {
      try {
        new Webhook(secret).verify(body, headers);
        return true;
      } catch {
        return false;
      }
    };
    const verified = verifies(this.secret);
    // During a rotation's overlap both secrets sign: a receiver still on the previous one verifies too.
    if (verified && this.previousSecret !== null && headers["webhook-signature"].split(" ").length === 2 && verifies(this.previousSecret)) this.received.rotatedVerified++;
    if (!verified) {
      this.received.badSignatures++;
      return void response.writeHead(401).end();
    }
    const parsed = JSON.parse(body) as unknown;
    const messages = (Array.isArray(parsed) ? parsed : [parsed]) as { id: string; type: string; data: { customerId: string; version: number } }[];
    if (!Array.isArray(parsed) && headers["webhook-id"] !== messages[0]!.id) this.received.idMismatches++;
    const ids = messages.map((message) => message.id);
    if ((await this.behaviour(request, response, ids)) === "handled") return;
    for (const message of messages) {
      if (!this.received.seen.has(message.id)) {
        this.received.seen.add(message.id);
        this.received.firstSeen.push(message.id);
        this.received.bodies.set(message.id, message);
      }
    }
    this.received.deliveries += messages.length;
    response.writeHead(204).end();
  }
}

/** Fails a share of requests in every way a destination fails, answers some after the sender's timeout. */
const flaky: Behaviour = async (request, response) => {
  const roll = random();
  if (roll < 0.08) {
    response.writeHead(503).end();
    return "handled";
  }
  if (roll < 0.12) {
    response.writeHead(429, { "retry-after": "1" }).end();
    return "handled";
  }
  if (roll < 0.15) {
    request.socket.destroy();
    return "handled";
  }
  if (roll < 0.17) {
    // Answered (and so recorded) after the sender gave up: the retry is a duplicate under the same webhook-id.
    await sleep(1000);
    return "ok";
  }
  return "ok";
};

/** Slow: every answer takes 20–120 ms. */
const slow: Behaviour = async () => {
  await sleep(20 + random() * 100);
  return "ok";
};

/** Refuses (422, permanent) every message of customers whose id ends in 7 until `accepting` is set. */
let picky = { accepting: false, refused: 0 };
const refusing: Behaviour = async (_request, response, ids) => {
  if (!picky.accepting && ids.some((id) => id.split(":")[0]!.endsWith("7"))) {
    picky.refused++;
    response.writeHead(422).end();
    return "handled";
  }
  return "ok";
};

let kafka: Kafka;
let redis: RedisClient;
let processor: Processor;
let service: RunningService;
let env: NodeJS.ProcessEnv;
let api = "";
let events: CustomerEvent[];
const receivers = { flaky: new Receiver(flaky), batched: new Receiver(slow), refusing: new Receiver(refusing) };
const destinations: Record<keyof typeof receivers, string> = { flaky: "", batched: "", refusing: "" };
const tierChanges: ValueTierChangeRecord[] = [];

async function call(method: string, path: string, body?: unknown, key: string | null = KEY): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${api}${path}`, {
    method,
    headers: { ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function startWebhooks(): RunningService {
  return startService(ENTRY, env);
}

beforeAll(async () => {
  kafka = testKafka(config);
  redis = createRedis(config);
  await createTopics(kafka, config);
  for (const receiver of Object.values(receivers)) await receiver.listen();
  const port = await freePort();
  env = envOf(config, { WEBHOOKS_PORT: String(port) });
  api = `http://127.0.0.1:${port}`;
  service = startWebhooks();
  await service.waitForLog("webhooks running", 120_000);
  processor = new Processor({ config, lifecycle: DEFAULT_LIFECYCLE_CONFIG, logger: testLogger, metrics: createProcessorMetrics(createMetricsRegistry("webhooks-test-processor")), kafka, redis, registry: createRegistry(config.SCHEMA_REGISTRY_URL) });
  await processor.start();
  events = await cdnowEvents("sample");
}, 180_000);

afterAll(async () => {
  await processor?.stop();
  if (service && service.child.exitCode === null) {
    service.child.kill("SIGTERM");
    await service.exited;
  }
  for (const receiver of Object.values(receivers)) await receiver.close().catch(() => undefined);
  await tearDownRun(kafka, redis, config);
});

describe(`webhooks (real processor, delivery service process, receivers; seed ${SEED})`, () => {
  it("manages destinations over the API: admin keys only, validated bodies, secrets shown once", async () => {
    expect((await call("GET", "/v1/destinations", undefined, null)).status).toBe(401);
    expect((await call("GET", "/v1/destinations", undefined, "wrong")).status).toBe(401);
    const invalid = await call("POST", "/v1/destinations", { url: "ftp://x", types: ["stage.changed"] });
    expect(invalid.status).toBe(400);
    expect((invalid.body.error as { code: string }).code).toBe("INVALID_BODY");
    expect((await call("POST", "/v1/destinations", { url: receivers.flaky.url, types: ["nope"] })).status).toBe(400);
    expect((await call("PUT", "/v1/destinations")).status).toBe(405);

    const types = ["stage.changed", "tier.changed", "risk.changed"];
    for (const [name, options] of [
      ["flaky", { maxBatch: 1 }],
      ["batched", { maxBatch: 25, lanes: 16 }],
      ["refusing", { maxBatch: 1 }],
    ] as const) {
      const created = await call("POST", "/v1/destinations", { url: receivers[name].url, types, description: `test ${name}`, ...options });
      expect(created.status).toBe(201);
      const secrets = created.body.secrets as { secret: string; expiresAt: string | null }[];
      expect(secrets).toHaveLength(1);
      expect(secrets[0]!.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
      receivers[name].secret = secrets[0]!.secret;
      destinations[name] = created.body.id as string;
    }
    const listed = await call("GET", "/v1/destinations");
    const shown = (listed.body.destinations as { id: string; secrets: { secret: string }[] }[]).find((entry) => entry.id === destinations.flaky)!;
    expect(shown.secrets[0]!.secret).toMatch(/^whsec_…/);
  });

  it("delivers every signal to every destination, signed, in order per customer, through failures, an outage and a kill -9", async () => {
    // Value-tier changes on their topic, as the processor writes them (versions per customer ascending).
    const tierSerde = new AvroSerde<ValueTierChangeRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_VALUE_TIER_CHANGES}-value`, VALUE_TIER_CHANGE_SCHEMA_TEXT);
    await tierSerde.register();
    const tiers = ["base", "potential", "high_value", "warning"] as const;
    for (let customer = 0; customer < 40; customer++) {
      for (let version = 1; version <= 4; version++) {
        tierChanges.push({
          changeId: `tier-${customer}:${version}`, customerId: `tier-${customer}`, version, fromTier: version === 1 ? null : tiers[version - 2]!, toTier: tiers[version - 1]!,
          reasonCode: "CLV_AT_POTENTIAL_CUT", reasonNumbers: { clv: 10 * version }, occurredAt: Date.UTC(1998, 0, version), trigger: "refit", eventId: null,
          modelVersion: "m-test", pAlive: 0.5, expectedPurchases: 1.5, expectedSpend: 20, predictedClv: 30, monetaryTotal: 123_4500,
        });
      }
    }
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    await producer.send({ topic: config.TOPIC_VALUE_TIER_CHANGES, acks: -1, messages: tierChanges.map((change) => ({ key: change.customerId, value: tierSerde.encode(change) })) });
    await producer.disconnect();

    // The sample in two halves; the delivery service is killed while the first half is being delivered.
    const half = Math.floor(events.length / 2);
    await produceEvents(kafka, config, events.slice(0, half));
    await waitFor(async () => receivers.flaky.received.seen.size >= 400, "the flaky destination to receive some signals", 120_000, 50);
    service.child.kill("SIGKILL");
    await service.exited;
    await produceEvents(kafka, config, events.slice(half));
    await sleep(500);
    service = startWebhooks();
    await service.waitForLog("webhooks running", 120_000);

    // A secret rotation while signals flow: both secrets sign during the overlap; the receiver moves to the new one.
    const rotated = await call("POST", `/v1/destinations/${destinations.flaky}/rotate-secret`, { overlapSeconds: 3600 });
    expect(rotated.status).toBe(200);
    const rotatedSecrets = rotated.body.secrets as { secret: string; expiresAt: string | null }[];
    expect(rotatedSecrets).toHaveLength(2);
    expect(rotatedSecrets[0]!.expiresAt).toBeNull();
    receivers.flaky.previousSecret = receivers.flaky.secret;
    receivers.flaky.secret = rotatedSecrets[0]!.secret;

    // The batching destination is down for a while, then back on the same port.
    await receivers.batched.close();
    await sleep(3000);
    await receivers.batched.listen(receivers.batched.port);

    // What the processor published, and what the pure core says it must have.
    const store = new StateReader(redis, new RedisLayout(config.REDIS_KEY_PREFIX));
    const input = await readTopic(kafka, config.TOPIC_EVENTS);
    await waitFor(async () => {
      for (const [partition, messages] of input) {
        if ((await store.loadMeta(partition)).offset !== (BigInt(messages.at(-1)!.offset) + 1n).toString() || (await store.outboxLength(partition)) > 0) return false;
      }
      return true;
    }, "the processor to apply the sample and drain its outbox", 180_000);
    const core = await coreExpectation(kafka, config, DEFAULT_LIFECYCLE_CONFIG);
    const published = await readTopic(kafka, config.TOPIC_STAGE_CHANGES);
    const stageSerde = new AvroSerde<StageChangeRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_STAGE_CHANGES}-value`, STAGE_CHANGE_SCHEMA_TEXT);
    const topicIds = new Set<string>();
    for (const messages of published.values()) {
      await stageSerde.prepare(messages.map((message) => message.value));
      for (const message of messages) topicIds.add(stageSerde.decode(message.value).transitionId);
    }
    expect([...topicIds].sort()).toEqual([...core.transitionIds].sort());
    // Risk changes come from the same processor: the core's set, as published on their topic.
    const riskSerde = new AvroSerde<RiskChangeRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_RISK_CHANGES}-value`, RISK_CHANGE_SCHEMA_TEXT);
    const riskIds = new Set<string>();
    for (const messages of (await readTopic(kafka, config.TOPIC_RISK_CHANGES)).values()) {
      await riskSerde.prepare(messages.map((message) => message.value));
      for (const message of messages) riskIds.add(riskSerde.decode(message.value).changeId);
    }
    expect([...riskIds].sort()).toEqual([...core.riskChangeIds].sort());
    expect(core.riskChangeIds.size).toBeGreaterThan(0);
    const expected = new Set([...core.transitionIds, ...core.riskChangeIds, ...tierChanges.map((change) => change.changeId)]);
    expect(core.transitionIds.size).toBeGreaterThan(1000);

    // The refusing destination dead-letters customers ending in 7; replayed once it accepts them.
    const endingIn7 = [...expected].filter((id) => id.split(":")[0]!.endsWith("7"));
    await waitFor(async () => {
      const stats = (await call("GET", `/v1/destinations/${destinations.refusing}/stats`)).body as { deadLetters: number };
      return stats.deadLetters === endingIn7.length && [...expected].every((id) => id.split(":")[0]!.endsWith("7") || receivers.refusing.received.seen.has(id));
    }, "the refusing destination: every other signal delivered, those of customers ending in 7 dead-lettered", 240_000, 250);
    const letters: { id: string; reason: string; attempts: number; lastError: string }[] = [];
    for (let page: typeof letters = []; letters.length === 0 || page.length === 500; ) {
      page = (await call("GET", `/v1/destinations/${destinations.refusing}/dead-letters?limit=500&offset=${letters.length}`)).body.deadLetters as typeof letters;
      letters.push(...page);
      if (page.length === 0) break;
    }
    expect(letters.map((letter) => letter.id).sort()).toEqual(endingIn7.sort());
    // Permanent at its first 422 (a try before it may have met a closing kept-alive connection: a retry).
    expect(letters.filter((letter) => letter.reason !== "permanent" || letter.attempts < 1 || letter.lastError !== "status 422")).toEqual([]);
    picky = { ...picky, accepting: true };
    const replayed = await call("POST", `/v1/destinations/${destinations.refusing}/replay`, {});
    expect(replayed.body).toEqual({ replayed: endingIn7.length });

    for (const [name, receiver] of Object.entries(receivers)) {
      await waitFor(async () => [...expected].every((id) => receiver.received.seen.has(id)), `${name}: every expected signal`, Number(process.env.WEBHOOKS_TEST_WAIT_MS ?? 240_000), 250).catch(async (error: unknown) => {
        const missing = [...expected].filter((id) => !receiver.received.seen.has(id));
        const stats = await call("GET", `/v1/destinations/${destinations[name as keyof typeof destinations]}/stats`);
        throw new Error(`${(error as Error).message}: ${missing.length} missing (${missing.slice(0, 5).join(", ")}); queue ${JSON.stringify(stats.body)}; service log:\n${service.output().split("\n").filter((line) => !line.includes('"level":30')).slice(-15).join("\n")}`);
      });
      const { received } = receiver;
      expect(received.badSignatures, name).toBe(0);
      expect(received.idMismatches, name).toBe(0);
      // Nothing invented: exactly the expected ids, duplicates only of them.
      expect(received.seen.size, name).toBe(expected.size);
      expect(received.deliveries, name).toBeGreaterThanOrEqual(expected.size);
      // In order per customer and signal type (versions rise), except what came back from the dead letters.
      const lastVersion = new Map<string, number>();
      const outOfOrder: string[] = [];
      for (const id of received.firstSeen) {
        const body = received.bodies.get(id)!;
        const key = `${body.type}\u0000${body.data.customerId}`;
        if (name === "refusing" && body.data.customerId.endsWith("7")) continue;
        if ((lastVersion.get(key) ?? -1) >= body.data.version) outOfOrder.push(id);
        lastVersion.set(key, body.data.version);
      }
      expect(outOfOrder, name).toEqual([]);
    }
    expect(receivers.flaky.received.rotatedVerified).toBeGreaterThan(0);

    // Payloads carry the signal's id, type and data.
    const anyStage = [...core.transitionIds][0]!;
    expect(receivers.batched.received.bodies.get(anyStage)).toMatchObject({ id: anyStage, type: "stage.changed", data: { customerId: anyStage.split(":")[0] } });
    expect(receivers.flaky.received.bodies.get("tier-3:2")).toMatchObject({ type: "tier.changed", data: { fromTier: "base", toTier: "potential", monetaryTotal: "123.4500" } });

    // The restarted service's metrics: per destination delivered, failures by reason, lag back at 0.
    await waitFor(async () => {
      const text = await (await fetch(`${api}/metrics`)).text();
      return text.includes(`clm_webhooks_lag_seconds{destination="${destinations.flaky}",service="webhooks"} 0`);
    }, "the flaky destination's lag to be 0", 60_000, 250);
    const metrics = await (await fetch(`${api}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`clm_webhooks_delivered_total\\{destination="${destinations.flaky}",service="webhooks"\\} \\d+`));
    expect(metrics).toMatch(new RegExp(`clm_webhooks_failed_attempts_total\\{destination="${destinations.flaky}",reason="status_5xx",service="webhooks"\\} \\d+`));
    expect(metrics).toMatch(new RegExp(`clm_webhooks_delivery_latency_seconds_count\\{[^}]*destination="${destinations.batched}"[^}]*\\} [1-9]\\d*`));
    expect(metrics).toMatch(new RegExp(`clm_webhooks_dead_letters\\{destination="${destinations.refusing}",service="webhooks"\\} 0`));
    console.log(
      `webhooks test (seed ${SEED}): ${expected.size} signals; deliveries flaky ${receivers.flaky.received.deliveries}, batched ${receivers.batched.received.deliveries}, refusing ${receivers.refusing.received.deliveries} (${picky.refused} refusals, ${endingIn7.length} replayed)`,
    );
  }, 600_000);

  it("deletes a destination with its queue and dead letters", async () => {
    expect((await call("DELETE", `/v1/destinations/${destinations.refusing}`)).status).toBe(200);
    expect((await call("GET", `/v1/destinations/${destinations.refusing}`)).status).toBe(404);
    const queueKeys = new WebhookKeys(config.REDIS_KEY_PREFIX).of(destinations.refusing);
    expect(await redis.exists(queueKeys.msg, queueKeys.due, queueKeys.age)).toBe(0);
    expect(await scanAllKeys(redis, queueKeys.pattern)).toEqual([]);
  });
});
