/**
 * Processor throughput against the raw limit, on the local stack:
 *   npm run bench -- processor [--events 1000000] [--seed 42] [--partitions 6] [--instances 1]
 *     [--skip-core-ceiling] [--service-node-flags="--max-semi-space-size=128"] [--result-file FILE] [--profile cluster]
 * Produces a synthetic population (deterministic) to a fresh topic, measures the
 * raw kafkajs consume-only rate on that topic, then the processor (event clock)
 * folding it into Redis, in the same run. The processor runs as its own process (as deployed);
 * with --instances N, N processor processes share the partitions (one consumer group), the way a
 * deployment scales out. Its time runs from the start of the first process's warm-up (after
 * Node has loaded the code) until every event is applied; the process start before it is reported
 * apart. Prints figures and the ratio, and writes bench-results/processor-<time>.json.
 * --cpu-profile <file> profiles the processor from its start to the end of the processing phase;
 * --allocation-profile <file> samples what it allocates (including what the GC already collected);
 * both from inside the process (bench/profile-preload.ts), one file per process (<file>.2, … for more).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DEFAULT_LIFECYCLE_CONFIG } from "@clm/core";
import { syntheticEventStream } from "@clm/datasets";
import { AvroSerde, createRegistry } from "@clm/kafka";
import { CUSTOMER_EVENT_SCHEMA_TEXT, recordToCustomerEvent, type CustomerEventRecord } from "@clm/contracts";
import { RedisLayout, StateReader } from "@clm/state-store";
import { wipePrefix } from "@clm/state-store/admin";
import { createTopics, deleteTopics, envOf, isolatedConfig, produceEvents, testKafka } from "@clm/testkit";
import { createRedis, keyServers } from "@clm/redis";
import { coreCeiling } from "./core-ceiling.ts";
import { machine, processResources, rawConsumeRate, resourceSampler, stackCpuSampler, startBenchService, topicRecordCount, type BenchService } from "./support.ts";

const { values } = parseArgs({
  options: { events: { type: "string", default: "1000000" }, seed: { type: "string", default: "42" }, partitions: { type: "string", default: "6" }, keep: { type: "boolean", default: false }, "cpu-profile": { type: "string" }, "allocation-profile": { type: "string" }, instances: { type: "string", default: "1" }, "skip-core-ceiling": { type: "boolean", default: false }, "result-file": { type: "string" }, "service-node-flags": { type: "string", default: "" } },
});
const total = Number(values.events);
// After SERVICE_NODE_FLAGS, so they override them (V8 keeps a flag's last value).
const serviceNodeFlags = values["service-node-flags"]!.split(" ").filter((flag) => flag !== "");
const instances = Number(values.instances);
if (!Number.isInteger(instances) || instances < 1) throw new Error("--instances must be a positive integer");
const config = isolatedConfig({ TOPIC_PARTITIONS: values.partitions, TRANSITION_HISTORY_PER_CUSTOMER: "10" });
const kafka = testKafka(config);
const redis = createRedis(config);
await createTopics(kafka, config);

const produceStarted = performance.now();
// Streamed: the population is generated as columns and produced as it is read, never held as objects.
const customerIds = new Set<string>();
await produceEvents(
  kafka,
  config,
  (function* () {
    for (const event of syntheticEventStream({ seed: Number(values.seed), events: total })) {
      customerIds.add(event.customerId);
      yield event;
    }
  })(),
);
const customers = [...customerIds];
customerIds.clear();
const produceSeconds = (performance.now() - produceStarted) / 1000;
console.log(`generated and produced ${total.toLocaleString("en-US")} events (Avro, acks=all) in ${produceSeconds.toFixed(1)} s`);

const raw = await rawConsumeRate(kafka, config.TOPIC_EVENTS, total);
console.log(`raw kafkajs consume-only: ${Math.round(raw.eventsPerSecond).toLocaleString("en-US")} events/s`);
// A second ceiling: consuming and decoding every record into an event, the least any processor does.
const eventsSerde = new AvroSerde<CustomerEventRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT);
const decoded = await rawConsumeRate(kafka, config.TOPIC_EVENTS, total, async (messages) => {
  await eventsSerde.prepare(messages.map((message) => message.value));
  for (const message of messages) recordToCustomerEvent(eventsSerde.decode(message.value));
});
console.log(`kafkajs consume + Avro decode to events: ${Math.round(decoded.eventsPerSecond).toLocaleString("en-US")} events/s`);
// A third: the pure core folding the same events in memory, no I/O at all (regenerated from the seed).
// No processor can fold faster than the core alone, so its rate on every core bounds the ratio.
const coreFold = values["skip-core-ceiling"] ? null : coreFoldCeiling();
if (coreFold) {
  console.log(
    `pure core fold, one core, in memory: ${coreFold.eventsPerSecond.toLocaleString("en-US")} events/s (${coreFold.foldSeconds} s); on all ${machine().cores} cores at most ${coreFold.ratioBoundOnAllCores} × raw consume`,
  );
}

const store = new StateReader(redis, new RedisLayout(config.REDIS_KEY_PREFIX));
// Summed over every server that holds keys (the masters of a Redis Cluster).
const usedMemory = async () => {
  let sum = 0;
  for (const server of await keyServers(redis)) sum += Number(/used_memory:(\d+)/.exec(await server.info("memory"))![1]);
  return sum;
};
const usedBefore = await usedMemory();
// Profiles are taken inside each processor process (bench/profile-preload.ts), written on SIGUSR2.
const profiling = Boolean(values["cpu-profile"] || values["allocation-profile"]);
const profileFile = (file: string | undefined, index: number) => (file === undefined ? undefined : index === 0 ? file : `${file}.${index + 1}`);
const profileFlags = profiling ? ["--import", "tsx", "--import", fileURLToPath(new URL("./profile-preload.ts", import.meta.url))] : [];
const sampler = resourceSampler();
const stackSampler = stackCpuSampler();
const spawnedAt = performance.now();
const spawnedAtEpochMs = Date.now();
const children: BenchService[] = [];
for (let index = 0; index < instances; index++) {
  const profileEnv: Record<string, string> = {};
  const cpuFile = profileFile(values["cpu-profile"], index);
  const allocationFile = profileFile(values["allocation-profile"], index);
  if (cpuFile) profileEnv.CLM_BENCH_CPU_PROFILE = cpuFile;
  if (allocationFile) profileEnv.CLM_BENCH_ALLOCATION_PROFILE = allocationFile;
  // Any free port: a fixed one may be taken (by another processor, or a bench that is still running).
  const env = envOf(config, { PROCESSOR_HTTP_PORT: "0", LOG_LEVEL: "info", ...profileEnv });
  children.push(startBenchService("services/processor/src/main.ts", env, [], [...serviceNodeFlags, ...profileFlags]));
}
const ports = children.map(async (child) => (JSON.parse(await child.waitForLog("processor running", 120_000)) as { port: number }).port);
// The processor's work starts with its warm-up (as it did when one instance ran inside the bench):
// the earliest process's, read from its log line (the line's ISO time, minus the warm-up's ms).
const warmUpStarts = children.map(async (child) => {
  const line = JSON.parse(await child.waitForLog("code paths warmed up", 120_000)) as { time: string; ms: number };
  return spawnedAt + (Date.parse(line.time) - line.ms - spawnedAtEpochMs);
});
let firstApplied: number | null = null;
let busyReplies = 0;
for (;;) {
  let applied = 0;
  try {
    for (let partition = 0; partition < config.TOPIC_PARTITIONS; partition++) applied += Number((await store.loadMeta(partition)).offset ?? 0);
  } catch (error) {
    // Redis answers BUSY while a script runs past its busy threshold (seen once at 10M events: a
    // large write during an AOF rewrite's fork): the poll waits it out and counts it.
    if (!String((error as Error).message).startsWith("BUSY")) throw error;
    busyReplies++;
    await new Promise((resolve) => setTimeout(resolve, 500));
    continue;
  }
  if (applied > 0 && firstApplied === null) firstApplied = performance.now();
  if (applied >= total) break;
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const started = Math.min(...(await Promise.all(warmUpStarts)));
const processStartSeconds = (started - spawnedAt) / 1000;
const processSeconds = (performance.now() - started) / 1000;
const steadySeconds = (performance.now() - (firstApplied ?? started)) / 1000;
let pending = 1;
while (pending > 0) {
  pending = 0;
  for (let partition = 0; partition < config.TOPIC_PARTITIONS; partition++) pending += await store.outboxLength(partition);
  if (pending > 0) await new Promise((resolve) => setTimeout(resolve, 100));
}
const drainedSeconds = (performance.now() - started) / 1000;
const benchResources = sampler.stop();
const stackCpuSeconds = stackSampler.stop();
// The processors' own CPU and peak RSS (from /proc), not this process's.
const perInstance = children.map((child) => processResources(child.child.pid!));
const resources = {
  cpuSeconds: Number(perInstance.reduce((sum, one) => sum + one.cpuSeconds, 0).toFixed(1)),
  wallSeconds: benchResources.wallSeconds,
  cpuCores: Number((perInstance.reduce((sum, one) => sum + one.cpuSeconds, 0) / benchResources.wallSeconds).toFixed(2)),
  peakRssMiB: Math.max(...perInstance.map((one) => one.peakRssMiB)),
  perInstance,
};
if (profiling) {
  for (const child of children) {
    const written = child.waitForLog("bench profiles written", 120_000);
    child.child.kill("SIGUSR2");
    await written;
  }
}
// How many records a batch held, how many customer states each event cost to write and how many
// loads the state cache served, and the processors' GC pauses: from each process's /metrics, summed.
const batchShape = await batchStatistics(await Promise.all(ports.map(async (port) => (await fetch(`http://127.0.0.1:${await port}/metrics`)).text())));
for (const child of children) await child.stop();

// Redis per customer: the packed state, what MEMORY USAGE reports for a sample of state and history
// keys, the partitions' timer indexes, and everything this run added (INFO used_memory, before vs after).
const layout = new RedisLayout(config.REDIS_KEY_PREFIX);
const usedAfter = await usedMemory();
let valueBytes = 0;
let memoryBytes = 0;
let historyBytes = 0;
let sampled = 0;
for (let index = 0; index < customers.length; index += Math.max(1, Math.floor(customers.length / 2000))) {
  for (let partition = 0; partition < config.TOPIC_PARTITIONS; partition++) {
    const key = layout.customer(partition, customers[index]!);
    const value = await redis.getBuffer(key);
    if (!value) continue;
    valueBytes += value.length;
    memoryBytes += Number(await redis.memory("USAGE", key));
    historyBytes += Number((await redis.memory("USAGE", layout.history(partition, customers[index]!))) ?? 0);
    sampled++;
  }
}
let timerBytes = 0;
for (let partition = 0; partition < config.TOPIC_PARTITIONS; partition++) timerBytes += Number(await redis.memory("USAGE", layout.timers(partition), "SAMPLES", "0"));
// Stage changes written: the outboxes are drained, so count what reached the topic.
const transitionCount = await topicRecordCount(kafka, config.TOPIC_STAGE_CHANGES);

const result = {
  benchmark: "processor",
  machine: machine(),
  events: total,
  customers: customers.length,
  partitions: config.TOPIC_PARTITIONS,
  instances,
  stageChangesPublished: transitionCount,
  raw: { consumeEventsPerSecond: Math.round(raw.eventsPerSecond), seconds: raw.seconds },
  consumeAndDecode: { eventsPerSecond: Math.round(decoded.eventsPerSecond), seconds: decoded.seconds },
  // No processor can fold faster than the core alone: its rate on every core bounds the ratio.
  coreFold: coreFold && { ...coreFold, stageChangesAgree: coreFold.stageChanges === transitionCount },
  serviceNodeFlags: values["service-node-flags"] || null,
  processor: {
    eventsPerSecond: Math.round(total / processSeconds),
    steadyEventsPerSecond: Math.round(total / steadySeconds),
    secondsIncludingGroupJoin: Number(processSeconds.toFixed(2)),
    // Spawn → the first process's warm-up: Node loading the code (not in the figures above).
    processStartSeconds: Number(processStartSeconds.toFixed(2)),
    secondsUntilStageChangesPublished: Number(drainedSeconds.toFixed(2)),
  },
  ratio: Number((total / processSeconds / raw.eventsPerSecond).toFixed(3)),
  ratioToConsumeAndDecode: Number((total / processSeconds / decoded.eventsPerSecond).toFixed(3)),
  redisBytesPerCustomer: {
    packedValue: Math.round(valueBytes / sampled),
    memoryUsageWithKey: Math.round(memoryBytes / sampled),
    timerIndex: Math.round(timerBytes / customers.length),
    history: Math.round(historyBytes / sampled),
    historyCap: config.TRANSITION_HISTORY_PER_CUSTOMER,
    allKeysUsedMemory: Math.round((usedAfter - usedBefore) / customers.length),
    sampled,
  },
  batches: batchShape,
  resources,
  stackCpuSeconds,
  // Per event, CPU varies less than rates with the machine's phase (the same build ran 1.6–2× faster on some days).
  cpuMicrosecondsPerEvent: {
    processor: Number(((resources.cpuSeconds * 1e6) / total).toFixed(1)),
    redis: Number((((stackCpuSeconds.redis ?? NaN) * 1e6) / total).toFixed(1)),
    kafka: Number((((stackCpuSeconds.kafka ?? NaN) * 1e6) / total).toFixed(1)),
  },
  redisBusyRepliesToProgressPolls: busyReplies,
};
console.log(JSON.stringify(result, null, 2));
mkdirSync("bench-results", { recursive: true });
writeFileSync(values["result-file"] ?? `bench-results/processor-${new Date().toISOString().replace(/[:.]/g, "-")}.json`, JSON.stringify(result, null, 2));
const perCustomer = result.redisBytesPerCustomer;
console.log(
  `\nRedis per customer: state ${perCustomer.memoryUsageWithKey} B (MEMORY USAGE; packed value ${perCustomer.packedValue} B), timer index ${perCustomer.timerIndex} B, history of ≤ ${perCustomer.historyCap} stage changes ${perCustomer.history} B; all keys ${perCustomer.allKeysUsedMemory} B (INFO used_memory delta)`,
);
console.log(
  `processor: ${result.processor.eventsPerSecond.toLocaleString("en-US")} events/s (steady ${result.processor.steadyEventsPerSecond.toLocaleString("en-US")}) vs raw consume ${result.raw.consumeEventsPerSecond.toLocaleString("en-US")} events/s → ratio ${result.ratio}; vs consume + decode ${result.consumeAndDecode.eventsPerSecond.toLocaleString("en-US")} events/s → ratio ${result.ratioToConsumeAndDecode}`,
);
const perEvent = result.cpuMicrosecondsPerEvent;
console.log(`CPU per event: processor ${perEvent.processor} µs, Redis ${perEvent.redis} µs, Kafka ${perEvent.kafka} µs`);
function coreFoldCeiling() {
  const core = coreCeiling(syntheticEventStream({ seed: Number(values.seed), events: total }), {
    partitions: config.TOPIC_PARTITIONS,
    lifecycle: DEFAULT_LIFECYCLE_CONFIG,
    latenessMs: config.EVENT_TIME_LATENESS_MS,
  });
  return { ...core, ratioBoundOnAllCores: Number(((machine().cores * core.eventsPerSecond) / raw.eventsPerSecond).toFixed(3)) };
}
/** Sums, over Prometheus text expositions, every sample of `name` whose labels include `label` (e.g. 'source="cache"'). */
function sampleSum(expositions: readonly string[], name: string, label = ""): number {
  let sum = 0;
  for (const text of expositions) {
    for (const line of text.split("\n")) {
      if (!line.startsWith(name) || (line[name.length] !== "{" && line[name.length] !== " ") || !line.includes(label)) continue;
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return sum;
}

async function batchStatistics(expositions: readonly string[]) {
  const count = sampleSum(expositions, "clm_processor_batch_events_count");
  const sum = sampleSum(expositions, "clm_processor_batch_events_sum");
  const writes = sampleSum(expositions, "clm_processor_customer_writes_total");
  const fromCache = sampleSum(expositions, "clm_processor_state_loads_total", 'source="cache"');
  const fromRedis = sampleSum(expositions, "clm_processor_state_loads_total", 'source="redis"');
  return {
    count,
    meanEvents: Math.round(sum / Math.max(1, count)),
    customerWritesPerEvent: Number((writes / total).toFixed(3)),
    stateLoadsFromCache: Number((fromCache / Math.max(1, fromCache + fromRedis)).toFixed(3)),
    gcSeconds: Number(sampleSum(expositions, "nodejs_gc_duration_seconds_sum").toFixed(1)),
  };
}

if (!values.keep) {
  await wipePrefix(redis, layout);
  await deleteTopics(kafka, config);
}
redis.disconnect();
