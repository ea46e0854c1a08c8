import type { RedisClient } from "@clm/redis";
import type { RedisLayout } from "./redis-layout.ts";

/** Where a growth copies from and to, and how customers are placed. */
export interface GrowthLayouts {
  from: RedisLayout;
  to: RedisLayout;
  fromPartitions: number;
  toPartitions: number;
  /** The partition the producers' partitioner gives a customer's key among `partitions` (@clm/kafka partitionForKey). */
  partitionOf: (customerId: string, partitions: number) => number;
  /** Keys per SCAN page. */
  scanCount: number;
}

/** The key under the new prefix that a shared key (outside every partition) is copied to. */
export function sharedTarget(layouts: GrowthLayouts, key: string): string {
  return `${layouts.to.prefix}${key.slice(layouts.from.prefix.length)}`;
}

/** Members read from a sorted set per ZRANGE. */
const ZSET_CHUNK = 2000;

/** Every (member, score) of a sorted set, a chunk at a time (nothing writes it while a growth runs). */
export async function* sortedSetChunks(redis: RedisClient, key: string): AsyncGenerator<{ members: string[]; scores: string[] }> {
  for (let start = 0; ; start += ZSET_CHUNK) {
    const flat = await redis.zrange(key, start, start + ZSET_CHUNK - 1, "WITHSCORES");
    const members: string[] = [];
    const scores: string[] = [];
    for (let index = 0; index < flat.length; index += 2) {
      members.push(flat[index]!);
      scores.push(flat[index + 1]!);
    }
    if (members.length > 0) yield { members, scores };
    if (members.length < ZSET_CHUNK) return;
  }
}

/** Items grouped by a key (a target partition, a target key), in the order met. */
export function groupBy<T, K>(items: Iterable<T>, keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}
