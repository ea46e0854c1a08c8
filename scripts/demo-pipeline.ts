/**
 * The demo's pipeline part: the real CDNOW log into Kafka (Avro, Confluent registry),
 * through the stream processor (event-time clock) into Redis, then a report read back
 * from Redis: stage distribution and RFM segments at the end of the log, checked
 * against the pure core folding the same log in memory. Uses its own topics and Redis
 * prefix (clm.demo.*, clm-demo), reset at every run.
 */
import { loadConfig } from "@clm/config";
import { CUSTOMER_EVENT_SCHEMA_TEXT, customerEventToRecord, type CustomerEventRecord } from "@clm/contracts";
import {
  advanceTo,
  DEFAULT_LIFECYCLE_CONFIG,
  replayPopulation,
  rfmScores,
  RFM_SEGMENTS,
  stageDistribution,
  STAGES,
  type CustomerState,
} from "@clm/core";
import { readCdnowCustomerEvents } from "@clm/datasets";
import { AvroSerde, createIdempotentProducer, createKafka, createRegistry } from "@clm/kafka";
import { createLogger, createMetricsRegistry } from "@clm/observability";
import { createProcessorMetrics, Processor, RedisLayout, RfmBoundaryStore, StateStore, wipePrefix } from "@clm/processor";
import { Redis } from "ioredis";

const END = Date.UTC(1998, 6, 1);
const config = loadConfig({
  ...process.env,
  TOPIC_EVENTS: "clm.demo.events",
  TOPIC_STAGE_CHANGES: "clm.demo.stage-changes",
  TOPIC_DEAD_LETTER: "clm.demo.dead-letter",
  PROCESSOR_GROUP_ID: "clm-demo-processor",
  REDIS_KEY_PREFIX: "clm-demo",
  CLOCK_MODE: "event",
  // kafkajs reports retried start-up hiccups (e.g. "coordinator is loading") as errors; the demo fails loudly on real ones.
  LOG_LEVEL: process.env.LOG_LEVEL ?? "fatal",
});
const logger = createLogger({ service: "demo", level: config.LOG_LEVEL });
const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: "clm-demo", logger });
const redis = new Redis(config.REDIS_URL);
const layout = new RedisLayout(config.REDIS_KEY_PREFIX);
const step = (text: string) => console.log(`\n▶ ${text}`);

// Reset the demo's namespace so every run starts from nothing.
const admin = kafka.admin();
await admin.connect();
const existing = new Set(await admin.listTopics());
const demoTopics = [config.TOPIC_EVENTS, config.TOPIC_STAGE_CHANGES, config.TOPIC_DEAD_LETTER].filter((topic) => existing.has(topic));
if (demoTopics.length > 0) await admin.deleteTopics({ topics: demoTopics, timeout: 30_000 });
await admin.deleteGroups([config.PROCESSOR_GROUP_ID]).catch(() => undefined);
await wipePrefix(redis, layout);
// Topic deletion completes asynchronously in Kafka; wait until the names are free.
for (let tries = 0; tries < 100 && (await admin.listTopics()).some((topic) => demoTopics.includes(topic)); tries++) await new Promise((resolve) => setTimeout(resolve, 200));
await admin.disconnect();

step("Reading the CDNOW purchase log (data/cdnow/CDNOW_master.txt)");
const events = await readCdnowCustomerEvents();
console.log(`  ${events.length.toLocaleString("en-US")} purchases by ${new Set(events.map((event) => event.customerId)).size.toLocaleString("en-US")} customers, ${new Date(events[0]!.occurredAt).toISOString().slice(0, 10)} … ${new Date(events.at(-1)!.occurredAt).toISOString().slice(0, 10)}`);

const registry = createRegistry(config.SCHEMA_REGISTRY_URL);
const metricsRegistry = createMetricsRegistry("processor");
const processor = new Processor({
  config,
  lifecycle: DEFAULT_LIFECYCLE_CONFIG,
  logger,
  metrics: createProcessorMetrics(metricsRegistry),
  kafka,
  redis,
  registry,
});
step(`Starting the stream processor (event-time clock, ${config.TOPIC_PARTITIONS} partitions; creates the topics)`);
await processor.start();

