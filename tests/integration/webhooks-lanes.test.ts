import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { DeliveryQueue, laneOf, type Destination, type QueuedMessage } from "@clm/destinations";
import { createMetricsRegistry } from "@clm/observability";
import { createSender, createWebhooksMetrics, DestinationWorker } from "@clm/webhooks";
import { createRedis, scanAllKeys, unlinkKeys, type RedisClient } from "@clm/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isolatedConfig, testLogger, waitFor } from "./support/pipeline.ts";

/**
 * The delivery queue's lanes against real Redis and a real receiver that fails at random (503, 429
 * with Retry-After, reset connections, answers after the timeout), while messages keep arriving
 * (some twice, as a re-read Kafka batch brings them) and delivery "processes" die abruptly mid-way
 * (their Redis connection cut, their requests left in flight) and overlap with their successors.
 * Every message must reach the receiver, in order per customer, and the queue must end empty; at
 * every instant a lane that holds messages must be in the due set (else nothing ever claims it).
 */
const config = isolatedConfig();
const seed0 = Number(process.env.WEBHOOKS_LANES_SEED ?? Date.now() % 100_000);
let seed = seed0;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const LANES = 24;
const CUSTOMERS = 150;
const VERSIONS = 10;
const TIMEOUT_MS = 120;

const destination: Destination = {
  id: "dst_lanes",
  url: "",
  types: ["stage.changed"],
  audienceIds: null,
  maxBatch: 1,
  lanes: LANES,
  description: null,
  secrets: [{ secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", createdAt: 0, expiresAt: null }],
  createdAt: 0,
  updatedAt: 0,
};

/** Non-empty lanes without a due entry, read in one atomic step. */
const ORPHANS = `
local out = {}
for lane = 0, tonumber(ARGV[2]) - 1 do
  if redis.call('LLEN', ARGV[1] .. lane) > 0 and not redis.call('ZSCORE', KEYS[1], lane) then table.insert(out, lane) end
end
return out`;

const seen = new Set<string>();
const firstSeen: string[] = [];
let server: Server;
let redis: RedisClient;
let queue: DeliveryQueue;

beforeAll(async () => {
  redis = createRedis(config);
  queue = new DeliveryQueue(redis, config.REDIS_KEY_PREFIX);
  server = createServer((request, response) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
      const id = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { id: string }).id;
      const roll = random();
      if (roll < 0.08) return void response.writeHead(503).end();
      if (roll < 0.12) return void response.writeHead(429, { "retry-after": roll < 0.115 ? "0" : "1" }).end();
      if (roll < 0.16) return void request.socket.destroy();
      if (roll < 0.19) await sleep(TIMEOUT_MS * 2);
      if (!seen.has(id)) {
        seen.add(id);
        firstSeen.push(id);
      }
      response.writeHead(204).end();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  destination.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await unlinkKeys(redis, await scanAllKeys(redis, `${config.REDIS_KEY_PREFIX}:*`));
  redis?.disconnect();
});

/** One delivery "process": its own Redis connection, cut at once when it is killed. */
function startProcess(metrics: ReturnType<typeof createWebhooksMetrics>) {
  const connection = createRedis(config, { maxRetriesPerRequest: 0, enableOfflineQueue: false, reconnect: false });
  const worker = new DestinationWorker({
    queue: new DeliveryQueue(connection, config.REDIS_KEY_PREFIX),
    destination: () => destination,
    send: createSender({ maxIdleSockets: 16 }),
    schedule: { initialDelayMs: 5, maxDelayMs: 60, retryPeriodMs: 3_600_000 },
    maxInFlight: 1 + Math.floor(random() * 12),
    requestTimeoutMs: TIMEOUT_MS,
    idlePollMs: 25,
    leaseMs: 1500,
    metrics,
    logger: testLogger,
    now: Date.now,
  });
  worker.start();
  return {
    kill: () => {
      connection.disconnect(false);
      void worker.stop();
    },
    stop: async () => {
      await worker.stop();
      connection.disconnect(false);
    },
  };
}

describe(`delivery lanes under random failures, duplicates and killed workers (seed ${seed0})`, () => {
  it("delivers every message once claimed, in order per customer, and leaves no lane without a due entry", async () => {
    const metrics = createWebhooksMetrics(createMetricsRegistry("webhooks-lanes-test"));
    const of = queue.keys.of(destination.id);
    const orphans: string[] = [];
    let checking = true;
    const checker = (async () => {
      while (checking) {
        const found = (await redis.eval(ORPHANS, 1, of.due, of.lanePrefix, LANES)) as number[];
        if (found.length > 0) orphans.push(`lanes ${found.join(",")} at ${Date.now()}`);
        await sleep(5);
      }
    })();

    // Messages arrive in order per customer, in random batches; a batch is sometimes queued again.
    const messages: QueuedMessage[] = [];
    for (let version = 1; version <= VERSIONS; version++) {
      for (let customer = 0; customer < CUSTOMERS; customer++) {
        const id = `c${customer}:${version}`;
        messages.push({ id, type: "stage.changed", customerId: `c${customer}`, createdAt: Date.now(), body: JSON.stringify({ id, customer, version }) });
      }
    }
    const producing = (async () => {
      const batches: QueuedMessage[][] = [];
      for (let start = 0; start < messages.length; ) {
        const size = 1 + Math.floor(random() * 60);
        batches.push(messages.slice(start, start + size));
        start += size;
      }
      for (const [index, batch] of batches.entries()) {
        await queue.enqueue(batch.map((message) => ({ destination, message })), Date.now());
        if (index > 0 && random() < 0.2) await queue.enqueue(batches[index - 1]!.map((message) => ({ destination, message })), Date.now());
        await sleep(random() * 15);
      }
    })();

    // Delivery processes come and go: each runs a while, sometimes beside its successor, then dies.
    let current = startProcess(metrics);
    let kills = 0;
    const allSeen = () => messages.every((message) => seen.has(message.id));
    while (!allSeen() && kills < 25) {
      await sleep(150 + random() * 600);
      const next = startProcess(metrics);
      if (random() < 0.5) await sleep(random() * 200);
      current.kill();
      kills++;
      current = next;
    }
    await producing;
    try {
      await waitFor(async () => allSeen() && (await queue.stats(destination.id)).queued === 0, "every message delivered and the queue empty", 120_000, 100);
    } catch (error) {
      const missing = messages.filter((message) => !seen.has(message.id)).map((message) => `${message.id}@lane${laneOf(message.customerId, LANES)}`);
      const due = await redis.zrange(of.due, 0, -1, "WITHSCORES");
      throw new Error(`${(error as Error).message}: ${missing.length} missing (${missing.slice(0, 8).join(", ")}); due ${JSON.stringify(due)}; now ${Date.now()}; orphans ${orphans.slice(0, 5).join("; ")}`);
    } finally {
      await current.stop();
      checking = false;
      await checker;
    }

    expect(orphans).toEqual([]);
    expect(await queue.nextDue(destination.id)).toBeNull();
    expect((await queue.stats(destination.id)).deadLetters).toBe(0);
    const last = new Map<string, number>();
    const outOfOrder: string[] = [];
    for (const id of firstSeen) {
      const [customer, version] = id.split(":") as [string, string];
      if ((last.get(customer) ?? 0) >= Number(version)) outOfOrder.push(id);
      last.set(customer, Number(version));
    }
    expect(outOfOrder).toEqual([]);
    console.log(`webhooks lanes (seed ${seed0}): ${messages.length} messages, ${kills} killed workers`);
  }, 240_000);
});
