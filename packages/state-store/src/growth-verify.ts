import type { RedisClient } from "@clm/redis";
import { groupBy, sharedTarget, sortedSetChunks, type GrowthLayouts } from "./growth-layouts.ts";
import { keyContent } from "./key-content.ts";
import { scanKeys } from "./key-scan.ts";
import { ProblemLog } from "./problem-log.ts";

/**
 * Checks a copy both ways, reading Redis afresh. From the old prefix: every customer's packed state
 * is byte for byte under its new address, its history list equal, every timer and audience member
 * in its new partition's sorted set with the same score, every shared key equal. From the new
 * prefix: every key there is one the copy made (a customer or history in the partition its key
 * maps to, whose source exists), and each sorted set family counts as many members as before.
 * Together: the new prefix holds exactly the old one's data, at the new addresses.
 */
export async function verifyGrowth(redis: RedisClient, layouts: GrowthLayouts): Promise<ProblemLog> {
  const problems = new ProblemLog();
  const sourceMembers = new Map<string, number>();
  const sortedSets = new Map<string, string | null>();
  for await (const keys of scanKeys(redis, layouts.from.pattern(), layouts.scanCount)) {
    const customers: { partition: number; customerId: string }[] = [];
    const histories: { key: string; customerId: string }[] = [];
    const shared: string[] = [];
    for (const key of keys) {
      const parsed = layouts.from.parseKey(key);
      if (parsed?.kind === "customer") customers.push(parsed);
      else if (parsed?.kind === "history") histories.push({ key, customerId: parsed.customerId });
      else if (parsed?.kind === "timers") sortedSets.set(key, null);
      else if (parsed?.kind === "members") sortedSets.set(key, parsed.audienceId);
      else if (parsed?.kind === "shared") shared.push(key);
    }
    await Promise.all([compareCustomers(redis, layouts, customers, problems), compareHistories(redis, layouts, histories, problems), compareShared(redis, layouts, shared, problems)]);
  }
  for (const [key, audienceId] of sortedSets) {
    const family = audienceId === null ? "timers" : `members of ${audienceId}`;
    sourceMembers.set(family, (sourceMembers.get(family) ?? 0) + (await compareSortedSet(redis, layouts, key, audienceId, problems)));
  }
  const targetMembers = await checkTarget(redis, layouts, problems);
  for (const family of new Set([...sourceMembers.keys(), ...targetMembers.keys()])) {
    const before = sourceMembers.get(family) ?? 0;
    const after = targetMembers.get(family) ?? 0;
    if (before !== after) problems.add("sorted set family whose member count differs after the copy", `${family}: ${before} before, ${after} after`);
  }
  return problems;
}

async function compareCustomers(redis: RedisClient, layouts: GrowthLayouts, customers: readonly { partition: number; customerId: string }[], problems: ProblemLog): Promise<void> {
  const { from, to, partitionOf, toPartitions } = layouts;
  const targets = new Map<string, Buffer | null>();
  await Promise.all(
    [...groupBy(customers, ({ customerId }) => partitionOf(customerId, toPartitions))].map(async ([target, group]) => {
      const values = await redis.mgetBuffer(group.map(({ customerId }) => to.customer(target, customerId)));
      group.forEach(({ customerId }, index) => targets.set(customerId, values[index] ?? null));
    }),
  );
  await Promise.all(
    [...groupBy(customers, ({ partition }) => partition)].map(async ([partition, group]) => {
      const values = await redis.mgetBuffer(group.map(({ customerId }) => from.customer(partition, customerId)));
      group.forEach(({ customerId }, index) => {
        const copied = targets.get(customerId) ?? null;
        if (copied === null) problems.add("customer missing under its new address", customerId);
        else if (!copied.equals(values[index] ?? Buffer.alloc(0))) problems.add("customer whose packed state differs under its new address", customerId);
      });
    }),
  );
}

