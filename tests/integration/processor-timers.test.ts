import type { Config } from "@clm/config";
import { STAGE_CHANGE_SCHEMA_TEXT, type StageChangeRecord } from "@clm/contracts";
import { parseLifecycleConfig, rfmScores, type CustomerEvent, type LifecycleConfig, type RfmBoundaries, type HistoryEntry } from "@clm/core";
import { AvroSerde, createRegistry } from "@clm/kafka";
import { createMetricsRegistry } from "@clm/observability";
import { createProcessorMetrics, Processor } from "@clm/processor";
import { RedisLayout, StateReader } from "@clm/state-store";
import { RfmBoundaryStore, wipePrefix } from "@clm/state-store/admin";
import { createRedis, type RedisClient } from "@clm/redis";
import type { Registry } from "prom-client";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTopics, deleteTopics, isolatedConfig, produceEvents, readTopic, testKafka, testLogger, waitFor } from "./support/pipeline.ts";

/**
 * Wall-clock timers on real servers. Thresholds are seconds instead of days so the
 * test runs in real time: warn 2 s, churn 4 s after the last purchase.
 */
const SECOND_IN_DAYS = 1 / 86_400;
// Recency in days: a purchase seconds ago scores R 5; one purchase of 5.00 scores F 1, M 2.
const boundaries: RfmBoundaries = { recencyDays: [1, 30, 90, 180], frequency: [1, 2, 4, 8], monetaryE4: [10_000, 100_000, 500_000, 1_000_000] };
const lifecycle = parseLifecycleConfig({ churn: { population: { warnAfterDays: 2 * SECOND_IN_DAYS, churnAfterDays: 4 * SECOND_IN_DAYS } } });
const config = isolatedConfig({ CLOCK_MODE: "wall", TIMER_SWEEP_INTERVAL_MS: "100" });
let kafka: Kafka;
let redis: RedisClient;
const processors: Processor[] = [];

const startProcessor = async (options: { config: Config; lifecycle: LifecycleConfig; metricsRegistry?: Registry }) => {
  const { config, lifecycle } = options;
  const processor = new Processor({
    config,
    lifecycle,
    logger: testLogger,
    metrics: createProcessorMetrics(options.metricsRegistry ?? createMetricsRegistry("timers-test")),
    kafka,
    redis,
    registry: createRegistry(config.SCHEMA_REGISTRY_URL),
  });
  await processor.start();
  processors.push(processor);
  return processor;
};

const purchase = (customerId: string, at: number): CustomerEvent => ({
  eventId: `${customerId}-${at}`,
  customerId,
  occurredAt: at,
  type: "purchase",
  properties: { orderId: `o-${customerId}`, amountE4: 50_000, currency: "USD", quantity: 1 },
});

async function historyOf(store: StateReader, customerId: string): Promise<HistoryEntry[]> {
  for (let partition = 0; partition < 8; partition++) {
    const entries = await store.history(partition, customerId, 50);
    if (entries.length > 0) return entries.reverse();
  }
  return [];
}

// The rebalance test runs in its own topics and group, with slower timers (warn 8 s, churn 12 s).
const rebalanceConfig = isolatedConfig({ CLOCK_MODE: "wall", TIMER_SWEEP_INTERVAL_MS: "100" });
const rebalanceLifecycle = parseLifecycleConfig({ churn: { population: { warnAfterDays: 8 * SECOND_IN_DAYS, churnAfterDays: 12 * SECOND_IN_DAYS } } });

beforeAll(async () => {
  kafka = testKafka(config);
  redis = createRedis(config);
  await createTopics(kafka, config);
  await createTopics(kafka, rebalanceConfig);
});

afterAll(async () => {
  for (const processor of processors) await processor.stop().catch(() => undefined);
  for (const each of [config, rebalanceConfig]) {
    await wipePrefix(redis, new RedisLayout(each.REDIS_KEY_PREFIX));
    await deleteTopics(kafka, each);
  }
  redis.disconnect();
});

