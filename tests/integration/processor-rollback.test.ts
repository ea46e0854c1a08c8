import { STAGE_CHANGE_SCHEMA_TEXT, type StageChangeRecord } from "@clm/contracts";
import { DEFAULT_LIFECYCLE_CONFIG, type CustomerEvent } from "@clm/core";
import { AvroSerde, createRegistry } from "@clm/kafka";
import { createMetricsRegistry } from "@clm/observability";
import { createProcessorMetrics, Processor } from "@clm/processor";
import { createRedis, scanAllKeys, type RedisClient } from "@clm/redis";
import { RedisLayout, StateReader } from "@clm/state-store";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cdnowEvents } from "./support/cdnow-events.ts";
import { coreExpectation, mismatchedStates } from "./support/core-expectation.ts";
import { createTopics, isolatedConfig, produceEvents, readTopic, tearDownRun, testKafka, testLogger, waitFor } from "./support/pipeline.ts";

/**
 * Redis loses a partition's last writes while the processor is idle: a failover to a replica that
 * had not received them, or a restart that lost the last second of its append-only file. Here its
 * keys are set back to a copy taken half-way (in one transaction), after the processor applied
 * everything and published the changes. Nothing more arrives on the partition, so no write of the
 * processor meets the fence; its periodic check of the write sequence must notice, go back to the
 * applied offset Redis holds and apply the records again. The state then equals the pure core's and
 * every change id is on the topic (published twice, which consumers drop by id).
 */
const config = isolatedConfig();
const lifecycle = DEFAULT_LIFECYCLE_CONFIG;
const PARTITION = 0;
let kafka: Kafka;
let redis: RedisClient;
let processor: Processor;
let events: CustomerEvent[];
const metricsRegistry = createMetricsRegistry("processor-rollback-test");
const metrics = createProcessorMetrics(metricsRegistry);

beforeAll(async () => {
  kafka = testKafka(config);
  redis = createRedis(config);
  await createTopics(kafka, config);
  events = await cdnowEvents("sample");
  processor = new Processor({ config, lifecycle, logger: testLogger, metrics, kafka, redis, registry: createRegistry(config.SCHEMA_REGISTRY_URL) });
  await processor.start();
});

afterAll(async () => {
  await processor?.stop();
  await tearDownRun(kafka, redis, config);
});

describe("processor when Redis takes back its last writes", () => {
  it("notices the write sequence going back, applies the lost records again, and ends as the pure core", async () => {
    const layout = new RedisLayout(config.REDIS_KEY_PREFIX);
    const store = new StateReader(redis, layout);
    const caughtUp = async () => {
      for (const [partition, messages] of await readTopic(kafka, config.TOPIC_EVENTS)) {
        const end = messages.length === 0 ? null : (BigInt(messages.at(-1)!.offset) + 1n).toString();
        if ((await store.loadMeta(partition)).offset !== end || (await store.outboxLength(partition)) > 0) return false;
      }
      return true;
    };

    const half = Math.floor(events.length / 2);
    await produceEvents(kafka, config, events.slice(0, half));
    await waitFor(caughtUp, "the first half applied and published");
    // The partition's keys as they are now (its hash tag puts them in one slot: one transaction restores them).
    const pattern = `${config.REDIS_KEY_PREFIX}:{p${PARTITION}}:*`;
    const copy = new Map<string, Buffer>();
    for (const key of await scanAllKeys(redis, pattern)) copy.set(key, (await redis.dumpBuffer(key))!);
    const copied = await store.loadMeta(PARTITION);

    await produceEvents(kafka, config, events.slice(half));
    await waitFor(caughtUp, "the second half applied and published");
    const reached = await store.loadMeta(PARTITION);
    expect(BigInt(reached.offset!)).toBeGreaterThan(BigInt(copied.offset!));

    const rollback = redis.multi();
    const now = await scanAllKeys(redis, pattern);
    if (now.length > 0) rollback.unlink(...now);
    for (const [key, value] of copy) rollback.restore(key, 0, value, "REPLACE");
    for (const [error] of (await rollback.exec()) ?? []) if (error) throw error;
    expect((await store.loadMeta(PARTITION)).offset).toBe(copied.offset);

    await waitFor(caughtUp, "the processor to apply the lost records again", 60_000);
    expect((await metricsRegistry.getSingleMetric("clm_processor_redis_state_changed_total")!.get()).values.reduce((sum, entry) => sum + entry.value, 0)).toBeGreaterThanOrEqual(1);

    const expected = await coreExpectation(kafka, config, lifecycle);
    expect(expected.states.size).toBe(2357);
    expect(await mismatchedStates(store, expected.states)).toEqual([]);

    const published = await readTopic(kafka, config.TOPIC_STAGE_CHANGES);
    const serde = new AvroSerde<StageChangeRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_STAGE_CHANGES}-value`, STAGE_CHANGE_SCHEMA_TEXT);
    const publishedIds = new Set<string>();
    for (const messages of published.values()) {
      await serde.prepare(messages.map((message) => message.value));
      for (const message of messages) publishedIds.add(serde.decode(message.value).transitionId);
    }
    expect([...expected.transitionIds].filter((id) => !publishedIds.has(id))).toEqual([]);
    expect([...publishedIds].filter((id) => !expected.transitionIds.has(id))).toEqual([]);
  });
});
