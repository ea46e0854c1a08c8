import { DEFAULT_LIFECYCLE_CONFIG, encodeState, foldPartitionBatch, type CustomerState } from "@clm/core";
import { partitionForKey } from "@clm/kafka";
import { RedisLayout, saveAudienceDefinitions } from "@clm/state-store";
import { growPartitions, GrowthRefusedError, wipePrefix } from "@clm/state-store/admin";
import { createRedis, scanAllKeys } from "@clm/redis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { isolatedConfig } from "./support/pipeline.ts";

/**
 * The Redis half of a growth (growPartitions) on real Redis, where the copy itself finds a reason to
 * refuse: a customer where the partitioner does not put it, a key the layout does not define, a
 * customer still to be moved to its partition's audience definitions. Each refusal names the
 * problem and leaves the new prefix empty; the old prefix is only read.
 */
const config = isolatedConfig();
const redis = createRedis(config);
const from = new RedisLayout(`${config.REDIS_KEY_PREFIX}-from`);
const to = new RedisLayout(`${config.REDIS_KEY_PREFIX}-to`);
const CUSTOMERS = Array.from({ length: 60 }, (_, index) => `c-${index}`);

afterEach(async () => {
  await wipePrefix(redis, from);
  await wipePrefix(redis, to);
});
afterAll(() => redis.disconnect());

function stateOf(customerId: string): CustomerState {
  const event = { eventId: `e-${customerId}`, customerId, occurredAt: Date.UTC(2024, 0, 1), type: "purchase" as const, properties: { orderId: "o", amountE4: 10_000, currency: "USD", quantity: null } };
  return foldPartitionBatch(new Map(), [{ offset: "0", receivedAt: 0, event }], { watermark: null, latenessMs: 0 }, DEFAULT_LIFECYCLE_CONFIG).changed.get(customerId)!;
}

/** A drained old prefix on 3 partitions: states, a timer each, metas. */
async function oldPrefix(meta: Record<string, string> = {}): Promise<void> {
  for (const customerId of CUSTOMERS) {
    const partition = partitionForKey(customerId, 3);
    await redis.set(from.customer(partition, customerId), Buffer.from(encodeState(stateOf(customerId))));
    await redis.zadd(from.timers(partition), Date.UTC(2024, 3, 1), customerId);
  }
  for (let partition = 0; partition < 3; partition++) await redis.hset(from.meta(partition), { offset: "20", seq: "5", watermark: String(Date.UTC(2024, 0, 1)), ...meta });
}

const grow = () => growPartitions(redis, { from, to, fromPartitions: 3, toPartitions: 8, partitionOf: partitionForKey, startOffsets: Array.from({ length: 8 }, () => "0") });

async function keysUnder(layout: RedisLayout): Promise<number> {
  return (await scanAllKeys(redis, layout.pattern())).length;
}

async function refusal(): Promise<string> {
  const error = await grow().then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(GrowthRefusedError);
  return (error as GrowthRefusedError).message;
}

describe("growPartitions on real Redis", () => {
  it("copies a drained prefix: every customer and timer under its new partition, metas at the new topic's start", async () => {
    await oldPrefix();
    const before = await keysUnder(from);
    const report = await grow();
    expect(report.customers).toBe(CUSTOMERS.length);
    expect(report.timers).toBe(CUSTOMERS.length);
    expect(report.customersPerNewPartition.reduce((sum, count) => sum + count, 0)).toBe(CUSTOMERS.length);
    for (const customerId of CUSTOMERS) {
      const target = partitionForKey(customerId, 8);
      expect(await redis.getBuffer(to.customer(target, customerId))).toEqual(await redis.getBuffer(from.customer(partitionForKey(customerId, 3), customerId)));
      expect(await redis.zscore(to.timers(target), customerId)).toBe(String(Date.UTC(2024, 3, 1)));
    }
    expect(await redis.hgetall(to.meta(7))).toEqual({ offset: "0", seq: "0", watermark: String(Date.UTC(2024, 0, 1)) });
    expect(await redis.llen(to.growths())).toBe(1);
    expect(await keysUnder(from)).toBe(before);
  });

  it("refuses a customer stored where the producers' partitioner does not put its key, and leaves the new prefix empty", async () => {
    await oldPrefix();
    const stray = CUSTOMERS[0]!;
    const wrong = (partitionForKey(stray, 3) + 1) % 3;
    await redis.set(from.customer(wrong, stray), Buffer.from(encodeState(stateOf(stray))));
    expect(await refusal()).toContain(`1 × customer in another partition than the producers' partitioner gives its key (a producer with its own partitioner?) (e.g. "${stray} in ${wrong}")`);
    expect(await keysUnder(to)).toBe(0);
  });

  it("refuses a partition key the layout does not define", async () => {
    await oldPrefix();
    await redis.set(`${from.prefix}:{p1}:queue`, "x");
    expect(await refusal()).toContain(`key the partition layout does not define (packages/state-store redis-layout.ts) (e.g. "${from.prefix}:{p1}:queue")`);
    expect(await keysUnder(to)).toBe(0);
  });

  it("refuses customers still to be moved to their partition's audience definitions", async () => {
    const definitions = (await saveAudienceDefinitions(redis, from, "d-0", [{ id: "buyers", version: 1, name: "Buyers", filter: { purchaseCount: { min: 1 } } }], null))!;
    // Activated after the customers' last event, on the event clock: none of them is moved yet.
    await oldPrefix({ audiences: definitions.version, audiencesAt: String(Date.UTC(2024, 0, 2)), audiencesBefore: "[]" });
    expect(await refusal()).toContain(`${CUSTOMERS.length} × customer still to be moved to its partition's audience definitions`);
    expect(await keysUnder(to)).toBe(0);
  });

  it("refuses a new prefix that holds keys, and leaves them", async () => {
    await oldPrefix();
    await redis.set(`${to.prefix}:something`, "kept");
    expect(await refusal()).toContain(`the new prefix ${to.prefix} holds keys already (${to.prefix}:something)`);
    expect(await redis.get(`${to.prefix}:something`)).toBe("kept");
  });
});
