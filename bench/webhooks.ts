/**
 * Signal → webhook latency at a fixed signal rate, on the local stack:
 *   npm run bench -- webhooks [--rate 5000] [--seconds 30] [--warmup 5]
 * The delivery service runs as its own process (services/webhooks) with two destinations served by
 * this process: a healthy receiver (204 at once) and a failing one (503 to every request, so its
 * queue only grows and its lanes retry with backoff). This process produces stage-change records at
 * the fixed rate onto the signal topic (Avro, acks=all; each record's Kafka timestamp is its send
 * time, the signal's creation) and measures, on this machine's one clock:
 *   webhook:  a signal's arrival at the healthy receiver − its Kafka timestamp (what the receiver sees);
 *   limit:    the same signals' arrival at a bare kafkajs consumer in this process (Kafka's own part),
 *             plus the p99 of a bare POST round trip to the same receiver (HTTP's own part).
 * The first --warmup seconds are left out of the percentiles.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { STAGE_CHANGE_SCHEMA_TEXT, type StageChangeRecord } from "@clm/contracts";
import { DeliveryQueue, DestinationStore } from "@clm/destinations";
import { AvroSerde, createRegistry, JavaCompatiblePartitioner } from "@clm/kafka";
import { RedisLayout } from "@clm/state-store";
import { wipePrefix } from "@clm/state-store/admin";
import { createTopics, deleteTopics, envOf, freePort, isolatedConfig, testKafka } from "@clm/testkit";
import { createRedis } from "@clm/redis";
import { machine, percentile, processResources, startBenchService } from "./support.ts";

const { values } = parseArgs({ options: { rate: { type: "string", default: "5000" }, seconds: { type: "string", default: "30" }, warmup: { type: "string", default: "5" } } });
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const warmupSeconds = Number(values.warmup);
const port = await freePort();
const config = isolatedConfig({ CLOCK_MODE: "wall", LOG_LEVEL: "info", WEBHOOKS_PORT: String(port), WEBHOOKS_GROUP_ID: `bench-webhooks-${Date.now()}` });
const kafka = testKafka(config);
await createTopics(kafka, config);
const serde = new AvroSerde<StageChangeRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_STAGE_CHANGES}-value`, STAGE_CHANGE_SCHEMA_TEXT);
await serde.register();

/** Signal id → when it was sent (its Kafka timestamp is set to this). */
const sentAt = new Map<string, number>();
const webhookLatency: number[] = [];
/** Worst signal → webhook latency per second of the measured load (by send time). */
const worstBySecond = new Map<number, number>();
const consumeLatency: number[] = [];
const delivered = new Set<string>();
let warmupEnd = Number.POSITIVE_INFINITY;
let failingRequests = 0;

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
};
const healthy = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const arrived = Date.now();
    response.writeHead(204).end();
    const id = String(request.headers["webhook-id"]);
    if (!id.startsWith("bench-") || delivered.has(id)) return;
    delivered.add(id);
    const sent = sentAt.get(id);
    if (sent !== undefined && sent >= warmupEnd) {
      webhookLatency.push(arrived - sent);
      const second = Math.floor((sent - warmupEnd) / 1000);
      worstBySecond.set(second, Math.max(worstBySecond.get(second) ?? 0, arrived - sent));
    }
  });
});
const failing = createServer((request, response) => {
  failingRequests++;
  request.resume();
  request.on("end", () => response.writeHead(503).end());
});
const healthyUrl = await listen(healthy);
const failingUrl = await listen(failing);

const redis = createRedis(config);
const store = new DestinationStore(redis, config.REDIS_KEY_PREFIX);
const queue = new DeliveryQueue(redis, config.REDIS_KEY_PREFIX);
const healthyDestination = await store.create({ url: healthyUrl, types: ["stage.changed"] }, Date.now());
const failingDestination = await store.create({ url: failingUrl, types: ["stage.changed"] }, Date.now());

const service = startBenchService("services/webhooks/src/main.ts", envOf(config));
await service.waitForLog("webhooks running", 120_000);
// Load before the group has assigned partitions would measure the group join, not the delivery path.
await service.waitForLog("partitions assigned", 60_000);