async function compareHistories(redis: RedisClient, layouts: GrowthLayouts, histories: readonly { key: string; customerId: string }[], problems: ProblemLog): Promise<void> {
  await Promise.all(
    histories.map(async ({ key, customerId }) => {
      const target = layouts.to.history(layouts.partitionOf(customerId, layouts.toPartitions), customerId);
      const [before, after] = await Promise.all([redis.lrangeBuffer(key, 0, -1), redis.lrangeBuffer(target, 0, -1)]);
      if (before.length !== after.length || before.some((entry, index) => !entry.equals(after[index]!))) problems.add("history that differs under its new address", customerId);
    }),
  );
}

async function compareShared(redis: RedisClient, layouts: GrowthLayouts, keys: readonly string[], problems: ProblemLog): Promise<void> {
  await Promise.all(
    keys.map(async (key) => {
      const [before, after] = await Promise.all([keyContent(redis, key), keyContent(redis, sharedTarget(layouts, key))]);
      if (before !== after) problems.add("shared key that differs from its copy (does something still write the old prefix?)", key);
    }),
  );
}

/** Checks each member of a source sorted set against its new partition's set; returns the members seen. */
async function compareSortedSet(redis: RedisClient, layouts: GrowthLayouts, key: string, audienceId: string | null, problems: ProblemLog): Promise<number> {
  let members = 0;
  for await (const chunk of sortedSetChunks(redis, key)) {
    members += chunk.members.length;
    const entries = chunk.members.map((member, index) => ({ member, score: chunk.scores[index]! }));
    await Promise.all(
      [...groupBy(entries, ({ member }) => layouts.partitionOf(member, layouts.toPartitions))].map(async ([partition, group]) => {
        const target = audienceId === null ? layouts.to.timers(partition) : layouts.to.audienceMembers(partition, audienceId);
        const scores = await redis.zmscore(target, ...group.map(({ member }) => member));
        group.forEach(({ member, score }, index) => {
          if (scores[index] !== score) problems.add(`${audienceId === null ? "timer" : `member of ${audienceId}`} missing or with another score under its new partition`, member);
        });
      }),
    );
  }
  return members;
}

/** Every key under the new prefix is one the copy made; returns the member counts of its sorted set families. */
async function checkTarget(redis: RedisClient, layouts: GrowthLayouts, problems: ProblemLog): Promise<Map<string, number>> {
  const { from, to, partitionOf, fromPartitions, toPartitions } = layouts;
  const sortedSets = new Map<string, string>();
  for await (const keys of scanKeys(redis, to.pattern(), layouts.scanCount)) {
    const sources: string[] = [];
    for (const key of keys) {
      const parsed = to.parseKey(key);
      if (parsed === null) continue;
      if (parsed.kind === "customer" || parsed.kind === "history") {
        if (partitionOf(parsed.customerId, toPartitions) !== parsed.partition) problems.add("customer in another new partition than its key maps to", key);
        const old = partitionOf(parsed.customerId, fromPartitions);
        sources.push(parsed.kind === "customer" ? from.customer(old, parsed.customerId) : from.history(old, parsed.customerId));
      } else if (parsed.kind === "timers") sortedSets.set(key, "timers");
      else if (parsed.kind === "members") sortedSets.set(key, `members of ${parsed.audienceId}`);
      else if (parsed.kind === "shared") sources.push(`${from.prefix}${key.slice(to.prefix.length)}`);
      else problems.add("key under the new prefix that the copy did not make", key);
    }
    const exists = await Promise.all(sources.map((source) => redis.exists(source)));
    sources.forEach((source, index) => {
      if (exists[index] === 0) problems.add("key under the new prefix whose source the old prefix does not hold", source);
    });
  }
  const counts = new Map<string, number>();
  for (const [key, family] of sortedSets) counts.set(family, (counts.get(family) ?? 0) + (await redis.zcard(key)));
  return counts;
}
