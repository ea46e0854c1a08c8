import { decodeState, type ActiveAudiences, type ActiveValueModel } from "@clm/core";
import type { RedisClient } from "@clm/redis";
import { groupBy, sharedTarget, sortedSetChunks, type GrowthLayouts } from "./growth-layouts.ts";
import { pendingActivation } from "./growth-plan.ts";
import { scanKeys } from "./key-scan.ts";
import { ProblemLog } from "./problem-log.ts";

/** What an old partition has active, for telling whether a customer can move (growth-plan pendingActivation). */
export interface SourceActivations {
  value: ActiveValueModel | null;
  audiences: ActiveAudiences | null;
}

export interface CopyCounts {
  customers: number;
  customersPerOldPartition: number[];
  customersPerNewPartition: number[];
  histories: number;
  timers: number;
  memberships: number;
  sharedKeys: number;
  problems: ProblemLog;
}

// Sets each state under its new key unless the key is there (a key SCAN returned twice, already
// copied): returns how many were new. All keys of one call share a new partition's hash tag.
const SET_NEW_SCRIPT = `
local created = 0
for i = 1, #KEYS do
  if redis.call('SET', KEYS[i], ARGV[i], 'NX') then created = created + 1 end
end
return created
`;

type GrowthRedis = RedisClient & { clmGrowthSetNew(numberOfKeys: number, keys: readonly string[], values: readonly Buffer[]): Promise<number> };

function withScripts(redis: RedisClient): GrowthRedis {
  if (!("clmGrowthSetNew" in redis)) redis.defineCommand("clmGrowthSetNew", { lua: SET_NEW_SCRIPT });
  return redis as GrowthRedis;
}

const isBusyKey = (error: unknown) => error instanceof Error && error.message.startsWith("BUSYKEY");

/**
 * Copies every key of the old prefix to the new one in one SCAN pass: each customer's packed state
 * and history under the new partition the producers' partitioner gives its key, timers and audience
 * members likewise member by member, shared keys (models, definitions, RFM boundaries, webhooks) as
 * they are. Partition metas are not copied (the caller writes the new ones after verifying). Every
 * command touches one key, or keys of one new partition's hash tag. Problems are collected, not
 * thrown: the caller decides (and removes the copy).
 */
export async function copyForGrowth(redis: RedisClient, layouts: GrowthLayouts, activations: readonly SourceActivations[], onProgress?: (customers: number) => void): Promise<CopyCounts> {
  const { from, fromPartitions, toPartitions } = layouts;
  const counts: CopyCounts = {
    customers: 0,
    customersPerOldPartition: Array.from({ length: fromPartitions }, () => 0),
    customersPerNewPartition: Array.from({ length: toPartitions }, () => 0),
    histories: 0,
    timers: 0,
    memberships: 0,
    sharedKeys: 0,
    problems: new ProblemLog(),
  };
  const sortedSets = new Map<string, { partition: number; audienceId: string | null }>();
  const shared = new Set<string>();
  for await (const keys of scanKeys(redis, from.pattern(), layouts.scanCount)) {
    const customers: { partition: number; customerId: string }[] = [];
    const histories: { key: string; customerId: string }[] = [];
    const sharedKeys: string[] = [];
    for (const key of keys) {
      const parsed = from.parseKey(key);
      if (parsed === null) continue;
      if (parsed.kind === "shared") {
        if (!shared.has(key)) sharedKeys.push(key);
        shared.add(key);
        continue;
      }
      if (parsed.partition !== null && parsed.partition >= fromPartitions) {
        counts.problems.add(`key of a partition beyond the input topic's ${fromPartitions} (left from another partition count?)`, key);
        continue;
      }
      if (parsed.kind === "customer") customers.push({ partition: parsed.partition, customerId: parsed.customerId });
      else if (parsed.kind === "history") histories.push({ key, customerId: parsed.customerId });
      else if (parsed.kind === "timers") sortedSets.set(key, { partition: parsed.partition, audienceId: null });
      else if (parsed.kind === "members") sortedSets.set(key, { partition: parsed.partition, audienceId: parsed.audienceId });
      else if (parsed.kind === "outbox") counts.problems.add("outbox holding changes not yet published", key);
      else if (parsed.kind === "unknown") counts.problems.add("key the partition layout does not define (packages/state-store redis-layout.ts)", key);
    }
    await Promise.all([copyCustomers(redis, layouts, customers, activations, counts), copyHistories(redis, layouts, histories, counts), copyShared(redis, layouts, sharedKeys, counts)]);
    onProgress?.(counts.customers);
  }
  for (const [key, { audienceId }] of sortedSets) {
    const targetOf = (member: string) => {
      const partition = layouts.partitionOf(member, toPartitions);
      return audienceId === null ? layouts.to.timers(partition) : layouts.to.audienceMembers(partition, audienceId);
    };
    const added = await copySortedSet(redis, key, targetOf);
    if (audienceId === null) counts.timers += added;
    else counts.memberships += added;
  }
  return counts;
}