// Kafka's own part: the same records read by a bare consumer here.
const consumer = kafka.consumer({ groupId: `bench-webhooks-raw-${Date.now()}`, maxWaitTimeInMs: 100 });
await consumer.connect();
await consumer.subscribe({ topic: config.TOPIC_STAGE_CHANGES, fromBeginning: true });
await consumer.run({
  eachBatch: async ({ batch }) => {
    const arrived = Date.now();
    for (const message of batch.messages) {
      const sent = Number(message.timestamp);
      if (sent >= warmupEnd) consumeLatency.push(arrived - sent);
    }
  },
});
await new Promise((resolve) => setTimeout(resolve, 3000)); // both consumer groups joined before the load

// The service's own counters each second: how far its consumer (queued) and its healthy worker (delivered) got.
const progress: { consumed: number; delivered: number }[] = [];
const counter = (text: string, name: string, destination?: string) =>
  text
    .split("\n")
    .filter((line) => line.startsWith(name) && (destination === undefined || line.includes(`destination="${destination}"`)))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
const sampler = setInterval(() => {
  void fetch(`http://127.0.0.1:${port}/metrics`)
    .then((response) => response.text())
    .then((text) => progress.push({ consumed: counter(text, "clm_webhooks_signals_consumed_total"), delivered: counter(text, "clm_webhooks_delivered_total", healthyDestination.id) }))
    .catch(() => undefined);
}, 1000);

const producer = kafka.producer({ idempotent: false, maxInFlightRequests: 5, createPartitioner: JavaCompatiblePartitioner });
await producer.connect();
await producer.send({ topic: config.TOPIC_STAGE_CHANGES, acks: -1, messages: [] });
const record = (sequence: number, customer: number, version: number, now: number): StageChangeRecord => ({
  transitionId: `bench-${customer}:${version}`,
  customerId: `bench-${customer}`,
  version,
  fromStage: null,
  toStage: "new",
  reasonCode: "FIRST_PURCHASE",
  reasonNumbers: { sequence },
  occurredAt: now,
  trigger: "event",
  eventId: `e-${sequence}`,
  riskLevel: "none",
  snapshot: { purchaseCount: 1, purchaseDays: 1, monetaryTotal: 250_000, firstPurchaseAt: now, lastPurchaseAt: now, interactionScore: 1, tenureDays: 0, rfm: null, value: null },
});
const CUSTOMERS = 20_000;
const tickMs = 20;
const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
const loadStarted = performance.now();
let sent = 0;
let behind = 0;
let measuredFrom = 0;
const inFlight = new Set<Promise<unknown>>();
for (let tick = 0; performance.now() - loadStarted < (warmupSeconds + seconds) * 1000; tick++) {
  if (warmupEnd === Number.POSITIVE_INFINITY && performance.now() - loadStarted >= warmupSeconds * 1000) {
    warmupEnd = Date.now();
    measuredFrom = sent;
  }
  const wait = loadStarted + tick * tickMs - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  else behind++;
  const now = Date.now();
  const messages = [];
  for (let index = 0; index < perTick; index++, sent++) {
    const change = record(sent, sent % CUSTOMERS, Math.floor(sent / CUSTOMERS) + 1, now);
    sentAt.set(change.transitionId, now);
    messages.push({ key: change.customerId, value: serde.encode(change), timestamp: String(now) });
  }
  const send = producer.send({ topic: config.TOPIC_STAGE_CHANGES, acks: -1, messages });
  inFlight.add(send);
  void send.finally(() => inFlight.delete(send));
}
await Promise.all(inFlight);
const elapsed = (performance.now() - loadStarted) / 1000 - warmupSeconds;
const measured = sent - measuredFrom;
for (let waited = 0; webhookLatency.length < measured && waited < 60_000; waited += 200) await new Promise((resolve) => setTimeout(resolve, 200));

clearInterval(sampler);

// HTTP's own part: bare POSTs of one signal-sized body to the same receiver, a few at a time.
const body = JSON.stringify({ id: "probe", type: "stage.changed", timestamp: new Date().toISOString(), data: record(0, 0, 1, Date.now()) });
const roundTrips: number[] = [];
for (let round = 0; round < 250; round++) {
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      const started = performance.now();
      const response = await fetch(healthyUrl, { method: "POST", headers: { "content-type": "application/json", "webhook-id": "probe" }, body });
      await response.body?.cancel();
      roundTrips.push(performance.now() - started);
    }),
  );
}

