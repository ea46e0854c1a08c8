/**
 * Rebuild of the Redis state from the input topic, on the local stack:
 *   npm run bench -- rebuild [--events 1000000] [--seed 42]
 * Produces a synthetic population (deterministic) to a fresh topic, measures the raw kafkajs
 * consume-only rate on it, then `rebuild` (the processor from offset 0 into an empty prefix,
 * publishing nothing) until every partition is applied. Goal: 1M events in ≤ 60 s.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { DEFAULT_LIFECYCLE_CONFIG } from "@clm/core";
import { syntheticEventStream } from "@clm/datasets";
import { createRegistry } from "@clm/kafka";
import { createMetricsRegistry } from "@clm/observability";
import { createProcessorMetrics, rebuild, RedisLayout, wipePrefix } from "@clm/processor";
import { Redis } from "ioredis";
import { createTopics, deleteTopics, isolatedConfig, produceEvents, testKafka, testLogger } from "../tests/integration/support/pipeline.ts";
import { machine, rawConsumeRate, resourceSampler } from "./support.ts";

const { values } = parseArgs({ options: { events: { type: "string", default: "1000000" }, seed: { type: "string", default: "42" } } });
const total = Number(values.events);
const config = isolatedConfig({ TOPIC_PARTITIONS: "6" });
const kafka = testKafka(config);
const redis = new Redis(config.REDIS_URL);
await createTopics(kafka, config);
let started = performance.now();
await produceEvents(kafka, config, syntheticEventStream({ seed: Number(values.seed), events: total }));
console.log(`generated and produced ${total.toLocaleString("en-US")} events in ${((performance.now() - started) / 1000).toFixed(1)} s`);
const raw = await rawConsumeRate(kafka, config.TOPIC_EVENTS, total);
console.log(`raw kafkajs consume-only: ${Math.round(raw.eventsPerSecond).toLocaleString("en-US")} events/s`);

const keyPrefix = `${config.REDIS_KEY_PREFIX}-rebuilt`;
const sampler = resourceSampler();
started = performance.now();
const report = await rebuild({
  config,
  lifecycle: DEFAULT_LIFECYCLE_CONFIG,
  logger: testLogger,
  metrics: createProcessorMetrics(createMetricsRegistry("bench")),
  kafka,
  redis,
  registry: createRegistry(config.SCHEMA_REGISTRY_URL),
  keyPrefix,
  pollMs: 100,
});
const seconds = (performance.now() - started) / 1000;
const resources = sampler.stop();
const result = {
  benchmark: "rebuild",
  at: new Date().toISOString(),
  machine: machine(),
  events: total,
  rebuildSeconds: Number(seconds.toFixed(1)),
  eventsPerSecond: Math.round(total / seconds),
  rawConsumeEventsPerSecond: Math.round(raw.eventsPerSecond),
  ratio: Number((total / seconds / raw.eventsPerSecond).toFixed(3)),
  report,
  resources,
};
console.log(`rebuild of ${total.toLocaleString("en-US")} events: ${result.rebuildSeconds} s (${result.eventsPerSecond.toLocaleString("en-US")} events/s; goal ≤ 60 s), ratio to raw consume ${result.ratio}`);
mkdirSync("bench-results", { recursive: true });
writeFileSync(`bench-results/rebuild-${result.at.replace(/[:.]/g, "-")}.json`, JSON.stringify(result, null, 2));
console.log(JSON.stringify(result));
await wipePrefix(redis, new RedisLayout(keyPrefix));
await deleteTopics(kafka, config);
redis.disconnect();