async function copyCustomers(redis: RedisClient, layouts: GrowthLayouts, customers: readonly { partition: number; customerId: string }[], activations: readonly SourceActivations[], counts: CopyCounts): Promise<void> {
  const { from, to, fromPartitions, toPartitions, partitionOf } = layouts;
  const scripts = withScripts(redis);
  await Promise.all(
    [...groupBy(customers, (customer) => customer.partition)].map(async ([partition, group]) => {
      // One MGET per old partition: its keys share a hash tag.
      const values = await redis.mgetBuffer(group.map(({ customerId }) => from.customer(partition, customerId)));
      const active = activations[partition]!;
      const moving: { customerId: string; target: number; value: Buffer }[] = [];
      group.forEach(({ customerId }, index) => {
        const value = values[index];
        if (value === null || value === undefined) return counts.problems.add("customer state that vanished during the copy (does something still write the old prefix?)", customerId);
        if (partitionOf(customerId, fromPartitions) !== partition) {
          return counts.problems.add("customer in another partition than the producers' partitioner gives its key (a producer with its own partitioner?)", `${customerId} in ${partition}`);
        }
        if (active.value !== null || active.audiences !== null) {
          let pending: ReturnType<typeof pendingActivation>;
          try {
            pending = pendingActivation(decodeState(customerId, value), active.value, active.audiences);
          } catch (error) {
            return counts.problems.add(`customer state that does not decode (${(error as Error).message})`, customerId);
          }
          if (pending !== null) {
            return counts.problems.add(
              `customer still to be moved to its partition's ${pending} (on the event clock it moves once the watermark passes the activation: let more events in or advance the clock, drain, grow again)`,
              customerId,
            );
          }
        }
        moving.push({ customerId, target: partitionOf(customerId, toPartitions), value });
      });
      for (const [target, batch] of groupBy(moving, (entry) => entry.target)) {
        const created = await scripts.clmGrowthSetNew(batch.length, batch.map(({ customerId }) => to.customer(target, customerId)), batch.map(({ value }) => value));
        counts.customers += created;
        counts.customersPerOldPartition[partition]! += created;
        counts.customersPerNewPartition[target]! += created;
      }
    }),
  );
}

async function copyHistories(redis: RedisClient, layouts: GrowthLayouts, histories: readonly { key: string; customerId: string }[], counts: CopyCounts): Promise<void> {
  const copied = await Promise.all(
    histories.map(async ({ key, customerId }) => {
      const payload = await redis.dumpBuffer(key);
      if (payload === null) return 0;
      const target = layouts.to.history(layouts.partitionOf(customerId, layouts.toPartitions), customerId);
      // Without REPLACE: a key SCAN returned twice is there already, and counts once.
      return redis.restore(target, 0, payload).then(
        () => 1,
        (error: unknown) => {
          if (isBusyKey(error)) return 0;
          throw error;
        },
      );
    }),
  );
  counts.histories += copied.reduce((sum: number, one) => sum + one, 0);
}

async function copyShared(redis: RedisClient, layouts: GrowthLayouts, keys: readonly string[], counts: CopyCounts): Promise<void> {
  await Promise.all(
    keys.map(async (key) => {
      const [payload, ttl] = await Promise.all([redis.dumpBuffer(key), redis.pttl(key)]);
      if (payload === null) return;
      await redis.restore(sharedTarget(layouts, key), ttl > 0 ? ttl : 0, payload, "REPLACE");
      counts.sharedKeys++;
    }),
  );
}

/** Copies a sorted set member by member to the key `targetOf` gives each; returns how many members were added. */
async function copySortedSet(redis: RedisClient, key: string, targetOf: (member: string) => string): Promise<number> {
  let added = 0;
  for await (const { members, scores } of sortedSetChunks(redis, key)) {
    const byTarget = groupBy(
      members.map((member, index) => ({ member, score: scores[index]! })),
      (entry) => targetOf(entry.member),
    );
    const results = await Promise.all([...byTarget].map(([target, entries]) => redis.zadd(target, ...entries.flatMap(({ member, score }) => [score, member]))));
    added += results.reduce((sum, count) => sum + Number(count), 0);
  }
  return added;
}
