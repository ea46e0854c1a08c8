import { scanKeys, unlinkKeys, type RedisClient } from "@clm/redis";
import { unlinkMatching } from "./key-scan.ts";
import type { RedisLayout } from "./redis-layout.ts";

/** Deletes every key of a layout (SCAN on every master + UNLINK, never KEYS). */
export async function wipePrefix(redis: RedisClient, layout: RedisLayout): Promise<number> {
  let deleted = 0;
  for await (const keys of scanKeys(redis, layout.pattern())) deleted += await unlinkKeys(redis, keys);
  return deleted;
}

/**
 * Deletes every partition's keys of a layout — states, timers, outboxes, histories, member sets,
 * metas: what a rebuild derives from the input topic — and keeps the keys shared by every
 * partition, which no topic holds (stored value models and audience definitions, RFM boundaries,
 * webhook destinations and queues, the growth record).
 */
export async function wipePartitions(redis: RedisClient, layout: RedisLayout): Promise<number> {
  return unlinkMatching(redis, layout.partitionsPattern());
}
