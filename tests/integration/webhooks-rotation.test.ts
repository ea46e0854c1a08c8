import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createApiKeyCheck } from "@clm/config";
import { DeliveryQueue, DestinationStore, type Destination, type QueuedMessage } from "@clm/destinations";
import { createMetricsRegistry } from "@clm/observability";
import { createSender, createWebhooksMetrics, createWebhooksServer, Dispatcher } from "@clm/webhooks";
import { createRedis, scanAllKeys, unlinkKeys, type RedisClient } from "@clm/redis";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isolatedConfig, testLogger, waitFor } from "./support/pipeline.ts";

/**
 * Secret rotations while requests are in flight, through the real API, dispatcher, workers, Redis
 * and a receiver that verifies with one secret only and switches to the new one the moment the
 * rotation answers. A request signed before the rotation and still on its way then would be
 * refused (401, permanent: a dead letter, a signal lost for that receiver); the answer must come
 * only once none is.
 */
const config = isolatedConfig();
const KEY = "rotation-admin-key";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let redis: RedisClient;
let receiver: Server;
let api: Server;
let dispatcher: Dispatcher;
let base = "";
let secret = "";
let badSignatures = 0;
const seen = new Set<string>();

beforeAll(async () => {
  redis = createRedis(config);
  receiver = createServer((request, response) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
      const body = Buffer.concat(chunks).toString("utf8");
      const headers = { "webhook-id": String(request.headers["webhook-id"]), "webhook-timestamp": String(request.headers["webhook-timestamp"]), "webhook-signature": String(request.headers["webhook-signature"]) };
      // A receiver gets to a request a while after it arrived (a busy process, a queue in front of
      // it), so requests are in flight, not yet verified, whenever a rotation happens.
      await sleep(Math.random() * 30);
      try {
        new Webhook(secret).verify(body, headers);
      } catch {
        badSignatures++;
        return void response.writeHead(401).end();
      }
      seen.add((JSON.parse(body) as { id: string }).id);
      response.writeHead(204).end();
    })();
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
});

afterAll(async () => {
  await dispatcher?.stop();
  for (const server of [api, receiver]) {
    if (!server) continue;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await unlinkKeys(redis, await scanAllKeys(redis, `${config.REDIS_KEY_PREFIX}:*`));
  redis?.disconnect();
});

describe("secret rotation while requests are in flight", () => {
  it("answers a rotation only when no request signed without the new secret is still on its way", async () => {
    const store = new DestinationStore(redis, config.REDIS_KEY_PREFIX);
    const queue = new DeliveryQueue(redis, config.REDIS_KEY_PREFIX);
    const registry = createMetricsRegistry("webhooks-rotation-test");
    const destination: Destination = await store.create({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, types: ["stage.changed"], lanes: 32 }, Date.now());
    secret = destination.secrets[0]!.secret;
    dispatcher = new Dispatcher({
      store,
      queue,
      send: createSender({ maxIdleSockets: 16 }),
      schedule: { initialDelayMs: 10, maxDelayMs: 50, retryPeriodMs: 3_600_000 },
      maxInFlight: 16,
      requestTimeoutMs: 5000,
      idlePollMs: 20,
      // Reloads run all the time, so a rotation often meets one already under way.
      reloadIntervalMs: 3,
      metrics: createWebhooksMetrics(registry),
      logger: testLogger,
      now: Date.now,
    });
    await dispatcher.start();
    api = createWebhooksServer({
      store,
      queue,
      changed: () => dispatcher.refresh(),
      applied: () => dispatcher.applied(),
      authorize: createApiKeyCheck({ write: [], read: [], admin: [KEY] }),
      secretOverlapMs: 3_600_000,
      registry,
      checks: [],
      logger: testLogger,
      now: Date.now,
    });
    await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;

    const messages: QueuedMessage[] = Array.from({ length: 1500 }, (_, index) => {
      const id = `c${index % 120}:${Math.floor(index / 120)}`;
      return { id, type: "stage.changed", customerId: `c${index % 120}`, createdAt: Date.now(), body: JSON.stringify({ id }) };
    });
    await queue.enqueue(messages.map((message) => ({ destination, message })), Date.now());
    dispatcher.wake([destination.id]);

    let rotations = 0;
    while (seen.size < messages.length && rotations < 20) {
      await sleep(20 + Math.random() * 60);
      const response = await fetch(`${base}/v1/destinations/${destination.id}/rotate-secret`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ overlapSeconds: 3600 }),
      });
      expect(response.status).toBe(200);
      secret = ((await response.json()) as { secrets: { secret: string }[] }).secrets[0]!.secret;
      rotations++;
    }
    await waitFor(async () => seen.size === messages.length || (await queue.stats(destination.id)).queued === 0, "every message delivered or dead-lettered", 120_000, 100);

    expect(rotations).toBeGreaterThan(3);
    expect({ badSignatures, deadLetters: (await queue.stats(destination.id)).deadLetters }).toEqual({ badSignatures: 0, deadLetters: 0 });
    expect(seen.size).toBe(messages.length);
  }, 180_000);
});