const failingStats = await queue.stats(failingDestination.id);
const resources = processResources(service.child.pid!);
await service.stop();
await consumer.disconnect();
await producer.disconnect();
healthy.close();
failing.close();

const sortedWebhook = webhookLatency.sort((left, right) => left - right);
const sortedConsume = consumeLatency.sort((left, right) => left - right);
const sortedRoundTrip = roundTrips.sort((left, right) => left - right);
const limitP99 = percentile(sortedConsume, 99) + percentile(sortedRoundTrip, 99);
const result = {
  benchmark: "webhooks",
  at: new Date().toISOString(),
  machine: machine(),
  targetRate: rate,
  achievedRate: Math.round(measured / elapsed),
  signals: measured,
  deliveredToHealthy: sortedWebhook.length,
  webhookLatencyMs: { p50: percentile(sortedWebhook, 50), p90: percentile(sortedWebhook, 90), p99: percentile(sortedWebhook, 99), max: sortedWebhook.at(-1) ?? Number.NaN },
  rawConsumeLatencyMs: { p50: percentile(sortedConsume, 50), p99: percentile(sortedConsume, 99) },
  httpRoundTripMs: { p50: Number(percentile(sortedRoundTrip, 50).toFixed(2)), p99: Number(percentile(sortedRoundTrip, 99).toFixed(2)) },
  limitP99Ms: Number(limitP99.toFixed(1)),
  ratioP99: Number((percentile(sortedWebhook, 99) / limitP99).toFixed(2)),
  failingDestination: { requests: failingRequests, queued: failingStats.queued, lagSeconds: failingStats.oldestCreatedAt === null ? 0 : (Date.now() - failingStats.oldestCreatedAt) / 1000 },
  ticksBehindSchedule: behind,
  service: { ...resources, cpuCores: Number((resources.cpuSeconds / (elapsed + warmupSeconds)).toFixed(2)) },
};
console.log(`signals ${result.achievedRate.toLocaleString("en-US")}/s for ${elapsed.toFixed(1)} s (target ${rate.toLocaleString("en-US")}); ${result.deliveredToHealthy.toLocaleString("en-US")} of ${measured.toLocaleString("en-US")} measured signals delivered to the healthy destination`);
console.log(`signal → webhook (healthy destination): p50 ${result.webhookLatencyMs.p50} ms, p90 ${result.webhookLatencyMs.p90} ms, p99 ${result.webhookLatencyMs.p99} ms, max ${result.webhookLatencyMs.max} ms`);
console.log(`worst signal → webhook ms per second of the load: ${[...worstBySecond].sort((left, right) => left[0] - right[0]).map(([, ms]) => ms).join(" ")}`);
console.log(`per second, signals consumed / delivered to the healthy destination: ${progress.map((entry, index) => (index === 0 ? "" : `${entry.consumed - progress[index - 1]!.consumed}/${entry.delivered - progress[index - 1]!.delivered}`)).filter(Boolean).join(" ")}`);
console.log(`limit: bare consume p99 ${result.rawConsumeLatencyMs.p99} ms + bare POST round trip p99 ${result.httpRoundTripMs.p99} ms = ${result.limitP99Ms} ms; webhook p99 / limit = ${result.ratioP99}`);
console.log(`failing destination (503 to all): ${failingRequests.toLocaleString("en-US")} requests, ${failingStats.queued.toLocaleString("en-US")} messages queued, lag ${result.failingDestination.lagSeconds.toFixed(1)} s — beside it the healthy one's figures above`);
console.log(`delivery service process: ${result.service.cpuSeconds} CPU s (${result.service.cpuCores} cores), peak RSS ${result.service.peakRssMiB} MiB; load ticks behind schedule: ${behind}`);
console.log(JSON.stringify(result));
await store.delete(healthyDestination.id);
await store.delete(failingDestination.id);
await wipePrefix(redis, new RedisLayout(config.REDIS_KEY_PREFIX));
redis.disconnect();
await deleteTopics(kafka, config);
process.exit(0);