describe("timers (wall clock)", () => {
  it("a customer who stops buying reaches at_risk and churned with no further event", async () => {
    // Population RFM boundaries are present, so the published snapshots carry RFM scores.
    await new RfmBoundaryStore(redis, new RedisLayout(config.REDIS_KEY_PREFIX)).save(boundaries, { computedAt: Date.now(), customers: 1 });
    await startProcessor({ config, lifecycle });
    const boughtAt = Date.now();
    await produceEvents(kafka, config, [purchase("quiet-1", boughtAt)]);
    const store = new StateReader(redis, new RedisLayout(config.REDIS_KEY_PREFIX));
    await waitFor(async () => (await historyOf(store, "quiet-1")).some((transition) => transition.to === "churned"), "the churn timer", 20_000);
    const history = await historyOf(store, "quiet-1");
    expect(history.map((transition) => [transition.from, transition.to, transition.trigger, transition.occurredAt, transition.reason.code])).toEqual([
      [null, "new", "event", boughtAt, "FIRST_PURCHASE"],
      ["new", "at_risk", "timer", boughtAt + 2000, "PURCHASE_GAP_WARNING"],
      ["at_risk", "churned", "timer", boughtAt + 4000, "PURCHASE_GAP_CHURN"],
    ]);

    // The same three changes reach the stage-change topic, each with its snapshot and RFM scores.
    await waitFor(async () => [...(await readTopic(kafka, config.TOPIC_STAGE_CHANGES)).values()].flat().length >= 3, "stage changes on the topic", 20_000);
    const serde = new AvroSerde<StageChangeRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_STAGE_CHANGES}-value`, STAGE_CHANGE_SCHEMA_TEXT);
    const messages = [...(await readTopic(kafka, config.TOPIC_STAGE_CHANGES)).values()].flat();
    await serde.prepare(messages.map((message) => message.value));
    const records = messages.map((message) => serde.decode(message.value)).filter((record) => record.customerId === "quiet-1");
    expect(records.map((record) => [record.toStage, record.trigger, record.riskLevel, record.snapshot.purchaseCount, record.snapshot.monetaryTotal])).toEqual([
      ["new", "event", "none", 1, 50_000],
      ["at_risk", "timer", "medium", 1, 50_000],
      ["churned", "timer", "high", 1, 50_000],
    ]);
    for (const record of records) {
      const expected = rfmScores({ lastPurchaseAt: boughtAt, purchaseCount: 1, monetaryE4: 50_000 }, record.occurredAt, boundaries)!;
      expect(record.snapshot.rfm).toEqual({ recency: expected.recency, frequency: expected.frequency, monetary: expected.monetary, segment: expected.segment });
    }
  });

  it("on a rebalance the surviving processor takes over the state and timers of the stopped one", async () => {
    const first = await startProcessor({ config: rebalanceConfig, lifecycle: rebalanceLifecycle });
    const survivorMetrics = createMetricsRegistry("survivor");
    const second = await startProcessor({ config: rebalanceConfig, lifecycle: rebalanceLifecycle, metricsRegistry: survivorMetrics });
    await waitFor(async () => first.ownedPartitions.length > 0 && second.ownedPartitions.length > 0, "both processors to own partitions", 30_000);
    const customers = Array.from({ length: 40 }, (_, index) => `rebalance-${index}`);
    const boughtAt = Date.now();
    await produceEvents(kafka, rebalanceConfig, customers.map((customerId) => purchase(customerId, boughtAt)));
    const store = new StateReader(redis, new RedisLayout(rebalanceConfig.REDIS_KEY_PREFIX));
    // Both apply their partitions' purchases …
    await waitFor(async () => {
      for (const customerId of customers) if ((await historyOf(store, customerId)).length === 0) return false;
      return true;
    }, "every purchase to be applied", 20_000);
    // … then the first leaves the group before any timer is due (8 s), and the survivor must fire them all.
    const firstPartitions = first.ownedPartitions;
    await first.stop();
    await waitFor(async () => second.ownedPartitions.length === rebalanceConfig.TOPIC_PARTITIONS, "the survivor to own every partition", 30_000);
    await waitFor(async () => {
      for (const customerId of customers) if ((await historyOf(store, customerId)).at(-1)?.to !== "churned") return false;
      return true;
    }, "every customer to churn", 40_000);
    for (const customerId of customers) {
      expect((await historyOf(store, customerId)).map((transition) => `${transition.to}@${transition.occurredAt - boughtAt}`)).toEqual(["new@0", "at_risk@8000", "churned@12000"]);
    }
    expect(firstPartitions.length).toBeGreaterThan(0);
    // Every timer (2 per customer), including those of the partitions the first processor owned, fired in the survivor.
    expect(await survivorMetrics.getSingleMetricAsString("clm_processor_timers_fired_total")).toContain(`} ${2 * customers.length}`);
  });
});
