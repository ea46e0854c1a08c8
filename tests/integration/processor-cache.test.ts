import { DEFAULT_LIFECYCLE_CONFIG, foldPartitionBatch, nextDeadline, type CustomerEvent, type CustomerState } from "@clm/core";
import { createRegistry, receivedAtOf } from "@clm/kafka";
import { createMetricsRegistry } from "@clm/observability";
import { createProcessorMetrics, Processor, StateStore } from "@clm/processor";
import { RedisLayout } from "@clm/state-store";
import { createRedis, type RedisClient } from "@clm/redis";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cdnowEvents } from "./support/cdnow-events.ts";
import { coreExpectation, mismatchedStates, mismatchedTimers } from "./support/core-expectation.ts";
import { createTopics, isolatedConfig, produceEvents, readTopic, testKafka, testLogger, waitFor, tearDownRun } from "./support/pipeline.ts";

/**
 * The processor keeps the states it committed in memory between batches
 * (PROCESSOR_CACHED_CUSTOMERS_PER_PARTITION). Batches then read from Redis only customers
 * they have not seen; the results must not change, and a write by anyone else must win
 * over what the cache holds.
 */
const config = isolatedConfig({ PROCESSOR_CACHED_CUSTOMERS_PER_PARTITION: "1000" });
const lifecycle = DEFAULT_LIFECYCLE_CONFIG;
let kafka: Kafka;
let redis: RedisClient;
let processor: Processor;
let store: StateStore;
const metrics = createProcessorMetrics(createMetricsRegistry("processor-cache-test"));

const loads = async (source: "cache" | "redis") => (await metrics.stateLoads.get()).values.find((value) => value.labels.source === source)?.value ?? 0;

async function appliedEverything(): Promise<Awaited<ReturnType<typeof coreExpectation>>> {
  const expected = await coreExpectation(kafka, config, lifecycle);
  await waitFor(async () => {
    for (const [partition, end] of expected.ends) if ((await store.loadMeta(partition)).offset !== end) return false;
    return true;
  }, "the processor to apply every record");
  return expected;
}

beforeAll(async () => {
  kafka = testKafka(config);
  redis = createRedis(config);
  store = new StateStore(redis, new RedisLayout(config.REDIS_KEY_PREFIX), config.TRANSITION_HISTORY_PER_CUSTOMER);
  await createTopics(kafka, config);
  processor = new Processor({ config, lifecycle, logger: testLogger, metrics, kafka, redis, registry: createRegistry(config.SCHEMA_REGISTRY_URL) });
  await processor.start();
});

afterAll(async () => {
  await processor?.stop();
  await tearDownRun(kafka, redis, config);
});

describe("processor state cache (real Kafka, registry, Redis)", () => {
  it("serves returning customers from memory and still ends with exactly the pure core's states and timers", async () => {
    // The CDNOW sample in two waves: the second wave's customers mostly bought in the first.
    const events = await cdnowEvents("sample");
    const cut = Date.UTC(1997, 5, 1);
    await produceEvents(kafka, config, events.filter((event) => event.occurredAt < cut));
    await appliedEverything();
    const fromCacheBefore = await loads("cache");
    await produceEvents(kafka, config, events.filter((event) => event.occurredAt >= cut));
    const expected = await appliedEverything();

    // 2,357 customers over 4 partitions fit a cache of 1,000 per partition: the second wave's
    // returning customers come from memory (nothing else wrote the partitions).
    expect(await loads("cache")).toBeGreaterThan(fromCacheBefore);
    expect(expected.states.size).toBe(2357);
    expect(await mismatchedStates(store, expected.states)).toEqual([]);
    expect(await mismatchedTimers(redis, new RedisLayout(config.REDIS_KEY_PREFIX), expected.states, lifecycle)).toEqual([]);
  });

  it("drops what it holds once another writer commits to the partition: the next batch builds on that write", async () => {
    const expected = await coreExpectation(kafka, config, lifecycle);
    const [customerId, { partition, state }] = [...expected.states].find(([, entry]) => entry.state.purchaseCount > 1)!;
    // Another writer (say, a process that owned the partition for a moment) leaves a state this
    // process has never seen: the same customer with 1,000 more in monetary value.
    const meta = await store.loadMeta(partition);
    const foreign: CustomerState = { ...state, monetaryE4: state.monetaryE4 + 10_000_000 };
    const seq = await store.commit(partition, {
      expectedSeq: meta.seq,
      offset: null,
      watermark: null,
      customers: [{ customerId, state: foreign, deadline: nextDeadline(foreign, lifecycle) }],
      outbox: [],
      history: [],
    });
    expect(seq).toBe(meta.seq + 1);

    const fenced = (await metrics.fencedWrites.get()).values[0]?.value ?? 0;
    const purchase: CustomerEvent = {
      eventId: "after-the-foreign-write",
      customerId,
      occurredAt: state.lastEventAt + 3_600_000,
      type: "purchase",
      properties: { orderId: "cache-test", amountE4: 25_000, currency: "USD", quantity: 1 },
    };
    await produceEvents(kafka, config, [purchase]);
    await appliedEverything();

    // Exactly what the core makes of the foreign state and the new purchase; a stale cache would miss the 1,000.
    const received = receivedAtOf((await readTopic(kafka, config.TOPIC_EVENTS)).get(partition)!.at(-1)!);
    const after = foldPartitionBatch(new Map([[customerId, foreign]]), [{ offset: "0", event: purchase, receivedAt: received }], { watermark: meta.watermark, latenessMs: config.EVENT_TIME_LATENESS_MS }, lifecycle);
    expect((await store.loadStates(partition, [customerId])).get(customerId)).toEqual(after.changed.get(customerId));
    expect((await metrics.fencedWrites.get()).values[0]!.value).toBe(fenced + 1);
  });
});
