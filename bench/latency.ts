/**
 * Event → stage-change latency at a fixed input rate, on the local stack:
 *   npm run bench -- latency [--rate 5000] [--seconds 30] [--warmup 5] [--cpu-profile-dir DIR]
 * The processor runs as its own process (wall clock, as in production). This process produces
 * purchases at the fixed rate (Avro, acks=all) — first purchases of new customers, each of which
 * gives its customer a first stage — and consumes the stage-change topic. Three latencies, all on this
 * machine's one clock:
 *   processor: the stage change's Kafka timestamp (set when the processor sends it) − the input
 *            record's append time (the input topic stamps LogAppendTime) — the processor's own path;
 *   publish: the same, from the input record's send time — adds the load generator's send;
 *   arrival: when the stage change reaches this process − when its event's produce was
 *            acknowledged — what a consumer sees, including its fetch wait and this process's stalls.
 * The first --warmup seconds of load (a just-started process: JIT, first fetches) are reported
 * apart as the cold start; the percentiles are of the --seconds that follow.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { CUSTOMER_EVENT_SCHEMA_TEXT, customerEventToRecord, STAGE_CHANGE_SCHEMA_TEXT, type CustomerEventRecord, type StageChangeRecord } from "@clm/contracts";
import type { CustomerEvent } from "@clm/core";
import { AvroSerde, createRegistry, JavaCompatiblePartitioner, partitionForKey } from "@clm/kafka";
import type { ConfigResourceTypes } from "kafkajs";
import { RedisLayout } from "@clm/state-store";
import { wipePrefix } from "@clm/state-store/admin";
import { createRedis } from "@clm/redis";
import { createTopics, deleteTopics, envOf, isolatedConfig, testKafka } from "@clm/testkit";
import { machine, percentile, processResources, startBenchService } from "./support.ts";

const { values } = parseArgs({ options: { rate: { type: "string", default: "5000" }, seconds: { type: "string", default: "30" }, warmup: { type: "string", default: "5" }, "cpu-profile-dir": { type: "string" } } });
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const warmupSeconds = Number(values.warmup);
const config = isolatedConfig({ CLOCK_MODE: "wall", PROCESSOR_HTTP_PORT: "0", LOG_LEVEL: "info" });
const kafka = testKafka(config);
await createTopics(kafka, config);
// The broker stamps each input record with its append time, so the processor's own path (appended →
// stage change published) is measured apart from the load generator's sends.
const admin = kafka.admin();
await admin.connect();
await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2 as ConfigResourceTypes /* TOPIC; kafkajs's enum is not an ESM export */, name: config.TOPIC_EVENTS, configEntries: [{ name: "message.timestamp.type", value: "LogAppendTime" }] }] });
await admin.disconnect();
const registry = createRegistry(config.SCHEMA_REGISTRY_URL);
const events = new AvroSerde<CustomerEventRecord>(registry, `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT);
const changes = new AvroSerde<StageChangeRecord>(registry, `${config.TOPIC_STAGE_CHANGES}-value`, STAGE_CHANGE_SCHEMA_TEXT);
await events.register();
await changes.register();

// --cpu-profile-dir: the processor writes a V8 CPU profile of its whole run there (0.5 ms samples).
const profileFlags = values["cpu-profile-dir"] ? ["--cpu-prof", `--cpu-prof-dir=${values["cpu-profile-dir"]}`, "--cpu-prof-interval=500"] : [];
const processor = startBenchService("services/processor/src/main.ts", envOf(config), [], profileFlags);
const warmUpMs = (JSON.parse(await processor.waitForLog("code paths warmed up", 120_000)) as { ms: number }).ms;
await processor.waitForLog("processor running", 120_000);
// Load before the group has assigned partitions would measure the group join, not the event path.
await processor.waitForLog("partitions assigned", 60_000);

const ackedAt = new Map<string, number>();
const latencies: number[] = [];
const publishLatencies: number[] = [];
const sentAt = new Map<string, number>();
const measured = new Set<string>();
const coldPublishLatencies: number[] = [];
/** Worst publish latency per second of steady load (by send time): where the tail comes from. */
const worstBySecond = new Map<number, number>();
let steadyFrom = Number.POSITIVE_INFINITY;
/** Worst publish latency per quarter second of the cold start (by send time): how the first seconds drain. */
const coldWorstByQuarter = new Map<number, number>();
let loadFrom = Number.POSITIVE_INFINITY;
/** Per event: when the broker appended it, and when its stage change was published (Kafka timestamps). */
const appendedAt = new Map<string, number>();
const publishedAt = new Map<string, number>();
const consumer = kafka.consumer({ groupId: `bench-latency-${Date.now()}`, maxWaitTimeInMs: 5, minBytes: 1 });
await consumer.connect();
await consumer.subscribe({ topic: config.TOPIC_STAGE_CHANGES, fromBeginning: true });
await consumer.run({
  eachBatch: async ({ batch }) => {
    const arrived = performance.now();
    await changes.prepare(batch.messages.map((message) => message.value));
    for (const message of batch.messages) {
      const change = changes.decode(message.value);
      if (change.eventId === null || !sentAt.has(change.eventId)) continue;
      // A stage change can arrive before this process has run its event's ack callback: arrival ≈ 0.
      const sent = ackedAt.get(change.eventId) ?? arrived;
      if (!measured.has(change.eventId)) {
        measured.add(change.eventId!);
        publishedAt.set(change.eventId, Number(message.timestamp));
        const publish = Number(message.timestamp) - sentAt.get(change.eventId!)!;
        if (Number(change.eventId!.slice("lat-".length)) < warmupEvents) {
          coldPublishLatencies.push(publish);
          const quarter = Math.floor((sentAt.get(change.eventId!)! - loadFrom) / 250);
          coldWorstByQuarter.set(quarter, Math.max(coldWorstByQuarter.get(quarter) ?? 0, publish));
        } else {
          latencies.push(arrived - sent);
          publishLatencies.push(publish);
          const second = Math.floor((sentAt.get(change.eventId!)! - steadyFrom) / 1000);
          worstBySecond.set(second, Math.max(worstBySecond.get(second) ?? 0, publish));
        }
      }
    }
  },
});

// A load generator, not the pipeline: several requests in flight, so its own queueing does not pose as processor latency.
const producer = kafka.producer({ idempotent: false, maxInFlightRequests: 5, createPartitioner: JavaCompatiblePartitioner });
await producer.connect();
// The load generator is not what is measured: its first sends must not wait for its own topic
// metadata or run its Avro encoding cold (an empty send loads the metadata and produces nothing).
await producer.send({ topic: config.TOPIC_EVENTS, acks: -1, messages: [] });
for (let index = 0; index < 5000; index++) {
  const warm: CustomerEvent = { eventId: `warm-${index}`, customerId: `warm-${index}`, occurredAt: Date.now(), type: "purchase", properties: { orderId: "o", amountE4: 250_000, currency: "USD", quantity: 1 } };
  events.encode(customerEventToRecord(warm, Date.now()));
}
const tickMs = 20;
const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
let started = performance.now();
let warmupEvents = Number.POSITIVE_INFINITY;
let sent = 0;
let behind = 0;
const inFlight = new Set<Promise<void>>();
const loadStarted = started;
loadFrom = Date.now();
for (let tick = 0; performance.now() - loadStarted < (warmupSeconds + seconds) * 1000; tick++) {
  if (warmupEvents === Number.POSITIVE_INFINITY && performance.now() - loadStarted >= warmupSeconds * 1000) {
    warmupEvents = sent; // events numbered below this were sent during the warm-up
    started = performance.now();
    steadyFrom = Date.now();
  }
  const due = loadStarted + tick * tickMs;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  else behind++;
  const batch: CustomerEvent[] = [];
  for (let index = 0; index < perTick; index++, sent++) {
    batch.push({ eventId: `lat-${sent}`, customerId: `lat-c-${sent}`, occurredAt: Date.now(), type: "purchase", properties: { orderId: `o-${sent}`, amountE4: 250_000, currency: "USD", quantity: 1 } });
  }
  const sendTime = Date.now();
  for (const event of batch) sentAt.set(event.eventId, sendTime);
  const send = producer
    .send({ topic: config.TOPIC_EVENTS, acks: -1, messages: batch.map((event) => ({ key: event.customerId, value: events.encode(customerEventToRecord(event, Date.now())) })) })
    .then((metadata) => {
      const at = performance.now();
      const appended = new Map(metadata.map((entry) => [entry.partition, Number(entry.logAppendTime)]));
      for (const event of batch) {
        ackedAt.set(event.eventId, at);
        appendedAt.set(event.eventId, appended.get(partitionForKey(event.customerId, config.TOPIC_PARTITIONS))!);
      }
    });
  inFlight.add(send);
  void send.finally(() => inFlight.delete(send));
}
await Promise.all(inFlight);
const elapsed = (performance.now() - started) / 1000;
// Let the last stage changes arrive.
for (let waited = 0; latencies.length + coldPublishLatencies.length < sent && waited < 30_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
const resources = processResources(processor.child.pid!);
await processor.stop();
await consumer.disconnect();
await producer.disconnect();

// appended → published, for the cold start and the steady load apart.
const processorPath = { cold: [] as number[], steady: [] as number[] };
const processorColdByQuarter = new Map<number, number>();
for (const [eventId, published] of publishedAt) {
  const appended = appendedAt.get(eventId);
  if (appended === undefined || !(appended > 0)) continue;
  const latency = published - appended;
  if (Number(eventId.slice("lat-".length)) < warmupEvents) {
    processorPath.cold.push(latency);
    const quarter = Math.floor((sentAt.get(eventId)! - loadFrom) / 250);
    processorColdByQuarter.set(quarter, Math.max(processorColdByQuarter.get(quarter) ?? 0, latency));
  } else processorPath.steady.push(latency);
}
const processorSorted = processorPath.steady.sort((left, right) => left - right);
const processorColdSorted = processorPath.cold.sort((left, right) => left - right);
const sorted = [...latencies].sort((left, right) => left - right);
const publishSorted = [...publishLatencies].sort((left, right) => left - right);
const result = {
  benchmark: "latency",
  at: new Date().toISOString(),
  machine: machine(),
  targetRate: rate,
  achievedRate: Math.round((sent - warmupEvents) / elapsed),
  events: sent - warmupEvents,
  coldStart: {
    processorWarmUpMs: warmUpMs,
    seconds: warmupSeconds,
    events: warmupEvents,
    publishP99Ms: percentile([...coldPublishLatencies].sort((left, right) => left - right), 99),
    publishMaxMs: Math.max(...coldPublishLatencies),
    worstPublishMsPerQuarterSecond: [...coldWorstByQuarter].sort((left, right) => left[0] - right[0]).map(([, ms]) => ms),
    processorP99Ms: percentile(processorColdSorted, 99),
    processorMaxMs: processorColdSorted.at(-1) ?? Number.NaN,
    worstProcessorMsPerQuarterSecond: [...processorColdByQuarter].sort((left, right) => left[0] - right[0]).map(([, ms]) => ms),
  },
  measured: sorted.length,
  processorLatencyMs: { measured: processorSorted.length, p50: percentile(processorSorted, 50), p90: percentile(processorSorted, 90), p99: percentile(processorSorted, 99), max: processorSorted.at(-1) ?? Number.NaN },
  publishLatencyMs: { p50: percentile(publishSorted, 50), p90: percentile(publishSorted, 90), p99: percentile(publishSorted, 99), max: publishSorted.at(-1) ?? Number.NaN },
  arrivalLatencyMs: { p50: Number(percentile(sorted, 50).toFixed(1)), p90: Number(percentile(sorted, 90).toFixed(1)), p99: Number(percentile(sorted, 99).toFixed(1)), max: Number((sorted.at(-1) ?? Number.NaN).toFixed(1)) },
  ticksBehindSchedule: behind,
  processor: { ...resources, cpuCores: Number((resources.cpuSeconds / (elapsed + warmupSeconds)).toFixed(2)) },
};
console.log(`cold start (first ${warmupSeconds} s, ${warmupEvents.toLocaleString("en-US")} events, not in the figures below; the processor warmed its code paths up for ${warmUpMs} ms before joining): publish p99 ${result.coldStart.publishP99Ms} ms, max ${result.coldStart.publishMaxMs} ms`);
console.log(`input ${result.achievedRate.toLocaleString("en-US")} events/s for ${elapsed.toFixed(1)} s (target ${rate.toLocaleString("en-US")}); ${sorted.length.toLocaleString("en-US")} of ${result.events.toLocaleString("en-US")} stage changes measured`);
const line = (label: string, figures: { p50: number; p90: number; p99: number; max: number }) =>
  console.log(`${label}: p50 ${figures.p50} ms, p90 ${figures.p90} ms, p99 ${figures.p99} ms, max ${figures.max} ms (goal p99 ≤ 200 ms)`);
console.log(`cold start, worst publish ms per quarter second: ${result.coldStart.worstPublishMsPerQuarterSecond.join(" ")}`);
console.log(
  `cold start, appended → published: p99 ${result.coldStart.processorP99Ms} ms, max ${result.coldStart.processorMaxMs} ms; worst per quarter second: ${result.coldStart.worstProcessorMsPerQuarterSecond.join(" ")}`,
);
line("event appended → stage change published (processor)", result.processorLatencyMs);
line("event sent → stage change published (generator + processor)", result.publishLatencyMs);
line("event acked → stage change received (consumer) ", result.arrivalLatencyMs);
const worst = [...worstBySecond].sort((left, right) => right[1] - left[1]).slice(0, 5);
console.log(`worst seconds of the steady load (second: max publish ms): ${worst.map(([second, ms]) => `${second}: ${ms}`).join(", ")}`);
console.log(`processor process: ${result.processor.cpuSeconds} CPU s (${result.processor.cpuCores} cores), peak RSS ${result.processor.peakRssMiB} MiB`);
mkdirSync("bench-results", { recursive: true });
writeFileSync(`bench-results/latency-${result.at.replace(/[:.]/g, "-")}.json`, JSON.stringify(result, null, 2));
console.log(JSON.stringify(result));
const redis = createRedis(config);
await wipePrefix(redis, new RedisLayout(config.REDIS_KEY_PREFIX));
redis.disconnect();
await deleteTopics(kafka, config);
