import { DEFAULT_LIFECYCLE_CONFIG, foldPartitionBatch, type BatchRecord, type CustomerEvent, type CustomerState } from "@clm/core";
import { receivedAtOf } from "@clm/kafka";
import { RedisLayout, StateReader } from "@clm/state-store";
import { createRedis, type RedisClient } from "@clm/redis";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cdnowEvents } from "./support/cdnow-events.ts";
import { mismatchedStates, publishedStageChanges } from "./support/core-expectation.ts";
import { envOf, startService } from "./support/child-service.ts";
import { createTopics, isolatedConfig, produceEvents, readTopic, testKafka, waitFor, tearDownRun } from "./support/pipeline.ts";

/**
 * Crash safety: the processor runs as a real process over the whole CDNOW log
 * (69,659 purchases) and is killed with SIGKILL at random moments while it works,
 * then restarted. The final Redis state must equal the pure core's, and the set of
 * published transition ids must equal a clean run's (redelivery may repeat a
 * publish — consumers dedupe on the id — but nothing is lost or invented).
 */
const KILLS = Number(process.env.CRASH_TEST_KILLS ?? 4);
const SEED = Number(process.env.CRASH_TEST_SEED ?? Date.now() % 100_000);
const config = isolatedConfig({ PROCESSOR_HTTP_PORT: "0", LOG_LEVEL: "info" });
const ENTRY = "services/processor/src/main.ts";
let kafka: Kafka;
let redis: RedisClient;
let events: CustomerEvent[];

let seed = SEED;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
};

beforeAll(async () => {
  kafka = testKafka(config);
  redis = createRedis(config);
  await createTopics(kafka, config);
  events = await cdnowEvents("master");
}, 120_000);

afterAll(async () => {
  await tearDownRun(kafka, redis, config);
});

describe(`processor crash safety (kill -9 × ${KILLS}, seed ${SEED})`, () => {
  it("after random kills and restarts, state and published transition ids equal a clean run", async () => {
    const store = new StateReader(redis, new RedisLayout(config.REDIS_KEY_PREFIX));
    const appliedTotal = async () => {
      let total = 0n;
      for (let partition = 0; partition < config.TOPIC_PARTITIONS; partition++) total += BigInt((await store.loadMeta(partition)).offset ?? "0");
      return total;
    };
    // The log arrives in KILLS + 1 chunks, one before each start, so every kill lands while there is work.
    const chunkSize = Math.ceil(events.length / (KILLS + 1));
    const chunks = Array.from({ length: KILLS + 1 }, (_, index) => events.slice(index * chunkSize, (index + 1) * chunkSize));
    const killedAt: string[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      await produceEvents(kafka, config, chunks[kill]!);
      const service = startService(ENTRY, envOf(config));
      await service.waitForLog("partitions assigned");
      // Kill at a random point of the outstanding work: once a random share of it is applied, plus a
      // random moment — inside a large batch, between a commit and its Kafka offset commit, mid-publish.
      const before = await appliedTotal();
      const outstanding = (kill + 1) * chunkSize - Number(before);
      const target = before + BigInt(Math.floor(random() * 0.9 * Math.max(0, outstanding)));
      await waitFor(async () => (await appliedTotal()) >= target, "progress before the kill", 120_000, 25);
      await new Promise((resolve) => setTimeout(resolve, random() * 400));
      killedAt.push((await appliedTotal()).toString());
      service.child.kill("SIGKILL");
      await service.exited;
    }
    await produceEvents(kafka, config, chunks[KILLS]!);
    const final = startService(ENTRY, envOf(config));
    const running = JSON.parse(await final.waitForLog("processor running")) as { port: number };

    const byPartition = await readTopic(kafka, config.TOPIC_EVENTS);
    await waitFor(async () => {
      for (const [partition, messages] of byPartition) {
        const end = (BigInt(messages.at(-1)!.offset) + 1n).toString();
        if ((await store.loadMeta(partition)).offset !== end || (await store.outboxLength(partition)) > 0) return false;
      }
      return true;
    }, "the restarted processor to catch up and drain", 180_000);
    // The operations endpoint of the real process: health of its real dependencies, and metrics.
    const health = await fetch(`http://127.0.0.1:${running.port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, checks: { redis: { ok: true }, kafka: { ok: true }, schemaRegistry: { ok: true } } });
    const exposition = await (await fetch(`http://127.0.0.1:${running.port}/metrics`)).text();
    expect(exposition).toMatch(/clm_processor_events_total\{outcome="applied",service="processor"\} \d+/);
    expect(exposition).toContain("clm_processor_consumer_lag");
    final.child.kill("SIGTERM");
    expect(await final.exited).toBe(0);

    // The pure core over the same partitions, in the same order.
    const expectedStates = new Map<string, { partition: number; state: CustomerState }>();
    const expectedIds = new Set<string>();
    // Produced in time order, keyed by customerId: each partition holds its customers' events in produce order.
    const perPartitionOrder = new Map<number, CustomerEvent[]>([...byPartition.keys()].map((partition) => [partition, []]));
    const { Partitioners } = await import("kafkajs");
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: config.TOPIC_PARTITIONS }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
    for (const event of events) {
      const partition = partitioner({ topic: config.TOPIC_EVENTS, partitionMetadata, message: { key: event.customerId, value: null } });
      perPartitionOrder.get(partition)!.push(event);
    }
    for (const [partition, list] of perPartitionOrder) {
      expect(list.length).toBe(byPartition.get(partition)!.length);
      const messages = byPartition.get(partition)!;
      const records: BatchRecord[] = list.map((event, index) => ({ offset: String(index), event, receivedAt: receivedAtOf(messages[index]!) }));
      const result = foldPartitionBatch(new Map(), records, { watermark: null, latenessMs: 0 }, DEFAULT_LIFECYCLE_CONFIG);
      for (const [customerId, state] of result.changed) expectedStates.set(customerId, { partition, state });
      for (const { effect } of result.effects) if (effect.kind === "stage_changed") expectedIds.add(effect.transition.transitionId);
    }

    expect(await mismatchedStates(store, expectedStates)).toEqual([]);
    expect(expectedStates.size).toBe(23_570);

    const { ids: publishedIds, publishes: publishedCount } = await publishedStageChanges(kafka, config);
    expect(publishedIds.size).toBe(expectedIds.size);
    expect([...expectedIds].filter((id) => !publishedIds.has(id))).toEqual([]);
    expect(publishedCount).toBeGreaterThanOrEqual(expectedIds.size);
    console.log(`crash test: killed at applied offsets ${killedAt.join(", ")}; ${publishedCount - expectedIds.size} duplicate publishes of ${expectedIds.size} transitions`);
  }, 600_000);
});