step(`Producing the purchases to Kafka topic ${config.TOPIC_EVENTS} (Avro, schema registry, key = customerId, acks=all)`);
const serde = new AvroSerde<CustomerEventRecord>(registry, `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT);
await serde.register();
const producer = createIdempotentProducer(kafka);
await producer.connect();
let started = performance.now();
for (let start = 0; start < events.length; start += 5000) {
  await producer.send({
    topic: config.TOPIC_EVENTS,
    acks: -1,
    messages: events.slice(start, start + 5000).map((event) => ({ key: event.customerId, value: serde.encode(customerEventToRecord(event, Date.now())) })),
  });
}
await producer.disconnect();
console.log(`  produced in ${((performance.now() - started) / 1000).toFixed(1)} s`);

step("Waiting for the processor to fold every event into Redis and publish every stage change");
const store = new StateStore(redis, layout, config.TRANSITION_HISTORY_PER_CUSTOMER);
started = performance.now();
for (;;) {
  let applied = 0;
  let pending = 0;
  for (let partition = 0; partition < config.TOPIC_PARTITIONS; partition++) {
    applied += Number((await store.loadMeta(partition)).offset ?? 0);
    pending += await store.outboxLength(partition);
  }
  const progress = `  applied ${applied.toLocaleString("en-US")} / ${events.length.toLocaleString("en-US")}, stage changes waiting to publish: ${pending}`;
  if (process.stdout.isTTY) process.stdout.write(`\r${progress}      `);
  else if (Math.round((performance.now() - started) / 250) % 8 === 0) console.log(progress);
  if (applied >= events.length && pending === 0) break;
  await new Promise((resolve) => setTimeout(resolve, 250));
}
await processor.stop();
const metricText = await metricsRegistry.metrics();
const sum = (name: string) => [...metricText.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, "gm"))].reduce((total, match) => total + Number(match[1]), 0);
console.log(`\n  caught up in ${((performance.now() - started) / 1000).toFixed(1)} s; ${sum("clm_processor_stage_changes_published_total").toLocaleString("en-US")} stage changes published to ${config.TOPIC_STAGE_CHANGES}; ${sum("clm_processor_dead_letters_total")} dead letters`);

step("Population RFM boundaries from the states in Redis, as of 1998-07-01");
const rfm = new RfmBoundaryStore(redis, layout);
const { boundaries, customers } = await rfm.computeFromStates(END);
await rfm.save(boundaries, { computedAt: END, customers });
console.log(`  recency days ${boundaries.recencyDays.map((value) => value.toFixed(0)).join(" / ")}, purchases ${boundaries.frequency.join(" / ")}, spend ${boundaries.monetaryE4.map((value) => (value / 10_000).toFixed(2)).join(" / ")}`);

// Read every customer back from Redis and evaluate at the end of the log.
const states: CustomerState[] = [];
let cursor = "0";
do {
  const [next, keys] = await redis.scan(cursor, "MATCH", `${config.REDIS_KEY_PREFIX}:{p*}:c:*`, "COUNT", 2000);
  cursor = next;
  for (const [index, value] of (keys.length > 0 ? await redis.mgetBuffer(...keys) : []).entries()) {
    if (!value) continue;
    const customerId = /:c:(.*)$/.exec(keys[index]!)![1]!;
    const partition = Number(/\{p(\d+)\}/.exec(keys[index]!)![1]);
    const [state] = (await store.loadStates(partition, [customerId])).values();
    states.push(advanceTo(state!, END, DEFAULT_LIFECYCLE_CONFIG).state);
  }
} while (cursor !== "0");

const reference = replayPopulation(events, DEFAULT_LIFECYCLE_CONFIG, END);
const agreeing = states.filter((state) => JSON.stringify(state) === JSON.stringify(reference.states.get(state.customerId))).length;

const line = (label: string, count: number, total: number) => `  ${label.padEnd(20)} ${String(count).padStart(7)}  ${((100 * count) / total).toFixed(1).padStart(5)}%`;
step(`Lifecycle stages on 1998-07-01 (from Redis, ${states.length.toLocaleString("en-US")} customers)`);
const distribution = stageDistribution(states, STAGES);
for (const stage of STAGES) console.log(line(stage, distribution[stage], states.length));
step("RFM segments on 1998-07-01");
const segments = new Map<string, number>(RFM_SEGMENTS.map((segment) => [segment, 0]));
for (const state of states) {
  const scores = rfmScores(state, END, boundaries);
  if (scores) segments.set(scores.segment, segments.get(scores.segment)! + 1);
}
for (const [segment, count] of [...segments].sort((left, right) => right[1] - left[1])) console.log(line(segment, count, states.length));
console.log(`\n  Check: the Redis state of ${agreeing.toLocaleString("en-US")} of ${states.length.toLocaleString("en-US")} customers is identical to the pure core folding the same log in memory.`);

step("Where to look next");
console.log(`  Redis      redis-cli -p ${new URL(config.REDIS_URL).port} --scan --pattern '${config.REDIS_KEY_PREFIX}:{p0}:c:*' | head   (layout: docs/processor.md)`);
console.log(`  Kafka      stage changes on ${config.TOPIC_STAGE_CHANGES} (Avro, schemas/stage-change.avsc), registry ${config.SCHEMA_REGISTRY_URL}`);
console.log(`  Processor  npm run processor   (then /metrics and /healthz on port ${config.PROCESSOR_HTTP_PORT})`);
console.log(`  ClickHouse ${config.CLICKHOUSE_URL} (the sink and cohort views come next)`);
redis.disconnect();
if (agreeing !== states.length) process.exit(1);
